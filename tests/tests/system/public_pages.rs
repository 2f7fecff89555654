//! Public pages and the Atom feed with posts from two real nodes (a remote reply on a post's
//! page, reposts, replies, links in text), what Home keeps after an unfollow, and content
//! warnings, edits, counts and hashtag pages on one node, where direct and followers-only posts
//! never show.

use crate::federation::{pinned_pair, post, wait_posts, PW};
use msm_tests::{data_dir, Node};
use serde_json::{json, Value};
use std::io::Write;

/// POSTs `body` to `path` as the holder of `token`; the answer must be 201.
fn send(node: &Node, token: &str, path: &str, body: &Value) -> Value {
    let r = node.post_json(path, Some(token), body);
    assert_eq!(r.status, 201, "{}\n{}", r.text(), node.log());
    r.json()
}

/// The home timeline of the holder of `token`.
fn home(node: &Node, token: &str) -> Vec<Value> {
    let auth = format!("Bearer {token}");
    let r = node.http("GET", "/api/v1/timeline", &[("Authorization", &auth)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["posts"].as_array().unwrap().clone()
}

/// The feed at `path`, parsed by feedparser: its entries (title, link, links, content).
fn parsed_feed(node: &Node, path: &str) -> Vec<Value> {
    let feed = node.http("GET", path, &[], None);
    assert_eq!(feed.status, 200);
    let check = r#"
import feedparser, json, sys
f = feedparser.parse(sys.stdin.buffer.read())
assert not f.bozo, f.bozo_exception
print(json.dumps([{"title": e.title, "link": e.link, "links": [l.href for l in e.links],
  "content": e.content[0].value, "type": e.content[0].type,
  "summary": e.get("summary"), "summary_type": e.get("summary_detail", {}).get("type"),
  "published": e.get("published"), "updated": e.get("updated")} for e in f.entries]))
"#;
    let mut py = std::process::Command::new("python3")
        .args(["-c", check])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    py.stdin.take().unwrap().write_all(&feed.body).unwrap();
    let out = py.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "feedparser: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        feed.text()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every `href="…"` in `html` that contains `needle`.
fn hrefs_with<'a>(html: &'a str, needle: &str) -> Vec<&'a str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.contains(needle))
        .collect()
}

#[test]
fn public_pages_show_real_authors_reposts_replies_and_links() {
    let (_a, _b, na, nb, _dns) = pinned_pair(&["alice"]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    assert_eq!(na.follow(&alice, "bob@b.test").0, 201);
    assert_eq!(nb.follow(&bob, "alice@a.test").0, 201);

    let first = post(&na, &alice, "hello, see https://x.test/a?b=1&c=2 #Fox");
    wait_posts(&nb, "alice@a.test", &bob, 1);
    let reply = send(
        &nb,
        &bob,
        "/api/v1/posts",
        &json!({"text": "hi back from bob", "reply_to": format!("alice@a.test/{first}")}),
    );
    let original = post(&nb, &bob, "original by bob");
    wait_posts(&na, "bob@b.test", &alice, 2);
    let of = format!("bob@b.test/{original}");
    send(&na, &alice, "/api/v1/reposts", &json!({ "of": of }));
    send(
        &na,
        &alice,
        "/api/v1/posts",
        &json!({"text": "a reply by alice", "reply_to": of}),
    );

    // Item 1: bob's reply on alice's post page shows bob and links bob's post at b.test.
    let page = na.http("GET", &format!("/@alice/{first}"), &[], None);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("hi back from bob"), "{html}");
    assert!(
        html.contains(">bob@b.test</a>"),
        "the reply shows its author: {html}"
    );
    let bob_reply = format!("https://b.test/@bob/{}", reply["seq"]);
    assert_eq!(
        hrefs_with(&html, "/@bob"),
        vec!["https://b.test/@bob", bob_reply.as_str()],
        "{html}"
    );
    // Item 9: URLs in text are links, times are readable in a <time>.
    assert!(
        html.contains("<a href=\"https://x.test/a?b=1&amp;c=2\" rel=\"nofollow noopener ugc\">"),
        "{html}"
    );
    assert!(html.contains("/tags/fox\""), "{html}");
    assert!(html.contains("<time datetime=\"20"), "{html}");
    assert!(html.contains(" UTC</time>"), "{html}");

    // Item 9: the profile shows the reposted post (author, text, link) and links a reply's parent.
    let html = na.http("GET", "/@alice", &[], None).text();
    let bob_original = format!("https://b.test/@bob/{original}");
    assert!(html.contains("reposted"), "{html}");
    assert!(html.contains("<p>original by bob</p>"), "{html}");
    assert!(
        html.contains(&format!("reply to <a href=\"{bob_original}\">{of}</a>")),
        "{html}"
    );
    assert!(
        hrefs_with(&html, "/@bob/")
            .iter()
            .all(|h| *h == bob_original),
        "{html}"
    );
    assert!(!html.contains("repost of"), "{html}");

    // The feed: valid, a repost entry with the reposted text and author, a reply entry linking
    // its parent, a URL in text as a link in the HTML content.
    let entries = parsed_feed(&na, "/@alice/feed.atom");
    assert_eq!(entries.len(), 3, "{entries:?}");
    let (reply_e, repost_e, post_e) = (&entries[0], &entries[1], &entries[2]);
    let text = |e: &Value, k: &str| e[k].as_str().unwrap().to_string();
    assert_eq!(
        text(repost_e, "title"),
        "Repost of bob@b.test: original by bob"
    );
    assert!(
        text(repost_e, "content").contains("original by bob"),
        "{repost_e}"
    );
    assert!(
        text(repost_e, "content").contains("bob@b.test"),
        "{repost_e}"
    );
    assert!(
        text(repost_e, "content").contains(&bob_original),
        "{repost_e}"
    );
    assert!(
        text(reply_e, "content").contains(&format!("href=\"{bob_original}\"")),
        "{reply_e}"
    );
    assert!(
        reply_e["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| *l == bob_original),
        "{reply_e}"
    );
    assert_eq!(text(post_e, "type"), "text/html");
    assert!(
        text(post_e, "content").contains("href=\"https://x.test/a?b=1&amp;c=2\""),
        "{post_e}"
    );
    assert!(text(post_e, "link").ends_with(&format!("/@alice/{first}")));
}

#[test]
fn unfollow_takes_all_their_posts_out_of_home() {
    let (_a, _b, na, nb, _dns) = pinned_pair(&["alice"]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    assert_eq!(na.follow(&alice, "bob@b.test").0, 201);
    post(&nb, &bob, "bob in public");
    send(
        &nb,
        &bob,
        "/api/v1/posts",
        &json!({"text": "bob to friends", "audience": "followers"}),
    );
    wait_posts(&na, "bob@b.test", &alice, 2);
    post(&na, &alice, "alice at home");
    let texts = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|p| p["text"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(
        texts(&home(&na, &alice)),
        ["alice at home", "bob to friends", "bob in public"]
    );

    let r = na.http(
        "DELETE",
        "/api/v1/follows/bob@b.test",
        &[("Authorization", &format!("Bearer {alice}"))],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        texts(&home(&na, &alice)),
        ["alice at home"],
        "one rule for both"
    );
    // bob's public post is still on his profile; the followers-only one is not
    assert_eq!(
        texts(&na.all_posts("bob@b.test", Some(&alice))),
        ["bob in public"]
    );
}

/// `method path` with a JSON body as the holder of `token`: the status.
fn call(node: &Node, token: &str, method: &str, path: &str, body: &Value) -> u16 {
    let auth = format!("Bearer {token}");
    let h = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = node.http(method, path, &h, Some(&body.to_string()));
    assert!(r.status < 300, "{method} {path}: {}", r.text());
    r.status
}

#[test]
fn warnings_edits_counts_and_hashtag_pages_show_only_public_posts() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("ann", PW, false)]);
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice", PW);
    let ann = node.login("ann", PW);
    let name = json!({"display_name": "\u{5d0}lice"});
    call(&node, &alice, "PUT", "/api/v1/profile", &name);
    let cw = json!({"text": "the ending of the #Fox film", "summary": "film spoilers"});
    let seq = send(&node, &alice, "/api/v1/posts", &cw)["seq"]
        .as_u64()
        .unwrap();
    // a second later, so the edit's time differs from the post's in the feed (RFC 3339 seconds)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let edit = json!({"text": "the real ending of the #Fox film", "summary": "film spoilers!"});
    call(&node, &alice, "PUT", &format!("/api/v1/posts/{seq}"), &edit);
    let like = format!("/api/v1/posts/alice@a.test/{seq}/like");
    assert_eq!(call(&node, &ann, "POST", &like, &json!({})), 201);
    let direct = json!({"text": "@ann a secret about #Fox", "audience": "direct"});
    let direct = send(&node, &alice, "/api/v1/posts", &direct)["seq"]
        .as_u64()
        .unwrap();
    let friends = json!({"text": "friends only #Fox", "audience": "followers"});
    let friends = send(&node, &alice, "/api/v1/posts", &friends)["seq"]
        .as_u64()
        .unwrap();
    let hidden = |html: &str| {
        assert!(!html.contains("a secret"), "the direct post shows: {html}");
        assert!(
            !html.contains("friends only"),
            "the followers' post shows: {html}"
        );
    };

    // the post's page: the warning over the text, the edit, the like, the name isolated
    let page = node.http("GET", &format!("/@alice/{seq}"), &[], None);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("<details><summary>film spoilers!</summary><p>the real ending of the "),
        "{html}"
    );
    assert!(html.contains(" · edited <time datetime=\"20"), "{html}");
    assert!(html.contains(">1 like</small>"), "{html}");
    assert!(
        html.contains("<h1><bdi>\u{5d0}lice</bdi> (alice@a.test)</h1>"),
        "{html}"
    );
    assert!(html.contains("<b><bdi>\u{5d0}lice</bdi></b>"), "{html}");

    // direct and followers-only posts: no page, not on the profile, not in the feed
    for s in [direct, friends] {
        assert_eq!(
            node.http("GET", &format!("/@alice/{s}"), &[], None).status,
            404
        );
    }
    hidden(&node.http("GET", "/@alice", &[], None).text());
    hidden(&node.http("GET", "/@alice/feed.atom", &[], None).text());

    // the hashtag's page, by any spelling of the tag, lists the public post only
    for path in ["/tags/fox", "/tags/Fox", "/tags/%23FOX"] {
        let page = node.http("GET", path, &[], None);
        assert_eq!(page.status, 200, "{path}");
        let html = page.text();
        assert!(html.contains("<h1>#fox</h1>"), "{html}");
        assert!(html.contains("the real ending of the "), "{html}");
        assert!(html.contains(&format!("/@alice/{seq}\"><time")), "{html}");
        hidden(&html);
    }
    for path in ["/tags/fox%20film", "/tags/%3Cb%3E", "/tags/nothing"] {
        let page = node.http("GET", path, &[], None);
        let html = page.text();
        assert!(!html.contains("the real ending"), "{path}: {html}");
        if path != "/tags/nothing" {
            assert_eq!(page.status, 404, "{path}");
        }
    }
    assert_eq!(node.http("POST", "/tags/fox", &[], Some("")).status, 405);

    // the feeds: the warning is the entry's summary, the text still in the content, updated is
    // the edit
    for feed in ["/@alice/feed.atom", "/tags/fox/feed.atom"] {
        let entries = parsed_feed(&node, feed);
        assert_eq!(entries.len(), 1, "{feed}: {entries:?}");
        let e = &entries[0];
        assert_eq!(e["summary"], "film spoilers!", "{e}");
        assert_eq!(e["summary_type"], "text/plain", "{e}");
        assert!(
            e["content"]
                .as_str()
                .unwrap()
                .contains("the real ending of the "),
            "{e}"
        );
        assert!(e["updated"].as_str() > e["published"].as_str(), "{e}");
        assert!(e["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/@alice/{seq}")));
    }
    hidden(&node.http("GET", "/tags/fox/feed.atom", &[], None).text());
}
