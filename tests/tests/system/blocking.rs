//! Mutes, blocks and the owner's domain blocks between real nodes: a muted person's posts
//! leave the home timeline until unmuted; a blocked person's follow is refused and their server
//! stops getting the blocker's posts; a blocked domain's node cannot link, its stored posts are
//! hidden, and only the owner manages the list.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::{data_dir, Node};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

fn call(node: &Node, token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let a = auth(token);
    let mut h = vec![("Authorization", a.as_str())];
    if body.is_some() {
        h.push(("Content-Type", "application/json"));
    }
    let r = node.http(method, path, &h, body);
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn post(node: &Node, token: &str, text: &str) {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Texts in the home timeline of the holder of `token`, newest first.
fn home(node: &Node, token: &str) -> Vec<String> {
    let (s, v) = call(node, token, "GET", "/api/v1/timeline?limit=200", None);
    assert_eq!(s, 200, "{v}");
    v["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

/// Texts of `author`'s posts that `node` holds and the holder of `token` may read.
fn texts(node: &Node, author: &str, token: &str) -> Vec<String> {
    node.all_posts(author, Some(token))
        .iter()
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

fn follows(node: &Node, token: &str) -> Vec<String> {
    let (_, v) = call(node, token, "GET", "/api/v1/follows", None);
    v["follows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["address"].as_str().unwrap().to_string())
        .collect()
}

fn counter(node: &Node, name: &str) -> u64 {
    node.http("GET", "/healthz", &[], None).json()["counters"][name]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until `what` holds, or fails with both logs.
fn wait(what: &str, nodes: [&Node; 2], mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}\n--- 1 ---\n{}\n--- 2 ---\n{}",
            nodes[0].log(),
            nodes[1].log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two nodes that find each other through a real DNS; the lab nodes own the data directories
/// (bound first, so they go after the processes).
fn two_nodes(a: (&str, &[&str]), b: (&str, &[&str])) -> ([LabNode; 2], Node, Node, Dns) {
    let dns_port = free_port();
    let la = LabNode::new(a.0, a.1, PW, dns_port, "");
    let lb = LabNode::new(b.0, b.1, PW, dns_port, "");
    let log = ["--log", "info,msmd::net=debug"];
    let (na, nb) = (la.start_with(&log), lb.start_with(&log));
    let mut records = node_records(a.0, la.port, Some(&key_of(&na)));
    records.extend(node_records(b.0, lb.port, Some(&key_of(&nb))));
    let dns = Dns::start(dns_port, &records);
    ([la, lb], na, nb, dns)
}

#[test]
fn a_muted_person_vanishes_from_home_and_comes_back_after_unmute() {
    let dir = data_dir(
        "m.test",
        &[("alice", PW, true), ("bob", PW, false), ("cy", PW, false)],
    );
    let node = Node::start(dir.path(), &[]);
    let (alice, bob, cy) = (
        node.login("alice", PW),
        node.login("bob", PW),
        node.login("cy", PW),
    );
    for who in ["bob@m.test", "cy@m.test"] {
        assert_eq!(node.follow(&alice, who).0, 201);
    }
    post(&node, &bob, "from bob");
    post(&node, &cy, "from cy");
    assert_eq!(home(&node, &alice), ["from cy", "from bob"]);

    let mute = |body: &str| call(&node, &alice, "POST", "/api/v1/mutes", Some(body));
    assert_eq!(mute(r#"{"address": "bob@m.test"}"#).0, 200);
    assert_eq!(home(&node, &alice), ["from cy"], "bob is muted");
    assert_eq!(home(&node, &cy), ["from cy"], "cy's own view is untouched");
    let (_, profile) = call(&node, &alice, "GET", "/api/v1/users/bob@m.test", None);
    assert_eq!(
        (&profile["muted"], &profile["blocked"]),
        (&json!(true), &json!(false))
    );
    let (_, list) = call(&node, &alice, "GET", "/api/v1/mutes", None);
    assert_eq!(list["mutes"][0]["address"], "bob@m.test", "{list}");
    let (_, found) = call(&node, &alice, "GET", "/api/v1/search?q=bob", None);
    assert_eq!(found["posts"], json!([]), "search hides muted posts");

    // hostile or wrong input changes nothing
    assert_eq!(mute(r#"{"address": "not an address"}"#).0, 400);
    assert_eq!(mute(r#"{"address": "alice@m.test"}"#).0, 400, "oneself");
    assert_eq!(mute(r#"{"address": "nobody@m.test"}"#).0, 404);
    assert_eq!(mute(r#"{"address": "bob@m.test", "x": 1}"#).0, 400);
    assert_eq!(
        mute(&format!(r#"{{"address": "{}"}}"#, "x".repeat(10_000))).0,
        413
    );
    assert_eq!(
        call(&node, &alice, "DELETE", "/api/v1/mutes/cy@m.test", None).0,
        404,
        "not muted"
    );
    assert_eq!(
        call(&node, &alice, "DELETE", "/api/v1/blocks/bob@m.test", None).0,
        404,
        "a mute is not a block"
    );
    assert_eq!(
        node.http("POST", "/api/v1/mutes", &[], Some("{}")).status,
        401
    );

    assert_eq!(
        call(&node, &alice, "DELETE", "/api/v1/mutes/bob%40m.test", None).0,
        200
    );
    assert_eq!(home(&node, &alice), ["from cy", "from bob"], "unmuted");
}

#[test]
fn a_blocked_follower_is_refused_and_their_server_stops_getting_posts() {
    let (_dirs, na, nb, _dns) = two_nodes(("a.test", &["alice", "ann"]), ("b.test", &["bob"]));
    let (alice, ann, bob) = (
        na.login("alice", PW),
        na.login("ann", PW),
        nb.login("bob", PW),
    );
    let nodes = [&na, &nb];
    assert_eq!(nb.follow(&bob, "alice@a.test").0, 201);
    assert_eq!(na.follow(&ann, "alice@a.test").0, 201);
    assert_eq!(na.follow(&alice, "ann@a.test").0, 201);
    post(&na, &alice, "before");
    wait("b.test got the first post", nodes, || {
        home(&nb, &bob) == ["before"]
    });
    let followers = |na: &Node| call(na, &alice, "GET", "/api/v1/followers", None).1;
    assert_eq!(
        followers(&na)["servers"],
        json!(["b.test"]),
        "{}",
        followers(&na)
    );

    let block = |who: &str| {
        call(
            &na,
            &alice,
            "POST",
            "/api/v1/blocks",
            Some(&json!({ "address": who }).to_string()),
        )
    };
    assert_eq!(block("bob@b.test").0, 200);
    assert_eq!(
        followers(&na)["servers"],
        json!([]),
        "b.test unsubscribed at once"
    );
    wait(
        "b.test heard the rejection and dropped the follow",
        nodes,
        || follows(&nb, &bob).is_empty(),
    );
    post(&na, &alice, "after");
    // a follow again: b.test subscribes, names bob, and hears "rejected"
    let (status, body) = nb.follow(&bob, "alice@a.test");
    assert_eq!(status, 403, "{body}\n{}\n----\n{}", nb.log(), na.log());
    assert!(follows(&nb, &bob).is_empty());
    wait("b.test left again", nodes, || {
        followers(&na)["servers"] == json!([])
    });
    post(&na, &alice, "later");
    std::thread::sleep(Duration::from_secs(2));
    let got = home(&nb, &bob);
    assert!(!got.contains(&"later".to_string()), "{got:?}\n{}", na.log());

    // a local follower: removed, and neither may follow the other now
    assert_eq!(block("ann@a.test").0, 200);
    assert_eq!(followers(&na)["local"], json!([]));
    assert!(
        follows(&na, &alice).is_empty(),
        "alice stopped following ann"
    );
    assert_eq!(na.follow(&ann, "alice@a.test").0, 403);
    assert_eq!(na.follow(&alice, "ann@a.test").0, 403);
    let (_, profile) = call(&na, &alice, "GET", "/api/v1/users/ann@a.test", None);
    assert_eq!(profile["blocked"], json!(true));
    let (_, list) = call(&na, &alice, "GET", "/api/v1/blocks", None);
    assert_eq!(list["blocks"].as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(
        call(&na, &alice, "DELETE", "/api/v1/blocks/ann@a.test", None).0,
        200
    );
    assert_eq!(na.follow(&ann, "alice@a.test").0, 201, "unblocked");
}

#[test]
fn a_blocked_domain_cannot_link_and_its_stored_posts_are_hidden() {
    let (_dirs, na, nc, _dns) = two_nodes(("a.test", &["alice", "ann"]), ("c.test", &["carol"]));
    let (alice, ann, carol) = (
        na.login("alice", PW),
        na.login("ann", PW),
        nc.login("carol", PW),
    );
    let nodes = [&na, &nc];
    assert_eq!(na.follow(&alice, "carol@c.test").0, 201);
    post(&nc, &carol, "c1");
    wait("a.test got carol's post", nodes, || {
        home(&na, &alice) == ["c1"]
    });

    // only the owner manages domain blocks
    let admin = |token: &str, method: &str, path: &str, body: Option<&str>| {
        call(
            &na,
            token,
            method,
            &format!("/api/v1/admin/domain_blocks{path}"),
            body,
        )
        .0
    };
    let body = |d: &str| json!({ "domain": d }).to_string();
    assert_eq!(admin(&ann, "GET", "", None), 403);
    assert_eq!(admin(&ann, "POST", "", Some(&body("c.test"))), 403);
    assert_eq!(admin(&ann, "DELETE", "/c.test", None), 403);
    assert_eq!(admin(&alice, "POST", "", Some(&body("bad..domain"))), 400);
    assert_eq!(
        admin(&alice, "POST", "", Some(&body("a.test"))),
        400,
        "own domain"
    );
    assert_eq!(admin(&alice, "POST", "", Some(r#"{"domain": 5}"#)), 400);
    assert_eq!(admin(&alice, "DELETE", "/c.test", None), 404, "not blocked");
    assert_eq!(admin(&alice, "POST", "", Some(&body("C.Test"))), 201);
    assert_eq!(
        admin(&alice, "POST", "", Some(&body("c.test"))),
        200,
        "again"
    );
    let (_, list) = call(&na, &alice, "GET", "/api/v1/admin/domain_blocks", None);
    assert_eq!(list["domain_blocks"][0]["domain"], "c.test", "{list}");

    // stored posts hidden everywhere; follows gone and refused
    assert!(home(&na, &alice).is_empty());
    assert!(texts(&na, "carol@c.test", &alice).is_empty());
    assert!(follows(&na, &alice).is_empty());
    assert_eq!(na.follow(&alice, "carol@c.test").0, 403);

    // c.test still thinks a.test subscribes: its delivery is refused at the handshake
    let refused = counter(&na, "links_refused");
    let stored = na.message_count();
    post(&nc, &carol, "c2");
    wait("a.test refused c.test's link", nodes, || {
        counter(&na, "links_refused") > refused
    });
    // and carol cannot follow anyone on a.test
    let (status, _) = nc.follow(&carol, "alice@a.test");
    assert_ne!(status, 201);
    assert_eq!(na.message_count(), stored, "nothing from c.test stored");
    let f = call(&na, &alice, "GET", "/api/v1/followers", None).1;
    assert_eq!(f["servers"], json!([]), "{f}");

    // unblocking shows what was stored again (on carol's profile: the block ended alice's
    // follow, and Home shows the people followed now)
    assert_eq!(admin(&alice, "DELETE", "/c.test", None), 200);
    let posts = call(&na, &alice, "GET", "/api/v1/users/carol@c.test/posts", None).1;
    assert_eq!(posts["posts"][0]["text"], "c1", "{posts}");
}
