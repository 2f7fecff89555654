//! Firehose repair in network namespaces: random multicast loss of 10% and 30% repaired by
//! NACKs over TCP, with the repair delay measured; a message too large for one datagram
//! fetched from the hub by stream seq. Helpers and lab layout are those of [`super::firehose`].

use super::firehose::{
    firehose, internet, public_host, report, start_hub, start_node, start_public_node, wait_posts,
    wait_until, PW,
};
use msm_tests::netns::Lab;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// Posts per loss test.
const LOSS_POSTS: u64 = 100;
/// Pause between posts: a steady pace, so each post goes out in its own datagram.
const PACE: Duration = Duration::from_millis(30);
/// The multicast port (`firehose.group`'s default).
const GROUP_PORT: u16 = 7451;

/// `(seq, time_ms, received_ms)` of alice's posts in the node's database.
fn post_times(db: &std::path::Path) -> Vec<(u64, i64, i64)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the node's database");
    let mut st = c
        .prepare(
            "SELECT m.seq, m.time_ms, m.received_ms FROM messages m \
             JOIN authors a ON a.id = m.author_id WHERE a.address = 'alice@hub.test' ORDER BY m.seq",
        )
        .expect("query");
    st.query_map([], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
    })
    .expect("rows")
    .map(|r| r.expect("row"))
    .collect()
}

