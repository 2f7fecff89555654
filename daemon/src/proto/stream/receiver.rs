//! The stream receiver: verifies datagrams, drops forged and duplicate ones, buffers what comes
//! out of order, delivers strictly in seq order, and asks for what is missing.
//!
//! Drive it like quinn: [`Receiver::handle_multicast`] for every datagram from multicast,
//! [`Receiver::handle_datagram`] for those from a relay session or a repair answer (all the
//! same format), [`Receiver::poll_event`] until `None`, [`Receiver::handle_timeout`] when
//! [`Receiver::poll_timeout`] passes.
//!
//! Order of checks on a datagram, cheapest first: layout, key id, epoch, "all seqs already
//! delivered", and for a status by multicast "nothing forward" ([`super::fresh`]); only then the
//! signature. So a flood of replays or stale duplicates costs no signature checks, and nothing
//! unverified reaches the gap tracker. `Ok` for a status by multicast means it was news: the
//! driver counts only those as liveness of the multicast path.
//!
//! Joining: the first authentic datagram fixes the epoch and the start (a Data datagram's first
//! seq, or a heartbeat's newest seq + 1); nothing before it is ever delivered. A higher epoch
//! (sender restart) closes the old one (its gaps become Backfill events, held messages are
//! delivered) and follows the new one from seq 1. A lower epoch is a replay and is dropped.
//!
//! Bounds: arrival is tracked by [`SeqTracker`] (a fixed 4096-seq window); seqs beyond it are not
//! held but noted as missing; the reorder buffer and undelivered events share
//! [`ReceiverLimits::max_held_bytes`]; at most [`super::gaps::MAX_GAPS`] gaps are timed.

use super::event::MAX_NACK_RANGES;
pub use super::event::{Cursor, Dropped, Event, ReceiverLimits, ReceiverStats, SkipReason};
use super::fresh::{Freshness, Status};
use super::gaps::{GapTimers, MAX_GAPS};
use super::packet::{Kind, LargeRef, Packet, Payload};
use super::rng::SplitMix64;
use crate::proto::keys::PublicKey;
use crate::proto::seq::{Seen, SeqTracker, SEQ_WINDOW};
use std::collections::{BTreeMap, VecDeque};

/// Bookkeeping per held message or event, counted into the byte bound (map node, Vec header).
const HELD_OVERHEAD: usize = 64;
/// NACK events waiting for `poll_event`. They do not count into the byte bound (a full reorder
/// buffer is exactly when a NACK is needed); a driver that lags needs only the latest few, and
/// a NACK not emitted is due again after the repeat interval.
pub const MAX_PENDING_NACKS: usize = 4;

enum Slot {
    Message(Vec<u8>),
    Large(LargeRef),
}

/// A message as it arrives, not yet copied.
#[derive(Clone, Copy)]
enum Incoming<'a> {
    Message(&'a [u8]),
    Large(LargeRef),
}

impl Incoming<'_> {
    fn slot(self) -> Slot {
        match self {
            Incoming::Message(m) => Slot::Message(m.to_vec()),
            Incoming::Large(l) => Slot::Large(l),
        }
    }

    fn cost(&self) -> usize {
        HELD_OVERHEAD
            + match self {
                Incoming::Message(m) => m.len(),
                Incoming::Large(_) => 0,
            }
    }
}

impl Slot {
    fn cost(&self) -> usize {
        HELD_OVERHEAD
            + match self {
                Slot::Message(m) => m.len(),
                Slot::Large(_) => 0,
            }
    }
}

/// The state of one epoch being followed.
struct Following {
    epoch: u32,
    tracker: SeqTracker,
    held: BTreeMap<u64, Slot>,
    oldest: u64,
    gaps: GapTimers,
}

/// The receiving end of one stream key.
pub struct Receiver {
    key: PublicKey,
    limits: ReceiverLimits,
    rng: SplitMix64,
    following: Option<Following>,
    events: VecDeque<(Event, usize)>,
    held_bytes: usize,
    pending_nacks: usize,
    stats: ReceiverStats,
    fresh: Freshness,
}

