//! The firehose on tokio: it drives the sans-IO [`crate::proto::stream`] core.
//!
//! - [`hub`]: a hub's [`crate::proto::stream::Sender`]: every public message its writer stores
//!   goes out to the multicast group and to every relay session; NACKs are answered from the
//!   repair window.
//! - [`relay`]: the hub's relay listener and one task per [`relay::RelaySession`].
//! - [`node`]: a node's [`crate::proto::stream::Receiver`] and
//!   [`crate::proto::stream::PathSelector`]: multicast when it works, else a relay session.
//! - [`upstream`]: a node's TCP connection to its hub (live relay session, or NACKs only).
//! - [`deliver`]: delivered messages, verified and stored for the authors followed here;
//!   public posts of unfollowed authors kept in the discover window on the stream's signature
//!   alone (see [`crate::store::discover`]).
//! - [`queue`]: a relay session's queue, allocated only while something is queued.
//! - [`session`]: the relay session's wire: handshake, frames, payloads.
//! - [`socket`]: multicast sockets (socket2).
//! - [`publish`]: a hub streams the posts of small nodes that ask it to.
//! - [`tunnel`]: links carried through the hub for nodes nobody can dial.
//! - [`sni`], [`sni_route`]: the hub's HTTPS port, each TLS connection carried by its SNI.
//! - [`budget`]: how a session's tunnels and the HTTPS port's connections are shared.
//! - [`iface`]: which interface is the WAN one, and its address.
//!
//! Trust: datagrams are authentic when the stream key's signature verifies (the receiver checks
//! it, whichever path brought them); messages inside are stored only when their author's
//! signature verifies against the key learned by following. A relay session proves both node
//! keys with the link handshake of [`crate::proto::link`]; the node checks the hub's key against
//! `firehose.hub_key`.
//!
//! Bounds: every channel and queue below has a named capacity; a relay session whose queue
//! stays full is dropped (the node reopens it at its cursor).

pub mod budget;
pub mod deliver;
pub mod hub;
pub mod iface;
pub mod node;
pub mod publish;
pub mod queue;
pub mod relay;
pub mod session;
pub mod sni;
pub mod sni_route;
pub mod socket;
pub mod tunnel;
pub mod upstream;

use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use thiserror::Error;

/// Public messages the writer may hand the hub's sender before it drops (and logs) the next:
/// several seconds of a busy hub's posts, ~1000 × a few hundred bytes.
pub const TAP_QUEUE: usize = 1024;

/// Why a firehose operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FirehoseError {
    /// Socket I/O.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// No usable interface (none named so, or none up with an address).
    #[error("no usable interface: {0}")]
    NoInterface(String),
    /// The peer broke the relay protocol.
    #[error("protocol: {0}")]
    Proto(#[from] crate::proto::ProtoError),
    /// The hub proved another key than `firehose.hub_key`.
    #[error("the hub proved key {got}, but firehose.hub_key is {expected}")]
    WrongHubKey {
        /// Key proved.
        got: String,
        /// Key configured.
        expected: String,
    },
    /// The hub address does not resolve.
    #[error("firehose.hub {0} does not resolve")]
    HubAddress(String),
    /// The other side closed, or was silent or slow too long.
    #[error("relay session closed: {0}")]
    Closed(&'static str),
    /// A database error.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A session asked the hub to carry links for a domain it may not stand for.
    #[error("links for {0} are not carried: {1}")]
    NotCarried(String, String),
}

/// Which path the firehose takes, as `/healthz` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum PathShown {
    /// No firehose, or undecided.
    None = 0,
    /// Joined multicast, waiting for the hub's announcement.
    Trying = 1,
    /// Multicast.
    Multicast = 2,
    /// A relay session.
    Relay = 3,
    /// This node is the hub.
    Hub = 4,
}

impl PathShown {
    fn name(v: usize) -> &'static str {
        match v {
            1 => "trying",
            2 => "multicast",
            3 => "relay",
            4 => "hub",
            _ => "none",
        }
    }
}

