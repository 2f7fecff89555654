//! Choosing the path of the firehose: IP multicast, or a TCP relay session through the upstream
//! hub. A sans-IO state machine: the driver reports what it sees, the selector says what to do.
//!
//! Rules (DESIGN.md, "Choosing the path"):
//!
//! - WAN address global → join multicast; if an authentic announcement arrives within
//!   [`JOIN_TIMEOUT_MS`], multicast is the path. Otherwise leave it and open a relay session.
//! - WAN not global → relay session straight away.
//! - On relay, with a global WAN address, multicast is tried again after a random hold-down of
//!   [`HOLD_DOWN_MIN_MS`]..=[`HOLD_DOWN_MAX_MS`] (spread, so a hub's nodes do not all retry at
//!   once). The relay stays open during the trial.
//! - Switching is make-before-break both ways. Relay → multicast: once multicast is confirmed, the
//!   relay is closed only when the receiver's cursor has passed the newest seq multicast announced
//!   at confirmation, so everything after comes by multicast (and NACK repair). Multicast →
//!   relay (announcements silent for [`SILENCE_TIMEOUT_MS`]): the relay is opened at the
//!   receiver's cursor and multicast left only when the relay is connected.
//! - A relay session that drops is reopened after a backoff doubling from
//!   [`RELAY_RETRY_MIN_MS`] to [`RELAY_RETRY_MAX_MS`].
//!
//! No message is lost or shown twice across a switch because both paths feed one
//! [`super::Receiver`], whose seq tracking drops duplicates and NACKs holes.

use super::event::Cursor;
use super::rng::SplitMix64;
use std::collections::VecDeque;

/// How long after joining multicast an announcement must arrive: three announce intervals.
pub const JOIN_TIMEOUT_MS: u64 = 15_000;
/// Multicast silent this long (three announce intervals) counts as broken.
pub const SILENCE_TIMEOUT_MS: u64 = 15_000;
/// Shortest hold-down before multicast is tried again.
pub const HOLD_DOWN_MIN_MS: u64 = 3 * 60_000;
/// Longest hold-down before multicast is tried again.
pub const HOLD_DOWN_MAX_MS: u64 = 10 * 60_000;
/// First delay before reopening a dropped relay session.
pub const RELAY_RETRY_MIN_MS: u64 = 1_000;
/// Cap of the reopen delay: a hub that is down is not hammered.
pub const RELAY_RETRY_MAX_MS: u64 = 60_000;
/// Actions waiting for `poll_action`; each input adds at most two.
pub const MAX_ACTIONS: usize = 8;

/// What the driver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Join the stream's multicast group.
    JoinMulticast,
    /// Leave the multicast group.
    LeaveMulticast,
    /// Open a relay session to the upstream hub, resuming at the cursor (none yet: start at
    /// the stream's current seq, like any late joiner).
    OpenRelay {
        /// The receiver's cursor when the action was decided. A hub that restarted since sees
        /// an old epoch and answers with a heartbeat of its new one.
        resume_cursor: Option<Cursor>,
    },
    /// Close the relay session.
    CloseRelay,
}

