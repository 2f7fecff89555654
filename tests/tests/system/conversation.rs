//! The conversation across real nodes that do not follow each other: mentions and replies
//! reach the mentioned or answered person's node, likes are counted there and withdrawn,
//! edits travel with their history, direct posts reach only the people they mention, and
//! hashtags and notifications work on the node itself.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::Node;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";

fn start(n: &LabNode) -> Node {
    n.start_with(&["--log", "info,msmd::net=debug"])
}

/// a.test (alice, ann), b.test (bob) and c.test (carol), TXT-pinned in one dnsmasq.
fn three() -> (Vec<LabNode>, Vec<Node>, Dns) {
    let dns_port = free_port();
    let labs = vec![
        LabNode::new("a.test", &["alice", "ann"], PW, dns_port, ""),
        LabNode::new("b.test", &["bob"], PW, dns_port, ""),
        LabNode::new("c.test", &["carol"], PW, dns_port, ""),
    ];
    let nodes: Vec<Node> = labs.iter().map(start).collect();
    let mut records = Vec::new();
    for ((l, n), d) in labs.iter().zip(&nodes).zip(["a.test", "b.test", "c.test"]) {
        records.extend(node_records(d, l.port, Some(&key_of(n))));
    }
    let dns = Dns::start(dns_port, &records);
    (labs, nodes, dns)
}

fn post(node: &Node, token: &str, body: Value) -> Value {
    let r = node.post_json("/api/v1/posts", Some(token), &body);
    assert_eq!(r.status, 201, "{}\n{}", r.text(), node.log());
    r.json()
}

fn get(node: &Node, token: Option<&str>, path: &str) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = node.http("GET", path, &h, None);
    let v = serde_json::from_str(&r.text()).unwrap_or(Value::Null);
    (r.status, v)
}

fn send(node: &Node, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let b = body.map(|b| b.to_string());
    let r = node.http(method, path, &h, b.as_deref());
    let v = serde_json::from_str(&r.text()).unwrap_or(Value::Null);
    (r.status, v)
}

