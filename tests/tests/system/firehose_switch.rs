//! Switching the firehose path back and forth in network namespaces: multicast blocked by an
//! nftables rule at first (the node falls back to a relay session), then unblocked (the node
//! retries multicast after `firehose.multicast_retry_s` and returns to it make-before-break,
//! closing the relay). Alice posts at a steady pace across both switches; every post is
//! stored exactly once.

use super::firehose::{
    firehose, internet, public_host, report, start_hub, start_node, wait_posts, wait_until, PW,
};
use msm_tests::netns::Lab;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Pause between posts.
const PACE: Duration = Duration::from_millis(100);
/// The multicast port (`firehose.group`'s default).
const GROUP_PORT: u16 = 7451;

#[test]
fn firehose_returns_from_the_relay_to_multicast() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    lab.block_udp(&pub_ns, GROUP_PORT);
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    let (node, _nd) = start_node(
        &hub,
        &pub_ns,
        "pub.test",
        &key,
        "global_prefixes = [\"198.51.100.0/24\"]\nannounce_timeout_s = 5\nmulticast_retry_s = 3\n",
    );
    wait_until("relay up", &node, || {
        firehose(&node)["relay_after_ms"].as_u64() > Some(0)
    });
    assert_eq!(firehose(&hub)["relay_sessions"].as_u64(), Some(1));
    let stop = AtomicBool::new(false);
    let posted = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let alice = hub.login("alice", PW);
            while !stop.load(Ordering::Relaxed) {
                let i = posted.load(Ordering::Relaxed);
                let r = hub.post_json(
                    "/api/v1/posts",
                    Some(&alice),
                    &json!({ "text": format!("switch post {i}") }),
                );
                assert_eq!(r.status, 201, "{}", r.text());
                posted.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(PACE);
            }
        });
        std::thread::sleep(Duration::from_secs(2));
        let on_relay = posted.load(Ordering::Relaxed);
        lab.unblock_udp(&pub_ns);
        let t0 = Instant::now();
        wait_until("path multicast", &node, || {
            firehose(&node)["path"] == "multicast"
        });
        let to_multicast = t0.elapsed();
        wait_until("relay closed", &node, || {
            firehose(&hub)["relay_sessions"].as_u64() == Some(0)
        });
        let relay_closed = t0.elapsed();
        println!(
            "switch: {on_relay} posts on the relay; multicast confirmed {to_multicast:?} after \
             the unblock (hold-down 3 s, then up to one announcement interval), relay closed \
             after {relay_closed:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
    });
    let n = posted.load(Ordering::Relaxed);
    wait_posts(&node, n);
    let f = firehose(&node);
    report("switch", &hub, &node);
    assert_eq!(f["path"], "multicast", "{f}");
    assert_eq!(f["stored"].as_u64(), Some(n), "{f}");
    assert_eq!(f["lost"].as_u64(), Some(0), "{f}");
    assert!(f["multicast_received"].as_u64() > Some(0), "{f}");
    assert_eq!(
        f["relay_opened"].as_u64(),
        Some(1),
        "one relay session: {f}"
    );
    assert_eq!(firehose(&hub)["relay_sessions"].as_u64(), Some(0));
}
