//! Which status datagrams (heartbeats and announcements) that come by multicast are news, and so
//! count as proof that the multicast path is alive.
//!
//! Anyone on a multicast segment can capture a status datagram and multicast it again later: its
//! signature still verifies. If every authentic status counted as liveness, a replay once a
//! second would hold a receiver on a multicast path that no longer brings it anything. So a
//! status counts only if it moves the stream forward from what multicast has shown before:
//!
//! - a newer epoch (the sender restarted), or, in the same epoch,
//! - a newer newest seq, a newer oldest repairable seq, or a newer sender clock (the sender
//!   puts a higher clock in every status it multicasts, see [`super::sender`]),
//! - and, in the same epoch, a sender clock not lagging more than [`MAX_CLOCK_LAG_MS`] behind
//!   what the freshest status so far predicts for now (allowing [`MAX_DRIFT_PPM`] of clock
//!   drift). This is the bounded window of acceptance: a receiver that missed what an attacker
//!   captured (it joined later, or was cut off) can be fed the captures it has not seen, each
//!   once, but not slower than the sender sent them, so a replay holds it no longer than the
//!   captures span, plus the window.
//!
//! Everything else is a replay: dropped before its signature is checked, and counted.
//!
//! Statuses that come by TCP (relay session, repair answers) never hold the multicast path; they
//! come from the hub itself, so they only re-anchor the clock reference. That is also how a
//! receiver recovers if the sender's clock fell behind (a paused machine): on relay it sees the
//! sender's current clock, and its next multicast trial accepts the sender again.

use super::packet::{Packet, Payload};

/// How far a status's sender clock may lag behind what the freshest one predicts: two
/// announcement intervals, far more than multicast delay and jitter, far less than the minutes
/// a capture is typically old.
pub const MAX_CLOCK_LAG_MS: u64 = 2 * super::sender::ANNOUNCE_MS;
/// Drift between the sender's and the receiver's clocks that is tolerated (parts per million):
/// ten times what a cheap quartz drifts, so a slow sender clock never looks like a replay.
pub const MAX_DRIFT_PPM: u64 = 1_000;

/// What a status datagram says, as far as freshness goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The sender's epoch.
    pub epoch: u32,
    /// Newest seq sent.
    pub newest: u64,
    /// Oldest repairable seq.
    pub oldest: u64,
    /// The sender's clock (ms).
    pub clock: u64,
}

impl Status {
    /// The status a Heartbeat or Announce carries; `None` for other kinds.
    pub fn of(p: &Packet<'_>) -> Option<Status> {
        match p.payload {
            Payload::Heartbeat { oldest, clock } | Payload::Announce { oldest, clock } => {
                Some(Status {
                    epoch: p.epoch,
                    newest: p.seq,
                    oldest,
                    clock,
                })
            }
            _ => None,
        }
    }
}

/// A sender clock reading and the receiver's clock at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    epoch: u32,
    clock: u64,
    local: u64,
}

impl Anchor {
    /// The lowest sender clock a fresh status of `epoch` may carry at local time `now`
    /// (`i128`: no input overflows it).
    fn floor(&self, now: u64) -> i128 {
        let elapsed = i128::from(now.saturating_sub(self.local));
        let drift = elapsed * i128::from(MAX_DRIFT_PPM) / 1_000_000;
        i128::from(self.clock) + elapsed - drift - i128::from(MAX_CLOCK_LAG_MS)
    }
}

/// The high-water mark of status datagrams seen by multicast, and the clock reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freshness {
    mark: Option<Status>,
    anchor: Option<Anchor>,
}

impl Freshness {
    /// True if `s`, arriving by multicast at local time `now`, moves the stream forward.
    pub fn is_forward(&self, now: u64, s: &Status) -> bool {
        let Some(m) = self.mark else {
            return !self.lags(now, s);
        };
        if s.epoch != m.epoch {
            return s.epoch > m.epoch;
        }
        let news = s.newest > m.newest || s.oldest > m.oldest || s.clock > m.clock;
        news && !self.lags(now, s)
    }

    /// Takes an authentic status that came by multicast (after [`Freshness::is_forward`]).
    pub fn advance(&mut self, now: u64, s: &Status) {
        self.mark = Some(match self.mark {
            Some(m) if m.epoch == s.epoch => Status {
                epoch: m.epoch,
                newest: m.newest.max(s.newest),
                oldest: m.oldest.max(s.oldest),
                clock: m.clock.max(s.clock),
            },
            _ => *s,
        });
        let ahead = self
            .anchor
            .filter(|a| a.epoch == s.epoch)
            .is_none_or(|a| i128::from(s.clock) > a.floor(now) + i128::from(MAX_CLOCK_LAG_MS));
        if ahead {
            self.reanchor(now, s);
        }
    }

    /// Takes an authentic status that came by TCP from the sender: the clock reference only.
    pub fn reanchor(&mut self, now: u64, s: &Status) {
        let newer_epoch = self.anchor.is_none_or(|a| s.epoch >= a.epoch);
        if newer_epoch {
            self.anchor = Some(Anchor {
                epoch: s.epoch,
                clock: s.clock,
                local: now,
            });
        }
    }

    /// True if `s`'s clock lags behind the reference by more than the window allows.
    fn lags(&self, now: u64, s: &Status) -> bool {
        self.anchor
            .filter(|a| a.epoch == s.epoch)
            .is_some_and(|a| i128::from(s.clock) < a.floor(now))
    }
}

#[cfg(test)]
#[path = "fresh_tests.rs"]
mod tests;
