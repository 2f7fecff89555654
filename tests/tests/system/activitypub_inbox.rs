//! The fediverse inbox refuses what it must (issue 16): a node with alice at `msm.test`
//! already knows the fediverse actors `bob` and `eve` of `peer.test` (their keys in its
//! database, as after an earlier fetch), so every request here is checked against a stored
//! key and nothing is fetched. A signed `Follow` from bob is taken (202, alice gains a
//! follower, an `Accept` is queued); the same request again (a replay), a body changed after
//! signing, a date 13 hours old, an unsigned POST and a `Follow` in eve's name signed with
//! bob's key are each answered 401, counted under their reason in `/metrics`, and change
//! nothing; once the owner blocks `peer.test`, its activities are answered and dropped unread.
//! A flood of large refused POSTs leaves memory where it was.

use msm_tests::hostile::MemoryWatch;
use msm_tests::{data_dir, Node};
use msmd::activitypub::keys::RsaSigningKey;
use msmd::activitypub::sig::{sign_post, Outgoing};
use serde_json::{json, Value};
use std::time::Duration;

const PW: &str = "a long password";
const BOB: &str = "https://peer.test/users/bob";
const EVE: &str = "https://peer.test/users/eve";
const ALICE: &str = "https://msm.test/users/alice";

/// A 2048-bit RSA key, made as msmd makes its users' keys.
fn rsa_key() -> RsaSigningKey {
    let der = msmd::activitypub::keygen::generate_rsa_2048().unwrap();
    RsaSigningKey::from_pkcs8(&der).unwrap()
}

/// Stores `actor` with `key` in the node's database, as a fetch of its document would.
fn know(db: &rusqlite::Connection, actor: &str, user: &str, key: &RsaSigningKey) {
    db.execute(
        "INSERT INTO ap_actors(id, address, inbox, shared_inbox, key_id, public_key, fetched_ms)
         VALUES (?1, ?2, ?3, 'https://peer.test/inbox', ?4, ?5, ?6)",
        rusqlite::params![
            actor,
            format!("{user}@peer.test"),
            format!("{actor}/inbox"),
            format!("{actor}#main-key"),
            key.public_key().to_pem(),
            msmd::now_ms() as i64
        ],
    )
    .unwrap();
}

struct Inbox {
    node: Node,
    _dir: tempfile::TempDir,
    bob: RsaSigningKey,
    eve: RsaSigningKey,
}

impl Inbox {
    fn start() -> Inbox {
        let dir = data_dir("msm.test", &[("alice", PW, true)]);
        let cfg = dir.path().join("msmd.toml");
        std::fs::write(&cfg, "[http]\npublic_url = \"https://msm.test\"\n").unwrap();
        let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
        let (bob, eve) = (rsa_key(), rsa_key());
        let db = rusqlite::Connection::open(dir.path().join("msm.db")).unwrap();
        db.busy_timeout(Duration::from_secs(10)).unwrap();
        know(&db, BOB, "bob", &bob);
        know(&db, EVE, "eve", &eve);
        Inbox {
            node,
            _dir: dir,
            bob,
            eve,
        }
    }

