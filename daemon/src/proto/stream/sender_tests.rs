//! Tests of the sender: batching, timers, repair answers, bounds.

use super::*;
use crate::proto::stream::packet::{Packet, Payload, MAX_DATAGRAM};

fn sender(limits: WindowLimits) -> Sender {
    Sender::new(NodeKey::from_bytes(&[5u8; 32]).unwrap(), 9, limits)
}

fn drain(s: &mut Sender, now: u64) -> Vec<Datagram> {
    std::iter::from_fn(|| s.poll_transmit(now)).collect()
}

#[test]
fn batches_until_the_flush_timer_then_heartbeats_double_to_the_cap() {
    let mut s = sender(WindowLimits::ROUTER);
    // the first poll announces
    let first = drain(&mut s, 0);
    assert_eq!(
        first.iter().map(|d| d.kind).collect::<Vec<_>>(),
        vec![Kind::Announce]
    );
    assert_eq!(s.push(0, b"a").unwrap(), 1);
    assert_eq!(s.push(2, b"b").unwrap(), 2);
    assert!(drain(&mut s, 4).is_empty());
    assert_eq!(s.poll_timeout(), Some(FLUSH_MS));
    let d = drain(&mut s, FLUSH_MS);
    assert_eq!(d.len(), 1);
    let p = Packet::decode(&d[0].bytes).unwrap();
    assert_eq!((p.seq, p.last_seq(), p.epoch), (1, 2, 9));
    // heartbeats at +100, +200, +400, ... capped at 5 s
    let mut t = FLUSH_MS;
    let mut gaps = Vec::new();
    while gaps.len() < 9 {
        let next = s.poll_timeout().unwrap();
        let got = drain(&mut s, next);
        if got.iter().any(|d| d.kind == Kind::Heartbeat) {
            gaps.push(next - t);
            t = next;
            let hb = got.iter().find(|d| d.kind == Kind::Heartbeat).unwrap();
            let p = Packet::decode(&hb.bytes).unwrap();
            assert_eq!(
                (p.seq, p.payload),
                (
                    2,
                    Payload::Heartbeat {
                        oldest: 1,
                        clock: next
                    }
                )
            );
        }
    }
    assert_eq!(gaps, vec![100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
}

#[test]
fn full_batch_is_sent_at_once_and_large_messages_are_announced() {
    let mut s = sender(WindowLimits::ROUTER);
    drain(&mut s, 0);
    let msg = vec![7u8; 500];
    s.push(0, &msg).unwrap();
    s.push(0, &msg).unwrap();
    s.push(0, &msg).unwrap(); // does not fit: the first two go out
    let d = drain(&mut s, 0);
    assert_eq!(d.len(), 1);
    assert!(d[0].bytes.len() <= MAX_DATAGRAM);
    let big = vec![8u8; MAX_ENTRY + 1];
    assert_eq!(s.push(0, &big).unwrap(), 4);
    let d = drain(&mut s, 0);
    assert_eq!(
        d.iter().map(|d| d.kind).collect::<Vec<_>>(),
        vec![Kind::Data, Kind::BigAnnounce]
    );
    assert_eq!(s.large(4), Some(&big[..]));
    assert_eq!(s.push(0, b""), Err(StreamError::EmptyMessage));
    let huge = vec![0u8; MAX_LARGE_MESSAGE + 1];
    assert!(matches!(
        s.push(0, &huge),
        Err(StreamError::MessageTooLarge { .. })
    ));
}

#[test]
fn transmit_queue_is_bounded() {
    let mut s = sender(WindowLimits::ROUTER);
    let big = vec![8u8; MAX_ENTRY + 1];
    let mut n = 0;
    while s.push(0, &big).is_ok() {
        n += 1;
        assert!(n <= MAX_TRANSMIT_QUEUE);
    }
    assert_eq!(s.push(0, b"x"), Err(StreamError::TransmitQueueFull));
    drain(&mut s, 0);
    assert!(s.push(0, b"x").is_ok());
}

#[test]
fn repairs_resend_the_original_or_say_gone() {
    let mut s = sender(WindowLimits {
        max_datagrams: 4,
        max_bytes: 1 << 20,
    });
    let mut sent = Vec::new();
    for i in 0..10u64 {
        s.push(i * 10, &[i as u8 + 1; 600]).unwrap(); // one message per datagram
        sent.extend(
            drain(&mut s, i * 10 + FLUSH_MS)
                .into_iter()
                .filter(|d| d.kind == Kind::Data),
        );
    }
    assert_eq!((s.newest(), s.oldest()), (10, 7));
    match s.repair(9, 8) {
        Some(Repair::Resend(d)) => assert_eq!(d, sent[7]),
        other => panic!("{other:?}"),
    }
    match s.repair(9, 3) {
        Some(Repair::Gone { oldest, heartbeat }) => {
            assert_eq!(oldest, 7);
            let p = Packet::decode(&heartbeat.bytes).unwrap();
            assert!(matches!(p.payload, Payload::Heartbeat { oldest: 7, .. }));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.repair(9, 11), None);
    assert_eq!(s.repair(9, 0), None);
    assert!(matches!(s.repair(8, 8), Some(Repair::Gone { .. })));
    let answer = s.repair_ranges(9, &[2..=4, 4..=8, 8..=100]);
    let kinds: Vec<_> = answer.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        vec![
            Kind::Heartbeat,
            Kind::Data,
            Kind::Data,
            Kind::Data,
            Kind::Data
        ]
    );
    assert_eq!(answer[1..], sent[6..]);
}

#[test]
fn announces_every_interval() {
    let mut s = sender(WindowLimits::ROUTER);
    let mut at = Vec::new();
    let mut now = 0;
    while now <= 3 * ANNOUNCE_MS {
        for d in drain(&mut s, now) {
            if d.kind == Kind::Announce {
                at.push(now);
            }
        }
        now = s.poll_timeout().unwrap();
    }
    assert_eq!(at, vec![0, ANNOUNCE_MS, 2 * ANNOUNCE_MS, 3 * ANNOUNCE_MS]);
}

#[test]
fn messages_are_fetched_by_seq_inline_and_large() {
    let mut s = sender(WindowLimits::ROUTER);
    s.push(0, b"a").unwrap();
    s.push(0, b"bb").unwrap();
    let big = vec![7u8; MAX_ENTRY + 100];
    assert_eq!(s.push(0, &big).unwrap(), 3);
    drain(&mut s, FLUSH_MS);
    assert_eq!(s.message(9, 1).as_deref(), Some(&b"a"[..]));
    assert_eq!(s.message(9, 2).as_deref(), Some(&b"bb"[..]));
    assert_eq!(s.message(9, 3), Some(big));
    assert_eq!(s.message(9, 4), None, "never sent");
    assert_eq!(s.message(8, 1), None, "another epoch");
}