/// Stream seqs the node logged as brought by a repair. The hub streams nothing but alice's
/// posts here, one per datagram, so stream seq n is alice's post n.
fn repaired_seqs(log: &str) -> BTreeSet<u64> {
    let field = |line: &str, name: &str| -> Option<u64> {
        line.split(&format!("{name}="))
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    log.lines()
        .filter(|l| l.contains("firehose: repaired seqs"))
        .filter_map(|l| Some(field(l, "first")?..=field(l, "last")?))
        .flatten()
        .collect()
}

/// The `q` quantile (0..=1) of sorted `v`, nearest rank.
fn quantile(v: &[i64], q: f64) -> i64 {
    if v.is_empty() {
        return -1;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Alice posts at a steady pace while multicast to the node loses `tenths`/10 of datagrams;
/// every post must be stored once; prints p50/p99 of post-to-stored delay. `extra` is more
/// `[firehose]` config of the node. Returns the node's firehose counters and how many posts
/// a NACK repaired.
fn loss_run(name: &str, tenths: u32, extra: &str) -> (serde_json::Value, usize) {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = lab.ns("lossy");
    lab.attach(&sw, "lossy-p", &pub_ns, "eth0", "198.51.100.4/24");
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    // a long announcement timeout: heavy loss of the few idle heartbeats must not look like
    // broken multicast
    let (node, nd) = start_node(
        &hub,
        &pub_ns,
        "lossy.test",
        &key,
        &format!("global_prefixes = [\"198.51.100.0/24\"]\nannounce_timeout_s = 60\n{extra}"),
    );
    wait_until("path multicast", &node, || {
        firehose(&node)["path"] == "multicast"
    });
    lab.udp_loss(&pub_ns, GROUP_PORT, tenths);
    let alice = hub.login("alice", PW);
    for i in 0..LOSS_POSTS {
        let r = hub.post_json(
            "/api/v1/posts",
            Some(&alice),
            &json!({ "text": format!("lossy post {i}") }),
        );
        assert_eq!(r.status, 201);
        std::thread::sleep(PACE);
    }
    wait_posts(&node, LOSS_POSTS);
    let f = firehose(&node);
    report(name, &hub, &node);
    let dropped = lab.loss_dropped(&pub_ns);
    assert!(dropped > 0, "the loss rule dropped nothing");
    assert_eq!(f["lost"].as_u64(), Some(0), "{f}");
    let times = post_times(&nd.path().join("msm.db"));
    assert_eq!(times.len() as u64, LOSS_POSTS);
    // the log is read from the node's stderr by another thread: give it time to catch up
    // (a repair datagram that was a duplicate is counted but never logged, so this may not come)
    let t0 = std::time::Instant::now();
    while !node.log().contains("firehose: repaired seqs") && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let repaired = repaired_seqs(&node.log());
    let mut all: Vec<i64> = times.iter().map(|(_, t, r)| r - t).collect();
    let mut fixed: Vec<i64> = times
        .iter()
        .filter(|(s, _, _)| repaired.contains(s))
        .map(|(_, t, r)| r - t)
        .collect();
    all.sort_unstable();
    fixed.sort_unstable();
    println!(
        "{name}: {tenths}0% loss, {LOSS_POSTS} posts, nft dropped {dropped} datagrams, \
         {} posts repaired, completeness {}/{LOSS_POSTS}",
        fixed.len(),
        times.len()
    );
    println!(
        "{name}: post-to-stored delay ms: all p50 {} p99 {} max {}; repaired p50 {} p99 {} max {}",
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        all.last().copied().unwrap_or(-1),
        quantile(&fixed, 0.5),
        quantile(&fixed, 0.99),
        fixed.last().copied().unwrap_or(-1),
    );
    (f, fixed.len())
}

/// [`loss_run`] with NACK repair only: every post stored by the stream, some repaired.
fn repaired_run(name: &str, tenths: u32) {
    let (f, fixed) = loss_run(name, tenths, "");
    assert_eq!(f["stored"].as_u64(), Some(LOSS_POSTS), "{f}");
    assert!(f["repairs"].as_u64().unwrap() > 0, "{f}");
    assert!(fixed > 0, "no post was repaired: {f}");
}

#[test]
fn firehose_repairs_ten_percent_loss() {
    repaired_run("loss10", 1);
}

#[test]
fn firehose_repairs_thirty_percent_loss() {
    repaired_run("loss30", 3);
}

/// With a give-up shorter than the first NACK's backoff, gaps are given up at once and
/// fetched from the hub by stream seq: the path a gap takes after 30 s of vain NACKs. (Posts
/// after a given-up gap are stored first, so the author's node may also be asked for the gap
/// over a link, and a post may be stored by that backfill rather than by the fetch: every
/// post is still there exactly once, which `loss_run` checks.)
#[test]
fn firehose_gives_up_on_gaps_and_fetches_them_by_seq() {
    let (f, _) = loss_run("giveup", 3, "give_up_ms = 10\n");
    assert!(f["backfills"].as_u64().unwrap() > 0, "{f}");
    assert!(f["fetched"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn firehose_fetches_a_large_message_from_the_hub() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let limits = "[limits]\nmax_post_bytes = 4000\n";
    let (hub, _hd, key) = start_hub(&hub_ns, limits);
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, limits);
    let alice = hub.login("alice", PW);
    let big = "x".repeat(3000);
    for text in ["before the large one", big.as_str(), "after the large one"] {
        let r = hub.post_json("/api/v1/posts", Some(&alice), &json!({ "text": text }));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    wait_posts(&node, 3);
    let bob = node.login("bob", PW);
    let posts = node.all_posts("alice@hub.test", Some(&bob));
    let large = posts.iter().find(|p| p["seq"] == 2).expect("post 2");
    assert_eq!(large["text"].as_str().map(str::len), Some(3000), "{large}");
    let f = firehose(&node);
    report("large", &hub, &node);
    assert_eq!(f["path"], "multicast", "{f}");
    assert_eq!(f["stored"].as_u64(), Some(3), "{f}");
    assert_eq!(f["fetched"].as_u64(), Some(1), "{f}");
    assert_eq!(f["lost"].as_u64(), Some(0), "{f}");
    assert_eq!(firehose(&hub)["fetched"].as_u64(), Some(1));
}

#[test]
fn firehose_gap_after_a_hub_restart_is_backfilled_over_a_link() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let (hub, hd, key) = start_hub(&hub_ns, "");
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, "");
    let post = |hub: &msm_tests::Node, text: &str| {
        let alice = hub.login("alice", PW);
        let r = hub.post_json("/api/v1/posts", Some(&alice), &json!({ "text": text }));
        assert_eq!(r.status, 201, "{}", r.text());
    };
    post(&hub, "post 1");
    wait_posts(&node, 1);
    // post 2 never reaches the node by the stream: multicast is blocked, and the hub restarts
    // (a new epoch) before the node hears of seq 2
    lab.block_udp(&pub_ns, GROUP_PORT);
    post(&hub, "post 2");
    std::thread::sleep(Duration::from_millis(500));
    let (_, _) = hub.stop();
    let config = hd.path().join("msmd.toml");
    let hub = msm_tests::Node::start_in(
        &hub_ns,
        hd.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "--links",
            "0.0.0.0:7450",
            "--log",
            super::firehose::LOG,
        ],
    );
    lab.unblock_udp(&pub_ns);
    post(&hub, "post 3");
    // post 3 comes by the new epoch's stream; its author seq shows the gap, and the node asks
    // the hub for post 2 over a link
    wait_posts(&node, 3);
    let f = firehose(&node);
    eprintln!("gap: node firehose {f}");
    let counters = node.http("GET", "/healthz", &[], None).json()["counters"].clone();
    assert!(
        counters["backfill_requests"].as_u64() > Some(0),
        "{counters}\n{}",
        node.log()
    );
    assert!(f["stored"].as_u64() >= Some(2), "{f}");
}