    /// POSTs `body` to `path` signed with `key` as `key_id` at `unix` seconds; `sent` replaces
    /// the body after signing when given.
    fn post(
        &self,
        path: &str,
        key: Option<(&RsaSigningKey, &str)>,
        body: &[u8],
        unix: u64,
        sent: Option<&[u8]>,
    ) -> msm_tests::Resp {
        let authority = self.node.addr.to_string();
        let out = Outgoing {
            method: "POST",
            scheme: "https",
            authority: &authority,
            target: path,
            content_type: "application/activity+json",
            body,
        };
        let signed = match key {
            Some((k, id)) => sign_post(k, id, &out, unix).unwrap(),
            None => Vec::new(),
        };
        let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "application/activity+json")];
        headers.extend(signed.iter().map(|(n, v)| (*n, v.as_str())));
        msm_tests::request(
            self.node.addr,
            "POST",
            path,
            &headers,
            Some(sent.unwrap_or(body)),
        )
        .expect("inbox POST")
    }

    fn followers(&self) -> u64 {
        let r = msm_tests::request(
            self.node.addr,
            "GET",
            "/users/alice/followers",
            &[("Accept", "application/activity+json")],
            None,
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["totalItems"].as_u64().unwrap()
    }

    /// Waits until `/metrics` (rebuilt at most once a second) counts `n` of `outcome`.
    fn expect_counted(&self, outcome: &str, n: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.counted(outcome);
            if got == n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{outcome}: {got}, not {n}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn counted(&self, outcome: &str) -> u64 {
        let r = msm_tests::request(self.node.addr, "GET", "/metrics", &[], None).unwrap();
        let line = format!("msm_activitypub_inbox_total{{outcome=\"{outcome}\"}} ");
        r.text()
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {line} in /metrics:\n{}", r.text()))
            .trim()
            .parse()
            .unwrap()
    }
}

fn follow(id: &str, actor: &str) -> Vec<u8> {
    json!({"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Follow",
           "actor": actor, "object": ALICE})
    .to_string()
    .into_bytes()
}

fn now() -> u64 {
    msmd::now_ms() / 1000
}

#[test]
fn a_signed_follow_is_taken_and_each_forgery_is_refused_counted_and_changes_nothing() {
    let inbox = Inbox::start();
    let bob_key = format!("{BOB}#main-key");
    let bob = Some((&inbox.bob, bob_key.as_str()));
    assert_eq!(inbox.followers(), 0);

    let first = follow("https://peer.test/follows/1", BOB);
    let r = inbox.post("/users/alice/inbox", bob, &first, now(), None);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(inbox.followers(), 1, "bob follows alice");
    inbox.expect_counted("accepted", 1);

    // the very same activity again: a replay
    let r = inbox.post("/users/alice/inbox", bob, &first, now(), None);
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("replay", 1);

    // a body changed after signing: its digest does not match
    let second = follow("https://peer.test/follows/2", BOB);
    let forged = follow("https://peer.test/follows/3", BOB);
    let r = inbox.post("/inbox", bob, &second, now(), Some(&forged));
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("digest", 1);

    // signed 13 hours ago: past Mastodon's 12 h window
    let r = inbox.post("/inbox", bob, &second, now() - 13 * 3600, None);
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("date", 1);

    // not signed at all
    let r = inbox.post("/inbox", None, &second, now(), None);
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("unsigned", 1);

    // eve's follow, signed with bob's key: the key is not the actor's
    let eve_follow = follow("https://peer.test/follows/4", EVE);
    let r = inbox.post("/inbox", bob, &eve_follow, now(), None);
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("not_the_actor", 1);

    // a key nobody can fetch (peer.test does not resolve here): refused, not stored
    let stranger = follow(
        "https://nowhere.test/follows/5",
        "https://nowhere.test/users/x",
    );
    let r = inbox.post(
        "/inbox",
        Some((&inbox.bob, "https://nowhere.test/users/x#main-key")),
        &stranger,
        now(),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.text());
    inbox.expect_counted("unknown_key", 1);

    // not an activity type: 415; not JSON: 400 (after the signature verified)
    let r = msm_tests::request(
        inbox.node.addr,
        "POST",
        "/inbox",
        &[("Content-Type", "text/plain")],
        Some(b"hello"),
    )
    .unwrap();
    assert_eq!(r.status, 415, "{}", r.text());
    let r = inbox.post("/inbox", bob, b"{not json", now(), None);
    assert_eq!(r.status, 400, "{}", r.text());

    assert_eq!(inbox.followers(), 1, "no refused request changed anything");
    inbox.expect_counted("accepted", 1);

    // bob takes his follow back
    let undo = json!({"id": "https://peer.test/undo/1", "type": "Undo", "actor": BOB,
        "object": {"id": "https://peer.test/follows/1", "type": "Follow", "actor": BOB, "object": ALICE}});
    let r = inbox.post("/inbox", bob, undo.to_string().as_bytes(), now(), None);
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(inbox.followers(), 0, "the undo removed bob");

    // the owner blocks peer.test: eve's follow is answered and dropped unread
    let token = inbox.node.login("alice", PW);
    let r = inbox.node.post_json(
        "/api/v1/admin/domain_blocks",
        Some(&token),
        &json!({ "domain": "peer.test" }),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let eve_key = format!("{EVE}#main-key");
    let eve_follows = follow("https://peer.test/follows/9", EVE);
    let r = inbox.post(
        "/inbox",
        Some((&inbox.eve, eve_key.as_str())),
        &eve_follows,
        now(),
        None,
    );
    assert_eq!(r.status, 202, "{}", r.text());
    inbox.expect_counted("ignored", 1);
    assert_eq!(inbox.followers(), 0, "a blocked domain follows nobody here");
}

#[test]
fn a_flood_of_refused_inbox_posts_leaves_memory_where_it_was() {
    let inbox = Inbox::start();
    let watch = MemoryWatch::start(inbox.node.pid());
    let addr = inbox.node.addr;
    // 160 POSTs of 200 KB each from 8 clients: bad signatures by a known key, and unsigned
    let body = Value::String("x".repeat(200 * 1024))
        .to_string()
        .into_bytes();
    let bob_key = format!("{BOB}#main-key");
    let authority = addr.to_string();
    let out = Outgoing {
        method: "POST",
        scheme: "https",
        authority: &authority,
        target: "/inbox",
        content_type: "application/activity+json",
        body: b"something else",
    };
    let signed = sign_post(&inbox.bob, &bob_key, &out, now()).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (body, signed) = (body.clone(), signed.clone());
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for j in 0..20 {
                    let mut headers: Vec<(&str, &str)> =
                        vec![("Content-Type", "application/activity+json")];
                    if (i + j) % 2 == 0 {
                        headers.extend(signed.iter().map(|(n, v)| (*n, v.as_str())));
                    }
                    let r = msm_tests::request(addr, "POST", "/inbox", &headers, Some(&body));
                    statuses.push(r.map(|r| r.status).unwrap_or(0));
                }
                statuses
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 160);
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 503)),
        "only refusals (or busy): {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 401).count() >= 80,
        "{statuses:?}"
    );
    assert_eq!(inbox.followers(), 0);
    watch.assert_came_back(
        "inbox flood (160 refused 200 KB POSTs)",
        24 * 1024,
        8 * 1024,
    );
}