impl Receiver {
    /// A receiver of `key`'s stream; `rng_seed` spreads its NACK timers.
    pub fn new(key: PublicKey, limits: ReceiverLimits, rng_seed: u64) -> Self {
        Receiver {
            key,
            limits,
            rng: SplitMix64::new(rng_seed),
            following: None,
            events: VecDeque::new(),
            held_bytes: 0,
            pending_nacks: 0,
            stats: ReceiverStats::default(),
            fresh: Freshness::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// Where the receiver stands, once following: the resume cursor for a relay session.
    pub fn cursor(&self) -> Option<Cursor> {
        let f = self.following.as_ref()?;
        Some(Cursor {
            epoch: f.epoch,
            next: f.tracker.contiguous().saturating_add(1),
        })
    }

    /// Bytes held in the reorder buffer and undelivered events.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Takes one datagram from a TCP path (relay session, repair, resume); `Ok(kind)` if it was
    /// authentic and moved something.
    pub fn handle_datagram(&mut self, now: u64, bytes: &[u8]) -> Result<Kind, Dropped> {
        self.handle(now, bytes, false)
    }

    /// Takes one datagram from multicast, where anyone may replay a captured one: a status
    /// (heartbeat, announcement) that does not move the stream forward is
    /// [`Dropped::Replay`]; `Ok(Kind::Heartbeat | Kind::Announce)` means multicast is alive.
    pub fn handle_multicast(&mut self, now: u64, bytes: &[u8]) -> Result<Kind, Dropped> {
        self.handle(now, bytes, true)
    }

    fn handle(&mut self, now: u64, bytes: &[u8], mcast: bool) -> Result<Kind, Dropped> {
        self.stats.datagrams += 1;
        let result = self.check(now, bytes, mcast).and_then(|p| {
            if let Some(s) = Status::of(&p) {
                if mcast {
                    self.fresh.advance(now, &s);
                } else {
                    self.fresh.reanchor(now, &s);
                }
            }
            self.apply(&p).map(|()| p.kind())
        });
        match &result {
            Ok(_) => self.settle(now),
            Err(Dropped::Malformed(_)) => self.stats.malformed += 1,
            Err(Dropped::Foreign) => self.stats.foreign += 1,
            Err(Dropped::Forged) => self.stats.forged += 1,
            Err(Dropped::StaleEpoch) => self.stats.stale_epoch += 1,
            Err(Dropped::Replay) => self.stats.replays += 1,
            Err(Dropped::Duplicate) => self.stats.duplicates += 1,
            Err(Dropped::BeyondWindow) => self.stats.beyond_window += 1,
            Err(Dropped::Overflow) => self.stats.overflow += 1,
        }
        if matches!(result, Err(Dropped::BeyondWindow | Dropped::Overflow)) {
            // the datagram was authentic: its seqs now show as missing
            self.settle(now);
        }
        result
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        let (event, cost) = self.events.pop_front()?;
        self.held_bytes -= cost;
        if let Event::Nack { .. } = event {
            self.pending_nacks -= 1;
        }
        Some(event)
    }

    /// When [`Receiver::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<u64> {
        let f = self.following.as_ref()?;
        f.gaps.next_deadline(self.limits.give_up_ms)
    }

    /// Gives up on gaps that are too old and emits the NACKs that are due.
    pub fn handle_timeout(&mut self, now: u64) {
        loop {
            let Some(f) = self.following.as_ref() else {
                return;
            };
            let expired = f
                .gaps
                .gaps()
                .first()
                .filter(|g| g.since.saturating_add(self.limits.give_up_ms) <= now);
            let Some(end) = expired.map(|g| *g.range.end()) else {
                break;
            };
            let before = f.tracker.contiguous();
            self.skip_missing_below(end.saturating_add(1), SkipReason::Timeout);
            self.refresh_gaps(now);
            if self.cursor().map(|c| c.next - 1) == Some(before) {
                break; // no progress: the gap list is stale; never spin
            }
        }
        let limits = self.limits;
        let Some(f) = self.following.as_mut() else {
            return;
        };
        let ranges = f
            .gaps
            .due_nacks(now, limits.nack_repeat_ms, MAX_NACK_RANGES);
        if !ranges.is_empty() {
            let epoch = f.epoch;
            if self.pending_nacks < MAX_PENDING_NACKS {
                self.pending_nacks += 1;
                self.stats.nacks += 1;
                self.events.push_back((Event::Nack { epoch, ranges }, 0));
            }
        }
    }

    /// Layout, key, epoch, cheap duplicate and replay checks, then the signature.
    fn check<'a>(&self, now: u64, bytes: &'a [u8], mcast: bool) -> Result<Packet<'a>, Dropped> {
        let p = Packet::decode(bytes).map_err(Dropped::Malformed)?;
        if !p.is_for(&self.key) {
            return Err(Dropped::Foreign);
        }
        if let Some(f) = &self.following {
            if p.epoch < f.epoch {
                return Err(Dropped::StaleEpoch);
            }
            let carries = matches!(p.kind(), Kind::Data | Kind::BigAnnounce);
            if carries && p.epoch == f.epoch && p.last_seq() <= f.tracker.contiguous() {
                return Err(Dropped::Duplicate);
            }
        }
        let status = Status::of(&p).filter(|_| mcast);
        if status.is_some_and(|s| !self.fresh.is_forward(now, &s)) {
            return Err(Dropped::Replay);
        }
        p.verify(&self.key).map_err(|_| Dropped::Forged)?;
        Ok(p)
    }

    /// Applies an authentic datagram.
    fn apply(&mut self, p: &Packet<'_>) -> Result<(), Dropped> {
        let carries = matches!(p.kind(), Kind::Data | Kind::BigAnnounce);
        match self.following.as_ref().map(|f| f.epoch) {
            None => {
                let after = if carries { p.seq - 1 } else { p.seq };
                self.follow(p.epoch, after);
            }
            Some(e) if p.epoch > e => {
                self.skip_missing_below(u64::MAX, SkipReason::EpochEnded);
                self.follow(p.epoch, 0);
            }
            Some(_) => {}
        }
        match p.payload {
            Payload::Data(entries) => {
                self.hold(p.seq, p.last_seq(), entries.iter().map(Incoming::Message))
            }
            Payload::BigAnnounce(large) => {
                self.hold(p.seq, p.seq, std::iter::once(Incoming::Large(large)))
            }
            Payload::Heartbeat { oldest, .. } | Payload::Announce { oldest, .. } => {
                if let Some(f) = self.following.as_mut() {
                    f.tracker.observe_highest(p.seq);
                    f.oldest = f.oldest.max(oldest);
                }
                Ok(())
            }
        }
    }

    fn follow(&mut self, epoch: u32, after: u64) {
        self.following = Some(Following {
            epoch,
            tracker: SeqTracker::starting_after(after),
            held: BTreeMap::new(),
            oldest: 0,
            gaps: GapTimers::default(),
        });
        self.push_event(Event::Started { epoch, after }, HELD_OVERHEAD);
    }

    /// Holds the messages `first..=last` that are new, if they fit the window and the byte bound.
    fn hold<'a>(
        &mut self,
        first: u64,
        last: u64,
        incoming: impl Iterator<Item = Incoming<'a>> + Clone,
    ) -> Result<(), Dropped> {
        let Some(f) = self.following.as_mut() else {
            return Err(Dropped::Duplicate);
        };
        if last.saturating_sub(f.tracker.contiguous()) > SEQ_WINDOW {
            f.tracker.observe_highest(last);
            return Err(Dropped::BeyondWindow);
        }
        let cost: usize = (first..)
            .zip(incoming.clone())
            .filter(|(s, _)| !f.tracker.has(*s))
            .map(|(_, m)| m.cost())
            .sum();
        if self.held_bytes + cost > self.limits.max_held_bytes {
            f.tracker.observe_highest(last);
            return Err(Dropped::Overflow);
        }
        let mut fresh = false;
        for (seq, m) in (first..).zip(incoming) {
            if f.tracker.insert(seq) == Seen::New {
                self.held_bytes += m.cost();
                f.held.insert(seq, m.slot());
                fresh = true;
            }
        }
        if fresh {
            Ok(())
        } else {
            Err(Dropped::Duplicate)
        }
    }

    /// After a change: skip what the sender no longer has, deliver, re-time the gaps.
    fn settle(&mut self, now: u64) {
        if let Some(oldest) = self.following.as_ref().map(|f| f.oldest) {
            self.skip_missing_below(oldest, SkipReason::Gone);
        }
        self.deliver();
        self.refresh_gaps(now);
    }

    /// Turns every missing range below `limit` into a Backfill event and delivers past it.
    fn skip_missing_below(&mut self, limit: u64, reason: SkipReason) {
        loop {
            let Some(f) = self.following.as_mut() else {
                return;
            };
            let Some(range) = f.tracker.missing(1).pop() else {
                break;
            };
            if *range.start() >= limit {
                break;
            }
            let end = (*range.end()).min(limit - 1);
            let epoch = f.epoch;
            f.tracker.skip_to(end);
            self.stats.skipped += end - range.start() + 1;
            let range = *range.start()..=end;
            self.push_event(
                Event::Backfill {
                    epoch,
                    range,
                    reason,
                },
                HELD_OVERHEAD,
            );
            self.deliver();
        }
        self.deliver();
    }

    /// Moves every held message up to the contiguous point into the event queue.
    fn deliver(&mut self) {
        let Some(f) = self.following.as_mut() else {
            return;
        };
        let upto = f.tracker.contiguous();
        let epoch = f.epoch;
        while let Some(entry) = f.held.first_entry() {
            if *entry.key() > upto {
                break;
            }
            let seq = *entry.key();
            let slot = entry.remove();
            let cost = slot.cost();
            let event = match slot {
                Slot::Message(message) => Event::Deliver { seq, message },
                Slot::Large(large) => Event::FetchLarge { epoch, seq, large },
            };
            self.stats.delivered += 1;
            // the cost moves from the buffer to the queue
            self.events.push_back((event, cost));
        }
    }

    fn refresh_gaps(&mut self, now: u64) {
        let backoff = self.limits.nack_backoff_max_ms;
        if let Some(f) = self.following.as_mut() {
            let missing = f.tracker.missing(MAX_GAPS);
            f.gaps.refresh(now, missing, backoff, &mut self.rng);
        }
    }

    fn push_event(&mut self, event: Event, cost: usize) {
        self.held_bytes += cost;
        self.events.push_back((event, cost));
    }
}

#[cfg(test)]
#[path = "receiver_tests.rs"]
mod tests;
