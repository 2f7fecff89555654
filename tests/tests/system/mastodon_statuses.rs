//! The Mastodon client API's statuses and timelines against a real node: posting with a form
//! and with JSON, `Idempotency-Key`, threads, visibility, favourites, reblogs, bookmarks,
//! edits with their history, deletes, and paging with `Link` headers.

use msm_tests::mastodon::{call, ok};
use msm_tests::{data_dir, Node, Resp};
use serde_json::{json, Value};

const PW: &str = "a long password";

/// A node of a.test with alice (owner), bob and carol, and their tokens.
fn node() -> (tempfile::TempDir, Node, [String; 3]) {
    let dir = data_dir(
        "a.test",
        &[
            ("alice", PW, true),
            ("bob", PW, false),
            ("carol", PW, false),
        ],
    );
    let node = Node::start(dir.path(), &[]);
    let tokens = ["alice", "bob", "carol"].map(|n| node.login(n, PW));
    (dir, node, tokens)
}

fn body(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn toot(node: &Node, token: &str, body: Value) -> Value {
    ok(call(
        node,
        Some(token),
        "POST",
        "/api/v1/statuses",
        Some(body),
    ))
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(id).collect()
}

#[test]
fn statuses_post_with_forms_json_and_idempotency_keys() {
    let (_d, node, [alice, ..]) = node();
    let auth = format!("Bearer {alice}");
    let r = node.http(
        "POST",
        "/api/v1/statuses",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some("status=hello+%23Rust+%3Cb%3E&visibility=unlisted"),
    );
    let form = ok(r);
    assert_eq!(form["visibility"], "public", "unlisted is published public");
    assert_eq!(form["account"]["acct"], "alice");
    let content = form["content"].as_str().unwrap();
    assert!(content.starts_with("<p>hello <a href="), "{content}");
    assert!(content.contains("class=\"mention hashtag\""), "{content}");
    assert!(content.ends_with("&lt;b&gt;</p>"), "{content}");
    assert_eq!(form["tags"][0]["name"], "rust");

    let private = toot(
        &node,
        &alice,
        json!({"status": "for friends", "visibility": "private", "spoiler_text": "cw"}),
    );
    assert_eq!(private["visibility"], "private");
    assert_eq!(private["spoiler_text"], "cw");
    assert_eq!(private["sensitive"], true);
    assert!(private["created_at"].as_str().unwrap().ends_with('Z'));

    // the same Idempotency-Key twice: one status
    let before = node.message_count();
    let send = |text: &str| {
        let r = node.http(
            "POST",
            "/api/v1/statuses",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
                ("Idempotency-Key", "key-1"),
            ],
            Some(&json!({ "status": text }).to_string()),
        );
        ok(r)
    };
    let first = send("only once");
    let second = send("only once");
    assert_eq!(id(&first), id(&second));
    assert_eq!(node.message_count(), before + 1, "published once");

    let r = call(
        &node,
        Some(&alice),
        "POST",
        "/api/v1/statuses",
        Some(json!({"status": "x", "visibility": "limited"})),
    );
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let r = call(
        &node,
        Some(&alice),
        "POST",
        "/api/v1/statuses",
        Some(json!({"status": "x", "media_ids": ["a", "b", "c", "d", "e"]})),
    );
    assert_eq!(r.status, 422, "five pictures");
    let r = call(
        &node,
        None,
        "POST",
        "/api/v1/statuses",
        Some(json!({"status": "x"})),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        node.message_count(),
        before + 1,
        "nothing refused was stored"
    );
}

