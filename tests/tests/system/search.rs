//! Search through the API of real nodes: everyday text (hashtags, addresses, URLs, stray
//! quotes and operators, Hebrew, accents) is a query and never an error, and people search
//! finds local users and a followed remote author by address, user name and display name.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::{Node, UNLIMITED_POSTING};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const PW: &str = "a long password";

/// Alice's posts on a.test.
const ALICE_POSTS: &[&str] = &[
    "the quick brown #fox jumps",
    "write to owner@localhost for access",
    "see example.org for more",
    "read https://example.org/page today",
    "cats AND dogs OR birds",
    "NEAR the river bank",
    "a col:x filter",
    "שלום עולם from Haifa",
    "crème brûlée at the café 🎉",
    "the foxes are quick",
];

/// Bob's post on b.test, which reaches a.test when Alice follows him.
const BOB_POST: &str = "bob saw a #fox at example.org";

/// Every byte but the unreserved ones as `%XX`.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn get(node: &Node, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = node.http("GET", path, &h, None);
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn put_profile(node: &Node, token: &str, display_name: &str) {
    let r = node.http(
        "PUT",
        "/api/v1/profile",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
        ],
        Some(&json!({ "display_name": display_name }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

fn post(node: &Node, token: &str, text: &str) {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Waits until `check` holds, or fails with `what` and the node's log.
fn wait(node: &Node, what: &str, mut check: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !check() {
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "{what}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The texts `q` finds for the holder of `token`, all pages.
fn found(node: &Node, q: &str, token: &str) -> BTreeSet<String> {
    let (s, v) = get(
        node,
        &format!("/api/v1/search?q={}&limit=50", enc(q)),
        Some(token),
    );
    assert_eq!(s, 200, "{q:?}: {v}");
    v["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The addresses people search answers `q` with, in order.
fn people(node: &Node, q: &str, token: &str) -> Vec<String> {
    let (s, v) = get(
        node,
        &format!("/api/v1/search/people?q={}", enc(q)),
        Some(token),
    );
    assert_eq!(s, 200, "{q:?}: {v}");
    v["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn everyday_text_is_a_query_and_people_are_found_by_address_and_name() {
    let dns_port = free_port();
    let a = LabNode::new("a.test", &["alice", "ann"], PW, dns_port, UNLIMITED_POSTING);
    let b = LabNode::new("b.test", &["bob"], PW, dns_port, "");
    let (na, nb) = (a.start_with(&[]), b.start_with(&[]));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);

    let alice = na.login("alice", PW);
    let ann = na.login("ann", PW);
    let bob = nb.login("bob", PW);
    put_profile(&na, &alice, "Alice Smith");
    put_profile(&nb, &bob, "Robert Builder");
    for text in ALICE_POSTS {
        post(&na, &alice, text);
    }
    post(&nb, &bob, BOB_POST);
    assert_eq!(na.follow(&alice, "bob@b.test").0, 201);
    wait(&na, "bob's post and name did not arrive", || {
        let (_, p) = get(&na, "/api/v1/users/bob@b.test", Some(&alice));
        p["display_name"] == "Robert Builder" && found(&na, "saw", &alice).len() == 1
    });

    let [fox, owner, org, url, and_or, near, col, hebrew, cafe, foxes] = ALICE_POSTS else {
        unreachable!()
    };
    let cases: &[(&str, &[&str])] = &[
        ("#fox", &[fox, BOB_POST]),
        ("owner@localhost", &[owner]),
        ("example.org", &[org, url, BOB_POST]),
        ("https://example.org/page", &[url]),
        ("AND OR", &[and_or]),
        ("\"", &[]),
        ("*", &[]),
        ("(", &[]),
        ("-", &[]),
        ("", &[]),
        ("NEAR", &[near]),
        ("col:x", &[col]),
        ("\"quick brown\"", &[fox]),
        ("\"brown quick\"", &[]),
        ("\"quick brown", &[fox]),
        ("fox*", &[fox, foxes, BOB_POST]),
        ("cats OR river", &[and_or, near]),
        ("#fox -brown", &[BOB_POST]),
        ("fox* NOT example.org", &[fox, foxes]),
        ("שלום", &[hebrew]),
        ("\"שלום עולם\"", &[hebrew]),
        ("cafe", &[cafe]),
        ("café", &[cafe]),
        ("cafe\u{301} creme", &[cafe]),
        ("🎉 brulee", &[cafe]),
    ];
    for (q, want) in cases {
        let want: BTreeSet<String> = want.iter().map(|t| t.to_string()).collect();
        assert_eq!(found(&na, q, &alice), want, "{q:?}");
    }
    // a visitor searches the same way, over public posts
    let (s, v) = get(&na, &format!("/api/v1/search?q={}", enc("#fox")), None);
    assert_eq!(
        (s, v["posts"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{v}"
    );
    // what stays refused: no q, an over-long one, an offset out of range
    assert_eq!(get(&na, "/api/v1/search", Some(&alice)).0, 400);
    let long = enc(&"a".repeat(257));
    assert_eq!(
        get(&na, &format!("/api/v1/search?q={long}"), Some(&alice)).0,
        400
    );
    assert_eq!(
        get(&na, "/api/v1/search?q=fox&offset=1001", Some(&alice)).0,
        400
    );

    // People: the remote author Alice follows, by address in every spelling, by name and by
    // display name; local users too, own users first among prefixes.
    for q in [
        "bob@b.test",
        "@bob@b.test",
        "Bob@B.test",
        "http://b.test/@bob",
        "https://b.test/@bob/1",
    ] {
        assert_eq!(
            people(&na, q, &alice).first().map(String::as_str),
            Some("bob@b.test"),
            "{q}"
        );
    }
    assert_eq!(people(&na, "robert", &alice), ["bob@b.test"]);
    assert_eq!(people(&na, "builder", &ann), ["bob@b.test"]);
    assert_eq!(people(&na, "ann", &alice), ["ann@a.test"]);
    assert_eq!(people(&na, "smith", &ann), ["alice@a.test"]);
    assert_eq!(people(&na, "a.test", &ann), ["alice@a.test", "ann@a.test"]);
    assert!(people(&na, "%", &alice).is_empty(), "% is literal");
    assert!(people(&na, "nobody", &alice).is_empty());
    let (_, v) = get(&na, "/api/v1/search/people?q=bob", Some(&alice));
    assert_eq!(
        v["people"][0],
        json!({"address": "bob@b.test", "name": "bob", "display_name": "Robert Builder",
               "local": false, "followed": true})
    );
    let (_, v) = get(&na, "/api/v1/search/people?q=bob", Some(&ann));
    assert_eq!(v["people"][0]["followed"], false, "{v}");
    // logged-in only, and bounded
    assert_eq!(get(&na, "/api/v1/search/people?q=bob", None).0, 401);
    assert_eq!(get(&na, "/api/v1/search/people", Some(&alice)).0, 400);
    assert_eq!(
        get(&na, "/api/v1/search/people?q=b&limit=0", Some(&alice)).0,
        400
    );
    assert_eq!(
        get(&na, "/api/v1/search/people?q=b&limit=41", Some(&alice)).0,
        400
    );
    let long = "b".repeat(401);
    assert_eq!(
        get(
            &na,
            &format!("/api/v1/search/people?q={long}"),
            Some(&alice)
        )
        .0,
        400
    );
    assert_eq!(
        na.http("POST", "/api/v1/search/people", &[], None).status,
        405
    );
}
