//! The fediverse side's cost. Idle memory of a node with three users, 100 follows of remote
//! authors and 10 fediverse followers' servers (each a shared inbox); then deliveries/s of
//! posts to N fediverse servers (`inboxes=`, default 100): each post is a `Create` POSTed to
//! each server's shared inbox over a new TLS connection, RFC 9421-signed with the author's RSA
//! key, as Mastodon delivers. The servers are one local HTTPS sink (a test CA) answering 202
//! at N distinct inbox URLs; msmd allows it as a lab (`activitypub.allow_private`).

use crate::node::Bench;
use crate::{out, progress, Args, PHASE_TIMEOUT};
use msm_tests::fake_inbox::FakeInbox;
use std::time::{Duration, Instant};

/// How long a started node is left alone before its idle memory is read.
const SETTLE: Duration = Duration::from_secs(3);
/// Remote authors followed in the idle figure.
const FOLLOWS: usize = 100;
/// Fediverse followers' servers in the idle figure.
const IDLE_SERVERS: usize = 10;

/// Runs the fediverse phase.
pub fn run(a: &Args) {
    let n = a.num("inboxes", 100) as usize;
    let posts = a.num("posts", 10) as usize;
    let sink = FakeInbox::start();
    let config = format!(
        "[http]\npublic_url = \"https://fed.test\"\n[activitypub]\nextra_ca = \"{}\"\nallow_private = true\n",
        sink.ca.ca_pem().display()
    );
    let bench = Bench::start_with("fed.test", &[], &config);
    let db = rusqlite::Connection::open(bench.dir().join(msmd::store::DB_FILE)).expect("db");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    // the authors' RSA keys are made in the background at start
    let t = Instant::now();
    while db
        .query_row(
            "SELECT count(*) FROM users WHERE rsa_key IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("users")
        > 0
    {
        assert!(t.elapsed() < PHASE_TIMEOUT, "RSA keys not made");
        std::thread::sleep(Duration::from_millis(100));
    }
    let now = msmd::now_ms() as i64;
    for i in 0..FOLLOWS {
        let author = format!("a{i}@remote{}.test", i % 10);
        db.execute(
            "INSERT INTO follows(user_id, address, created_ms, state) VALUES (1, ?1, ?2, 'accepted')",
            rusqlite::params![author, now],
        )
        .expect("follow");
        db.execute(
            "INSERT INTO subscriptions(author, state) VALUES (?1, 'active')",
            [&author],
        )
        .expect("subscription");
    }
    let follower = |i: usize| {
        let id = sink.url(&format!("/s{i}/users/u"));
        db.execute(
            "INSERT INTO ap_actors(id, address, inbox, shared_inbox, fetched_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                id,
                format!("u{i}@localhost"),
                format!("{id}/inbox"),
                sink.url(&format!("/s{i}/inbox")),
                now
            ],
        )
        .expect("actor");
        let server = sink.url(&format!("/s{i}/inbox"));
        db.execute(
            "INSERT INTO subscribers(author_id, server, created_ms, acked_seq)
             SELECT id, ?1, ?2, last_seq FROM authors WHERE local_user = 1",
            rusqlite::params![server, now],
        )
        .expect("subscriber");
        db.execute(
            "INSERT INTO remote_followers(author_id, server, follower, state, created_ms)
             SELECT id, ?1, ?2, 'accepted', ?3 FROM authors WHERE local_user = 1",
            rusqlite::params![server, format!("u{i}@localhost"), now],
        )
        .expect("follower");
    };
    for i in 0..IDLE_SERVERS {
        follower(i);
    }
    std::thread::sleep(SETTLE);
    out("msm_fediverse_idle_vmrss_kib", bench.status_kb("VmRSS"));
    out("msm_fediverse_idle_rssanon_kib", bench.status_kb("RssAnon"));
    for i in IDLE_SERVERS..n {
        follower(i);
    }
    progress(&format!("fediverse: {posts} posts to {n} shared inboxes"));
    let token = bench.node.login(crate::node::USERS[0], crate::PASSWORD);
    let t0 = Instant::now();
    for p in 0..posts {
        let r = bench.node.post_json(
            "/api/v1/posts",
            Some(&token),
            &serde_json::json!({ "text": format!("fediverse bench post {p}") }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let want = n * posts;
    let delivered = || {
        sink.seen()
            .iter()
            .filter(|s| s.status == 202 && s.path.ends_with("/inbox"))
            .count()
    };
    while delivered() < want {
        if t0.elapsed() > PHASE_TIMEOUT {
            eprintln!("fediverse: only {} of {want} delivered", delivered());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let secs = t0.elapsed().as_secs_f64();
    let got = delivered();
    out("msm_fediverse_inboxes", n);
    out("msm_fediverse_deliveries", got);
    out(
        "msm_fediverse_deliveries_per_s",
        format!("{:.0}", got as f64 / secs),
    );
    out("msm_fediverse_peak_vmrss_kib", bench.status_kb("VmHWM"));
}
