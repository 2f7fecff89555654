//! kill -9 at random moments during a stream of posts: no acknowledged post is lost and the
//! author's seqs have no gap.

use msm_tests::{data_dir, request, Node, UNLIMITED_POSTING};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Rounds of start, post, kill -9.
const ROUNDS: u64 = 8;
/// Concurrent posting clients.
const CLIENTS: usize = 4;

#[test]
fn kill_9_in_a_loop_of_posts_loses_nothing_acknowledged() {
    let dir = data_dir("smith.family", &[("alice", "alice-secret", true)]);
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(&cfg, UNLIMITED_POSTING).unwrap();
    let cfg = ["--config", cfg.to_str().unwrap()];
    let mut token = None;
    let mut acked = BTreeSet::new();
    for round in 0..ROUNDS {
        let node = Node::start(dir.path(), &cfg);
        // Sessions are stored too: the token from the first round still works after each crash.
        let t = token
            .get_or_insert_with(|| node.login("alice", "alice-secret"))
            .clone();
        let stop = Arc::new(AtomicBool::new(false));
        let addr = node.addr;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (t, stop) = (t.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let body = json!({"text": format!("round {round} client {c} post {i}")})
                            .to_string();
                        let h = [
                            ("Content-Type", "application/json"),
                            ("Authorization", &format!("Bearer {t}")),
                        ];
                        match request(addr, "POST", "/api/v1/posts", &h, Some(body.as_bytes())) {
                            Ok(r) if r.status == 201 => {
                                mine.push(r.json()["seq"].as_u64().unwrap())
                            }
                            Ok(r) => panic!("unexpected answer {}: {}", r.status, r.text()),
                            Err(_) => break, // the node died under us: this post was not acknowledged
                        }
                    }
                    mine
                })
            })
            .collect();
        // Kill at a different moment each round: 150..500 ms into the load.
        std::thread::sleep(Duration::from_millis(150 + (round * 53) % 350));
        node.kill9();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            acked.extend(c.join().unwrap());
        }
    }
    let node = Node::start(dir.path(), &cfg);
    let stored: BTreeSet<u64> = node
        .all_posts("alice", None)
        .iter()
        .map(|p| p["seq"].as_u64().unwrap())
        .collect();
    assert!(
        acked.len() as u64 > ROUNDS * 5,
        "the test posted too little to mean anything: {}",
        acked.len()
    );
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged posts lost: {lost:?}");
    eprintln!(
        "kill -9 loop: {} posts acknowledged over {ROUNDS} kills, {} stored, none lost",
        acked.len(),
        stored.len()
    );
    let max = *stored.iter().max().unwrap();
    assert_eq!(stored.len() as u64, max, "seqs 1..={max} without a gap");
    // Writing continues from the right place.
    let r = node.post_json(
        "/api/v1/posts",
        token.as_deref(),
        &json!({"text": "after the storm"}),
    );
    assert_eq!(r.json()["seq"], max + 1);
}
