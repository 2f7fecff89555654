//! Unit tests of the receiver with hand-made datagrams (the simulation in `sim_tests` covers
//! whole runs with loss).

use super::*;
use crate::proto::keys::NodeKey;
use crate::proto::stream::encode::{encode_big, encode_data, encode_status};
use crate::proto::stream::event::{GIVE_UP_MS, NACK_BACKOFF_MAX_MS, NACK_REPEAT_MS};
use crate::proto::stream::packet::{MAX_ENTRY, MAX_SEQ};
use std::ops::RangeInclusive;

fn key() -> NodeKey {
    NodeKey::from_bytes(&[1u8; 32]).unwrap()
}

fn data(epoch: u32, seq: u64, n: u64) -> Vec<u8> {
    let msgs: Vec<Vec<u8>> = (seq..seq + n).map(|s| s.to_be_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    encode_data(&key(), epoch, seq, &refs).unwrap()
}

fn receiver() -> Receiver {
    Receiver::new(key().public(), ReceiverLimits::ROUTER, 42)
}

fn events(r: &mut Receiver) -> Vec<Event> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

fn delivered(ev: &[Event]) -> Vec<u64> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Deliver { seq, message } => {
                assert_eq!(message, &seq.to_be_bytes());
                Some(*seq)
            }
            _ => None,
        })
        .collect()
}

fn nacks(ev: &[Event]) -> Vec<RangeInclusive<u64>> {
    ev.iter()
        .flat_map(|e| match e {
            Event::Nack { ranges, .. } => ranges.clone(),
            _ => vec![],
        })
        .collect()
}

#[test]
fn delivers_in_order_through_reordering_and_drops_duplicates() {
    let mut r = receiver();
    r.handle_datagram(0, &data(1, 1, 2)).unwrap();
    assert_eq!(r.handle_datagram(1, &data(1, 6, 1)), Ok(Kind::Data));
    assert_eq!(r.handle_datagram(2, &data(1, 3, 3)), Ok(Kind::Data));
    assert_eq!(
        r.handle_datagram(3, &data(1, 3, 3)),
        Err(Dropped::Duplicate)
    );
    assert_eq!(
        r.handle_datagram(3, &data(1, 6, 1)),
        Err(Dropped::Duplicate)
    );
    let ev = events(&mut r);
    assert_eq!(ev[0], Event::Started { epoch: 1, after: 0 });
    assert_eq!(delivered(&ev), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(r.stats().duplicates, 2);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.held_bytes(), 0);
}

