//! Counters of what the links did, refused and delivered; shown in `/healthz`.
//!
//! `AtomicUsize`, not `AtomicU64`: 32-bit MIPS routers have no 64-bit atomics. A 32-bit
//! counter wraps after four billion events, which a diagnostic counter can afford.

use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Monotonic counters since start.
        #[derive(Debug, Default)]
        pub struct Counters { $($(#[$doc])* pub $name: AtomicUsize,)* }

        /// A copy of the counters at one moment.
        #[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
        pub struct Snapshot { $($(#[$doc])* pub $name: u64,)* }

        impl Counters {
            /// Reads every counter.
            pub fn snapshot(&self) -> Snapshot {
                Snapshot { $($name: self.$name.load(Ordering::Relaxed) as u64,)* }
            }
        }
    };
}

counters! {
    /// Links accepted from other nodes (after the handshake).
    links_in,
    /// Links opened to other nodes (after the handshake).
    links_out,
    /// Handshakes that failed (timeout, malformed, bad signature).
    handshake_failures,
    /// Links refused because the key did not match the DNS pin or the remembered key.
    key_mismatches,
    /// Message frames received.
    messages_received,
    /// Received messages stored.
    messages_stored,
    /// Received messages already held (replays, retries).
    duplicates,
    /// Received messages with a bad signature.
    bad_signatures,
    /// Malformed frames or messages.
    malformed,
    /// Messages of authors nobody here follows.
    unsolicited,
    /// Message frames sent to followers' servers by the outbox.
    deliveries_sent,
    /// Deliveries the receiving server acknowledged.
    deliveries_acked,
    /// Backfill requests sent for gaps.
    backfill_requests,
    /// Messages sent in answer to Subscribe or Backfill.
    backfill_served,
    /// Inbound connections refused a slot (link budgets, see `net::budget`).
    links_refused,
    /// Subscriptions from unverified links kept after dialling their domain back.
    subscribers_verified,
    /// Subscriptions refused or dropped: domain unverifiable or a subscriber cap reached.
    subscribers_refused,
    /// Key refreshes started after a message failed its signature or came before the key.
    key_refreshes,
}

impl Counters {
    /// Adds one.
    pub fn bump(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}
