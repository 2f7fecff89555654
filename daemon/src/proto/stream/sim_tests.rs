//! Whole-stream tests on the simulated network: loss, duplication, reordering, outages, forgery,
//! late joins and path switches, each checked for "every message exactly once, in order, or
//! inside a Backfill range". Run with `--nocapture` to see the repair delays.

use super::encode::{encode_data, encode_status};
use super::packet::Packet;
use super::sim::{percentile, stream_key, Link, Net};
use super::window::WindowLimits;
use super::{Event, PathSelector, PathState, Receiver, ReceiverLimits};
use crate::proto::keys::NodeKey;
use proptest::prelude::*;

const MESSAGES: usize = 1500;
const EVERY_MS: u64 = 3;

fn run_lossy(seed: u64, loss: f64) -> Vec<u64> {
    let link = Link {
        loss,
        dup: 0.02,
        reorder: 0.05,
        delay_ms: 20,
        jitter_ms: 30,
    };
    let mut net = Net::new(seed, 3, link, WindowLimits::ROUTER);
    net.add_workload(0, MESSAGES, EVERY_MS, 300);
    net.drive(MESSAGES as u64 * EVERY_MS + 10_000);
    let mut delays = Vec::new();
    for i in 0..3 {
        let backfills = net.check_exactly_once(i, MESSAGES as u64);
        assert!(backfills.is_empty(), "node {i}: {backfills:?}");
        assert_eq!(net.delivered(i), MESSAGES);
        assert!(!net.nodes[i].lost.is_empty());
        delays.extend(net.repair_delays(i));
    }
    delays.sort_unstable();
    println!(
        "loss {:>3.0}%: {} repaired deliveries over 3 receivers, repair delay p50 {} ms, p99 {} ms, max {} ms (virtual)",
        loss * 100.0,
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays.last().copied().unwrap_or(0),
    );
    delays
}

#[test]
fn no_loss_delivers_everything_in_order_without_nacks() {
    let mut net = Net::new(1, 3, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 500, 2, 300);
    net.drive(10_000);
    for i in 0..3 {
        assert!(net.check_exactly_once(i, 500).is_empty());
        assert_eq!(net.delivered(i), 500);
        assert!(net.nodes[i].nacks.is_empty());
    }
    // batching: fewer datagrams than messages
    assert!(net.transmitted < 500, "{}", net.transmitted);
}

#[test]
fn ten_percent_loss_is_repaired_exactly_once_in_order() {
    let d = run_lossy(10, 0.10);
    assert!(percentile(&d, 99) < 2_000);
}

#[test]
fn thirty_percent_loss_is_repaired_exactly_once_in_order() {
    let d = run_lossy(30, 0.30);
    assert!(percentile(&d, 99) < 5_000);
}

#[test]
fn tail_loss_is_healed_by_heartbeats() {
    let mut net = Net::new(2, 2, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 50, 2, 100);
    // node 0 loses everything from 80 ms until after the data ends (~105 ms) and the first
    // heartbeat (~205 ms): only a later heartbeat can show the tail loss
    net.nodes[0].outages.push((80, 250));
    net.drive(5_000);
    assert!(net.check_exactly_once(0, 50).is_empty());
    assert_eq!(net.delivered(0), 50);
    let first_nack = net.nodes[0].nacks.first().map(|n| n.0).unwrap_or(0);
    assert!(first_nack > 250, "NACK at {first_nack}");
    assert!(net.nodes[1].nacks.is_empty());
}

#[test]
fn forged_and_replayed_datagrams_are_dropped_and_counted_without_nacks() {
    let mut net = Net::new(3, 1, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 100, 2, 100);
    net.drive(1_000);
    let real = stream_key();
    let mallory = NodeKey::from_bytes(&[0x66; 32]).unwrap();
    // wrong key, claiming seqs far ahead and a heartbeat far ahead
    net.inject(0, 1, encode_data(&mallory, 1, 500, &[b"spam"]).unwrap());
    net.inject(0, 1, encode_status(&mallory, false, 1, 10_000, 1, 0));
    // a genuine datagram with bits flipped in the seq and in the payload
    let genuine = encode_data(&real, 1, 150, &[b"future"]).unwrap();
    for byte in [17usize, 30] {
        let mut bad = genuine.clone();
        bad[byte] ^= 0x10;
        net.inject(0, 1, bad);
    }
    // a replay of an older epoch of the real stream
    net.inject(0, 1, encode_data(&real, 0, 1, &[b"old"]).unwrap());
    net.inject(0, 1, encode_status(&real, false, 0, 9_999, 1, 0));
    net.drive(40_000);
    let s = net.nodes[0].rx.stats().clone();
    assert_eq!(s.forged, 2, "{s:?}");
    assert!(s.foreign + s.forged >= 4 && s.stale_epoch == 2, "{s:?}");
    assert!(net.nodes[0].nacks.is_empty());
    assert!(net.check_exactly_once(0, 100).is_empty());
}