#[test]
fn replies_thread_and_what_someone_may_not_see_is_404() {
    let (_d, node, [alice, bob, carol]) = node();
    let first = toot(&node, &alice, json!({"status": "first"}));
    let second = toot(
        &node,
        &bob,
        json!({"status": "second", "in_reply_to_id": id(&first)}),
    );
    assert_eq!(second["in_reply_to_id"], first["id"]);
    assert_eq!(second["in_reply_to_account_id"], first["account"]["id"]);
    let third = toot(
        &node,
        &alice,
        json!({"status": "third", "in_reply_to_id": id(&second)}),
    );
    let ctx = ok(call(
        &node,
        None,
        "GET",
        &format!("/api/v1/statuses/{}/context", id(&second)),
        None,
    ));
    assert_eq!(ids(&ctx["ancestors"]), [id(&first)]);
    assert_eq!(ids(&ctx["descendants"]), [id(&third)]);
    let ctx = ok(call(
        &node,
        None,
        "GET",
        &format!("/api/v1/statuses/{}/context", id(&first)),
        None,
    ));
    assert_eq!(ids(&ctx["descendants"]), [id(&second), id(&third)]);
    let got = ok(call(
        &node,
        None,
        "GET",
        &format!("/api/v1/statuses/{}", id(&first)),
        None,
    ));
    assert_eq!(got["replies_count"], 1);

    // followers only: bob follows alice, carol does not
    let (status, _) = node.follow(&bob, "alice@a.test");
    assert!(status < 300, "{status}");
    let private = toot(
        &node,
        &alice,
        json!({"status": "friends only", "visibility": "private"}),
    );
    let path = format!("/api/v1/statuses/{}", id(&private));
    assert_eq!(call(&node, Some(&bob), "GET", &path, None).status, 200);
    assert_eq!(call(&node, Some(&carol), "GET", &path, None).status, 404);
    assert_eq!(call(&node, None, "GET", &path, None).status, 404);
    let r = call(
        &node,
        Some(&carol),
        "POST",
        "/api/v1/statuses",
        Some(json!({"status": "peek", "in_reply_to_id": id(&private)})),
    );
    assert_eq!(r.status, 404, "no reply to what one cannot see");
    let r = call(
        &node,
        Some(&carol),
        "POST",
        &format!("{path}/favourite"),
        None,
    );
    assert_eq!(r.status, 404);
    let public = ok(call(&node, None, "GET", "/api/v1/timelines/public", None));
    assert!(!ids(&public).contains(&id(&private)));
    assert!(ids(&public).contains(&id(&first)));
    // bob's home has alice's private status, carol's does not
    let home = ok(call(
        &node,
        Some(&bob),
        "GET",
        "/api/v1/timelines/home",
        None,
    ));
    assert!(ids(&home).contains(&id(&private)));
    let home = ok(call(
        &node,
        Some(&carol),
        "GET",
        "/api/v1/timelines/home",
        None,
    ));
    assert!(!ids(&home).contains(&id(&private)));
}

