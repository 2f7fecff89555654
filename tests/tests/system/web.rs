//! The client API of the web client, the live stream, the public pages and the HTTP bounds,
//! against a real `msmd` process.

use msm_tests::{data_dir, raw, Node};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const PW: &str = "a long password";

fn get(node: &Node, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let r = node.http("GET", path, &h, None);
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn send(node: &Node, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let r = node.http(
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&body.to_string()),
    );
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// An open live stream, read event by event.
struct Stream {
    lines: BufReader<TcpStream>,
}

impl Stream {
    fn open(node: &Node, token: &str, last_event_id: Option<i64>) -> Result<Stream, String> {
        let mut s = TcpStream::connect(node.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let last = last_event_id.map_or(String::new(), |n| format!("Last-Event-ID: {n}\r\n"));
        write!(
            s,
            "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{last}\r\n"
        )
        .unwrap();
        let mut lines = BufReader::new(s);
        let mut status = String::new();
        lines.read_line(&mut status).unwrap();
        if !status.starts_with("HTTP/1.1 200") {
            return Err(status);
        }
        let mut head = String::new();
        while lines.read_line(&mut head).unwrap() > 2 {
            head.clear();
        }
        Ok(Stream { lines })
    }

    /// The next `post` event: (id, data).
    fn next(&mut self) -> (i64, Value) {
        let (id, event, data) = self.next_event();
        assert_eq!(event, "post", "{data}");
        (id, data)
    }

    /// The next event of the timeline: (id, event, data); counts of notifications are skipped.
    fn next_event(&mut self) -> (i64, String, Value) {
        loop {
            let (id, event, data) = self.next_any();
            if event != "notifications" {
                assert_eq!(data["cursor"].as_i64(), id, "event id is the cursor");
                return (id.unwrap(), event, data);
            }
        }
    }

    /// The next unread count of a `notifications` event.
    fn next_unread(&mut self) -> u64 {
        loop {
            let (id, event, data) = self.next_any();
            if event == "notifications" {
                assert_eq!(id, None, "a count has no event id: {data}");
                return data["unread"].as_u64().expect("unread count");
            }
        }
    }

    /// The next event of any kind: (id, event, data).
    fn next_any(&mut self) -> (Option<i64>, String, Value) {
        let (mut id, mut event) = (None, String::new());
        loop {
            let mut l = String::new();
            assert!(self.lines.read_line(&mut l).unwrap() > 0, "stream closed");
            let l = l.trim_end();
            if let Some(v) = l.strip_prefix("id: ") {
                id = Some(v.parse().unwrap());
            } else if let Some(v) = l.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                return (id, event, serde_json::from_str(v).unwrap());
            }
        }
    }
}

#[test]
fn the_stream_sends_the_unread_count_when_it_changes() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("bob", PW, false)]);
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice", PW);
    let bob = node.login("bob", PW);
    let mut live = Stream::open(&node, &alice, None).unwrap();
    assert_eq!(
        live.next_unread(),
        0,
        "the count comes when the stream opens"
    );
    let (s, v) = send(
        &node,
        "POST",
        "/api/v1/posts",
        &bob,
        &json!({"text": "hello @alice"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(live.next_unread(), 1, "a mention counts live");
    let (s, v) = send(
        &node,
        "POST",
        "/api/v1/notifications/read",
        &alice,
        &json!({}),
    );
    assert_eq!((s, v["unread"].as_u64()), (200, Some(0)), "{v}");
    assert_eq!(live.next_unread(), 0, "marking read counts live");
    // the count is sent when it changes, so the next mention counts again
    let (s, v) = send(
        &node,
        "POST",
        "/api/v1/posts",
        &bob,
        &json!({"text": "again @alice"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(live.next_unread(), 1, "a second mention counts live");
}

#[test]
fn timeline_and_live_stream_resume_without_loss_or_repeat() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("bob", PW, false)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(
        &cfg,
        "[http]\nworkers = 2\nmax_connections = 8\nmax_streams = 2\n",
    )
    .unwrap();
    let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let alice = node.login("alice", PW);
    let bob = node.login("bob", PW);
    assert_eq!(
        send(
            &node,
            "POST",
            "/api/v1/follows",
            &alice,
            &json!({"address": "bob@a.test"})
        )
        .0,
        201
    );

    assert_eq!(
        Stream::open(&node, "nope", None)
            .err()
            .unwrap()
            .split(' ')
            .nth(1),
        Some("401")
    );
    let mut live = Stream::open(&node, &alice, None).unwrap();
    let post = |who: &str, text: &str| {
        let (s, v) = send(&node, "POST", "/api/v1/posts", who, &json!({"text": text}));
        assert_eq!(s, 201, "{v}");
    };
    post(&bob, "one");
    post(&alice, "two");
    post(&bob, "three");
    let got: Vec<(i64, Value)> = (0..3).map(|_| live.next()).collect();
    let texts: Vec<&str> = got
        .iter()
        .map(|(_, v)| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "ids grow");

    // Two streams are the limit; a third is refused while two are open.
    let _second = Stream::open(&node, &bob, None).unwrap();
    let third = Stream::open(&node, &alice, None).err().unwrap();
    assert!(third.contains("503"), "{third}");
    drop(live);

    // Missed while away: exactly what came after the last id seen, in order.
    post(&bob, "four");
    post(&bob, "five");
    let t0 = Instant::now();
    let mut back = loop {
        match Stream::open(&node, &alice, Some(got[1].0)) {
            Ok(s) => break s,
            Err(e) if e.contains("503") && t0.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(100)); // the old stream is noticed gone
            }
            Err(e) => panic!("{e}"),
        }
    };
    let again: Vec<String> = (0..3)
        .map(|_| back.next().1["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(again, ["three", "four", "five"]);
    // A delete of a post in the timeline travels as its own event.
    let (s, v) = send(&node, "DELETE", "/api/v1/posts/1", &bob, &json!({}));
    assert_eq!(s, 201, "{v}");
    let (_, event, data) = back.next_event();
    assert_eq!(
        (event.as_str(), data["refers_to"].as_str()),
        ("delete", Some("bob@a.test/1"))
    );
    assert_eq!(
        Stream::open(&node, &alice, Some(-1))
            .err()
            .map(|e| e.contains("400")),
        Some(true)
    );

    // The timeline, paged by cursor, newest first, has all five exactly once.
    let (s, page1) = get(&node, "/api/v1/timeline?limit=3", Some(&alice));
    assert_eq!(s, 200);
    let next = page1["next_before"].as_i64().unwrap();
    let (_, page2) = get(
        &node,
        &format!("/api/v1/timeline?limit=3&before={next}"),
        Some(&alice),
    );
    let all: Vec<&str> = page1["posts"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["posts"].as_array().unwrap())
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(all, ["five", "four", "three", "two"], "\"one\" was deleted");
    assert!(page2["next_before"].is_null());
    assert_eq!(get(&node, "/api/v1/timeline", None).0, 401);
    assert_eq!(get(&node, "/api/v1/timeline?limit=0", Some(&alice)).0, 400);
    assert_eq!(get(&node, "/api/v1/timeline?before=x", Some(&alice)).0, 400);
}

#[test]
fn replies_reposts_profiles_search_and_admin() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("bob", PW, false)]);
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice", PW);
    let bob = node.login("bob", PW);
    let (s, first) = send(
        &node,
        "POST",
        "/api/v1/posts",
        &alice,
        &json!({"text": "Multicast carries the firehose"}),
    );
    assert_eq!(s, 201);
    let id = first["id"].as_str().unwrap().to_string();
    let (s, reply) = send(
        &node,
        "POST",
        "/api/v1/posts",
        &bob,
        &json!({"text": "and TCP repairs it", "reply_to": id}),
    );
    assert_eq!(s, 201, "{reply}");
    let (s, rp) = send(&node, "POST", "/api/v1/reposts", &bob, &json!({"of": id}));
    assert_eq!(
        (s, rp["kind"].as_str(), rp["refers_to"].as_str()),
        (201, Some("repost"), Some(id.as_str()))
    );
    let (s, v) = send(
        &node,
        "POST",
        "/api/v1/reposts",
        &bob,
        &json!({"of": "alice@a.test/99"}),
    );
    assert_eq!(s, 404, "{v}");
    assert_eq!(
        send(
            &node,
            "POST",
            "/api/v1/reposts",
            &bob,
            &json!({"of": "nonsense"})
        )
        .0,
        400
    );

    let (s, thread) = get(&node, "/api/v1/thread/alice@a.test/1", None);
    assert_eq!(s, 200);
    assert_eq!(thread["post"]["text"], "Multicast carries the firehose");
    assert_eq!(thread["replies"][0]["text"], "and TCP repairs it");
    assert_eq!(get(&node, "/api/v1/thread/alice@a.test/42", None).0, 404);
    assert_eq!(get(&node, "/api/v1/thread/alice@a.test/x", None).0, 400);

    assert_eq!(
        send(
            &node,
            "PUT",
            "/api/v1/profile",
            &alice,
            &json!({"display_name": "Alice S.", "bio": "<b>hi</b>"})
        )
        .0,
        201
    );
    let (s, p) = get(&node, "/api/v1/users/alice", Some(&bob));
    assert_eq!(
        (s, p["display_name"].as_str(), p["local"].as_bool()),
        (200, Some("Alice S."), Some(true))
    );
    assert_eq!(get(&node, "/api/v1/users/nobody@else.test", None).0, 404);
    assert_eq!(get(&node, "/api/v1/users/BAD%20NAME", None).0, 400);

    // Search: words, phrases, prefixes, ranked; text FTS5 would refuse is words (more in
    // `search`), and only a missing or over-long query is 400.
    for (q, want) in [
        ("firehose", 1),
        ("%22TCP%20repairs%22", 1),
        ("multi*", 1),
        ("repairs%20OR%20firehose", 2),
        ("nothing", 0),
    ] {
        let (s, v) = get(&node, &format!("/api/v1/search?q={q}"), None);
        assert_eq!(s, 200, "{q}: {v}");
        assert_eq!(v["posts"].as_array().unwrap().len(), want, "{q}: {v}");
    }
    for (odd, want) in [
        ("%22open", 0),
        ("AND", 1),
        ("x:y", 0),
        ("", 0),
        ("(a", 0),
        ("%22TCP%20repairs", 1),
    ] {
        let (s, v) = get(&node, &format!("/api/v1/search?q={odd}"), None);
        assert_eq!(s, 200, "{odd}: {v}");
        assert_eq!(v["posts"].as_array().unwrap().len(), want, "{odd}: {v}");
    }
    assert_eq!(get(&node, "/api/v1/search", None).0, 400);
    let long = "a".repeat(300);
    let (s, v) = get(&node, &format!("/api/v1/search?q={long}"), None);
    assert_eq!(s, 400);
    assert!(
        v["error"].as_str().unwrap().starts_with("bad search query"),
        "{v}"
    );

    // Owner-only administration.
    assert_eq!(get(&node, "/api/v1/admin/users", None).0, 401);
    assert_eq!(get(&node, "/api/v1/admin/users", Some(&bob)).0, 403);
    let (s, v) = get(&node, "/api/v1/admin/users", Some(&alice));
    assert_eq!((s, v["users"].as_array().unwrap().len()), (200, 2));
    let (s, v) = send(
        &node,
        "POST",
        "/api/v1/admin/users",
        &alice,
        &json!({"name": "carol"}),
    );
    assert_eq!(s, 201, "{v}");
    let otp = v["one_time_password"].as_str().unwrap().to_string();
    assert_eq!(v["user"]["must_change_password"], true);
    let (s, p) = get(&node, "/api/v1/users/carol", None);
    assert_eq!(
        (s, p["local"].as_bool()),
        (200, Some(true)),
        "a user who never posted"
    );
    let (s, p) = get(&node, "/api/v1/users/carol/posts", None);
    assert_eq!((s, p["posts"].as_array().map(Vec::len)), (200, Some(0)));
    let carol = node.login("carol", &otp);
    assert_eq!(
        get(&node, "/api/v1/timeline", Some(&carol)).0,
        403,
        "one-time password first"
    );
    let cases: [(&str, &str, &str, Value, u16); 8] = [
        ("POST", "", &alice, json!({"name": "carol"}), 409),
        ("POST", "", &alice, json!({"name": "Bad Name!"}), 400),
        ("POST", "", &alice, json!({"name": "d", "role": "god"}), 400),
        ("POST", "", &bob, json!({"name": "eve"}), 403),
        ("DELETE", "/carol", &bob, json!({}), 403),
        ("DELETE", "/carol", &alice, json!({}), 200),
        ("DELETE", "/carol", &alice, json!({}), 404),
        ("DELETE", "/alice", &alice, json!({}), 400),
    ];
    for (method, rest, token, body, want) in cases {
        let path = format!("/api/v1/admin/users{rest}");
        let (s, v) = send(&node, method, &path, token, &body);
        assert_eq!(s, want, "{method} {path} {body}: {v}");
    }
    let r = node.http(
        "POST",
        "/api/v1/admin/users",
        &[
            ("Authorization", &format!("Bearer {alice}")),
            ("Content-Type", "application/json"),
        ],
        Some(&"x".repeat(20_000)),
    );
    assert_eq!(r.status, 413);
}

#[test]
fn public_pages_feed_and_webfinger() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice", PW);
    send(
        &node,
        "PUT",
        "/api/v1/profile",
        &alice,
        &json!({"display_name": "Alice & Co"}),
    );
    let hostile = [
        "<script>alert(1)</script>",
        "<img src=x onerror=\"alert(2)\">",
    ];
    for (i, t) in hostile.iter().enumerate() {
        let text = format!("post {i}: {t}\nsecond line");
        assert_eq!(
            send(
                &node,
                "POST",
                "/api/v1/posts",
                &alice,
                &json!({"text": text})
            )
            .0,
            201
        );
    }
    let secret = json!({"text": "followers only", "audience": "followers"});
    assert_eq!(send(&node, "POST", "/api/v1/posts", &alice, &secret).0, 201);

    let page = node.http("GET", "/@alice", &[], None);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(!html.contains("followers only"));
    assert!(html.contains("Alice &amp; Co"));
    assert_eq!(node.http("GET", "/@nobody", &[], None).status, 404);
    assert_eq!(node.http("GET", "/@alice/2", &[], None).status, 200);
    assert_eq!(
        node.http("GET", "/@alice/4", &[], None).status,
        404,
        "followers-only"
    );

    // The feed parses in a real feed parser with the right titles, links, dates and author.
    let feed = node.http("GET", "/@alice/feed.atom", &[], None);
    assert_eq!(feed.status, 200);
    assert!(feed
        .header("content-type")
        .unwrap()
        .starts_with("application/atom+xml"));
    let check = r#"
import feedparser, json, sys
f = feedparser.parse(sys.stdin.buffer.read())
assert not f.bozo, f.bozo_exception
print(json.dumps({"version": f.version, "title": f.feed.title, "author": f.feed.author,
  "link": f.feed.link, "entries": [{"title": e.title, "link": e.link, "published": e.published,
  "parsed": list(e.published_parsed[:3]), "summary": e.summary, "author": f.feed.author}
  for e in f.entries]}))
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
        "feedparser (tests/run installs it from PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["version"], "atom10");
    assert_eq!(f["title"], "Alice & Co (alice@a.test)");
    assert_eq!(f["author"], "Alice & Co");
    assert!(f["link"].as_str().unwrap().ends_with("/@alice"));
    let entries = f["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "public posts only");
    assert_eq!(
        entries[0]["title"],
        "post 1: <img src=x onerror=\"alert(2)\">…"
    );
    // the content is HTML: the text escaped, its line break a <br>
    let summary = entries[0]["summary"].as_str().unwrap();
    assert!(summary.contains("<br />second line"), "{summary}");
    assert!(summary.contains("&lt;img src=x"), "{summary}");
    assert!(entries[1]["link"].as_str().unwrap().ends_with("/@alice/2"));
    let year = entries[0]["parsed"][0].as_i64().unwrap();
    assert!((2024..2100).contains(&year), "{f}");

    // WebFinger: a valid JRD for an account here, 404 for others, 400 without a resource.
    let r = node.http(
        "GET",
        "/.well-known/webfinger?resource=acct:alice@a.test",
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/jrd+json"));
    let jrd: Value = r.json();
    assert_eq!(jrd["subject"], "acct:alice@a.test");
    let links = jrd["links"].as_array().unwrap();
    assert!(links.iter().all(|l| l["rel"].is_string()), "{jrd}");
    let node_link = msmd::discover::jrd::parse(&r.body).unwrap();
    let key = node.http("GET", "/.well-known/msm", &[], None).json()["key"].clone();
    assert_eq!(node_link.key.unwrap().to_text(), key.as_str().unwrap());
    assert_eq!(node_link.port, node.links.port());
    assert!(links
        .iter()
        .any(|l| l["rel"] == "http://webfinger.net/rel/profile-page"));
    for (q, want) in [
        ("resource=acct:bob@a.test", 404),
        ("resource=acct:alice@b.test", 404),
        ("resource=https://a.test/", 404),
        ("", 400),
        ("resource=acct:a.test@a.test", 200),
    ] {
        let r = node.http("GET", &format!("/.well-known/webfinger?{q}"), &[], None);
        assert_eq!(r.status, want, "{q}");
    }
}

#[test]
fn web_client_files_are_embedded_gzipped_and_nothing_else_is_served() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let plain = node.http("GET", "/", &[], None);
    assert_eq!(plain.status, 200);
    assert!(plain
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    let gz = node.http("GET", "/", &[("Accept-Encoding", "gzip, br")], None);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    let etag = plain.header("etag").unwrap().to_string();
    assert_eq!(
        node.http("GET", "/", &[("If-None-Match", &etag)], None)
            .status,
        304
    );
    let head = node.http("HEAD", "/", &[], None);
    assert_eq!((head.status, head.body.len()), (200, 0));
    let js = node.http("GET", "/app.js", &[], None);
    assert!(js
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    // The installable app: its manifest, icons and service worker, with their types; an
    // image is sent as it is, never gzipped again.
    for (path, kind) in [
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/sw.js", "text/javascript"),
        ("/icon-192.png", "image/png"),
        ("/icon-512.png", "image/png"),
        ("/icon-maskable-512.png", "image/png"),
    ] {
        let r = node.http("GET", path, &[("Accept-Encoding", "gzip")], None);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert_eq!(
            r.header("content-encoding").is_some(),
            !kind.starts_with("image/"),
            "{path}"
        );
    }
    assert!(plain
        .header("content-security-policy")
        .unwrap()
        .contains("worker-src 'self'"));
    for p in [
        "/../Cargo.toml",
        "/static/app.js",
        "/app.js/..",
        "/%2e%2e/etc/passwd",
        "/msm.db",
    ] {
        assert_eq!(node.http("GET", p, &[], None).status, 404, "{p}");
    }
}

#[test]
fn http_heads_connections_and_stalls_are_bounded() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(
        &cfg,
        "[http]\nworkers = 2\nmax_connections = 4\nmax_streams = 1\ntimeout_s = 5\nsecure_cookies = true\n",
    )
    .unwrap();
    let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let r = node.post_json(
        "/api/v1/session",
        None,
        &json!({"name": "alice", "password": PW}),
    );
    let cookie = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let long_line = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(raw(node.addr, long_line.as_bytes()).unwrap().status, 431);
    let many: String = (0..70).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(raw(node.addr, many.as_bytes()).unwrap().status, 431);

    // Four kept-alive connections (each answered once, so surely accepted) hold every slot: a
    // fifth takes the slot of the one idle longest and is served (issue 12, item 4).
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(node.addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 12];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"HTTP/1.1 200");
            // a pause keeps the order of the connections' last activity the order of opening,
            // even on a loaded machine where answers are written out late
            std::thread::sleep(Duration::from_millis(200));
            c
        })
        .collect();
    let r = msm_tests::request(node.addr, "GET", "/healthz", &[], None).unwrap();
    assert_eq!(r.status, 200, "{}", node.log());
    let mut oldest = &idle[0];
    oldest
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut rest = Vec::new();
    assert!(
        oldest.read_to_end(&mut rest).is_ok(),
        "the connection idle longest was not dropped"
    );
    // A stalled client is dropped after timeout_s; then its slot serves again.
    let mut stalled = &idle[1];
    stalled
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let t0 = Instant::now();
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest); // the rest of the answer, then the close
    assert!(t0.elapsed() >= Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(14), "{:?}", t0.elapsed());
    drop(idle);
    let t0 = Instant::now();
    loop {
        let r = msm_tests::request(node.addr, "GET", "/healthz", &[], None).unwrap();
        if r.status == 200 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", r.status);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_stalled_stream_is_dropped_and_frees_its_slot() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(
        &cfg,
        "[http]\nworkers = 2\nmax_connections = 8\nmax_streams = 1\ntimeout_s = 5\n\
         [limits]\nmax_post_bytes = 65536\npost_burst = 1000\ndaily_post_bytes = 100000000\n",
    )
    .unwrap();
    let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let alice = node.login("alice", PW);
    let stalled = Stream::open(&node, &alice, None).unwrap(); // never read again
    assert!(Stream::open(&node, &alice, None)
        .err()
        .unwrap()
        .contains("503"));
    // Far more than loopback socket buffers hold (a few MB each side): the stream's writes
    // block, and after timeout_s the node gives up on it.
    let text = "z".repeat(60_000);
    for _ in 0..250 {
        let (s, _) = send(
            &node,
            "POST",
            "/api/v1/posts",
            &alice,
            &json!({ "text": text }),
        );
        assert_eq!(s, 201);
    }
    let t0 = Instant::now();
    let mut fresh = loop {
        match Stream::open(&node, &alice, None) {
            Ok(s) => break s,
            Err(e) => {
                assert!(e.contains("503"), "{e}");
                assert!(
                    t0.elapsed() < Duration::from_secs(30),
                    "stalled stream kept its slot"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    drop(stalled);
    let (s, _) = send(
        &node,
        "POST",
        "/api/v1/posts",
        &alice,
        &json!({"text": "after"}),
    );
    assert_eq!(s, 201);
    assert_eq!(fresh.next().1["text"], "after");
}