#[test]
fn too_small_a_window_for_an_outage_backfills_exactly_the_missing_range() {
    let window = WindowLimits {
        max_datagrams: 16,
        max_bytes: 1 << 20,
    };
    let mut net = Net::new(4, 2, Link::CLEAN, window);
    net.add_workload(0, 1000, 3, 200);
    net.nodes[0].outages.push((300, 2_300));
    net.drive(3_000 + 40_000);
    let backfills = net.check_exactly_once(0, 1000);
    assert_eq!(backfills.len(), 1, "{backfills:?}");
    let b = &backfills[0];
    let lost = &net.nodes[0].lost;
    assert_eq!(
        Some(b.start()),
        lost.first(),
        "starts at the first lost seq"
    );
    assert!(b.clone().all(|s| lost.contains(&s)), "only lost seqs");
    assert!(*b.end() < 1000 && b.end() - b.start() > 100, "{b:?}");
    let reason = net.nodes[0].log.iter().find_map(|(_, e)| match e {
        Event::Backfill { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, Some(super::SkipReason::Gone));
    assert_eq!(net.delivered(0), 1000 - (b.end() - b.start() + 1) as usize);
    assert!(net.check_exactly_once(1, 1000).is_empty());
}

#[test]
fn a_late_joiner_starts_at_the_current_seq() {
    let mut net = Net::new(5, 2, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 600, 3, 100);
    net.nodes[1].mcast_from = 1_000;
    net.drive(10_000);
    let started = net.nodes[1].log.iter().find_map(|(_, e)| match e {
        Event::Started { after, .. } => Some(*after),
        _ => None,
    });
    let after = started.unwrap();
    assert!(after > 250 && after < 400, "joined after {after}");
    assert!(net.check_exactly_once(1, 600).is_empty());
    assert_eq!(net.delivered(1), 600 - after as usize);
    assert!(
        net.nodes[1].nacks.is_empty(),
        "a joiner does not ask for history"
    );
}

#[test]
fn a_duplicate_flood_is_cheap_and_bounded() {
    let mut net = Net::new(6, 1, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 20, 1, 100);
    net.drive(1_000);
    let key = stream_key();
    let old = encode_data(&key, 1, 3, &[b"dup"]).unwrap();
    let ahead = encode_data(&key, 1, 30, &[b"ahead"]).unwrap();
    for _ in 0..3_000 {
        net.inject(0, 1, old.clone());
        net.inject(0, 1, ahead.clone());
    }
    net.drive(1_100);
    let s = net.nodes[0].rx.stats().clone();
    assert!(s.duplicates >= 5_999, "{s:?}");
    assert!(net.nodes[0].rx.held_bytes() < 4_096);
    assert_eq!(Packet::decode(&ahead).unwrap().seq, 30);
}

#[test]
fn switching_multicast_to_relay_and_back_loses_and_repeats_nothing() {
    let mut net = Net::new(7, 1, Link::lossy(0.05), WindowLimits::ROUTER);
    let mut path = PathSelector::new(7);
    path.wan_address_is_global(0, true);
    net.nodes[0].path = Some(path);
    net.nodes[0].joined = false;
    let count = 12 * 60 * 4; // one message every 250 ms for 12 minutes
    net.add_workload(0, count, 250, 200);
    // multicast dies for a while: silence → relay; then the hold-down retry finds it again
    net.nodes[0].outages.push((30_000, 90_000));
    let mut states = Vec::new();
    let end = count as u64 * 250 + 20_000;
    let mut t = 0;
    while t < end {
        t += 50;
        net.drive(t);
        let s = net.nodes[0].path.as_ref().map(|p| p.state());
        if states.last() != s.as_ref() {
            states.extend(s);
        }
    }
    assert_eq!(
        states,
        vec![
            PathState::TryingMulticast,
            PathState::Multicast,
            PathState::Relay,
            PathState::TryingMulticast,
            PathState::Multicast
        ]
    );
    assert!(!net.nodes[0].relay_open, "relay closed after the handover");
    assert!(net.check_exactly_once(0, count as u64).is_empty());
    assert_eq!(net.delivered(0), count);
}

/// Issue 12, item 21: the sender's multicast stops reaching node 0 while someone on its segment
/// multicasts captured (old, authentic) heartbeats and announcements to it once a second. The
/// replays are not news, so the node falls back to relay like node 1, which sees no replays,
/// and both get every message.
#[test]
fn replayed_heartbeats_do_not_hold_a_node_on_a_dead_multicast_path() {
    let mut net = Net::new(21, 2, Link::CLEAN, WindowLimits::ROUTER);
    for i in 0..2 {
        let mut path = PathSelector::new(21 + i as u64);
        path.wan_address_is_global(0, true);
        net.nodes[i].path = Some(path);
        net.nodes[i].joined = false;
        net.nodes[i].outages.push((30_000, u64::MAX));
    }
    let count = 150; // one message a second
    net.add_workload(1_000, count, 1_000, 200);
    net.capturing = true;
    net.drive(30_000);
    net.capturing = false;
    let captured = std::mem::take(&mut net.captured);
    assert!(captured.len() >= 6, "{}", captured.len());
    let states = |net: &Net| -> Vec<Option<PathState>> {
        net.nodes
            .iter()
            .map(|n| n.path.as_ref().map(|p| p.state()))
            .collect()
    };
    assert_eq!(states(&net), vec![Some(PathState::Multicast); 2]);
    let end = 1_000 + count as u64 * 1_000 + 20_000;
    let mut t = 30_000;
    let mut replay = captured.iter().cycle();
    while t < end {
        if let Some(d) = replay.next() {
            net.inject_multicast(0, 1, d.clone());
        }
        t += 1_000;
        net.drive(t);
    }
    assert_eq!(states(&net), vec![Some(PathState::Relay); 2]);
    assert!(
        net.nodes[0].rx.stats().replays >= 10,
        "{:?}",
        net.nodes[0].rx.stats()
    );
    for i in 0..2 {
        assert!(net.check_exactly_once(i, count as u64).is_empty());
        assert_eq!(net.delivered(i), count, "node {i}");
    }
}

#[test]
fn large_messages_are_announced_repaired_and_fetched_in_place() {
    let mut net = Net::new(8, 2, Link::lossy(0.3), WindowLimits::ROUTER);
    net.add_workload(0, 300, 5, 200);
    for k in 0..10u64 {
        net.add_message(k * 150 + 1, vec![b'L'; 2_000 + k as usize * 1_000]);
    }
    net.drive(15_000);
    for i in 0..2 {
        assert!(net.check_exactly_once(i, 310).is_empty());
        let fetched = net.nodes[i]
            .log
            .iter()
            .filter(|(_, e)| matches!(e, Event::FetchLarge { .. }))
            .count();
        assert_eq!(fetched, 10);
    }
}

#[test]
fn a_sender_restart_closes_the_old_epoch_and_follows_the_new_one_from_one() {
    let mut net = Net::new(9, 2, Link::CLEAN, WindowLimits::ROUTER);
    net.add_workload(0, 200, 3, 200);
    // node 0 misses a stretch of epoch 1; the sender restarts before the NACK is answered
    net.nodes[0].outages.push((150, 250));
    net.drive(251);
    let old_newest = net.restart_sender(2, WindowLimits::ROUTER);
    net.drive(20_000);
    for (i, node) in net.nodes.iter().enumerate() {
        let mut epoch = 0;
        let mut covered: [Vec<u64>; 3] = Default::default();
        let mut backfilled = Vec::new();
        for (_, e) in &node.log {
            match e {
                Event::Started { epoch: e, after } => {
                    assert!(*e > epoch && *after == 0, "node {i}: {e} after {epoch}");
                    epoch = *e;
                }
                Event::Deliver { seq, .. } => covered[epoch as usize].push(*seq),
                Event::Backfill {
                    epoch: e,
                    range,
                    reason,
                } => {
                    assert_eq!((*e, *reason), (1, super::SkipReason::EpochEnded));
                    covered[1].extend(range.clone());
                    backfilled.push(range.clone());
                }
                _ => {}
            }
        }
        assert_eq!(epoch, 2);
        assert_eq!(
            covered[1],
            (1..=covered[1].len() as u64).collect::<Vec<_>>()
        );
        assert!(covered[1].len() as u64 >= old_newest - 1, "node {i}");
        let new_newest = net.sender.newest();
        assert_eq!(covered[2], (1..=new_newest).collect::<Vec<_>>(), "node {i}");
        assert_eq!(backfilled.is_empty(), i == 1, "node {i}: {backfilled:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Any seed and link: every message exactly once in order, or inside a Backfill range.
    #[test]
    fn every_message_once_in_order_or_backfilled(
        seed in any::<u64>(),
        loss in 0.0f64..0.5,
        dup in 0.0f64..0.3,
        reorder in 0.0f64..0.5,
        jitter in 1u64..200,
        outage in proptest::option::of((0u64..600, 1u64..3_000)),
        window_datagrams in 2usize..128,
        held in 4_096usize..256_000,
        max_len in 20usize..1_500,
    ) {
        let link = Link { loss, dup, reorder, delay_ms: 15, jitter_ms: jitter };
        let window = WindowLimits { max_datagrams: window_datagrams, max_bytes: 1 << 20 };
        let mut net = Net::new(seed, 2, link, window);
        let limits = ReceiverLimits { max_held_bytes: held, ..ReceiverLimits::ROUTER };
        net.nodes[0].rx = Receiver::new(stream_key().public(), limits, seed);
        net.add_workload(0, 200, 3, max_len);
        if let Some((a, len)) = outage {
            net.nodes[0].outages.push((a, a + len));
        }
        net.drive(600 + 40_000);
        for i in 0..2 {
            net.check_exactly_once(i, 200);
        }
    }
}
