//! The HTTP API end to end: first run, log-in, posting, reading, and every kind of bad request.

use msm_tests::{data_dir, raw, Node};
use serde_json::json;

#[test]
fn first_run_creates_owner_with_one_time_password() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("fresh"), &[]);
    let health = node.http("GET", "/healthz", &[], None);
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["domain"], "localhost");
    node.wait_for_log("one-time password: ", std::time::Duration::from_secs(10));
    let otp = node
        .log_value("one-time password: ")
        .expect("one-time password in the log");
    let otp = otp.split_whitespace().next().unwrap().to_string();
    assert!(otp.len() >= 16, "{otp}");

    let r = node.post_json(
        "/api/v1/session",
        None,
        &json!({"name": "owner", "password": "owner"}),
    );
    assert_eq!(r.status, 401, "no fixed default password");
    let token = node.login("owner", &otp);
    let me = node.http(
        "GET",
        "/api/v1/session",
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(me.json()["user"]["must_change_password"], true);
    assert_eq!(me.json()["user"]["address"], "owner@localhost");
    let r = node.post_json("/api/v1/posts", Some(&token), &json!({"text": "too early"}));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("one-time password"));

    let r = node.post_json(
        "/api/v1/account/password",
        Some(&token),
        &json!({"old_password": otp, "new_password": "a better password"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let new_token = r.json()["token"].as_str().unwrap().to_string();
    let r = node.post_json(
        "/api/v1/posts",
        Some(&token),
        &json!({"text": "old session"}),
    );
    assert_eq!(r.status, 401, "a password change ends old sessions");
    let r = node.post_json(
        "/api/v1/session",
        None,
        &json!({"name": "owner", "password": otp}),
    );
    assert_eq!(r.status, 401, "the one-time password works once");
    let r = node.post_json(
        "/api/v1/posts",
        Some(&new_token),
        &json!({"text": "hello, world"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["id"], "owner@localhost/1");
    let posts = node.all_posts("owner@localhost", None);
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "hello, world");
    let (status, log) = node.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn post_read_reply_and_followers_only() {
    let dir = data_dir(
        "smith.family",
        &[
            ("alice", "alice-secret", true),
            ("bob", "bob-secret-1", false),
        ],
    );
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice@smith.family", "alice-secret");
    let bob = node.login("bob", "bob-secret-1");
    for i in 1..=3 {
        let r = node.post_json(
            "/api/v1/posts",
            Some(&alice),
            &json!({"text": format!("post {i} <script>alert(1)</script>")}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["seq"], i);
        assert!(r.header("location").unwrap().contains("alice@smith.family"));
    }
    let r = node.post_json(
        "/api/v1/posts",
        Some(&alice),
        &json!({"text": "just friends", "audience": "followers"}),
    );
    assert_eq!(r.status, 201);
    let r = node.post_json(
        "/api/v1/posts",
        Some(&bob),
        &json!({"text": "nice", "reply_to": "alice@smith.family/1"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["refers_to"], "alice@smith.family/1");
    assert_eq!(r.json()["kind"], "reply");

    let public: Vec<_> = node
        .all_posts("alice", None)
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        public,
        [3, 2, 1],
        "anonymous readers see public posts, newest first"
    );
    assert_eq!(
        node.all_posts("alice", Some(&bob)).len(),
        3,
        "bob does not follow alice"
    );
    assert_eq!(
        node.all_posts("alice", Some(&alice)).len(),
        4,
        "alice sees her own"
    );
    let page = node
        .http(
            "GET",
            "/api/v1/users/alice@smith.family/posts?limit=2",
            &[],
            None,
        )
        .json();
    assert_eq!(page["posts"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_before"], 2);
    let page = node
        .http(
            "GET",
            "/api/v1/users/alice%40smith.family/posts?before=2",
            &[],
            None,
        )
        .json();
    assert_eq!(
        page["posts"][0]["text"], "post 1 <script>alert(1)</script>",
        "text is stored as text"
    );
}

/// method, path, headers, body, expected status
type Case<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<String>,
    u16,
);

/// Every bad request gets a clear JSON error and leaves the message count as it was.
#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let node = Node::start(dir.path(), &["--log", "info"]);
    let token = node.login("alice", "alice-secret");
    let bearer = format!("Bearer {token}");
    let r = node.post_json(
        "/api/v1/posts",
        Some(&token),
        &json!({"text": "the one good post"}),
    );
    assert_eq!(r.status, 201);
    let before = node.message_count();
    assert_eq!(before, 1);

    let json_h = ("Content-Type", "application/json");
    let auth_h = ("Authorization", bearer.as_str());
    let big = "x".repeat(16 * 1024 + 1);
    let huge = format!("{{\"text\": \"{}\"}}", "y".repeat(500_000));
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/posts",
            vec![json_h],
            Some(r#"{"text":"no auth"}"#.into()),
            401,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, ("Authorization", "Bearer nope")],
            Some(r#"{"text":"x"}"#.into()),
            401,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, ("Authorization", "Basic abc")],
            Some(r#"{"text":"x"}"#.into()),
            401,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "unterminated"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"txet": "typo"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": 5}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "   "}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "a\u0000b"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "x", "audience": "world"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "x", "reply_to": "nobody"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(r#"{"text": "x", "reply_to": "Bad Name@x.test/1"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![("Content-Type", "text/plain"), auth_h],
            Some(r#"{"text":"x"}"#.into()),
            415,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(format!("{{\"text\": \"{big}\"}}")),
            413,
        ),
        (
            "POST",
            "/api/v1/posts",
            vec![json_h, auth_h],
            Some(huge),
            413,
        ),
        (
            "POST",
            "/api/v1/session",
            vec![json_h],
            Some(r#"{"name": "alice"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/v1/session",
            vec![json_h],
            Some(r#"{"name": "alice", "password": "wrong-password"}"#.into()),
            401,
        ),
        (
            "POST",
            "/api/v1/session",
            vec![json_h],
            Some(r#"{"name": "alice@elsewhere.test", "password": "alice-secret"}"#.into()),
            401,
        ),
        ("GET", "/api/v1/users/nobody/posts", vec![], None, 404),
        ("GET", "/api/v1/users/bad%20name/posts", vec![], None, 400),
        (
            "GET",
            "/api/v1/users/alice/posts?limit=0",
            vec![],
            None,
            400,
        ),
        (
            "GET",
            "/api/v1/users/alice/posts?limit=1000",
            vec![],
            None,
            400,
        ),
        (
            "GET",
            "/api/v1/users/alice/posts?before=soon",
            vec![],
            None,
            400,
        ),
        ("GET", "/api/v1/nothing", vec![], None, 404),
        ("DELETE", "/api/v1/posts", vec![auth_h], None, 405),
        ("PUT", "/healthz", vec![], None, 405),
    ];
    for (method, path, headers, body, want) in cases {
        let r = node.http(method, path, &headers, body.as_deref());
        assert_eq!(
            r.status,
            want,
            "{method} {path} {:?}: {}",
            body.as_deref().map(|b| &b[..b.len().min(80)]),
            r.text()
        );
        let err = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(!err.is_empty(), "{method} {path}: error has words");
        assert_eq!(
            node.message_count(),
            before,
            "{method} {path} changed stored data"
        );
    }

    // A declared body larger than the limit is refused before it is sent at all.
    let head = "POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n";
    let r = raw(
        node.addr,
        format!("{head}Authorization: {bearer}\r\nContent-Length: 99999999\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 413);
    // A chunked body that runs past the limit.
    let mut chunked =
        format!("{head}Authorization: {bearer}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..500 {
        chunked.extend_from_slice(format!("{:x}\r\n{}\r\n", 1000, "z".repeat(1000)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = raw(node.addr, &chunked).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    // Garbage instead of HTTP: the node answers 400 or closes, and keeps serving.
    let _ = raw(node.addr, b"\x00\x01\x02 not http at all\r\n\r\n");
    assert_eq!(node.message_count(), before);
    assert_eq!(node.http("GET", "/healthz", &[], None).status, 200);
}

#[test]
fn cookie_sessions_need_the_csrf_header_and_log_out_works() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let node = Node::start(dir.path(), &[]);
    let r = node.post_json(
        "/api/v1/session",
        None,
        &json!({"name": "alice", "password": "alice-secret"}),
    );
    let cookie = r.header("set-cookie").unwrap().to_string();
    for attr in ["msm_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap();
    let json_h = ("Content-Type", "application/json");
    let r = node.http("GET", "/api/v1/session", &[("Cookie", pair)], None);
    assert_eq!(r.status, 200, "reads work with the cookie alone");
    let r = node.http(
        "POST",
        "/api/v1/posts",
        &[json_h, ("Cookie", pair)],
        Some(r#"{"text":"forged"}"#),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(node.message_count(), 0);
    let r = node.http(
        "POST",
        "/api/v1/posts",
        &[json_h, ("Cookie", pair), ("X-Msm-Csrf", "1")],
        Some(r#"{"text":"mine"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = node.http(
        "DELETE",
        "/api/v1/session",
        &[("Cookie", pair), ("X-Msm-Csrf", "1")],
        None,
    );
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = node.http("GET", "/api/v1/session", &[("Cookie", pair)], None);
    assert_eq!(r.status, 401, "logged out");
}

#[test]
fn log_in_attempts_are_rate_limited() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let node = Node::start(dir.path(), &[]);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let r = node.post_json(
            "/api/v1/session",
            None,
            &json!({"name": "alice", "password": "guess-guess"}),
        );
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    let r = node.post_json(
        "/api/v1/session",
        None,
        &json!({"name": "alice", "password": "alice-secret"}),
    );
    assert_eq!(r.status, 429, "the right password waits too");
}
