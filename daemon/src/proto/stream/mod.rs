//! The firehose stream: public posts numbered by one stream key, carried by IP multicast or by a
//! TCP relay session with the very same datagrams, lost ones asked for again (NACK) over TCP.
//!
//! Everything here is sans-IO like the rest of `proto`: time comes in as `now` (milliseconds of a
//! monotonic clock the caller chooses), randomness as a seed, and datagrams as byte slices in and
//! byte vectors out. `net/` moves the bytes.
//!
//! - [`packet`]: the signed datagram format, its strict decoder and its encoders.
//! - [`encode`]: building and signing datagrams.
//! - [`window`]: the sender's [`RepairWindow`] of recently sent datagrams, bounded by count and bytes.
//! - [`sender`]: batching, flush timer, heartbeats, announcements, answers to NACKs.
//! - [`gaps`]: the receiver's per-gap NACK timers (random backoff, repeat, give up).
//! - [`event`]: what the receiver reports: events, drop reasons, counters, limits.
//! - [`fresh`]: which heartbeats and announcements by multicast are news (replays are not).
//! - [`receiver`]: verification, dedup, reorder buffer, in-order delivery, NACK/backfill events.
//! - [`wan`]: is a WAN address global (can multicast reach us)? With lab overrides.
//! - [`path`]: the multicast-or-relay [`PathSelector`] state machine.
//! - [`rng`]: a tiny seeded PRNG for jitter, so runs are reproducible.
//!
//! Invariants: a datagram is acted on only after its stream signature verifies (cheap drops of
//! stale or duplicate seqs come first and change nothing); every buffer, queue and list has a
//! named bound; no input, however hostile, panics or allocates beyond those bounds.

pub mod encode;
pub mod error;
pub mod event;
pub mod fresh;
pub mod gaps;
pub mod packet;
pub mod path;
pub mod receiver;
pub mod rng;
pub mod sender;
pub mod wan;
pub mod window;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod sim_tests;

pub use error::StreamError;
pub use event::{Cursor, Dropped, Event, ReceiverLimits, ReceiverStats, SkipReason};
pub use packet::{Kind, LargeRef, Packet, Payload, MAX_DATAGRAM};
pub use path::{Action, PathSelector, PathState};
pub use receiver::Receiver;
pub use rng::SplitMix64;
pub use sender::{Datagram, Repair, Sender};
pub use wan::{is_global, Prefix};
pub use window::{RepairWindow, WindowLimits};
