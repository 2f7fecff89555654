//! Issue 12, item 21: replayed heartbeats must not hold a node on a dead multicast path.
//!
//! A node takes the firehose by multicast. A host on its segment ("evil") records the hub's
//! genuine heartbeats and announcements; then the hub's datagrams stop reaching the node (an
//! nftables rule in the node's namespace drops UDP from the hub's address only) while evil
//! multicasts the recorded ones to the group once a second. They verify, but they move the
//! stream nothing forward: the node must count them as replays, fall back to its relay session
//! within `announce_timeout_s` as if multicast were silent, and get every post made meanwhile.
//! Before that, evil sends datagrams of another stream and garbage: `/healthz` counts them.

use super::firehose::{
    firehose, internet, public_host, start_hub, start_public_node, wait_posts, wait_until, PW,
};
use super::firehose_forged::{capture, EVIL_IP, GROUP, PORT};
use msm_tests::netns::{in_netns, Lab};
use msmd::proto::stream::encode::encode_data;
use msmd::proto::stream::packet::{Kind, HEADER_LEN};
use msmd::proto::NodeKey;
use serde_json::json;
use std::net::{SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The hub's address on the lab's internet segment (see `firehose::internet`).
const HUB_IP: &str = "198.51.100.1";
/// Posts made while the replay goes on.
const POSTS: u64 = 5;
/// The node's `announce_timeout_s` (the shortest it takes: one announce interval).
const ANNOUNCE_TIMEOUT_S: u64 = 5;

fn count(node: &msm_tests::Node, k: &str) -> u64 {
    firehose(node)[k].as_u64().unwrap_or(0)
}

#[test]
fn replayed_heartbeats_do_not_hold_a_node_on_a_dead_multicast_path() {
    let t_start = Instant::now();
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let evil = lab.ns("evil");
    lab.attach(&sw, "evil-p", &evil, "eth0", &format!("{EVIL_IP}/24"));
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    let extra = format!("announce_timeout_s = {ANNOUNCE_TIMEOUT_S}\n");
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, &extra);

    // Record the hub's status datagrams for a while: a post starts a run of heartbeats.
    let stop = Arc::new(AtomicBool::new(false));
    let spy = capture(&evil, stop.clone());
    let alice = hub.login("alice", PW);
    let post = |text: String| {
        let r = hub.post_json("/api/v1/posts", Some(&alice), &json!({ "text": text }));
        assert_eq!(r.status, 201, "{}", r.text());
    };
    post("before the replay".into());
    wait_posts(&node, 1);
    std::thread::sleep(Duration::from_millis(5_500)); // an announcement or two
    stop.store(true, Ordering::Relaxed);
    let statuses: Vec<Vec<u8>> = spy
        .join()
        .expect("capture")
        .into_iter()
        .filter(|d| d.len() > HEADER_LEN)
        .filter(|d| d[1] == Kind::Heartbeat as u8 || d[1] == Kind::Announce as u8)
        .collect();
    assert!(statuses.len() >= 3, "captured {} statuses", statuses.len());
    assert_eq!(firehose(&node)["path"], "multicast");

    // Another stream's datagrams and garbage are dropped and counted.
    let other = NodeKey::generate().expect("key");
    let foreign: Vec<Vec<u8>> = (1..=3)
        .map(|i| encode_data(&other, 1, i, &[b"not the hub"]).expect("datagram"))
        .collect();
    let junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![2],
        vec![0xff; 100],
        b"GET / HTTP/1.1\r\n".to_vec(),
    ];
    let (n_foreign, n_junk) = (foreign.len() as u64, junk.len() as u64);
    in_netns(&evil, move || {
        let s = UdpSocket::bind(SocketAddrV4::new(EVIL_IP, 0)).expect("bind");
        for d in foreign.iter().chain(&junk) {
            s.send_to(d, SocketAddrV4::new(GROUP, PORT)).expect("send");
        }
    });
    wait_until("foreign and malformed counted", &node, || {
        count(&node, "foreign_dropped") >= n_foreign && count(&node, "malformed_dropped") >= n_junk
    });

    // The hub's datagrams no longer reach the node; evil's replays do.
    lab.nft(
        &pub_ns,
        &format!(
            "table inet msmhub {{\n  chain input {{ type filter hook input priority 0; policy accept;\n    ip saddr {HUB_IP} udp dport {PORT} counter drop\n  }}\n}}\n"
        ),
    );
    let replaying = Arc::new(AtomicBool::new(true));
    let replayer = {
        let (evil, replaying) = (evil.clone(), replaying.clone());
        std::thread::spawn(move || {
            in_netns(&evil, move || {
                let s = UdpSocket::bind(SocketAddrV4::new(EVIL_IP, 0)).expect("bind");
                let mut sent = 0u64;
                for d in statuses.iter().cycle() {
                    if !replaying.load(Ordering::Relaxed) {
                        break;
                    }
                    let _ = s.send_to(d, SocketAddrV4::new(GROUP, PORT));
                    sent += 1;
                    std::thread::sleep(Duration::from_secs(1));
                }
                sent
            })
        })
    };
    let replays_before = count(&node, "replays_dropped");
    let t_block = Instant::now();
    // Silence for announce_timeout_s, then the relay opens; allow a few seconds for it.
    let timeout = Duration::from_secs(ANNOUNCE_TIMEOUT_S + 8);
    while firehose(&node)["path"] != "relay" && t_block.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = firehose(&node);
    assert_eq!(
        after["path"],
        "relay",
        "still on {} {:?} after the hub went silent, with replays: {after}",
        after["path"],
        t_block.elapsed()
    );
    let switched = t_block.elapsed();
    wait_until("relay session up", &node, || {
        count(&node, "relay_opened") > 0
    });
    for i in 1..=POSTS {
        post(format!("during the replay {i}"));
    }
    wait_posts(&node, 1 + POSTS);
    replaying.store(false, Ordering::Relaxed);
    let sent = replayer.join().expect("replayer");
    let end = firehose(&node);
    eprintln!(
        "replayed {sent} captured statuses; relay after {switched:?}; node firehose: {end}; test took {:?}",
        t_start.elapsed()
    );
    assert!(
        end["replays_dropped"].as_u64().unwrap_or(0) > replays_before,
        "replays not counted: {end}"
    );
}
