//! Tests of the path selector's rules, one scenario each.

use super::*;

fn at(next: u64) -> Cursor {
    Cursor { epoch: 1, next }
}

fn actions(p: &mut PathSelector) -> Vec<Action> {
    std::iter::from_fn(|| p.poll_action()).collect()
}

#[test]
fn global_wan_with_announcements_stays_on_multicast() {
    let mut p = PathSelector::new(1);
    p.wan_address_is_global(0, true);
    assert_eq!(actions(&mut p), vec![Action::JoinMulticast]);
    assert_eq!(p.poll_timeout(), Some(JOIN_TIMEOUT_MS));
    p.announce_seen(4_000, 10);
    assert_eq!(p.state(), PathState::Multicast);
    for t in (5_000..60_000).step_by(5_000) {
        p.announce_seen(t, 10);
        p.handle_timeout(t);
    }
    assert!(actions(&mut p).is_empty());
}

#[test]
fn private_wan_goes_to_the_relay_at_the_cursor_and_never_tries_multicast() {
    let mut p = PathSelector::new(1);
    p.set_cursor(at(77));
    p.wan_address_is_global(0, false);
    assert_eq!(
        actions(&mut p),
        vec![Action::OpenRelay {
            resume_cursor: Some(at(77))
        }]
    );
    p.relay_connected(10);
    assert_eq!(p.state(), PathState::Relay);
    assert_eq!(p.poll_timeout(), None);
    p.handle_timeout(3_600_000);
    assert!(actions(&mut p).is_empty());
}

#[test]
fn silent_multicast_falls_back_after_the_join_timeout_and_retries_after_hold_down() {
    let mut p = PathSelector::new(7);
    p.wan_address_is_global(0, true);
    actions(&mut p);
    p.handle_timeout(JOIN_TIMEOUT_MS - 1);
    assert!(actions(&mut p).is_empty());
    p.set_cursor(at(5));
    p.handle_timeout(JOIN_TIMEOUT_MS);
    assert_eq!(
        actions(&mut p),
        vec![
            Action::OpenRelay {
                resume_cursor: Some(at(5))
            },
            Action::LeaveMulticast
        ]
    );
    p.relay_connected(JOIN_TIMEOUT_MS + 50);
    let retry = p.poll_timeout().unwrap();
    let hold = retry - JOIN_TIMEOUT_MS;
    assert!(
        (HOLD_DOWN_MIN_MS..=HOLD_DOWN_MAX_MS).contains(&hold),
        "{hold}"
    );
    p.handle_timeout(retry);
    assert_eq!(actions(&mut p), vec![Action::JoinMulticast]);
    assert_eq!(p.state(), PathState::TryingMulticast);
    // the trial fails again: leave multicast, the relay was never closed
    p.handle_timeout(retry + JOIN_TIMEOUT_MS);
    assert_eq!(actions(&mut p), vec![Action::LeaveMulticast]);
    assert_eq!(p.state(), PathState::Relay);
}

#[test]
fn hold_downs_are_spread_by_seed() {
    let holds: Vec<u64> = (0..8)
        .map(|seed| {
            let mut p = PathSelector::new(seed);
            p.wan_address_is_global(0, true);
            p.handle_timeout(JOIN_TIMEOUT_MS);
            p.relay_connected(JOIN_TIMEOUT_MS);
            p.poll_timeout().unwrap()
        })
        .collect();
    let mut unique = holds.clone();
    unique.dedup();
    assert!(unique.len() > 4, "{holds:?}");
}

#[test]
fn back_to_multicast_is_make_before_break() {
    let mut p = PathSelector::new(3);
    p.wan_address_is_global(0, false);
    p.relay_connected(10);
    p.wan_address_is_global(20, true); // e.g. a new public lease
    actions(&mut p);
    let retry = p.poll_timeout().unwrap();
    p.handle_timeout(retry);
    assert_eq!(actions(&mut p), vec![Action::JoinMulticast]);
    p.set_cursor(at(100));
    p.announce_seen(retry + 1_000, 120);
    assert_eq!(p.state(), PathState::Multicast);
    // the relay stays until the receiver has everything up to what multicast announced
    p.set_cursor(at(120));
    assert!(actions(&mut p).is_empty());
    p.set_cursor(at(121));
    assert_eq!(actions(&mut p), vec![Action::CloseRelay]);
}

#[test]
fn multicast_going_silent_opens_the_relay_before_leaving() {
    let mut p = PathSelector::new(3);
    p.wan_address_is_global(0, true);
    p.announce_seen(1_000, 0);
    actions(&mut p);
    p.set_cursor(at(40));
    p.handle_timeout(1_000 + SILENCE_TIMEOUT_MS);
    assert_eq!(
        actions(&mut p),
        vec![Action::OpenRelay {
            resume_cursor: Some(at(40))
        }]
    );
    p.relay_connected(17_000);
    assert_eq!(actions(&mut p), vec![Action::LeaveMulticast]);
    assert_eq!(p.state(), PathState::Relay);
}

#[test]
fn a_dropped_relay_is_reopened_with_doubling_backoff() {
    let mut p = PathSelector::new(3);
    p.wan_address_is_global(0, false);
    actions(&mut p);
    let mut t = 0;
    let mut delays = Vec::new();
    for _ in 0..8 {
        p.relay_lost(t);
        let at = p.poll_timeout().unwrap();
        delays.push(at - t);
        p.handle_timeout(at);
        assert!(matches!(actions(&mut p)[..], [Action::OpenRelay { .. }]));
        t = at;
    }
    assert_eq!(
        delays,
        vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
    );
    p.relay_connected(t);
    p.relay_lost(t + 1);
    assert_eq!(p.poll_timeout(), Some(t + 1 + RELAY_RETRY_MIN_MS));
}

#[test]
fn a_configured_hold_down_retries_multicast_then_hands_over() {
    let mut p = PathSelector::new(3).with_hold_down(3_000);
    p.wan_address_is_global(0, true);
    actions(&mut p);
    p.handle_timeout(JOIN_TIMEOUT_MS);
    assert_eq!(p.state(), PathState::Relay);
    actions(&mut p);
    p.relay_connected(JOIN_TIMEOUT_MS + 10);
    assert_eq!(p.poll_timeout(), Some(JOIN_TIMEOUT_MS + 3_000));
    p.handle_timeout(JOIN_TIMEOUT_MS + 3_000);
    assert_eq!(actions(&mut p), vec![Action::JoinMulticast]);
    p.announce_seen(JOIN_TIMEOUT_MS + 4_000, 50);
    assert_eq!(p.state(), PathState::Multicast);
    p.set_cursor(at(50));
    assert!(
        actions(&mut p).is_empty(),
        "the relay stays until seq 50 is in"
    );
    p.set_cursor(at(51));
    assert_eq!(actions(&mut p), vec![Action::CloseRelay]);
}
