//! Lab test 5 (issue 5): forged, corrupted and replayed firehose datagrams on the multicast
//! segment are dropped and counted, store nothing and cause no NACKs, and the genuine stream
//! goes on. A third namespace on the bridge ("evil") first listens to the group to capture
//! genuine datagrams, then sends the attack to the group.
//!
//! What the node counts (see `proto::stream::receiver`): a datagram naming the hub's key id
//! (or full key) whose signature fails is `forged_dropped`; a Data datagram of the followed
//! epoch whose seqs were all delivered already is a `duplicates` drop *before* any signature
//! check, so a payload bit flip of an old captured Data datagram counts there, not as forged.

use super::firehose::{
    firehose, public_host, start_hub, start_public_node, wait_posts, wait_until, PW,
};
use msm_tests::netns::{in_netns, Lab};
use msmd::proto::stream::packet::{key_id, Kind, HEADER_LEN, SIGNING_CONTEXT, STREAM_VERSION};
use msmd::proto::{NodeKey, PublicKey};
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 77, 77);
pub(super) const PORT: u16 = 7451;
pub(super) const EVIL_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 66);
/// Genuine posts before the attack.
const POSTS: u64 = 5;
const SIG: usize = 64;

/// Listens to the group inside `ns` (joined from [`EVIL_IP`]) until `stop`; returns every
/// datagram seen.
pub(super) fn capture(ns: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let path = format!("/run/netns/{ns}");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let s = UdpSocket::bind(SocketAddrV4::new(GROUP, PORT)).unwrap();
        s.join_multicast_v4(&GROUP, &EVIL_IP).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        ready_tx.send(()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok(n) = s.recv(&mut buf) {
                out.push(buf[..n].to_vec());
            }
        }
        out
    });
    ready_rx.recv().expect("capture socket ready");
    h
}

/// A datagram of `kind` naming `key` (id or full key), signed by `wrong`.
fn forge(kind: Kind, key: &[u8], epoch: u32, seq: u64, payload: &[u8], wrong: &NodeKey) -> Vec<u8> {
    let mut d = vec![STREAM_VERSION, kind as u8];
    d.extend_from_slice(key);
    d.extend_from_slice(&epoch.to_be_bytes());
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(payload);
    let mut input = SIGNING_CONTEXT.to_vec();
    input.extend_from_slice(&d);
    d.extend_from_slice(&wrong.sign(&input));
    d
}

fn seq_of(d: &[u8]) -> u64 {
    u64::from_be_bytes(d[14..22].try_into().unwrap())
}

/// The last seq a Data datagram carries: its first seq plus its entries after the first.
fn last_seq(d: &[u8]) -> u64 {
    let (mut at, end, mut n) = (HEADER_LEN, d.len() - SIG, 0);
    while at < end {
        at += 2 + u16::from_be_bytes([d[at], d[at + 1]]) as usize;
        n += 1;
    }
    seq_of(d) + n - 1
}

fn with_seq(d: &[u8], seq: u64) -> Vec<u8> {
    let mut d = d.to_vec();
    d[14..22].copy_from_slice(&seq.to_be_bytes());
    d
}

fn count(f: &Value, k: &str) -> u64 {
    f[k].as_u64().unwrap_or_else(|| panic!("no {k} in {f}"))
}

