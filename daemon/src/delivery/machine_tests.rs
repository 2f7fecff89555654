//! The delivery machine step by step: the window, cursors under out-of-order acks, timeouts,
//! refusals, rows and unsubscribing.

use super::{Entry, Input, Machine, Output, Status, Subscription};
use std::sync::Arc;

fn a() -> Arc<str> {
    Arc::from("alice@a.test")
}

fn entry(seq: u64) -> Entry {
    Entry {
        id: seq as i64 * 10,
        author: a(),
        seq,
        row: None,
    }
}

fn drain(m: &mut Machine) -> Vec<Output> {
    let mut v = Vec::new();
    while let Some(o) = m.poll() {
        v.push(o);
    }
    v
}

fn sends(v: &[Output]) -> Vec<u64> {
    v.iter()
        .filter_map(|o| match o {
            Output::Send { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

/// A machine loaded with seqs `from..=to` owed, cursor at `from - 1`.
fn loaded(from: u64, to: u64) -> Machine {
    let mut m = Machine::new(0, 0);
    assert_eq!(drain(&mut m), [Output::Load]);
    m.handle(Input::Loaded {
        subscriptions: vec![Subscription {
            author: a(),
            acked: from - 1,
            covered: to,
        }],
        entries: (from..=to).map(entry).collect(),
        complete: true,
    });
    m
}

fn ack(m: &mut Machine, seq: u64, status: Status) {
    m.handle(Input::Ack {
        author: a(),
        seq,
        status,
    });
}

#[test]
fn the_window_bounds_what_is_in_flight() {
    let mut m = loaded(1, 100);
    let first = sends(&drain(&mut m));
    assert_eq!(first, (1..=Machine::WINDOW as u64).collect::<Vec<_>>());
    ack(&mut m, 1, Status::Stored);
    assert_eq!(sends(&drain(&mut m)), [Machine::WINDOW as u64 + 1]);
    assert_eq!(m.in_flight(), Machine::WINDOW);
}

#[test]
fn the_cursor_stops_before_the_first_unacknowledged() {
    let mut m = loaded(5, 9);
    drain(&mut m);
    for seq in [6, 7, 9] {
        ack(&mut m, seq, Status::Stored);
    }
    m.flush();
    assert!(
        drain(&mut m).is_empty(),
        "5 is still owed: the cursor stays at 4"
    );
    ack(&mut m, 5, Status::Duplicate);
    m.flush();
    assert_eq!(
        drain(&mut m),
        [Output::Cursor {
            author: a(),
            acked: 7
        }]
    );
    ack(&mut m, 8, Status::Stored);
    m.flush();
    assert_eq!(
        drain(&mut m),
        [Output::Cursor {
            author: a(),
            acked: 9
        }]
    );
    assert!(m.is_done());
}

#[test]
fn a_late_ack_or_a_refusal_fails_the_run_and_keeps_what_was_acknowledged() {
    let mut m = loaded(1, 3);
    drain(&mut m);
    ack(&mut m, 1, Status::Stored);
    m.handle(Input::Tick {
        now_ms: Machine::ACK_TIMEOUT_MS - 1,
    });
    assert!(drain(&mut m).is_empty());
    m.handle(Input::Tick {
        now_ms: Machine::ACK_TIMEOUT_MS,
    });
    assert_eq!(
        drain(&mut m),
        [
            Output::Cursor {
                author: a(),
                acked: 1
            },
            Output::Failed { attempts: 1 }
        ]
    );
    assert!(m.is_done());
    let mut m = Machine::new(3, 0);
    drain(&mut m);
    m.handle(Input::Loaded {
        subscriptions: vec![],
        entries: vec![entry(1)],
        complete: true,
    });
    drain(&mut m);
    ack(&mut m, 1, Status::Refused);
    assert_eq!(drain(&mut m), [Output::Failed { attempts: 4 }]);
}

#[test]
fn rows_are_deleted_and_unwanted_authors_unsubscribed() {
    let mut m = Machine::new(0, 0);
    drain(&mut m);
    let mut e = entry(3);
    e.row = Some(77);
    m.handle(Input::Loaded {
        subscriptions: vec![],
        entries: vec![e],
        complete: true,
    });
    assert_eq!(sends(&drain(&mut m)), [3]);
    ack(&mut m, 3, Status::Unwanted);
    assert_eq!(
        drain(&mut m),
        [
            Output::Unsubscribe { author: a() },
            Output::DeleteRow { row: 77 }
        ]
    );
    assert!(m.is_done());
}

#[test]
fn live_posts_follow_the_log_and_a_gap_reads_the_store() {
    let mut m = loaded(1, 2);
    drain(&mut m);
    m.handle(Input::Live {
        entry: entry(3),
        owed: true,
    });
    assert_eq!(sends(&drain(&mut m)), [3]);
    // 4 is followers-only and not for this server: it only moves the place in the log
    m.handle(Input::Live {
        entry: entry(4),
        owed: false,
    });
    m.handle(Input::Live {
        entry: entry(5),
        owed: true,
    });
    assert_eq!(sends(&drain(&mut m)), [5]);
    // 6 was missed: 7 cannot be placed, the store is read once the window has room
    m.handle(Input::Live {
        entry: entry(7),
        owed: true,
    });
    assert_eq!(drain(&mut m), [Output::Load]);
    for seq in [1, 2, 3, 5] {
        ack(&mut m, seq, Status::Stored);
    }
    m.flush();
    assert_eq!(
        drain(&mut m),
        [Output::Cursor {
            author: a(),
            acked: 5
        }],
        "the cursor passes 4, which was never owed"
    );
}

#[test]
fn a_refusal_sends_nothing_more_and_records_the_acks_in_flight_before_failing() {
    let mut m = loaded(1, 4);
    assert_eq!(sends(&drain(&mut m)), [1, 2, 3, 4]);
    ack(&mut m, 1, Status::Refused);
    m.handle(Input::Live {
        entry: entry(5),
        owed: true,
    });
    assert!(
        drain(&mut m).is_empty(),
        "nothing more goes out, nothing fails yet"
    );
    ack(&mut m, 3, Status::Stored);
    ack(&mut m, 2, Status::Stored);
    assert!(drain(&mut m).is_empty());
    ack(&mut m, 4, Status::Duplicate);
    // the server took 2..=4 but not 1: the cursor cannot pass 1, and the run fails
    assert_eq!(drain(&mut m), [Output::Failed { attempts: 1 }]);
    assert!(m.is_done());
}