macro_rules! firehose_counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Firehose counters since start (`AtomicUsize`: no 64-bit atomics on MIPS).
        #[derive(Debug, Default)]
        pub struct FirehoseCounters {
            /// The path ([`PathShown`] as a number).
            pub path: AtomicUsize,
            $($(#[$doc])* pub $name: AtomicUsize,)*
        }

        /// A copy of the firehose counters.
        #[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
        pub struct FirehoseSnapshot {
            /// `none`, `trying`, `multicast`, `relay` or `hub`.
            pub path: &'static str,
            $($(#[$doc])* pub $name: u64,)*
        }

        impl FirehoseCounters {
            /// Reads every counter.
            pub fn snapshot(&self) -> FirehoseSnapshot {
                FirehoseSnapshot {
                    path: PathShown::name(self.path.load(Ordering::Relaxed)),
                    $($name: self.$name.load(Ordering::Relaxed) as u64,)*
                }
            }
        }
    };
}

firehose_counters! {
    /// Datagrams handed to the receiver (any path).
    datagrams_received,
    /// Bytes of those datagrams.
    bytes_received,
    /// Datagrams by multicast.
    multicast_received,
    /// Datagrams dropped for a bad stream signature.
    forged_dropped,
    /// Datagrams that carried nothing new.
    duplicates,
    /// Datagrams dropped as replays: heartbeats or announcements by multicast that moved the
    /// stream nothing forward (captured ones sent again), and datagrams of an older epoch.
    replays_dropped,
    /// Datagrams dropped for naming another stream key.
    foreign_dropped,
    /// Datagrams dropped for not decoding (unknown version or kind, bad layout).
    malformed_dropped,
    /// NACKs sent to the hub.
    nacks_sent,
    /// Datagrams received again in answer to a NACK or a resume (node), sent so (hub).
    repairs,
    /// Ranges the stream gave up on (fetched from the hub by stream seq).
    backfills,
    /// Messages fetched by stream seq: large ones and given-up ranges (node: stored from a
    /// fetch; hub: sent in answer to one).
    fetched,
    /// Seqs given up on that the hub no longer held, or whose fetch failed (node): left to
    /// per-author link backfill when the author's next message shows the gap.
    lost,
    /// Messages the stream delivered.
    delivered,
    /// Delivered messages stored (new here).
    stored,
    /// Delivered messages of authors nobody here follows (not kept in timelines).
    unfollowed,
    /// Of those, public posts and replies newly kept in the discover window
    /// (`firehose.discover_keep`; later pruning does not subtract).
    discovered,
    /// Delivered messages refused (malformed, unknown author key, bad signature).
    refused,
    /// Relay sessions opened (node) or accepted (hub).
    relay_opened,
    /// Milliseconds from firehose start to the first relay session up (node; 0: never).
    relay_after_ms,
    /// Live relay sessions open now (hub; NACK-only connections not counted).
    relay_sessions,
    /// Relay sessions dropped for being too slow (hub).
    relay_slow_dropped,
    /// Datagrams sent to the multicast group (hub).
    datagrams_sent,
    /// Bytes sent to the multicast group (hub).
    bytes_sent,
    /// Messages pushed into the stream (hub).
    pushed,
    /// Domains whose links are carried through their relay sessions now (hub).
    carried_domains,
    /// Links carried through a relay session (hub), or taken through the hub (node).
    tunnels,
    /// Connections the hub's HTTPS port closed without carrying them: over the port's, an
    /// address's or a node's TLS share, or naming no host carried here in time (hub).
    tls_refused,
}

impl FirehoseCounters {
    /// Adds one.
    pub fn bump(c: &AtomicUsize) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(c: &AtomicUsize, n: usize) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the path shown.
    pub fn set_path(&self, p: PathShown) {
        self.path.store(p as usize, Ordering::Relaxed);
    }
}