/// Waits until `check` holds of `node`'s answer to GET `path`, or fails with the log.
fn wait_for(
    node: &Node,
    token: Option<&str>,
    path: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let t0 = Instant::now();
    loop {
        let (status, v) = get(node, token, path);
        if status == 200 && check(&v) {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{what}: last answer {status} {v}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn notifications_of(v: &Value, kind: &str) -> Vec<Value> {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn mentions_replies_likes_and_edits_reach_nodes_that_do_not_follow() {
    let (_labs, n, _dns) = three();
    let (na, nb, nc) = (&n[0], &n[1], &n[2]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    let carol = nc.login("carol", PW);

    // a mention reaches bob's node although nobody there follows alice; carol's node hears
    // nothing
    let hello = post(
        na,
        &alice,
        json!({"text": "hello @bob@b.test, a #Fox story", "summary": "foxes"}),
    );
    let hello_id = hello["id"].as_str().unwrap().to_string();
    assert_eq!(hello["summary"], "foxes");
    let v = wait_for(
        nb,
        Some(&bob),
        "/api/v1/notifications",
        "bob's mention",
        |v| !notifications_of(v, "mention").is_empty(),
    );
    let m = &notifications_of(&v, "mention")[0];
    assert_eq!(m["actor"], "alice@a.test");
    assert_eq!(m["message"], hello_id.as_str());
    assert_eq!(v["unread"], 1);
    // the post is readable on bob's node, with its content warning
    let (s, t) = get(
        nb,
        Some(&bob),
        &format!("/api/v1/thread/alice@a.test/{}", hello["seq"]),
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["post"]["summary"], "foxes");

    // hashtags on the author's node
    let (s, tag) = get(na, None, "/api/v1/tags/fox");
    assert_eq!(s, 200);
    assert_eq!(tag["posts"][0]["id"], hello_id.as_str(), "{tag}");
    assert_eq!(
        get(na, None, "/api/v1/tags/%23FOX").1["posts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(get(na, None, "/api/v1/tags/cat").1["posts"]
        .as_array()
        .unwrap()
        .is_empty());

    // bob replies (the reply goes to alice's node) and likes the post, once
    let reply = post(nb, &bob, json!({"text": "hi alice", "reply_to": hello_id}));
    assert_eq!(reply["kind"], "reply");
    let like_path = format!("/api/v1/posts/alice@a.test/{}/like", hello["seq"]);
    assert_eq!(send(nb, &bob, "POST", &like_path, None).0, 201);
    assert_eq!(
        send(nb, &bob, "POST", &like_path, None).0,
        409,
        "one like per person"
    );
    let v = wait_for(
        na,
        Some(&alice),
        "/api/v1/notifications",
        "alice's reply and like",
        |v| !notifications_of(v, "reply").is_empty() && !notifications_of(v, "like").is_empty(),
    );
    assert_eq!(notifications_of(&v, "like")[0]["target"], hello_id.as_str());
    let post_path = format!("/api/v1/thread/alice@a.test/{}", hello["seq"]);
    let t = wait_for(na, Some(&alice), &post_path, "the like counted", |t| {
        t["post"]["likes"] == 1
    });
    assert_eq!(t["replies"][0]["author"], "bob@b.test", "{t}");
    // a reply to a post that does not exist is refused
    let r = nb.post_json(
        "/api/v1/posts",
        Some(&bob),
        &json!({"text": "to nothing", "reply_to": "alice@a.test/999"}),
    );
    assert_eq!(r.status, 404, "{}", r.text());

    // unlike: the count goes back to 0 on alice's node, and so does the notification
    assert_eq!(send(nb, &bob, "DELETE", &like_path, None).0, 201);
    wait_for(na, Some(&alice), &post_path, "the like withdrawn", |t| {
        t["post"]["likes"] == 0
    });
    let v = get(na, Some(&alice), "/api/v1/notifications").1;
    assert!(notifications_of(&v, "like").is_empty(), "{v}");

    // alice edits her post: bob's node gets the new text and the history
    let (s, _) = send(
        na,
        &alice,
        "PUT",
        &format!("/api/v1/posts/{}", hello["seq"]),
        Some(json!({"text": "hello @bob@b.test, a #Fox story (edited)"})),
    );
    assert_eq!(s, 201);
    let hist = format!("/api/v1/posts/alice@a.test/{}/history", hello["seq"]);
    let h = wait_for(nb, Some(&bob), &hist, "the edit on bob's node", |h| {
        h["versions"].as_array().is_some_and(|v| v.len() == 2)
    });
    assert_eq!(h["versions"][0]["text"], "hello @bob@b.test, a #Fox story");
    assert_eq!(h["versions"][0]["summary"], "foxes");
    assert_eq!(
        h["versions"][1]["text"],
        "hello @bob@b.test, a #Fox story (edited)"
    );
    let t = get(nb, Some(&bob), &post_path).1;
    assert!(t["post"]["edited_ms"].as_u64().is_some(), "{t}");

    // carol's node was never addressed
    assert_eq!(nc.message_count(), 0, "{}", nc.log());
    let v = get(nc, Some(&carol), "/api/v1/notifications").1;
    assert_eq!(v["unread"], 0);
}

#[test]
fn direct_posts_reach_only_the_people_they_mention() {
    let (_labs, n, _dns) = three();
    let (na, nb, nc) = (&n[0], &n[1], &n[2]);
    let alice = na.login("alice", PW);
    let ann = na.login("ann", PW);
    let bob = nb.login("bob", PW);
    // carol follows alice: she still must not get a direct post that does not name her
    assert_eq!(nc.follow(&nc.login("carol", PW), "alice@a.test").0, 201);
    let r = na.post_json(
        "/api/v1/posts",
        Some(&alice),
        &json!({"text": "nobody named", "audience": "direct"}),
    );
    assert_eq!(r.status, 400, "a direct post names its readers");
    let secret = post(
        na,
        &alice,
        json!({"text": "@bob@b.test the door code is 1234", "audience": "direct"}),
    );
    let public = post(na, &alice, json!({"text": "a public post"}));
    // bob sees it in his home timeline although he follows nobody
    wait_for(
        nb,
        Some(&bob),
        "/api/v1/timeline",
        "the direct post at bob",
        |v| {
            v["posts"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|x| x["id"] == secret["id"] && x["audience"] == "direct")
            })
        },
    );
    // carol's node gets alice's public post, never the direct one
    let carol = nc.login("carol", PW);
    wait_for(
        nc,
        Some(&carol),
        "/api/v1/timeline",
        "the public post at carol",
        |v| {
            v["posts"]
                .as_array()
                .is_some_and(|p| p.iter().any(|x| x["id"] == public["id"]))
        },
    );
    let (_, tl) = get(nc, Some(&carol), "/api/v1/timeline");
    assert!(!tl.to_string().contains("door code"), "{tl}");
    // on alice's node: ann and visitors cannot read it; alice can
    let path = format!("/api/v1/thread/alice@a.test/{}", secret["seq"]);
    assert_eq!(get(na, Some(&ann), &path).0, 404);
    assert_eq!(get(na, None, &path).0, 404);
    assert_eq!(get(na, Some(&alice), &path).0, 200);
    let (_, posts) = get(na, None, "/api/v1/users/alice/posts");
    assert!(!posts.to_string().contains("door code"), "{posts}");
    // a direct post cannot be reposted
    let (s, _) = send(
        nb,
        &bob,
        "POST",
        &format!("/api/v1/posts/alice@a.test/{}/repost", secret["seq"]),
        None,
    );
    assert_eq!(s, 422);
}

#[test]
fn notification_settings_and_local_follows() {
    let (_labs, n, _dns) = three();
    let na = &n[0];
    let alice = na.login("alice", PW);
    let ann = na.login("ann", PW);
    // ann turns likes off; alice hears of ann's follow
    let (s, set) = send(
        na,
        &ann,
        "PUT",
        "/api/v1/notifications/settings",
        Some(json!({"off": ["like"]})),
    );
    assert_eq!((s, set["off"][0].as_str()), (200, Some("like")));
    let (s, _) = send(
        na,
        &ann,
        "PUT",
        "/api/v1/notifications/settings",
        Some(json!({"off": ["nonsense"]})),
    );
    assert_eq!(s, 400);
    assert_eq!(na.follow(&ann, "alice@a.test").0, 201);
    let v = get(na, Some(&alice), "/api/v1/notifications").1;
    assert_eq!(
        notifications_of(&v, "follow")[0]["actor"],
        "ann@a.test",
        "{v}"
    );
    // alice likes and reposts ann's post: ann hears of the repost only
    let p = post(na, &ann, json!({"text": "ann's post"}));
    let base = format!("/api/v1/posts/ann@a.test/{}", p["seq"]);
    assert_eq!(
        send(na, &alice, "POST", &format!("{base}/like"), None).0,
        201
    );
    assert_eq!(
        send(na, &alice, "POST", &format!("{base}/repost"), None).0,
        201
    );
    assert_eq!(
        send(na, &alice, "POST", &format!("{base}/repost"), None).0,
        409
    );
    let v = get(na, Some(&ann), "/api/v1/notifications").1;
    assert!(notifications_of(&v, "like").is_empty(), "{v}");
    assert_eq!(notifications_of(&v, "repost").len(), 1, "{v}");
    let t = get(
        na,
        Some(&alice),
        &format!("/api/v1/thread/ann@a.test/{}", p["seq"]),
    )
    .1;
    assert_eq!(
        (t["post"]["likes"].as_u64(), t["post"]["liked"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(t["post"]["reposts"], 1);
    // undo the repost; mark read
    assert_eq!(
        send(na, &alice, "DELETE", &format!("{base}/repost"), None).0,
        201
    );
    let t = get(
        na,
        Some(&alice),
        &format!("/api/v1/thread/ann@a.test/{}", p["seq"]),
    )
    .1;
    assert_eq!(t["post"]["reposts"], 0);
    let (s, r) = send(
        na,
        &alice,
        "POST",
        "/api/v1/notifications/read",
        Some(json!({})),
    );
    assert_eq!((s, r["unread"].as_u64()), (200, Some(0)));
}

#[test]
fn bookmarks_and_lists_are_private_timelines() {
    let (_labs, n, _dns) = three();
    let (na, nb) = (&n[0], &n[1]);
    let alice = na.login("alice", PW);
    let ann = na.login("ann", PW);
    let bob = nb.login("bob", PW);
    assert_eq!(na.follow(&alice, "bob@b.test").0, 201);
    assert_eq!(na.follow(&alice, "ann@a.test").0, 201);
    let p = post(nb, &bob, json!({"text": "bob's garden"}));
    post(na, &ann, json!({"text": "ann's kitchen"}));
    wait_for(
        na,
        Some(&alice),
        "/api/v1/timeline",
        "bob's post at a.test",
        |v| v["posts"].as_array().is_some_and(|p| p.len() == 2),
    );
    // a bookmark
    let bm = format!("/api/v1/posts/bob@b.test/{}/bookmark", p["seq"]);
    assert_eq!(send(na, &alice, "POST", &bm, None).0, 200);
    let (_, b) = get(na, Some(&alice), "/api/v1/bookmarks");
    assert_eq!(b["posts"][0]["text"], "bob's garden", "{b}");
    assert!(get(na, Some(&ann), "/api/v1/bookmarks").1["posts"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(send(na, &alice, "DELETE", &bm, None).0, 200);
    assert!(get(na, Some(&alice), "/api/v1/bookmarks").1["posts"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        send(
            na,
            &alice,
            "POST",
            "/api/v1/posts/bob@b.test/99/bookmark",
            None
        )
        .0,
        404
    );
    // a list of bob only
    let (s, l) = send(
        na,
        &alice,
        "POST",
        "/api/v1/lists",
        Some(json!({"title": "garden"})),
    );
    assert_eq!(s, 201, "{l}");
    let id = l["id"].as_i64().unwrap();
    let members = format!("/api/v1/lists/{id}/members");
    assert_eq!(
        send(
            na,
            &alice,
            "POST",
            &members,
            Some(json!({"address": "@bob@b.test"}))
        )
        .0,
        200
    );
    assert_eq!(
        send(
            na,
            &alice,
            "POST",
            &members,
            Some(json!({"address": "zed@z.test"}))
        )
        .0,
        404,
        "only people one follows"
    );
    let (_, t) = get(na, Some(&alice), &format!("/api/v1/lists/{id}/timeline"));
    let texts: Vec<&str> = t["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["bob's garden"]);
    assert_eq!(
        get(na, Some(&ann), &format!("/api/v1/lists/{id}/timeline")).0,
        404
    );
    assert_eq!(
        get(na, Some(&alice), "/api/v1/lists").1["lists"][0]["members"][0],
        "bob@b.test"
    );
    assert_eq!(
        send(na, &alice, "DELETE", &format!("/api/v1/lists/{id}"), None).0,
        200
    );
}

#[test]
fn a_remote_profile_shows_recent_public_posts_before_anyone_follows() {
    let (_labs, n, _dns) = three();
    let (na, nb) = (&n[0], &n[1]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    for t in ["first", "second", "third"] {
        post(nb, &bob, json!({ "text": t }));
    }
    post(
        nb,
        &bob,
        json!({"text": "for followers", "audience": "followers"}),
    );
    post(nb, &bob, json!({"text": "fourth"}));
    // a visitor gets nothing fetched
    assert_eq!(get(na, None, "/api/v1/users/bob@b.test/posts").0, 404);
    // alice, who follows nobody, sees bob's public posts at once
    let (s, v) = get(na, Some(&alice), "/api/v1/users/bob@b.test/posts");
    assert_eq!(s, 200, "{v}\n{}", na.log());
    let texts: Vec<&str> = v["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["fourth", "third", "second", "first"],
        "{}",
        na.log()
    );
    // nothing entered her home timeline
    let (_, home) = get(na, Some(&alice), "/api/v1/timeline");
    assert!(home["posts"].as_array().unwrap().is_empty(), "{home}");
}
