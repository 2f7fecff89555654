//! Unit tests of [`Freshness`]: replays are not news, the sender's clock must keep pace.

use super::*;

fn st(epoch: u32, newest: u64, clock: u64) -> Status {
    Status {
        epoch,
        newest,
        oldest: 1,
        clock,
    }
}

/// Offers `s` by multicast; takes it if forward.
fn offer(f: &mut Freshness, now: u64, s: Status) -> bool {
    let fwd = f.is_forward(now, &s);
    if fwd {
        f.advance(now, &s);
    }
    fwd
}

#[test]
fn a_status_seen_before_is_a_replay_and_a_later_one_is_news() {
    let mut f = Freshness::default();
    assert!(offer(&mut f, 1_000, st(7, 10, 50_000)));
    // the very same status again, and an older one of the same epoch
    assert!(!offer(&mut f, 2_000, st(7, 10, 50_000)));
    assert!(!offer(&mut f, 3_000, st(7, 9, 45_000)));
    // an older epoch, whatever it says
    assert!(!offer(&mut f, 3_000, st(6, 99, 99_000)));
    // nothing new sent, but the clock moved: the sender is alive
    assert!(offer(&mut f, 6_000, st(7, 10, 55_000)));
    // a newer seq or a newer window is news too
    assert!(offer(&mut f, 6_100, st(7, 11, 55_000)));
    let moved = Status {
        oldest: 2,
        ..st(7, 11, 55_000)
    };
    assert!(offer(&mut f, 6_200, moved));
    // the sender restarted: a newer epoch with a small clock
    assert!(offer(&mut f, 7_000, st(8, 0, 10)));
    assert!(!offer(&mut f, 8_000, st(7, 12, 60_000)));
}

#[test]
fn captures_a_receiver_never_saw_hold_it_no_longer_than_they_span() {
    // captured: a status every 5 s for 10 minutes, the receiver saw none of them
    let captured: Vec<Status> = (0..120).map(|i| st(3, 40, 1_000 + i * 5_000)).collect();
    let mut f = Freshness::default();
    // replayed once a second: each one counts only while the lag stays inside the window
    let mut counted = 0u64;
    for (i, s) in captured.iter().enumerate() {
        if offer(&mut f, 100_000 + i as u64 * 1_000, *s) {
            counted += 1;
        }
    }
    assert_eq!(counted, 120, "faster than real time stays in the window");
    // replayed once every 14 s (just inside a 15 s announce timeout), from the start again
    let mut f = Freshness::default();
    let mut last_counted = 0;
    for (i, s) in captured.iter().enumerate() {
        let now = 100_000 + i as u64 * 14_000;
        if offer(&mut f, now, *s) {
            last_counted = now;
        }
    }
    // the lag grows 9 s per capture: the third one is already 18 s behind the first
    assert!(last_counted <= 100_000 + 14_000, "{last_counted}");
    // and cycling through the captures again gives nothing
    for (i, s) in captured.iter().enumerate() {
        assert!(!offer(&mut f, 3_000_000 + i as u64 * 1_000, *s));
    }
}

#[test]
fn a_slow_sender_clock_is_not_a_replay() {
    let mut f = Freshness::default();
    // the sender's clock runs 500 ppm slow; a status every 5 s for two days
    let mut now = 0u64;
    for i in 0..(2 * 24 * 720) {
        now = i * 5_000;
        let clock = 1_000 + now - now / 2_000;
        assert!(offer(&mut f, now, st(1, 5, clock)), "at {now} ms");
    }
    assert!(now > 0);
}

#[test]
fn a_status_by_tcp_reanchors_a_sender_whose_clock_fell_behind() {
    let mut f = Freshness::default();
    assert!(offer(&mut f, 0, st(1, 5, 0)));
    assert!(offer(&mut f, 5_000, st(1, 5, 5_000)));
    // the sender's machine was paused for a minute: its clock is 60 s behind now
    let late = st(1, 5, 10_000);
    assert!(!offer(&mut f, 65_000, late));
    // on the relay session it sees the sender's clock as it is; multicast counts again
    f.reanchor(70_000, &st(1, 5, 14_000));
    assert!(offer(&mut f, 75_000, st(1, 5, 19_000)));
}
