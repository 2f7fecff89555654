//! Bytes on the wire per post: the firehose's multicast beside per-server TCP delivery, for
//! N receivers, in network namespaces (root, iproute2 and nftables, as the firehose tests).
//!
//! One bridge segment (`sw`, multicast snooping off) joins the sending namespace
//! (198.51.100.1), the generator's (198.51.100.2) and one namespace per receiver
//! (198.51.100.10 and up). nftables counters on the sender's `eth0` count every IP packet it
//! sends and receives (IP and TCP/UDP headers included, Ethernet's 14 bytes not), so what is
//! counted is what crosses the sender's link, measured, not computed:
//!
//! - multicast: a hub (`firehose.role = "hub"`) in the sending namespace; each receiver is a
//!   UDP socket joined to the group in its own namespace, counting datagrams (no msmd: the hub
//!   sends the same datagram whoever listens). Posts go one at a time, so each goes in its own
//!   datagram; heartbeats in the window are counted too.
//! - per-server TCP: a node (`author.test`) in the sending namespace delivers every post to N
//!   receiving servers played by the generator (in its namespace, as `msmbench fanout` does):
//!   Message out, Ack back, TCP acknowledgements, both directions counted.
//!
//! Prints `msm_wire_multicast_n{N}_*` and `msm_wire_tcp_n{N}_*` lines.

use crate::fanout::{accept, post_text, subscribe_all, wait_delivered, Stats};
use crate::node::{now_us, Bench, USERS};
use crate::{out, progress, Args, PASSWORD, PHASE_TIMEOUT};
use msm_tests::netns::{in_netns, Lab};
use msm_tests::{data_dir, Node};
use msmd::proto::NodeKey;
use serde_json::json;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Most receivers one run sets up (one namespace and address each, 198.51.100.10 and up).
const MAX_RECEIVERS: u64 = 200;
/// Posts per measurement.
const DEFAULT_POSTS: u64 = 50;
/// Pause between two posts, so that the hub sends each in a datagram of its own.
const POST_GAP: Duration = Duration::from_millis(30);
/// Longest wait for the hub to start multicasting, and for receivers to get every post.
const WAIT: Duration = Duration::from_secs(20);
/// Time left for the last acknowledgements (TCP and msm Acks) before the counters are read.
const SETTLE: Duration = Duration::from_millis(300);
/// The firehose group and port (the configuration's default).
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 77, 77);
const GROUP_PORT: u16 = 7451;
/// Where the sending node takes links (the author's, for subscriptions).
const LINKS_PORT: u16 = 7450;
const SENDER_IP: &str = "198.51.100.1";
const GENERATOR_IP: &str = "198.51.100.2";
/// Receiver i has 198.51.100.(RECEIVER_BASE + i).
const RECEIVER_BASE: u64 = 10;
/// Run tag of the posts (see `fanout`).
const TAG_WIRE: u32 = 3;
/// nftables counters on the sender's link: UDP out, TCP out, TCP in, in this order.
const COUNTERS: &str = "table inet msmwire {\n  chain out { type filter hook output priority 0; policy accept;\n    oifname \"eth0\" meta l4proto udp counter\n    oifname \"eth0\" meta l4proto tcp counter\n  }\n  chain in { type filter hook input priority 0; policy accept;\n    iifname \"eth0\" meta l4proto tcp counter\n  }\n}\n";

