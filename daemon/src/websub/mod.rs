//! The node as a WebSub hub (W3C WebSub, formerly PubSubHubbub) for its users' Atom feeds:
//! feed readers subscribe at `POST /websub` and are sent each new public post, instead of
//! polling `/@{user}/feed.atom`.
//!
//! - Every user's feed names the hub and itself (`<link rel="hub">`, `<link rel="self">` and
//!   the same as HTTP `Link` headers); the topic is that `self` URL.
//! - [`request`]: the subscribe and unsubscribe requests, parsed and checked (sans-IO).
//! - [`verify`]: intent verification with `hub.challenge` (the URL and the judgement pure).
//! - [`deliver`]: the hub's thread: verifications, then new posts POSTed to each callback
//!   through a cursor in the author's log, signed with `X-Hub-Signature` when asked.
//! - [`error`]: [`WebSubError`], why a request is refused.
//! - The state is in `crate::store::websub`, bounded per node and per callback host.
//!
//! Callbacks are `https` only and called through the node's one outgoing client
//! (`crate::net::fetch`): bounded in size and time, no redirects, and its SSRF guard refuses
//! private and local addresses (unless a lab allows them), so a subscriber cannot make the
//! router call into the household's network. The hub runs only when that client does (the
//! fediverse side is on).

pub mod deliver;
mod error;
pub mod request;
pub mod verify;

pub use error::WebSubError;

// `AtomicUsize`: 32-bit MIPS routers have no 64-bit atomics (see `net::counters`).
use std::sync::atomic::{AtomicUsize, Ordering};

/// The hub's counters since start, shown in `/metrics`.
#[derive(Debug, Default)]
pub struct Hub {
    /// Requests accepted (202) for verification.
    pub accepted: AtomicUsize,
    /// Requests refused at once (400, 503).
    pub rejected: AtomicUsize,
    /// Requests the subscriber confirmed.
    pub verified: AtomicUsize,
    /// Requests the subscriber did not confirm (or never answered).
    pub refused: AtomicUsize,
    /// Deliveries a callback acknowledged.
    pub delivered: AtomicUsize,
    /// Deliveries that failed (retried, given up, or 410).
    pub failed: AtomicUsize,
}

/// [`Hub`]'s counters read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubSnapshot {
    /// See [`Hub::accepted`].
    pub accepted: u64,
    /// See [`Hub::rejected`].
    pub rejected: u64,
    /// See [`Hub::verified`].
    pub verified: u64,
    /// See [`Hub::refused`].
    pub refused: u64,
    /// See [`Hub::delivered`].
    pub delivered: u64,
    /// See [`Hub::failed`].
    pub failed: u64,
    /// Verified subscriptions now.
    pub subscriptions: u64,
    /// Requests waiting for verification now.
    pub pending: u64,
}

impl Hub {
    /// The counters now, with the store's `(subscriptions, pending)`.
    pub fn snapshot(&self, counts: (u64, u64)) -> HubSnapshot {
        let r = |c: &AtomicUsize| c.load(Ordering::Relaxed) as u64;
        HubSnapshot {
            accepted: r(&self.accepted),
            rejected: r(&self.rejected),
            verified: r(&self.verified),
            refused: r(&self.refused),
            delivered: r(&self.delivered),
            failed: r(&self.failed),
            subscriptions: counts.0,
            pending: counts.1,
        }
    }
}
