//! Signals: SIGTERM finishes what is in flight and exits 0; SIGHUP reloads what it can.

use msm_tests::{data_dir, Node};
use nix::sys::signal::Signal;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn sigterm_under_load_loses_no_acknowledged_post() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let node = Arc::new(Node::start(dir.path(), &[]));
    let token = node.login("alice", "alice-secret");
    let stop = Arc::new(AtomicBool::new(false));
    let posters: Vec<_> = (0..4)
        .map(|t| {
            let (node, token, stop) = (node.clone(), token.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let body = json!({"text": format!("thread {t} post {i}")}).to_string();
                    let h = [
                        ("Content-Type", "application/json"),
                        ("Authorization", &format!("Bearer {token}")),
                    ];
                    match msm_tests::request(
                        node.addr,
                        "POST",
                        "/api/v1/posts",
                        &h,
                        Some(body.as_bytes()),
                    ) {
                        Ok(r) if r.status == 201 => acked.push(r.json()["seq"].as_u64().unwrap()),
                        _ => break,
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    node.signal(Signal::SIGTERM);
    node.wait_for_log("stopped cleanly", Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    let mut acked: Vec<u64> = posters
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    acked.sort();
    assert!(!acked.is_empty(), "posting worked before the signal");
    let node = Arc::try_unwrap(node).ok().expect("single owner");
    let (status, log) = node.stop_after_exit();
    assert!(status.success(), "exit status {status}: {log}");

    let node = Node::start(dir.path(), &[]);
    let stored: Vec<u64> = node
        .all_posts("alice", None)
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect();
    for seq in &acked {
        assert!(stored.contains(seq), "acknowledged seq {seq} lost");
    }
    let mut sorted = stored.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "no gaps"
    );
}

#[test]
fn sighup_reloads_limits_and_refuses_a_bad_file() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(&cfg, "[limits]\nmax_post_bytes = 100\n").unwrap();
    let node = Node::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let token = node.login("alice", "alice-secret");
    let text = "z".repeat(150);
    let post = |node: &Node| {
        node.post_json("/api/v1/posts", Some(&token), &json!({ "text": text }))
            .status
    };
    assert_eq!(post(&node), 413);

    std::fs::write(
        &cfg,
        "[limits]\nmax_post_bytes = 1000\n[log]\nfilter = \"debug\"\n",
    )
    .unwrap();
    node.signal(Signal::SIGHUP);
    node.wait_for_log("configuration reloaded", Duration::from_secs(10));
    assert_eq!(post(&node), 201);
    node.wait_for_log("committed post batch", Duration::from_secs(10));

    std::fs::write(&cfg, "[limits]\nmax_post_bytes = 10\nsurprise = 1\n").unwrap();
    node.signal(Signal::SIGHUP);
    node.wait_for_log("configuration refused", Duration::from_secs(10));
    assert!(node.log().contains("surprise"), "the refusal names the key");
    assert_eq!(post(&node), 201, "a refused reload changes nothing");

    std::fs::write(
        &cfg,
        "[limits]\nmax_post_bytes = 1000\n[http]\nworkers = 2\n",
    )
    .unwrap();
    node.signal(Signal::SIGHUP);
    node.wait_for_log("take effect after a restart", Duration::from_secs(10));
    let (status, log) = node.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("stopped cleanly"));
}