#[test]
fn favourites_reblogs_and_bookmarks_count_and_flag() {
    let (_d, node, [alice, bob, _]) = node();
    let s = toot(&node, &alice, json!({"status": "like me"}));
    let path = format!("/api/v1/statuses/{}", id(&s));
    let fav = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/favourite"),
        None,
    ));
    assert_eq!(fav["favourited"], true);
    assert_eq!(fav["favourites_count"], 1);
    let again = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/favourite"),
        None,
    ));
    assert_eq!(again["favourites_count"], 1, "once");
    let by = ok(call(
        &node,
        None,
        "GET",
        &format!("{path}/favourited_by"),
        None,
    ));
    assert_eq!(by[0]["acct"], "bob");
    let favs = ok(call(&node, Some(&bob), "GET", "/api/v1/favourites", None));
    assert_eq!(ids(&favs), [id(&s)]);

    let reblog = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/reblog"),
        None,
    ));
    assert_eq!(reblog["reblog"]["id"], s["id"]);
    assert_eq!(reblog["account"]["acct"], "bob");
    assert_eq!(reblog["reblog"]["reblogs_count"], 1);
    assert_eq!(reblog["reblogged"], true);
    let by = ok(call(
        &node,
        None,
        "GET",
        &format!("{path}/reblogged_by"),
        None,
    ));
    assert_eq!(by[0]["acct"], "bob");
    let bob_id = by[0]["id"].as_str().unwrap().to_string();
    let mine = ok(call(
        &node,
        None,
        "GET",
        &format!("/api/v1/accounts/{bob_id}/statuses"),
        None,
    ));
    assert_eq!(mine[0]["reblog"]["id"], s["id"]);
    let none = ok(call(
        &node,
        None,
        "GET",
        &format!("/api/v1/accounts/{bob_id}/statuses?exclude_reblogs=true"),
        None,
    ));
    assert!(none.as_array().unwrap().is_empty());

    let b = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/bookmark"),
        None,
    ));
    assert_eq!(b["bookmarked"], true);
    // (GET /api/v1/bookmarks is msm's own for an msm session; its Mastodon form, which needs
    // an app's token, is covered by the store's tests of `feed_page`)
    let seen_by_alice = ok(call(&node, Some(&alice), "GET", &path, None));
    assert_eq!(
        seen_by_alice["bookmarked"], false,
        "bookmarks are one's own"
    );
    assert_eq!(seen_by_alice["favourited"], false);
    assert_eq!(seen_by_alice["favourites_count"], 1);

    let un = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/unfavourite"),
        None,
    ));
    assert_eq!(
        (un["favourited"].clone(), un["favourites_count"].clone()),
        (json!(false), json!(0))
    );
    let un = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/unreblog"),
        None,
    ));
    assert_eq!(
        (un["reblogged"].clone(), un["reblogs_count"].clone()),
        (json!(false), json!(0))
    );
    let un = ok(call(
        &node,
        Some(&bob),
        "POST",
        &format!("{path}/unbookmark"),
        None,
    ));
    assert_eq!(un["bookmarked"], false);
    let r = call(&node, Some(&bob), "POST", &format!("{path}/pin"), None);
    assert_eq!(r.status, 422);
}

#[test]
fn edits_keep_history_and_source_and_deletes_answer_the_text() {
    let (_d, node, [alice, bob, _]) = node();
    let s = toot(&node, &alice, json!({"status": "frist"}));
    let path = format!("/api/v1/statuses/{}", id(&s));
    let r = call(
        &node,
        Some(&bob),
        "PUT",
        &path,
        Some(json!({"status": "mine now"})),
    );
    assert_eq!(r.status, 404, "only one's own");
    let edited = ok(call(
        &node,
        Some(&alice),
        "PUT",
        &path,
        Some(json!({"status": "first", "spoiler_text": "typo"})),
    ));
    assert_eq!(edited["content"], "<p>first</p>");
    assert_eq!(edited["spoiler_text"], "typo");
    assert!(edited["edited_at"].is_string());
    let history = ok(call(&node, None, "GET", &format!("{path}/history"), None));
    let texts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["<p>frist</p>", "<p>first</p>"]);
    let source = ok(call(
        &node,
        Some(&alice),
        "GET",
        &format!("{path}/source"),
        None,
    ));
    assert_eq!(
        source,
        json!({"id": id(&s), "text": "first", "spoiler_text": "typo"})
    );

    assert_eq!(call(&node, Some(&bob), "DELETE", &path, None).status, 404);
    let gone = ok(call(&node, Some(&alice), "DELETE", &path, None));
    assert_eq!(gone["text"], "first");
    assert_eq!(call(&node, Some(&alice), "GET", &path, None).status, 404);
}

/// The `<...>` of a Link header's `rel`, as a path.
fn link(r: &Resp, rel: &str) -> String {
    let h = r.header("Link").expect("Link header");
    let part = h
        .split(", ")
        .find(|p| p.ends_with(&format!("rel=\"{rel}\"")))
        .unwrap_or_else(|| panic!("no {rel} in {h}"));
    let url = &part[1..part.find('>').unwrap()];
    url[url.find("/api/").unwrap()..].to_string()
}

