//! Approval of followers between real nodes: a locked account's followers-only posts reach
//! only the followers it accepted, local or on another node, and only their servers.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::Node;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";

fn start(n: &LabNode) -> Node {
    n.start_with(&["--log", "info,msmd::net=debug"])
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

fn get(node: &Node, token: &str, path: &str) -> Value {
    let r = node.http("GET", path, &[("Authorization", &auth(token))], None);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn post(node: &Node, token: &str, text: &str, audience: &str) {
    let r = node.post_json(
        "/api/v1/posts",
        Some(token),
        &json!({ "text": text, "audience": audience }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

fn follow(node: &Node, token: &str, address: &str) -> (u16, Value) {
    node.follow(token, address)
}

fn decide(node: &Node, token: &str, who: &str, action: &str) -> u16 {
    node.post_json(
        &format!("/api/v1/follow_requests/{who}/{action}"),
        Some(token),
        &json!({}),
    )
    .status
}

/// Texts of `author`'s posts that the holder of `token` on `node` may read, oldest first.
fn texts(node: &Node, author: &str, token: &str) -> Vec<String> {
    let mut t: Vec<String> = node
        .all_posts(author, Some(token))
        .iter()
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect();
    t.reverse();
    t
}

/// Waits until `what` holds, or fails with both logs.
fn wait(what: &str, nodes: [&Node; 2], mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}\n--- a ---\n{}\n--- b ---\n{}",
            nodes[0].log(),
            nodes[1].log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn follow_state(node: &Node, token: &str, address: &str) -> Option<String> {
    get(node, token, "/api/v1/follows")["follows"]
        .as_array()
        .and_then(|l| l.iter().find(|f| f["address"] == address).cloned())
        .map(|f| f["state"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_locked_account_reaches_only_the_followers_it_accepted() {
    let dns_port = free_port();
    let a = LabNode::new("a.test", &["alice", "ann"], PW, dns_port, "");
    let b = LabNode::new("b.test", &["bob", "bea"], PW, dns_port, "");
    let (na, nb) = (start(&a), start(&b));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);
    let (alice, ann) = (na.login("alice", PW), na.login("ann", PW));
    let (bob, bea) = (nb.login("bob", PW), nb.login("bea", PW));
    let nodes = [&na, &nb];

    // bob requires approval; an unknown field or a bad value is refused
    assert_eq!(
        get(&nb, &bob, "/api/v1/account/settings"),
        json!({"locked": false})
    );
    let put = |body: &str| {
        nb.http(
            "PUT",
            "/api/v1/account/settings",
            &[
                ("Authorization", &auth(&bob)),
                ("Content-Type", "application/json"),
            ],
            Some(body),
        )
        .status
    };
    assert_eq!(put(r#"{"locked": "yes"}"#), 400);
    assert_eq!(put(r#"{"locked": true}"#), 200);
    assert_eq!(
        get(&nb, &bob, "/api/v1/account/settings"),
        json!({"locked": true})
    );
    post(&nb, &bob, "p1", "public");
    post(&nb, &bob, "f1", "followers");

    // everyone asks; everyone waits
    for (node, token, who) in [
        (&na, &alice, "alice"),
        (&na, &ann, "ann"),
        (&nb, &bea, "bea"),
    ] {
        let (status, body) = follow(node, token, "bob@b.test");
        assert_eq!(
            (status, &body["state"]),
            (202, &json!("pending")),
            "{who}: {body}"
        );
        assert_eq!(
            follow_state(node, token, "bob@b.test").as_deref(),
            Some("pending")
        );
    }
    let mut waiting: Vec<String> = get(&nb, &bob, "/api/v1/follow_requests")["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["address"].as_str().unwrap(), r["local"]))
        .collect();
    waiting.sort();
    assert_eq!(
        waiting,
        ["alice@a.test false", "ann@a.test false", "bea@b.test true"]
    );

    // pending: public posts only, and a.test does not even hold the followers-only ones
    post(&nb, &bob, "p2", "public");
    post(&nb, &bob, "f2", "followers");
    post(&nb, &bob, "p3", "public");
    wait("a.test got the public posts", nodes, || {
        texts(&na, "bob@b.test", &alice).len() == 3
    });
    assert_eq!(texts(&na, "bob@b.test", &alice), ["p1", "p2", "p3"]);
    assert_eq!(texts(&nb, "bob@b.test", &bea), ["p1", "p2", "p3"]);
    assert_eq!(
        na.message_count(),
        3,
        "followers-only posts never left b.test"
    );

    // bob accepts alice: her node gets the followers-only history and what comes next
    assert_eq!(decide(&nb, &bob, "alice@a.test", "authorize"), 200);
    assert_eq!(
        decide(&nb, &bob, "alice@a.test", "authorize"),
        404,
        "decided already"
    );
    wait("alice accepted", nodes, || {
        follow_state(&na, &alice, "bob@b.test").as_deref() == Some("active")
    });
    post(&nb, &bob, "f3", "followers");
    wait("alice reads followers-only posts", nodes, || {
        texts(&na, "bob@b.test", &alice).len() == 6
    });
    assert_eq!(
        texts(&na, "bob@b.test", &alice),
        ["p1", "f1", "p2", "f2", "p3", "f3"]
    );
    assert_eq!(
        texts(&na, "bob@b.test", &ann),
        ["p1", "p2", "p3"],
        "ann is still waiting, though her node holds them"
    );
    let f = get(&nb, &bob, "/api/v1/followers");
    assert_eq!(f["remote"], json!(["alice@a.test"]));
    assert_eq!(f["local"], json!(["bea@b.test"]), "{f}");

    // a local follower is approved the same way
    assert_eq!(decide(&nb, &bob, "bea@b.test", "authorize"), 200);
    assert_eq!(texts(&nb, "bob@b.test", &bea).len(), 6);

    // alice leaves; ann (pending) keeps a.test subscribed, but followers-only posts stop
    let r = na.http(
        "DELETE",
        "/api/v1/follows/bob@b.test",
        &[("Authorization", &auth(&alice))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    wait("b.test forgot alice", nodes, || {
        get(&nb, &bob, "/api/v1/followers")["remote"] == json!([])
    });
    post(&nb, &bob, "f4", "followers");
    post(&nb, &bob, "p4", "public");
    wait("p4 reached a.test", nodes, || {
        texts(&na, "bob@b.test", &ann).len() == 4
    });
    assert_eq!(na.message_count(), 7, "f4 stayed at b.test");

    // bob refuses ann: her follow is gone
    assert_eq!(decide(&nb, &bob, "ann@a.test", "reject"), 200);
    wait("ann's follow removed", nodes, || {
        follow_state(&na, &ann, "bob@b.test").is_none()
    });
    assert_eq!(
        get(&nb, &bob, "/api/v1/follow_requests")["requests"],
        json!([])
    );
}