#[test]
fn forged_foreign_and_stale_epoch_datagrams_change_nothing() {
    let mut r = receiver();
    r.handle_datagram(0, &data(5, 1, 1)).unwrap();
    let mut flipped = data(5, 10, 1);
    let n = flipped.len();
    flipped[n - 70] ^= 1; // inside the payload
    assert_eq!(r.handle_datagram(1, &flipped), Err(Dropped::Forged));
    let other = NodeKey::from_bytes(&[2u8; 32]).unwrap();
    let foreign = encode_data(&other, 5, 10, &[b"x"]).unwrap();
    assert_eq!(r.handle_datagram(1, &foreign), Err(Dropped::Foreign));
    assert_eq!(
        r.handle_datagram(1, &data(4, 10, 1)),
        Err(Dropped::StaleEpoch)
    );
    assert!(matches!(
        r.handle_datagram(1, b"junk"),
        Err(Dropped::Malformed(_))
    ));
    let s = r.stats();
    assert_eq!(
        (s.forged, s.foreign, s.stale_epoch, s.malformed),
        (1, 1, 1, 1)
    );
    r.handle_timeout(100_000);
    assert!(nacks(&events(&mut r)).is_empty());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn tail_loss_shows_by_heartbeat_is_nacked_after_backoff_and_repeated() {
    let mut r = receiver();
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    r.handle_datagram(10, &encode_status(&key(), false, 1, 4, 1, 0))
        .unwrap();
    let due = r.poll_timeout().unwrap();
    assert!((10..=10 + NACK_BACKOFF_MAX_MS).contains(&due));
    r.handle_timeout(due);
    assert_eq!(nacks(&events(&mut r)), vec![2..=4]);
    assert_eq!(r.poll_timeout(), Some(due + NACK_REPEAT_MS));
    r.handle_timeout(due + NACK_REPEAT_MS);
    assert_eq!(nacks(&events(&mut r)), vec![2..=4]);
    r.handle_datagram(due + 2100, &data(1, 2, 3)).unwrap();
    assert_eq!(delivered(&events(&mut r)), vec![2, 3, 4]);
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn gives_up_after_the_limit_and_delivers_past_the_gap() {
    let mut r = receiver();
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    r.handle_datagram(5, &data(1, 5, 2)).unwrap();
    assert_eq!(delivered(&events(&mut r)), vec![1]);
    r.handle_timeout(5 + GIVE_UP_MS - 1);
    let ev = events(&mut r);
    assert!(delivered(&ev).is_empty());
    r.handle_timeout(5 + GIVE_UP_MS);
    let ev = events(&mut r);
    assert!(ev.contains(&Event::Backfill {
        epoch: 1,
        range: 2..=4,
        reason: SkipReason::Timeout
    }));
    assert_eq!(delivered(&ev), vec![5, 6]);
    assert_eq!(
        r.handle_datagram(0, &data(1, 3, 1)),
        Err(Dropped::Duplicate)
    );
}

#[test]
fn gone_heartbeat_turns_the_lost_part_into_backfill_at_once() {
    let mut r = receiver();
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    r.handle_datagram(1, &data(1, 4, 1)).unwrap();
    r.handle_datagram(2, &data(1, 8, 1)).unwrap();
    // sender: newest 9, oldest repairable 6
    r.handle_datagram(3, &encode_status(&key(), false, 1, 9, 6, 0))
        .unwrap();
    let ev = events(&mut r);
    let backfills: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Backfill { range, reason, .. } => Some((range.clone(), *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        backfills,
        vec![(2..=3, SkipReason::Gone), (5..=5, SkipReason::Gone)]
    );
    assert_eq!(delivered(&ev), vec![1, 4]);
    r.handle_timeout(10_000);
    assert_eq!(nacks(&events(&mut r)), vec![6..=7, 9..=9]);
}

#[test]
fn late_joiner_starts_at_the_current_seq_and_never_rewinds() {
    let mut r = receiver();
    r.handle_datagram(0, &encode_status(&key(), true, 3, 100, 1, 0))
        .unwrap();
    assert_eq!(
        r.cursor(),
        Some(Cursor {
            epoch: 3,
            next: 101
        })
    );
    assert_eq!(
        r.handle_datagram(1, &data(3, 99, 2)),
        Err(Dropped::Duplicate)
    );
    r.handle_datagram(2, &data(3, 101, 1)).unwrap();
    let ev = events(&mut r);
    assert_eq!(
        ev[0],
        Event::Started {
            epoch: 3,
            after: 100
        }
    );
    assert_eq!(delivered(&ev), vec![101]);
    let mut r = receiver();
    r.handle_datagram(0, &data(3, 50, 1)).unwrap();
    assert_eq!(delivered(&events(&mut r)), vec![50]);
}

#[test]
fn epoch_change_backfills_the_old_gaps_and_follows_the_new_epoch_from_one() {
    let mut r = receiver();
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    r.handle_datagram(0, &data(1, 3, 1)).unwrap();
    r.handle_datagram(5, &data(2, 2, 1)).unwrap();
    let ev = events(&mut r);
    assert_eq!(delivered(&ev), vec![1, 3]);
    assert!(ev.contains(&Event::Backfill {
        epoch: 1,
        range: 2..=2,
        reason: SkipReason::EpochEnded
    }));
    assert!(ev.contains(&Event::Started { epoch: 2, after: 0 }));
    assert_eq!(
        r.handle_datagram(6, &data(1, 4, 1)),
        Err(Dropped::StaleEpoch)
    );
    r.handle_datagram(7, &data(2, 1, 1)).unwrap();
    assert_eq!(delivered(&events(&mut r)), vec![1, 2]);
}

#[test]
fn huge_seqs_and_floods_stay_within_bounds() {
    let mut r = Receiver::new(
        key().public(),
        ReceiverLimits {
            max_held_bytes: 8 * 1024,
            ..ReceiverLimits::ROUTER
        },
        1,
    );
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    events(&mut r);
    for s in [MAX_SEQ, 1 << 40, 10_000] {
        assert!(encode_data(&key(), 1, MAX_SEQ - 1, &[b"a", b"b", b"c"]).is_err());
        assert_eq!(
            r.handle_datagram(1, &data(1, s, 1)),
            Err(Dropped::BeyondWindow)
        );
    }
    // out of order within the window, but over the byte bound
    let mut overflowed = 0;
    for s in (3..400).step_by(2) {
        if r.handle_datagram(2, &data(1, s, 1)) == Err(Dropped::Overflow) {
            overflowed += 1;
        }
    }
    assert!(overflowed > 0);
    assert!(r.held_bytes() <= 8 * 1024);
    r.handle_timeout(1_000);
    let n = nacks(&events(&mut r));
    assert!(!n.is_empty() && n.len() <= 32);
    assert!(r.held_bytes() <= 8 * 1024);
}

#[test]
fn a_large_message_is_fetched_in_its_place() {
    let mut r = receiver();
    let body = vec![1u8; MAX_ENTRY + 5];
    let large = crate::proto::stream::packet::LargeRef::of(&body);
    r.handle_datagram(0, &data(1, 1, 1)).unwrap();
    r.handle_datagram(0, &data(1, 3, 1)).unwrap();
    r.handle_datagram(0, &encode_big(&key(), 1, 2, &large))
        .unwrap();
    let ev = events(&mut r);
    assert_eq!(
        ev[1..],
        [
            Event::Deliver {
                seq: 1,
                message: 1u64.to_be_bytes().to_vec()
            },
            Event::FetchLarge {
                epoch: 1,
                seq: 2,
                large
            },
            Event::Deliver {
                seq: 3,
                message: 3u64.to_be_bytes().to_vec()
            },
        ]
    );
}

#[test]
fn a_status_replayed_by_multicast_is_counted_and_dropped_but_not_by_tcp() {
    let mut r = receiver();
    let hb = |newest, clock| encode_status(&key(), false, 1, newest, 1, clock);
    assert_eq!(r.handle_multicast(0, &hb(4, 1_000)), Ok(Kind::Heartbeat));
    assert_eq!(
        r.handle_multicast(5_000, &hb(4, 6_000)),
        Ok(Kind::Heartbeat)
    );
    // both again, as anyone on the segment could send them
    for (at, d) in [(6_000, hb(4, 1_000)), (7_000, hb(4, 6_000))] {
        assert_eq!(r.handle_multicast(at, &d), Err(Dropped::Replay));
    }
    assert_eq!(r.stats().replays, 2);
    // a forged status that would be news is still checked (the replay check is not a bypass)
    let mut forged = hb(4, 9_000);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(r.handle_multicast(8_000, &forged), Err(Dropped::Forged));
    // the same datagram by TCP comes from the hub itself: taken, as before
    assert_eq!(r.handle_datagram(8_000, &hb(4, 6_000)), Ok(Kind::Heartbeat));
    assert_eq!(
        r.handle_multicast(9_000, &hb(5, 9_000)),
        Ok(Kind::Heartbeat)
    );
    assert_eq!(r.stats().replays, 2);
}
