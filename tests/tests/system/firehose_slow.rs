//! A relay consumer too slow for the hub, in network namespaces: the node behind NAT is
//! stopped (SIGSTOP) while alice posts, so the hub's writes to it stall or its session's
//! queue at the hub fills, and the hub drops the session as too slow; continued (SIGCONT), the node reopens the session at its cursor and
//! stores every post exactly once. Small TCP buffers in both namespaces make the queue fill
//! after a few hundred posts rather than many thousands.

use super::firehose::{
    firehose, home_behind_nat, internet, start_hub, start_node, wait_posts, wait_until, PW,
};
use msm_tests::netns::Lab;
use serde_json::json;
use std::time::{Duration, Instant};

/// Posts made at full speed while the node is stopped: about what fills the session queue
/// (512 datagrams, each carrying one or more posts) plus a few small socket buffers. After
/// them alice posts slowly, so a hub whose queue has not filled yet drops the session when its
/// stalled write times out (10 s), without a flood of posts the node must catch up on.
const FAST_POSTS: u64 = 1500;
/// How long the test waits for the hub to drop the session: the write timeout, with room.
const DROP_DEADLINE: Duration = Duration::from_secs(45);
/// TCP buffer sizes (min, default, max) in both namespaces.
const TCP_MEM: &str = "4096 4096 4096";

#[test]
fn firehose_slow_relay_consumer_is_dropped_and_resumes_by_cursor() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let home = home_behind_nat(&mut lab, &sw);
    lab.exec(
        &hub_ns,
        &["sysctl", "-qw", &format!("net.ipv4.tcp_wmem={TCP_MEM}")],
    );
    lab.exec(
        &home,
        &["sysctl", "-qw", &format!("net.ipv4.tcp_rmem={TCP_MEM}")],
    );
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    let (node, _nd) = start_node(&hub, &home, "home.test", &key, "");
    wait_until("relay up", &node, || {
        firehose(&node)["relay_after_ms"].as_u64() > Some(0)
    });
    let alice = hub.login("alice", PW);
    let post = |i: u64| {
        let r = hub.post_json(
            "/api/v1/posts",
            Some(&alice),
            &json!({ "text": format!("slow consumer post {i}") }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    for i in 0..5 {
        post(i);
    }
    wait_posts(&node, 5);
    node.signal(nix::sys::signal::Signal::SIGSTOP);
    let mut n = 5;
    let dropped = |hub: &msm_tests::Node| firehose(hub)["relay_slow_dropped"].as_u64() > Some(0);
    let stopped = Instant::now();
    while !dropped(&hub) {
        assert!(
            stopped.elapsed() < DROP_DEADLINE,
            "the hub never dropped the stopped node's session ({} posts made)",
            n - 5
        );
        for _ in 0..25 {
            post(n);
            n += 1;
        }
        if n > FAST_POSTS {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    println!(
        "slow: the hub dropped the session after {} posts while the node was stopped",
        n - 5
    );
    for _ in 0..5 {
        post(n);
        n += 1;
    }
    node.signal(nix::sys::signal::Signal::SIGCONT);
    wait_posts(&node, n);
    let f = firehose(&node);
    eprintln!(
        "slow: hub firehose {}\nslow: node firehose {f}",
        firehose(&hub)
    );
    assert_eq!(f["stored"].as_u64(), Some(n), "{f}");
    assert_eq!(f["lost"].as_u64(), Some(0), "{f}");
    assert!(f["relay_opened"].as_u64() >= Some(2), "reopened: {f}");
    assert_eq!(firehose(&hub)["relay_sessions"].as_u64(), Some(1));
}