/// Sends `all` to the group from inside `ns`, in batches, each once the node has taken in
/// the previous one (so its socket buffer never overflows and every datagram is judged).
fn send_paced(ns: &str, node: &msm_tests::Node, all: &[Vec<u8>]) {
    let base = count(&firehose(node), "multicast_received");
    let mut sent = 0u64;
    for batch in all.chunks(50) {
        sent += batch.len() as u64;
        let batch = batch.to_vec();
        in_netns(ns, move || {
            let s = UdpSocket::bind(SocketAddrV4::new(EVIL_IP, 0)).unwrap();
            for d in &batch {
                s.send_to(d, SocketAddrV4::new(GROUP, PORT)).unwrap();
            }
        });
        let t0 = Instant::now();
        while count(&firehose(node), "multicast_received") < base + sent
            && t0.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn firehose_forged_packets_are_dropped_counted_and_cause_no_repair_storm() {
    let t_start = Instant::now();
    let mut lab = Lab::new();
    let (sw, hub_ns) = super::firehose::internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let evil = lab.ns("evil");
    lab.attach(&sw, "evil-p", &evil, "eth0", &format!("{EVIL_IP}/24"));
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    let hub_key = PublicKey::from_text(&key).expect("hub key");
    let hub_id = key_id(&hub_key);
    let (node, _nd) = start_public_node(&hub, &pub_ns, &key, "");

    // Genuine traffic, captured by the evil namespace as it flies by.
    let stop = Arc::new(AtomicBool::new(false));
    let spy = capture(&evil, stop.clone());
    let alice = hub.login("alice", PW);
    let post = |i: u64| {
        let r = hub.post_json(
            "/api/v1/posts",
            Some(&alice),
            &json!({ "text": format!("genuine post {i}") }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    };
    for i in 1..=POSTS {
        post(i);
    }
    wait_posts(&node, POSTS);
    std::thread::sleep(Duration::from_millis(800)); // a few heartbeats after the last data
    stop.store(true, Ordering::Relaxed);
    let captured = spy.join().expect("capture");
    let ours: Vec<&Vec<u8>> = captured
        .iter()
        .filter(|d| d.len() > HEADER_LEN + SIG && d[0] == STREAM_VERSION)
        .collect();
    let data: Vec<&Vec<u8>> = ours
        .iter()
        .copied()
        .filter(|d| d[1] == Kind::Data as u8 && d[2..10] == hub_id)
        .collect();
    let beats: Vec<&Vec<u8>> = ours
        .iter()
        .copied()
        .filter(|d| d[1] == Kind::Heartbeat as u8 && d[2..10] == hub_id)
        .collect();
    assert!(
        !data.is_empty() && !beats.is_empty(),
        "captured {} datagrams: {} data, {} heartbeats",
        captured.len(),
        data.len(),
        beats.len()
    );
    let epoch = u32::from_be_bytes(data[0][10..14].try_into().unwrap());
    let newest = data.iter().map(|d| last_seq(d)).max().unwrap();
    eprintln!(
        "captured {} datagrams ({} data, {} heartbeats), epoch {epoch}, newest data seq {newest}",
        captured.len(),
        data.len(),
        beats.len()
    );

    let before = firehose(&node);
    let messages_before = node.message_count();
    let wrong = NodeKey::generate().unwrap();
    let mut forged: Vec<Vec<u8>> = Vec::new(); // each must count as forged_dropped
    let mut dups: Vec<Vec<u8>> = Vec::new(); // each must count as duplicates

    // (a) Data signed by a wrong key naming the hub's key id: the next seqs of the current
    // epoch (what a real next post would be), and seq 1 of a higher epoch (a fake restart).
    for i in 0..300u64 {
        let (e, s) = if i < 200 {
            (epoch, newest + 1 + i % 20)
        } else {
            (epoch + 1, 1 + i % 20)
        };
        let text = format!("forged message {i}");
        let mut payload = (text.len() as u16).to_be_bytes().to_vec();
        payload.extend_from_slice(text.as_bytes());
        forged.push(forge(Kind::Data, &hub_id, e, s, &payload, &wrong));
    }
    // (b) captured genuine datagrams with bit flips: in a Data seq (now ahead of the node, so
    // the signature is checked and fails), in a heartbeat's signed newest seq, in a Data
    // payload (an old seq: dropped as a duplicate before any signature check).
    for i in 0..200usize {
        let d = data[i % data.len()];
        forged.push(with_seq(d, seq_of(d) ^ (1 << (8 + i % 53))));
    }
    for i in 0..100usize {
        let b = beats[i % beats.len()];
        forged.push(with_seq(b, seq_of(b) ^ (1 << (8 + i % 53))));
    }
    for i in 0..100usize {
        let mut d = data[i % data.len()].clone();
        let first_len = u16::from_be_bytes([d[HEADER_LEN], d[HEADER_LEN + 1]]) as usize;
        d[HEADER_LEN + 2 + (i * 7) % first_len] ^= 1 << (i % 8);
        dups.push(d);
    }
    // (c) spoofed heartbeats and announcements claiming a huge newest seq, by a wrong key.
    for i in 0..200u64 {
        let newest = (1u64 << 62) - i * 1_000_003;
        // oldest repairable seq 1, and a clock far ahead
        let oldest = [1u64.to_be_bytes(), u64::MAX.to_be_bytes()].concat();
        forged.push(if i % 2 == 0 {
            forge(Kind::Heartbeat, &hub_id, epoch, newest, &oldest, &wrong)
        } else {
            forge(
                Kind::Announce,
                &hub_key.to_bytes(),
                epoch,
                newest,
                &oldest,
                &wrong,
            )
        });
    }
    // (d) replays of genuine old Data datagrams, verbatim.
    for i in 0..300usize {
        dups.push(data[i % data.len()].clone());
    }
    let (n_forged, n_dups) = (forged.len() as u64, dups.len() as u64);
    // Interleave them, as an attacker would.
    let mut all = Vec::new();
    let (mut f, mut d) = (forged.into_iter(), dups.into_iter());
    loop {
        match (f.next(), d.next()) {
            (None, None) => break,
            (a, b) => all.extend(a.into_iter().chain(b)),
        }
    }
    let t_attack = Instant::now();
    send_paced(&evil, &node, &all);
    wait_until("every forgery judged", &node, || {
        let f = firehose(&node);
        count(&f, "forged_dropped") >= count(&before, "forged_dropped") + n_forged
            && count(&f, "duplicates") >= count(&before, "duplicates") + n_dups
    });
    eprintln!(
        "sent {} forged + {} replayed/corrupted-old datagrams in {:?}",
        n_forged,
        n_dups,
        t_attack.elapsed()
    );
    // Let any NACK timer a forgery might have started fire (backoff is well under a second).
    std::thread::sleep(Duration::from_millis(1500));
    let after = firehose(&node);
    eprintln!("node firehose before the attack: {before}\nnode firehose after the attack: {after}");
    let delta = |k: &str| count(&after, k) - count(&before, k);
    assert_eq!(delta("forged_dropped"), n_forged, "{after}");
    assert_eq!(delta("duplicates"), n_dups, "{after}");
    for k in [
        "nacks_sent",
        "repairs",
        "backfills",
        "fetched",
        "lost",
        "delivered",
        "stored",
        "refused",
        "relay_opened",
    ] {
        assert_eq!(delta(k), 0, "{k} moved by the forgeries: {after}");
    }
    assert_eq!(after["path"], "multicast", "{after}");
    assert_eq!(node.message_count(), messages_before, "nothing stored");
    let bob = node.login("bob", PW);
    let texts: Vec<String> = node
        .all_posts("alice@hub.test", Some(&bob))
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        texts.iter().all(|t| t.starts_with("genuine post")),
        "{texts:?}"
    );

    // The genuine stream goes on: the next post arrives by multicast, with no NACK.
    let t = Instant::now();
    post(POSTS + 1);
    wait_posts(&node, POSTS + 1);
    let end = firehose(&node);
    eprintln!(
        "genuine post after the attack arrived in {:?}; node firehose: {end}; test took {:?}",
        t.elapsed(),
        t_start.elapsed()
    );
    assert_eq!(count(&end, "nacks_sent"), count(&before, "nacks_sent"));
    assert_eq!(count(&end, "repairs"), count(&before, "repairs"));
    assert_eq!(count(&end, "stored"), count(&before, "stored") + 1);
    assert_eq!(end["path"], "multicast");
}
