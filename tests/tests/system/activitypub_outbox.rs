//! Deliveries to a fediverse inbox that misbehaves (issue 16): bob of `localhost` (a stored
//! actor whose inboxes are a [`FakeInbox`] the test controls) follows alice; msmd's `Accept`
//! and alice's posts reach the inbox signed. While the inbox answers 503, a post is retried
//! until it is taken; a slow inbox holds nothing else up (alice keeps posting, each post is
//! delivered in order); once the inbox answers 410 (the follower is gone), its server is
//! unsubscribed and alice has no follower left.

use msm_tests::fake_inbox::FakeInbox;
use msm_tests::{data_dir, Node};
use msmd::activitypub::keys::RsaSigningKey;
use msmd::activitypub::sig::{sign_post, Outgoing};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";
const ALICE: &str = "https://msm.test/users/alice";

fn now() -> u64 {
    msmd::now_ms() / 1000
}

/// alice's followers count, as her followers collection says.
fn followers(node: &msm_tests::Node) -> u64 {
    msm_tests::fedify::followers_count(node, "alice")
}

fn post(node: &Node, token: &str, text: &str) {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// A Create carrying `text`.
fn create_of(text: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v: &Value| {
        v["type"] == "Create"
            && v["object"]["content"]
                .as_str()
                .is_some_and(|c| c.contains(text))
    }
}

/// A node with alice at `msm.test` (locked when `locked`), its data dir, and bob: a stored
/// fediverse actor whose inboxes are `inbox`, with his signing key.
fn lab(inbox: &FakeInbox, locked: bool) -> (Node, tempfile::TempDir, String, RsaSigningKey) {
    let dir = data_dir("msm.test", &[("alice", PW, true)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[http]\npublic_url = \"https://msm.test\"\n[activitypub]\nextra_ca = \"{}\"\nallow_private = true\n",
            inbox.ca.ca_pem().display()
        ),
    )
    .unwrap();
    let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    if locked {
        let token = node.login("alice", PW);
        let auth = format!("Bearer {token}");
        let r = node.http(
            "PUT",
            "/api/v1/account/settings",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(&json!({ "locked": true }).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let bob_id = inbox.url("/users/bob");
    let bob = RsaSigningKey::from_pkcs8(&msmd::activitypub::keygen::generate_rsa_2048().unwrap())
        .unwrap();
    let db = rusqlite::Connection::open(dir.path().join(msmd::store::DB_FILE)).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute(
        "INSERT INTO ap_actors(id, address, inbox, shared_inbox, key_id, public_key, fetched_ms)
         VALUES (?1, 'bob@localhost', ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            bob_id,
            inbox.url("/users/bob/inbox"),
            inbox.url("/inbox"),
            format!("{bob_id}#main-key"),
            bob.public_key().to_pem(),
            msmd::now_ms() as i64
        ],
    )
    .unwrap();
    (node, dir, bob_id, bob)
}

/// bob's signed Follow of alice, POSTed to her inbox: its answer.
fn bob_follows(
    node: &Node,
    inbox: &FakeInbox,
    bob_id: &str,
    bob: &RsaSigningKey,
) -> msm_tests::Resp {
    let body =
        json!({"id": inbox.url("/follows/1"), "type": "Follow", "actor": bob_id, "object": ALICE})
            .to_string();
    let authority = node.addr.to_string();
    let out = Outgoing {
        method: "POST",
        scheme: "https",
        authority: &authority,
        target: "/users/alice/inbox",
        content_type: "application/activity+json",
        body: body.as_bytes(),
    };
    let signed = sign_post(bob, &format!("{bob_id}#main-key"), &out, now()).unwrap();
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/activity+json")];
    headers.extend(signed.iter().map(|(n, v)| (*n, v.as_str())));
    msm_tests::request(
        node.addr,
        "POST",
        "/users/alice/inbox",
        &headers,
        Some(body.as_bytes()),
    )
    .unwrap()
}

#[test]
fn a_locked_account_accepts_a_fediverse_follower_by_hand() {
    let inbox = FakeInbox::start();
    let (node, _dir, bob_id, bob) = lab(&inbox, true);
    let r = bob_follows(&node, &inbox, &bob_id, &bob);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(followers(&node), 0, "waiting for alice");
    let token = node.login("alice", PW);
    let auth = format!("Bearer {token}");
    let r = node.http(
        "GET",
        "/api/v1/follow_requests",
        &[("Authorization", &auth)],
        None,
    );
    assert!(r.text().contains("bob@localhost"), "{}", r.text());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !inbox
            .seen()
            .iter()
            .any(|s| s.body.windows(6).any(|w| w == b"Accept")),
        "no answer before alice decides"
    );
    let r = node.post_json(
        "/api/v1/follow_requests/bob@localhost/authorize",
        Some(&token),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let accept = inbox.wait("the Accept", Duration::from_secs(20), |v| {
        v["type"] == "Accept"
    });
    assert_eq!(accept.path, "/users/bob/inbox");
    assert_eq!(followers(&node), 1);
}

#[test]
fn an_inbox_that_is_down_slow_or_gone_is_retried_waited_for_and_unsubscribed() {
    let inbox = FakeInbox::start();
    let (node, _dir, bob_id, bob) = lab(&inbox, false);
    let r = bob_follows(&node, &inbox, &bob_id, &bob);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(followers(&node), 1);
    // the Accept reaches bob's own inbox, signed by alice's key (RFC 9421)
    let accept = inbox.wait("the Accept", Duration::from_secs(20), |v| {
        v["type"] == "Accept"
    });
    assert_eq!(accept.path, "/users/bob/inbox");
    let header = |s: &msm_tests::fake_inbox::Seen, n: &str| {
        s.headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header(&accept, "signature-input").contains(&format!("{ALICE}#main-key")));
    assert!(header(&accept, "content-digest").starts_with("sha-256=:"));

    let token = node.login("alice", PW);
    post(&node, &token, "one");
    let one = inbox.wait(
        "the Create of one",
        Duration::from_secs(20),
        create_of("one"),
    );
    assert_eq!(
        one.path, "/inbox",
        "followers' posts go to the shared inbox"
    );

    // down: the post is offered, refused with 503, and offered again until taken
    inbox.answer(503);
    post(&node, &token, "two");
    inbox.wait(
        "the Create of two",
        Duration::from_secs(20),
        create_of("two"),
    );
    let start = Instant::now();
    while inbox
        .seen()
        .iter()
        .filter(|s| create_of("two")(&serde_json::from_slice(&s.body).unwrap_or_default()))
        .count()
        < 2
    {
        assert!(start.elapsed() < Duration::from_secs(30), "not retried");
        std::thread::sleep(Duration::from_millis(200));
    }
    inbox.answer(202);
    let taken = Instant::now();
    loop {
        let got = inbox.seen().into_iter().any(|s| {
            s.status == 202
                && create_of("two")(&serde_json::from_slice(&s.body).unwrap_or_default())
        });
        if got {
            break;
        }
        assert!(
            taken.elapsed() < Duration::from_secs(60),
            "never taken after the inbox came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // slow: each answer takes 2 s; alice's posting is not held up, and both arrive in order
    inbox.delay(2000);
    let t = Instant::now();
    post(&node, &token, "three");
    post(&node, &token, "four");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "posting waited for the inbox"
    );
    inbox.wait(
        "the Create of four",
        Duration::from_secs(30),
        create_of("four"),
    );
    let order: Vec<usize> = ["three", "four"]
        .iter()
        .map(|w| {
            inbox
                .seen()
                .iter()
                .position(|s| create_of(w)(&serde_json::from_slice(&s.body).unwrap_or_default()))
                .unwrap()
        })
        .collect();
    assert!(order[0] < order[1], "in order: {order:?}");
    inbox.delay(0);

    // gone: 410 unsubscribes bob's server
    inbox.answer(410);
    post(&node, &token, "five");
    inbox.wait(
        "the Create of five",
        Duration::from_secs(20),
        create_of("five"),
    );
    let gone = Instant::now();
    while followers(&node) != 0 {
        assert!(
            gone.elapsed() < Duration::from_secs(20),
            "the 410 did not unsubscribe\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // and nothing more is sent there
    post(&node, &token, "six");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !inbox
            .seen()
            .iter()
            .any(|s| create_of("six")(&serde_json::from_slice(&s.body).unwrap_or_default())),
        "a post went to an unsubscribed server"
    );
}