/// Runs the phase.
pub fn run(a: &Args) {
    let sizes = a.list("n", &[1, 10, 100]);
    let posts = a.num("posts", DEFAULT_POSTS);
    let most = sizes.iter().copied().max().unwrap_or(1);
    assert!(most <= MAX_RECEIVERS, "at most {MAX_RECEIVERS} receivers");
    let t0 = Instant::now();
    let mut lab = Lab::new();
    let sw = lab.ns("sw");
    lab.bridge(&sw);
    let sender = lab.ns("snd");
    lab.attach(&sw, "snd-p", &sender, "eth0", &format!("{SENDER_IP}/24"));
    let generator = lab.ns("gen");
    lab.attach(
        &sw,
        "gen-p",
        &generator,
        "eth0",
        &format!("{GENERATOR_IP}/24"),
    );
    let receivers: Vec<(String, Ipv4Addr)> = (0..most)
        .map(|i| {
            let ns = lab.ns(&format!("r{i}"));
            let ip = Ipv4Addr::new(198, 51, 100, (RECEIVER_BASE + i) as u8);
            lab.attach(&sw, &format!("r{i}-p"), &ns, "eth0", &format!("{ip}/24"));
            (ns, ip)
        })
        .collect();
    lab.nft(&sender, COUNTERS);
    out(
        "msm_wire_lab_secs",
        format!("{:.1}", t0.elapsed().as_secs_f64()),
    );
    multicast(&lab, &sender, &receivers, &sizes, posts);
    tcp(&lab, &sender, &generator, &sizes, posts);
}

/// The sender's counters: (packets, bytes) of UDP out, TCP out, TCP in.
fn counters(lab: &Lab, ns: &str) -> [(u64, u64); 3] {
    let text = lab.exec(ns, &["nft", "list", "table", "inet", "msmwire"]);
    let mut c = [(0, 0); 3];
    for (slot, part) in c.iter_mut().zip(text.split("counter packets ").skip(1)) {
        let mut w = part.split_whitespace();
        let packets = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let bytes = w.nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        *slot = (packets, bytes);
    }
    c
}

fn per(v: u64, n: u64) -> String {
    format!("{:.1}", v as f64 / n.max(1) as f64)
}

fn multicast(lab: &Lab, sender: &str, receivers: &[(String, Ipv4Addr)], sizes: &[u64], posts: u64) {
    progress("wire: multicast");
    let dir = data_dir("hub.test", &[(USERS[0], PASSWORD, true)]);
    let config = dir.path().join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "{}[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
         [firehose]\nrole = \"hub\"\nrelay_listen = \"0.0.0.0:7452\"\n",
            msm_tests::UNLIMITED_POSTING
        ),
    )
    .expect("config");
    let hub = Node::start_in(
        sender,
        dir.path(),
        &["--config", config.to_str().expect("path")],
    );
    let t0 = Instant::now();
    while !hub.log().contains("firehose multicasting") {
        assert!(
            t0.elapsed() < WAIT,
            "the hub does not multicast:\n{}",
            hub.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sockets: Vec<UdpSocket> = receivers
        .iter()
        .map(|(ns, ip)| {
            let ip = *ip;
            in_netns(ns, move || {
                let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, GROUP_PORT)).expect("bind");
                s.join_multicast_v4(&GROUP, &ip).expect("join");
                s.set_nonblocking(true).expect("nonblocking");
                s
            })
        })
        .collect();
    let token = hub.login(USERS[0], PASSWORD);
    for &n in sizes {
        let group = &sockets[..n as usize];
        let mut got = vec![(0u64, 0u64); group.len()];
        drain(group, &mut got);
        got.iter_mut().for_each(|g| *g = (0, 0));
        let before = counters(lab, sender);
        for _ in 0..posts {
            let r = hub.post_json(
                "/api/v1/posts",
                Some(&token),
                &json!({ "text": post_text(TAG_WIRE, now_us()) }),
            );
            assert_eq!(r.status, 201, "{}", r.text());
            std::thread::sleep(POST_GAP);
        }
        let t0 = Instant::now();
        while got.iter().any(|g| g.0 < posts) && t0.elapsed() < WAIT {
            drain(group, &mut got);
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(SETTLE);
        drain(group, &mut got);
        let after = counters(lab, sender);
        let (packets, bytes) = (after[0].0 - before[0].0, after[0].1 - before[0].1);
        let p = format!("msm_wire_multicast_n{n}");
        out(&format!("{p}_sender_bytes_per_post"), per(bytes, posts));
        out(&format!("{p}_sender_packets_per_post"), per(packets, posts));
        let complete = got.iter().filter(|g| g.0 >= posts).count();
        out(
            &format!("{p}_receivers_with_every_post"),
            format!("{complete}/{n}"),
        );
        let received: u64 = got.iter().map(|g| g.1).sum();
        out(
            &format!("{p}_udp_payload_bytes_received_per_post_all_receivers"),
            per(received, posts),
        );
    }
}

