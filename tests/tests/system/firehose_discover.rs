//! The discover window in network namespaces: the hub has two users, alice (whom the node's
//! bob follows) and carol (whom nobody on the node follows). Carol's public posts reach the
//! node by the firehose and are kept in its discover window, only the newest
//! `firehose.discover_keep` of them; alice's posts, interleaved, go to the timeline and never
//! to the window. The window is read through `/api/v1/discover` (with paging) and found by
//! `/api/v1/search`, and `/healthz` counts what was kept.

use super::firehose::{
    firehose, internet, public_host, start_hub_with, start_node, wait_posts, wait_until, PW,
};
use msm_tests::netns::Lab;
use msm_tests::Node;
use serde_json::{json, Value};

/// The node's discover window.
const KEEP: u64 = 5;
/// Carol's posts (more than the window holds).
const CAROL_POSTS: u64 = 12;
/// Alice posts after every this many of carol's posts (so after carol's last one too).
const ALICE_EVERY: u64 = 4;

fn post(hub: &Node, token: &str, text: String) {
    let r = hub.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
}

fn get(node: &Node, path: &str, token: Option<&str>) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = node.http("GET", path, &h, None);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

fn texts(page: &Value) -> Vec<String> {
    page["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn firehose_discover_keeps_the_newest_unfollowed_posts() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let users = [("alice", PW, true), ("carol", PW, false)];
    let (hub, _hd, key) = start_hub_with(&hub_ns, "", &users);
    let extra = format!("global_prefixes = [\"198.51.100.0/24\"]\ndiscover_keep = {KEEP}\n");
    let (node, _nd) = start_node(&hub, &pub_ns, "pub.test", &key, &extra);
    wait_until("path multicast", &node, || {
        firehose(&node)["path"] == "multicast"
    });

    let (alice, carol) = (hub.login("alice", PW), hub.login("carol", PW));
    let mut alice_posts = 0;
    for i in 0..CAROL_POSTS {
        post(&hub, &carol, format!("carol says zebra{i}"));
        if i % ALICE_EVERY == ALICE_EVERY - 1 {
            post(&hub, &alice, format!("alice says giraffe{i}"));
            alice_posts += 1;
        }
    }
    wait_posts(&node, alice_posts);
    wait_until("carol's posts discovered", &node, || {
        firehose(&node)["discovered"].as_u64() >= Some(CAROL_POSTS)
    });

    let f = firehose(&node);
    eprintln!("discover: node firehose {f}");
    assert_eq!(f["discovered"].as_u64(), Some(CAROL_POSTS), "{f}");
    assert_eq!(f["unfollowed"].as_u64(), Some(CAROL_POSTS), "{f}");
    assert_eq!(f["stored"].as_u64(), Some(alice_posts), "{f}");
    assert_eq!(f["refused"].as_u64(), Some(0), "{f}");

    let bob = node.login("bob", PW);
    // The window: exactly carol's newest KEEP posts, newest first; none of alice's.
    let window = get(&node, "/api/v1/discover?limit=50", Some(&bob));
    let newest: Vec<String> = (CAROL_POSTS - KEEP..CAROL_POSTS)
        .rev()
        .map(|i| format!("carol says zebra{i}"))
        .collect();
    assert_eq!(texts(&window), newest, "{window}");
    assert_eq!(window["next_before"], Value::Null);
    for p in window["posts"].as_array().unwrap() {
        assert_eq!(p["author"], "carol@hub.test", "{p}");
        assert_eq!(p["via"], "firehose", "{p}");
        assert_eq!(p["verified"], false, "{p}");
        assert_eq!(p["audience"], "public", "{p}");
    }

    // Paging by cursor.
    let first = get(&node, "/api/v1/discover?limit=2", Some(&bob));
    assert_eq!(texts(&first), newest[..2]);
    let before = first["next_before"].as_i64().expect("a next page");
    let second = get(
        &node,
        &format!("/api/v1/discover?limit=2&before={before}"),
        Some(&bob),
    );
    assert_eq!(texts(&second), newest[2..4]);

    // The window is for the node's users.
    let anon = node.http("GET", "/api/v1/discover", &[], None);
    assert_eq!(anon.status, 401, "{}", anon.text());

    // Search finds a kept post (marked), not a pruned one; alice's posts come from messages.
    let last = CAROL_POSTS - 1;
    let hit = get(&node, &format!("/api/v1/search?q=zebra{last}"), Some(&bob));
    assert_eq!(texts(&hit), [format!("carol says zebra{last}")], "{hit}");
    assert_eq!(hit["posts"][0]["via"], "firehose", "{hit}");
    let pruned = get(&node, "/api/v1/search?q=zebra0", Some(&bob));
    assert_eq!(texts(&pruned), Vec::<String>::new(), "{pruned}");
    let giraffe = get(&node, "/api/v1/search?q=giraffe*", Some(&bob));
    assert_eq!(texts(&giraffe).len() as u64, alice_posts, "{giraffe}");
    for p in giraffe["posts"].as_array().unwrap() {
        assert_eq!(p["author"], "alice@hub.test", "{p}");
        assert_eq!(
            p.get("via"),
            None,
            "a followed author's post is verified: {p}"
        );
    }
    let says = get(&node, "/api/v1/search?q=says&limit=50", Some(&bob));
    let via: Vec<bool> = says["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.get("via").is_some())
        .collect();
    let expected: Vec<bool> = std::iter::repeat_n(false, alice_posts as usize)
        .chain(std::iter::repeat_n(true, KEEP as usize))
        .collect();
    assert_eq!(via, expected, "stored posts first, then discover: {says}");
    let only = get(&node, "/api/v1/search?q=says&scope=discover", Some(&bob));
    assert_eq!(texts(&only).len() as u64, KEEP, "{only}");
    let logged_out = get(&node, &format!("/api/v1/search?q=zebra{last}"), None);
    assert_eq!(texts(&logged_out), Vec::<String>::new(), "{logged_out}");
}
