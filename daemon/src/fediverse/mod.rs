//! The fediverse's I/O edge: what drives the pure ActivityPub layer ([`crate::activitypub`])
//! with the network and the store.
//!
//! - [`keys`]: the key a signature names, from the store or fetched (a signed GET, as the
//!   instance actor) from the sender's server, bounded in concurrent fetches.
//! - [`inbox`]: an inbox POST verified (signature, key owner, replay) and acted on.
//! - [`notes`]: posts, likes, boosts, edits and deletes from the fediverse stored as msm
//!   messages of their authors.
//! - [`follow`]: following fediverse accounts by address (WebFinger, the actor, `Follow`,
//!   `Undo`), and the answers to those follows.
//! - [`deliver`]: the activities owed to remote inboxes (`Accept`, `Reject`, …), POSTed signed
//!   by their author, retried with backoff and given up.
//! - [`posts`]: local posts as activities, sent where `net::outbox` delivers to a follower's
//!   shared inbox.
//! - [`block`]: a local person's block of a fediverse account told to its server (`Reject`
//!   of its follow, `Block`), and the unblock (`Undo`).
//! - [`instance`]: the node's own `Application` actor, whose key signs the node's fetches.
//!
//! One [`Fediverse`] per node, shared by the web workers and the deliverer.

pub mod block;
pub mod deliver;
mod error;
pub mod follow;
pub mod inbox;
pub mod instance;
pub mod keys;
pub mod notes;
pub mod posts;

pub use error::InboxError;

use crate::net::fetch::Client;
// `AtomicUsize`: 32-bit MIPS routers have no 64-bit atomics (see `net::counters`).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Key fetches in flight at once for the whole node: an anonymous sender can make the node
/// fetch, so this is small; over it the sender is answered 503 and retries.
pub const MAX_KEY_FETCHES: usize = 2;

/// Whether an outbox server is a fediverse shared inbox (its URL) rather than an msm node (a
/// domain): where a follower's server is kept, in `subscribers` and `remote_followers`.
pub fn is_inbox(server: &str) -> bool {
    server.starts_with("https://")
}

/// Deliveries to fediverse inboxes in flight at once (each a blocking thread with a TLS
/// connection; the client takes at most its own `max_connections` at a time anyway, so more
/// threads would only wait, each with its stack).
pub const MAX_SENDS: usize = 8;

/// The fediverse side of a node.
pub struct Fediverse {
    /// The outgoing HTTPS client (bounded, SSRF-safe).
    pub client: Arc<Client>,
    /// Whether `http:` IRIs are taken (never outside tests of the mapping: always false here).
    pub allow_http: bool,
    /// Key fetches in flight.
    fetches: Mutex<usize>,
    /// Set when an activity is queued; the deliverer waits on it.
    wake: (Mutex<bool>, Condvar),
    /// Inbox outcomes, by label (see [`inbox::OUTCOMES`]).
    pub outcomes: [AtomicUsize; inbox::OUTCOMES.len()],
    /// Deliveries made.
    pub delivered: AtomicUsize,
    /// Deliveries failed (tried again later, or given up).
    pub failed: AtomicUsize,
    /// Servers that verify only draft-cavage signatures.
    cavage_hosts: deliver::CavageHosts,
    /// Slots for deliveries in flight ([`MAX_SENDS`]).
    pub sends: tokio::sync::Semaphore,
    /// The instance actor's key, once read.
    instance_key: std::sync::OnceLock<Arc<crate::activitypub::keys::RsaSigningKey>>,
}

impl Fediverse {
    /// A fediverse side using `client`.
    pub fn new(client: Arc<Client>) -> Self {
        Fediverse {
            client,
            allow_http: false,
            fetches: Mutex::new(0),
            wake: (Mutex::new(false), Condvar::new()),
            outcomes: Default::default(),
            delivered: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            cavage_hosts: Default::default(),
            instance_key: Default::default(),
            sends: tokio::sync::Semaphore::new(MAX_SENDS),
        }
    }

    /// Counts one inbox outcome.
    pub fn count(&self, outcome: &str) {
        if let Some(i) = inbox::OUTCOMES.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells the deliverer something was queued.
    pub fn wake(&self) {
        let (m, c) = &self.wake;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }

    /// Waits for [`Fediverse::wake`] or `timeout`.
    pub fn wait(&self, timeout: std::time::Duration) {
        let (m, c) = &self.wake;
        let mut woken = m.lock().unwrap_or_else(|e| e.into_inner());
        if !*woken {
            woken = c
                .wait_timeout(woken, timeout)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *woken = false;
    }

    /// Takes a key-fetch slot, or `None` when [`MAX_KEY_FETCHES`] are in flight.
    fn fetch_slot(&self) -> Option<FetchSlot<'_>> {
        let mut n = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
        if *n >= MAX_KEY_FETCHES {
            return None;
        }
        *n += 1;
        Some(FetchSlot(self))
    }
}

/// A key fetch in flight; released on drop.
struct FetchSlot<'a>(&'a Fediverse);

impl Drop for FetchSlot<'_> {
    fn drop(&mut self) {
        let mut n = self.0.fetches.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
    }
}