/// Which path the selector is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathState {
    /// Nothing known about the WAN address yet.
    Undecided,
    /// Joined multicast, waiting for an announcement.
    TryingMulticast,
    /// Multicast confirmed (a relay may still be open for the handover).
    Multicast,
    /// On the relay session.
    Relay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undecided,
    Trying { deadline: u64 },
    Multicast { handover: Option<u64> },
    Relay { retry_at: Option<u64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relay {
    Closed { reopen_at: Option<u64> },
    Opening,
    Open,
}

/// The multicast-or-relay state machine of one stream.
#[derive(Debug)]
pub struct PathSelector {
    mode: Mode,
    relay: Relay,
    joined: bool,
    wan_global: bool,
    last_announce: u64,
    cursor: Option<Cursor>,
    relay_backoff: u64,
    rng: SplitMix64,
    actions: VecDeque<Action>,
    join_timeout_ms: u64,
    silence_timeout_ms: u64,
    hold_down_ms: (u64, u64),
}

impl PathSelector {
    /// A selector that has decided nothing; `rng_seed` spreads its hold-downs.
    pub fn new(rng_seed: u64) -> Self {
        PathSelector {
            mode: Mode::Undecided,
            relay: Relay::Closed { reopen_at: None },
            joined: false,
            wan_global: false,
            last_announce: 0,
            cursor: None,
            relay_backoff: RELAY_RETRY_MIN_MS,
            rng: SplitMix64::new(rng_seed),
            actions: VecDeque::new(),
            join_timeout_ms: JOIN_TIMEOUT_MS,
            silence_timeout_ms: SILENCE_TIMEOUT_MS,
            hold_down_ms: (HOLD_DOWN_MIN_MS, HOLD_DOWN_MAX_MS),
        }
    }

    /// The same selector with a fixed multicast retry hold-down (a configured
    /// `multicast_retry_s`, for labs) instead of the random [`HOLD_DOWN_MIN_MS`]..=
    /// [`HOLD_DOWN_MAX_MS`].
    pub fn with_hold_down(mut self, hold_down_ms: u64) -> Self {
        self.hold_down_ms = (hold_down_ms, hold_down_ms);
        self
    }

    /// The same selector with other announcement timeouts (a configured `announce_timeout_s`):
    /// how long after joining an announcement must arrive, and how long multicast may be
    /// silent before it counts as broken. Both at least one announce interval.
    pub fn with_timeouts(mut self, join_timeout_ms: u64, silence_timeout_ms: u64) -> Self {
        self.join_timeout_ms = join_timeout_ms.max(super::sender::ANNOUNCE_MS);
        self.silence_timeout_ms = silence_timeout_ms.max(super::sender::ANNOUNCE_MS);
        self
    }

    /// The current path.
    pub fn state(&self) -> PathState {
        match self.mode {
            Mode::Undecided => PathState::Undecided,
            Mode::Trying { .. } => PathState::TryingMulticast,
            Mode::Multicast { .. } => PathState::Multicast,
            Mode::Relay { .. } => PathState::Relay,
        }
    }

    /// The WAN address was classified (see [`super::wan::is_global`]); call on every change.
    pub fn wan_address_is_global(&mut self, now: u64, global: bool) {
        self.wan_global = global;
        match (self.mode, global) {
            (Mode::Undecided, true) => self.join(now),
            (Mode::Undecided, false) => self.fall_back(now, true),
            (Mode::Trying { .. } | Mode::Multicast { .. }, false) => self.fall_back(now, false),
            (Mode::Relay { retry_at: None }, true) => {
                self.mode = Mode::Relay {
                    retry_at: Some(now.saturating_add(self.hold_down())),
                }
            }
            (Mode::Relay { .. }, false) => self.mode = Mode::Relay { retry_at: None },
            _ => {}
        }
    }

    /// An authentic announcement (or heartbeat) arrived by multicast, saying the stream's newest seq.
    pub fn announce_seen(&mut self, now: u64, newest: u64) {
        if !self.joined {
            return;
        }
        self.last_announce = now;
        if let Mode::Trying { .. } = self.mode {
            let relay_up = !matches!(self.relay, Relay::Closed { .. });
            self.mode = Mode::Multicast {
                handover: relay_up.then_some(newest),
            };
            self.relay = match self.relay {
                Relay::Closed { .. } => Relay::Closed { reopen_at: None },
                r => r,
            };
            self.check_handover();
        }
    }

    /// The receiver's cursor (see [`super::Receiver::cursor`]); call after handling its events.
    pub fn set_cursor(&mut self, cursor: Cursor) {
        self.cursor = Some(cursor);
        self.check_handover();
    }

    /// The relay session is up.
    pub fn relay_connected(&mut self, _now: u64) {
        if self.relay != Relay::Opening {
            return;
        }
        self.relay = Relay::Open;
        self.relay_backoff = RELAY_RETRY_MIN_MS;
        if matches!(self.mode, Mode::Relay { .. }) && self.joined {
            self.leave();
        }
        if matches!(self.mode, Mode::Multicast { handover: None }) {
            self.close_relay();
        }
        self.check_handover();
    }

    /// The relay session failed or closed.
    pub fn relay_lost(&mut self, now: u64) {
        if matches!(self.relay, Relay::Closed { .. }) {
            return;
        }
        let needed = matches!(self.mode, Mode::Relay { .. } | Mode::Trying { .. });
        if let Mode::Multicast { handover } = &mut self.mode {
            *handover = None; // multicast is confirmed; the receiver NACKs any hole
        }
        let reopen_at = needed.then_some(now.saturating_add(self.relay_backoff));
        if needed {
            self.relay_backoff = (self.relay_backoff * 2).min(RELAY_RETRY_MAX_MS);
        }
        self.relay = Relay::Closed { reopen_at };
    }

    /// Runs the timers.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.mode {
            Mode::Trying { deadline } if now >= deadline => self.fall_back(now, true),
            Mode::Multicast { .. }
                if now >= self.last_announce.saturating_add(self.silence_timeout_ms) =>
            {
                self.fall_back(now, false)
            }
            Mode::Relay { retry_at: Some(t) } if now >= t && self.wan_global => self.join(now),
            _ => {}
        }
        if let Relay::Closed { reopen_at: Some(t) } = self.relay {
            if now >= t {
                self.open_relay();
            }
        }
    }

    /// When [`PathSelector::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mode = match self.mode {
            Mode::Trying { deadline } => Some(deadline),
            Mode::Multicast { .. } => {
                Some(self.last_announce.saturating_add(self.silence_timeout_ms))
            }
            Mode::Relay { retry_at } => retry_at,
            Mode::Undecided => None,
        };
        let relay = match self.relay {
            Relay::Closed { reopen_at } => reopen_at,
            _ => None,
        };
        [mode, relay].into_iter().flatten().min()
    }

    /// The next action, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn join(&mut self, now: u64) {
        if !self.joined {
            self.joined = true;
            self.act(Action::JoinMulticast);
        }
        self.mode = Mode::Trying {
            deadline: now.saturating_add(self.join_timeout_ms),
        };
    }

    fn leave(&mut self) {
        if self.joined {
            self.joined = false;
            self.act(Action::LeaveMulticast);
        }
    }

    /// Goes to the relay; multicast is left now if `leave_now`, else once the relay is up.
    fn fall_back(&mut self, now: u64, leave_now: bool) {
        let retry_at = self
            .wan_global
            .then(|| now.saturating_add(self.hold_down()));
        self.mode = Mode::Relay { retry_at };
        match self.relay {
            Relay::Closed { .. } => self.open_relay(),
            Relay::Open => self.leave(),
            Relay::Opening => {}
        }
        if leave_now {
            self.leave();
        }
    }

    fn open_relay(&mut self) {
        self.relay = Relay::Opening;
        self.act(Action::OpenRelay {
            resume_cursor: self.cursor,
        });
    }

    fn close_relay(&mut self) {
        if !matches!(self.relay, Relay::Closed { .. }) {
            self.relay = Relay::Closed { reopen_at: None };
            self.act(Action::CloseRelay);
        }
    }

    fn check_handover(&mut self) {
        if let Mode::Multicast { handover: Some(h) } = self.mode {
            if self.cursor.is_some_and(|c| c.next > h) {
                self.mode = Mode::Multicast { handover: None };
                self.close_relay();
            }
        }
    }

    fn hold_down(&mut self) -> u64 {
        self.rng.between(self.hold_down_ms.0, self.hold_down_ms.1)
    }

    fn act(&mut self, action: Action) {
        if self.actions.len() >= MAX_ACTIONS {
            // a driver that never polls only misses stale actions; the newest state wins
            self.actions.pop_front();
        }
        self.actions.push_back(action);
    }
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
