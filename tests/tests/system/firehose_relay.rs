//! The hub's relay listener on loopback, driven by a relay-session client in this process:
//! `firehose.max_relay_sessions` refuses one session more, and a freed slot is taken again;
//! a fetch by stream seq is answered with the messages the hub still holds.

use msm_tests::relay::{open_live, RelayClient};
use msm_tests::{data_dir, Node};
use msmd::net::firehose::session::{self, Fetch, Fetched};
use msmd::proto::link as wire;
use msmd::proto::stream::Packet;
use msmd::proto::FrameType;
use msmd::proto::NodeKey;
use std::time::{Duration, Instant};

/// Sessions the hub is configured to hold.
const CAP: usize = 3;

fn live_sessions(hub: &Node) -> u64 {
    hub.http("GET", "/healthz", &[], None).json()["firehose"]["relay_sessions"]
        .as_u64()
        .unwrap_or(0)
}

fn wait_sessions(hub: &Node, n: u64) {
    let t0 = Instant::now();
    while live_sessions(hub) != n {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", hub.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a hub on loopback holding at most `cap` relay sessions; returns it, its data
/// directory and its relay address.
fn start_hub(cap: usize) -> (Node, tempfile::TempDir, std::net::SocketAddr) {
    let dir = data_dir("hub.test", &[("alice", "a long password", true)]);
    let config = dir.path().join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
             [firehose]\nrole = \"hub\"\nrelay_listen = \"127.0.0.1:0\"\nmax_relay_sessions = {cap}\n"
        ),
    )
    .unwrap();
    let hub = Node::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let addr: std::net::SocketAddr = hub
        .log_value("relay listening addr=")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("relay address in the log");
    (hub, dir, addr)
}

#[test]
fn relay_session_cap_refuses_one_more() {
    let (hub, _dir, addr) = start_hub(CAP);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = NodeKey::generate().unwrap();
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(
            rt.block_on(open_live(addr, &key, "node.test"))
                .expect("within the cap"),
        );
    }
    wait_sessions(&hub, CAP as u64);
    let refused = rt.block_on(open_live(addr, &key, "node.test"));
    assert!(refused.is_err(), "one session over the cap was accepted");
    // the log is read from the hub's stderr by another thread: wait for the line
    hub.wait_for_log(
        "relay session refused: too many sessions",
        Duration::from_secs(10),
    );
    assert_eq!(live_sessions(&hub), CAP as u64);
    // a closed session frees its slot
    held.pop();
    wait_sessions(&hub, CAP as u64 - 1);
    held.push(
        rt.block_on(open_live(addr, &key, "node.test"))
            .expect("slot freed"),
    );
    wait_sessions(&hub, CAP as u64);
}

/// The next frame of `kind` from the hub (others skipped).
async fn next_of(c: &mut RelayClient, kind: FrameType) -> Vec<u8> {
    loop {
        let f = c.reader.next().await.expect("frame from the hub");
        if f.kind == kind {
            return f.payload;
        }
    }
}

#[test]
fn relay_fetch_by_stream_seq_answers_what_the_hub_holds() {
    let (hub, _dir, addr) = start_hub(CAP);
    let alice = hub.login("alice", "a long password");
    for i in 1..=3 {
        let r = hub.post_json(
            "/api/v1/posts",
            Some(&alice),
            &serde_json::json!({ "text": format!("fetch post {i}") }),
        );
        assert_eq!(r.status, 201);
    }
    // the posts reach the stream through the writer, then a batch flush of a few ms
    let t0 = Instant::now();
    while hub.http("GET", "/healthz", &[], None).json()["firehose"]["pushed"].as_u64() != Some(3) {
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", hub.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = NodeKey::generate().unwrap();
    let fetched = rt.block_on(async {
        let mut c = open_live(addr, &key, "node.test").await.expect("session");
        // a live session without a cursor starts with a heartbeat: it names the epoch
        let hb = next_of(&mut c, FrameType::StreamRepair).await;
        let epoch = Packet::decode(&hb).expect("heartbeat").epoch;
        let fetch = Fetch {
            epoch,
            first: 1,
            last: 4,
        };
        session::write_frame(&mut c.writer, FrameType::StreamFetch, &wire::encode(&fetch))
            .await
            .expect("send fetch");
        let answer = next_of(&mut c, FrameType::StreamFetched).await;
        Fetched::decode(&answer).expect("answer")
    });
    assert_eq!((fetched.first, fetched.last), (1, 4));
    let seqs: Vec<u64> = fetched.messages.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        vec![1, 2, 3],
        "seq 4 was never sent, so it is not held"
    );
    for (seq, m) in &fetched.messages {
        let text = format!("fetch post {seq}");
        assert!(
            m.windows(text.len()).any(|w| w == text.as_bytes()),
            "message {seq} is alice's post {seq}"
        );
    }
}
