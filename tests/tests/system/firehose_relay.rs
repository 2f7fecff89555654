//! The hub's relay listener on loopback, driven by a relay-session client in this process:
//! `firehose.max_relay_sessions` refuses one session more, and a freed slot is taken again.

use msm_tests::relay::open_live;
use msm_tests::{data_dir, Node};
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

#[test]
fn relay_session_cap_refuses_one_more() {
    let dir = data_dir("hub.test", &[("alice", "a long password", true)]);
    let config = dir.path().join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
             [firehose]\nrole = \"hub\"\nrelay_listen = \"127.0.0.1:0\"\nmax_relay_sessions = {CAP}\n"
        ),
    )
    .unwrap();
    let hub = Node::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let addr: std::net::SocketAddr = hub
        .log_value("relay listening addr=")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("relay address in the log");
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
    assert!(hub
        .log()
        .contains("relay session refused: too many sessions"));
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
