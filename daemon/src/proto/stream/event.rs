//! What a [`super::Receiver`] tells its driver: events to act on, reasons for dropped datagrams,
//! counters, and the limits it runs under.

use super::packet::LargeRef;
use super::StreamError;
use std::ops::RangeInclusive;

/// How long a gap is NACKed before the receiver gives up and backfills it instead (PGM/NORM
/// practice): long enough for several repeats over a slow TCP path, short enough that the
/// timeline does not stall for long.
pub const GIVE_UP_MS: u64 = 30_000;
/// Interval between repeated NACKs of the same gap: well above any sane round trip.
pub const NACK_REPEAT_MS: u64 = 2_000;
/// Default upper bound of the random first-NACK backoff: a few round trips on a home uplink.
pub const NACK_BACKOFF_MAX_MS: u64 = 200;
/// Most ranges in one NACK event; a NACK fits a small control frame (32 × 16 B).
pub const MAX_NACK_RANGES: usize = 32;

/// Where a receiver stands in a stream: a relay session resumes from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The epoch followed.
    pub epoch: u32,
    /// The next seq wanted (everything below has been delivered or skipped).
    pub next: u64,
}

/// Something the driver must act on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The receiver (re)started following the stream after `after`: a late join or a new epoch.
    Started {
        /// The epoch followed from now on.
        epoch: u32,
        /// Seqs up to here are not delivered (before the join); 0 on an epoch change.
        after: u64,
    },
    /// The next message of the stream, in seq order.
    Deliver {
        /// Its stream seq.
        seq: u64,
        /// The opaque message bytes (a signed message's wire form).
        message: Vec<u8>,
    },
    /// The next message is too large for a datagram: fetch it over TCP and check it with `large`.
    FetchLarge {
        /// The epoch.
        epoch: u32,
        /// Its stream seq.
        seq: u64,
        /// Its length and hash.
        large: LargeRef,
    },
    /// Ask the sender over TCP for these ranges again.
    Nack {
        /// The epoch the seqs belong to.
        epoch: u32,
        /// Missing ranges, oldest first.
        ranges: Vec<RangeInclusive<u64>>,
    },
    /// The stream will not deliver this range (it was skipped, delivery goes on after it):
    /// fetch it by backfill if it matters.
    Backfill {
        /// The epoch the seqs belong to.
        epoch: u32,
        /// The skipped seqs, all missing.
        range: RangeInclusive<u64>,
        /// Why the stream gave up on them.
        reason: SkipReason,
    },
}

/// Why a range was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// NACKed for [`GIVE_UP_MS`] without a repair.
    Timeout,
    /// The sender says they left its repair window.
    Gone,
    /// The sender restarted (new epoch) before they were repaired.
    EpochEnded,
}

/// Why a datagram was dropped. Nothing but counters changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// It does not decode.
    Malformed(StreamError),
    /// It names another stream key.
    Foreign,
    /// Its signature does not verify.
    Forged,
    /// It belongs to an older epoch (a replay, or a straggler from before a restart).
    StaleEpoch,
    /// A status (heartbeat, announcement) by multicast that moves nothing forward: a captured
    /// one sent again (see [`super::fresh`]). Not proof that multicast works.
    Replay,
    /// Everything it carries was already received or delivered.
    Duplicate,
    /// Its seqs lie beyond the receive window; they count as missing and are NACKed in turn.
    BeyondWindow,
    /// Holding it would break the byte bound; it counts as missing and is NACKed later.
    Overflow,
}

/// Counters of a receiver, for logs and tests. Plain integers: no atomics needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Datagrams handed in.
    pub datagrams: u64,
    /// Dropped: did not decode.
    pub malformed: u64,
    /// Dropped: another stream's key.
    pub foreign: u64,
    /// Dropped: bad signature.
    pub forged: u64,
    /// Dropped: older epoch.
    pub stale_epoch: u64,
    /// Dropped: a status by multicast that moved nothing forward.
    pub replays: u64,
    /// Dropped: nothing new.
    pub duplicates: u64,
    /// Dropped: beyond the receive window.
    pub beyond_window: u64,
    /// Dropped: over the byte bound.
    pub overflow: u64,
    /// Messages delivered (Deliver and FetchLarge events).
    pub delivered: u64,
    /// NACK events emitted.
    pub nacks: u64,
    /// Seqs skipped into Backfill events.
    pub skipped: u64,
}

/// Bounds and timers of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverLimits {
    /// Most bytes held in the reorder buffer plus undelivered events.
    pub max_held_bytes: usize,
    /// Upper bound of the random delay before a new gap is first NACKed.
    pub nack_backoff_max_ms: u64,
    /// Interval between NACKs of the same gap.
    pub nack_repeat_ms: u64,
    /// Time after which a gap is skipped and backfilled.
    pub give_up_ms: u64,
}

impl ReceiverLimits {
    /// A home router: 512 KiB of reorder buffer holds a second or so of a busy firehose.
    pub const ROUTER: ReceiverLimits = ReceiverLimits {
        max_held_bytes: 512 * 1024,
        nack_backoff_max_ms: NACK_BACKOFF_MAX_MS,
        nack_repeat_ms: NACK_REPEAT_MS,
        give_up_ms: GIVE_UP_MS,
    };
    /// A hub: 8 MiB holds a full receive window ([`crate::proto::seq::SEQ_WINDOW`] seqs) of
    /// full-size datagrams with room to spare.
    pub const HUB: ReceiverLimits = ReceiverLimits {
        max_held_bytes: 8 * 1024 * 1024,
        ..ReceiverLimits::ROUTER
    };
}

impl Default for ReceiverLimits {
    fn default() -> Self {
        ReceiverLimits::ROUTER
    }
}