#[test]
fn timelines_page_with_link_headers() {
    let (_d, node, [alice, ..]) = node();
    let made: Vec<String> = (0..5)
        .map(|i| {
            id(&toot(
                &node,
                &alice,
                json!({ "status": format!("post {i}") }),
            ))
        })
        .collect();
    let r = call(
        &node,
        Some(&alice),
        "GET",
        "/api/v1/timelines/home?limit=2",
        None,
    );
    assert_eq!(ids(&body(&r)), [made[4].clone(), made[3].clone()]);
    let next = link(&r, "next");
    assert!(next.contains("limit=2") && next.contains(&format!("max_id={}", made[3])));
    let r2 = call(&node, Some(&alice), "GET", &next, None);
    assert_eq!(ids(&body(&r2)), [made[2].clone(), made[1].clone()]);
    let prev = link(&r2, "prev");
    assert!(prev.contains(&format!("min_id={}", made[2])), "{prev}");
    let r3 = ok(call(&node, Some(&alice), "GET", &prev, None));
    assert_eq!(ids(&r3), [made[4].clone(), made[3].clone()]);
    // min_id takes the oldest above it; since_id the newest
    let path = format!("/api/v1/timelines/home?limit=2&min_id={}", made[0]);
    let r = ok(call(&node, Some(&alice), "GET", &path, None));
    assert_eq!(ids(&r), [made[2].clone(), made[1].clone()]);
    let path = format!("/api/v1/timelines/home?limit=2&since_id={}", made[0]);
    let r = ok(call(&node, Some(&alice), "GET", &path, None));
    assert_eq!(ids(&r), [made[4].clone(), made[3].clone()]);

    let local = ok(call(
        &node,
        None,
        "GET",
        "/api/v1/timelines/public?local=true",
        None,
    ));
    assert_eq!(local.as_array().unwrap().len(), 5);
    let remote = ok(call(
        &node,
        None,
        "GET",
        "/api/v1/timelines/public?remote=true",
        None,
    ));
    assert!(remote.as_array().unwrap().is_empty(), "{remote}");
    let r = call(&node, None, "GET", "/api/v1/timelines/home", None);
    assert_eq!(r.status, 401);
}

#[test]
fn statuses_carry_the_posters_uploads_as_media_attachments() {
    let (_d, node, [alice, bob, _]) = node();
    let tmp = tempfile::tempdir().unwrap();
    let photo = super::pictures::gps_photo(tmp.path(), "p.jpg", 120, 80);
    let r = super::pictures::upload(&node, &alice, &std::fs::read(&photo).unwrap(), "image/jpeg");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sha = r.json()["id"].as_str().unwrap().to_string();
    let r = call(
        &node,
        Some(&bob),
        "POST",
        "/api/v1/statuses",
        Some(json!({"status": "not mine", "media_ids": [sha]})),
    );
    assert!(
        r.status >= 400,
        "only the poster's own uploads: {}",
        r.status
    );
    let s = toot(&node, &alice, json!({"status": "look", "media_ids": [sha]}));
    let m = &s["media_attachments"][0];
    assert_eq!(m["id"], sha.as_str());
    assert_eq!(m["type"], "image");
    assert!(m["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/media/{sha}")));
    let (w, h) = (
        m["meta"]["original"]["width"].clone(),
        m["meta"]["original"]["height"].clone(),
    );
    assert_eq!(m["meta"]["original"]["size"], format!("{w}x{h}"));
    let plain = toot(&node, &alice, json!({"status": "no picture"}));
    let all = ok(call(&node, None, "GET", "/api/v1/timelines/public", None));
    assert_eq!(ids(&all), [id(&plain), id(&s)]);
    let only = ok(call(
        &node,
        None,
        "GET",
        "/api/v1/timelines/public?only_media=true",
        None,
    ));
    assert_eq!(ids(&only), [id(&s)]);
}