/// Reads what each socket has; `got[i]` counts (datagrams, UDP payload bytes).
fn drain(sockets: &[UdpSocket], got: &mut [(u64, u64)]) {
    let mut buf = vec![0u8; 65536];
    for (s, g) in sockets.iter().zip(got.iter_mut()) {
        while let Ok(len) = s.recv(&mut buf) {
            g.0 += 1;
            g.1 += len as u64;
        }
    }
}

fn tcp(lab: &Lab, sender: &str, generator: &str, sizes: &[u64], posts: u64) {
    progress("wire: per-server TCP");
    // The generator's sockets live in its namespace: its runtime's threads start there.
    let rt = in_netns(generator, crate::runtime);
    let links: SocketAddr = format!("{SENDER_IP}:{LINKS_PORT}")
        .parse()
        .expect("address");
    let listen_links = format!("0.0.0.0:{LINKS_PORT}");
    for &n in sizes {
        let stats = Arc::new(Stats::default());
        let mut statics = Vec::new();
        let mut keys = Vec::new();
        for i in 0..n {
            let domain = format!("f{i}.test");
            let key = Arc::new(NodeKey::generate().expect("key"));
            let bind: SocketAddr = format!("{GENERATOR_IP}:0").parse().expect("address");
            let listener = rt
                .block_on(rt.spawn(async move { TcpListener::bind(bind).await }))
                .expect("task")
                .expect("bind");
            statics.push((domain.clone(), listener.local_addr().expect("addr")));
            rt.spawn(accept(listener, domain, key.clone(), stats.clone()));
            keys.push(key);
        }
        let bench = Bench::start_in(
            Some(sender),
            "author.test",
            &statics,
            &["--links", &listen_links],
        );
        let author = format!("{}@author.test", USERS[0]);
        let (s2, k2, a2) = (statics.clone(), keys.clone(), author.clone());
        let subscribed = rt
            .block_on(rt.spawn(async move { subscribe_all(links, &s2, &k2, &a2).await }))
            .expect("task");
        let p = format!("msm_wire_tcp_n{n}");
        out(&format!("{p}_subscribed"), subscribed);
        let token = bench.node.login(USERS[0], PASSWORD);
        let post = || {
            let r = bench.node.post_json(
                "/api/v1/posts",
                Some(&token),
                &json!({ "text": post_text(TAG_WIRE, now_us()) }),
            );
            assert_eq!(r.status, 201, "{}", r.text());
        };
        // a first post opens the delivery links (handshakes are not counted)
        post();
        wait_delivered(&stats, n, PHASE_TIMEOUT);
        std::thread::sleep(SETTLE);
        let base = stats.delivered.load(Relaxed);
        let before = counters(lab, sender);
        for _ in 0..posts {
            post();
            std::thread::sleep(POST_GAP);
        }
        let delivered = wait_delivered(&stats, base + posts * n, PHASE_TIMEOUT) - base;
        std::thread::sleep(SETTLE);
        let after = counters(lab, sender);
        let packets = (after[1].0 - before[1].0) + (after[2].0 - before[2].0);
        let bytes = (after[1].1 - before[1].1) + (after[2].1 - before[2].1);
        out(
            &format!("{p}_delivered"),
            format!("{delivered}/{}", posts * n),
        );
        out(&format!("{p}_sender_bytes_per_post"), per(bytes, posts));
        out(&format!("{p}_sender_packets_per_post"), per(packets, posts));
        out(
            &format!("{p}_sender_bytes_per_post_per_receiver"),
            per(bytes, posts * n),
        );
        drop(bench);
    }
    rt.shutdown_timeout(Duration::from_secs(1));
}
