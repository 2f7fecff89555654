//! The hub's thread: requests waiting for intent verification, then content distribution
//! (W3C WebSub §7), one at a time on one thread, with a store connection of the async side's
//! pool for each round.
//!
//! Verification: a confirmed request starts, renews or ends its subscription; a refused one is
//! dropped; one without an answer is asked again after [`retry_delay_ms`], and dropped after
//! [`MAX_VERIFY_ATTEMPTS`].
//!
//! Distribution goes by each subscription's cursor in its author's log (no row per post):
//! when the log went past it, the public posts after it (at most [`MAX_ENTRIES`], oldest
//! first) are POSTed to the callback as one Atom feed document (the feed's own renderer), with
//! `Link: <hub>; rel="hub", <topic>; rel="self"` and, when the subscriber gave a secret,
//! `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` ([`signature`]). A 2xx moves the
//! cursor past them; 410 Gone ends the subscription; anything else is tried again after
//! [`retry_delay_ms`] and, after [`MAX_DELIVERY_ATTEMPTS`], given up (the cursor skips them,
//! logged). The cursor moves only after the answer, so a crash sends again at most what was
//! not acknowledged. Leases that ended are dropped on each round.

use super::verify::{verify, Verdict};
use super::Hub;
use crate::net::fetch::Client;
use crate::net::pool::StorePool;
use crate::proto::Address;
use crate::store::websub::{Intent, Subscription};
use crate::store::{Store, StoreError};
use crate::web::public::Site;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Requests and subscriptions taken at a time.
pub const BATCH: u32 = 16;
/// Entries in one delivery at most (a subscriber that was away gets the rest next).
pub const MAX_ENTRIES: u32 = 20;
/// Verifications without an answer after which a request is dropped.
pub const MAX_VERIFY_ATTEMPTS: u32 = 5;
/// Failed deliveries after which the posts are given up (with [`retry_delay_ms`], ~1 day).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 12;
/// The first retry's delay; each next one doubles, up to [`MAX_RETRY_DELAY_MS`].
pub const FIRST_RETRY_MS: u64 = 30_000;
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY_MS: u64 = 6 * 3600 * 1000;
/// Largest answer body read from a callback (answers are empty or a short text).
pub const MAX_ANSWER_BYTES: usize = 4096;
/// Longest wait between two looks at the store (a commit also wakes the hub).
pub const IDLE_WAIT: Duration = Duration::from_secs(2);

/// The wait before attempt `attempts + 1`.
pub fn retry_delay_ms(attempts: u32) -> u64 {
    FIRST_RETRY_MS
        .saturating_mul(1u64 << attempts.min(20))
        .min(MAX_RETRY_DELAY_MS)
}

/// `X-Hub-Signature`'s value for `body` signed with `secret`: `sha256=` and the lower-case hex
/// HMAC-SHA256.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// What the thread needs: the node's client, where its pages are, and the commit pulse.
pub struct Deliverer {
    /// The hub's counters.
    pub hub: Arc<Hub>,
    /// The node's outgoing HTTPS client.
    pub client: Arc<Client>,
    /// `scheme://host[:port]` of the node's pages.
    pub base: String,
    /// The node's domain.
    pub domain: String,
    /// Bumped after each commit (a new post wakes the hub).
    pub pulse: Arc<crate::store::pulse::Pulse>,
}

impl Deliverer {
    /// Runs until the process ends, with a connection from `pool` for each round (none held
    /// while it waits).
    pub fn run(self, pool: Arc<StorePool>) {
        loop {
            let seen = self.pulse.now();
            match pool.with(|store| self.round(store)) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "websub: a round of the hub failed"),
            }
            self.pulse.wait(seen, IDLE_WAIT);
        }
    }

    /// One round; `true` when a batch was full (more may be due at once).
    pub fn round(&self, store: &mut Store) -> Result<bool, StoreError> {
        let now = crate::now_ms();
        let expired = store.websub_expire(now)?;
        if expired > 0 {
            tracing::info!(expired, "websub: leases ended");
        }
        let intents = store.websub_due_intents(now, BATCH)?;
        for i in &intents {
            self.verify_one(store, i)?;
        }
        let subs = store.websub_due_deliveries(crate::now_ms(), BATCH)?;
        for s in &subs {
            self.deliver_one(store, s)?;
        }
        Ok(intents.len() as u32 == BATCH || subs.len() as u32 == BATCH)
    }

    fn topic(&self, author: &Address) -> String {
        format!("{}/@{}/feed.atom", self.base, author.user())
    }

    fn verify_one(&self, store: &mut Store, i: &Intent) -> Result<(), StoreError> {
        let Ok(author) = Address::parse(&i.author) else {
            return store.websub_intent_done(i.id);
        };
        let topic = self.topic(&author);
        match verify(&self.client, &i.callback, i.mode, &topic, i.lease_s) {
            Verdict::Confirmed => {
                self.hub.verified.fetch_add(1, Ordering::Relaxed);
                tracing::info!(callback = %i.callback, %topic, mode = i.mode.as_str(), "websub: verified");
                store.websub_confirmed(i, crate::now_ms())
            }
            Verdict::Refused(why) => {
                self.hub.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(callback = %i.callback, %topic, %why, "websub: the subscriber did not confirm");
                store.websub_intent_done(i.id)
            }
            Verdict::Unanswered(why) if i.attempts + 1 >= MAX_VERIFY_ATTEMPTS => {
                self.hub.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(callback = %i.callback, %why, "websub: verification given up");
                store.websub_intent_done(i.id)
            }
            Verdict::Unanswered(why) => {
                tracing::debug!(callback = %i.callback, %why, "websub: verification will be retried");
                store.websub_intent_retry(i.id, crate::now_ms() + retry_delay_ms(i.attempts))
            }
        }
    }

    fn deliver_one(&self, store: &mut Store, s: &Subscription) -> Result<(), StoreError> {
        let Ok(author) = Address::parse(&s.author) else {
            return store.websub_remove(s.id);
        };
        let posts = store.websub_posts_after(&author, s.delivered_seq, MAX_ENTRIES)?;
        let Some(upto) = posts.last().map(|p| p.seq) else {
            // only posts nobody outside may read, or no posts at all: nothing to send
            let last = store.websub_last_seq(&s.author)?;
            return store.websub_delivered(s.id, last);
        };
        let site = Site {
            base: &self.base,
            domain: &self.domain,
        };
        let hub = format!("{}/websub", self.base);
        let mut newest_first = posts;
        newest_first.reverse();
        let Some(body) =
            crate::web::public::user_feed_xml(store, &site, &author, &hub, &newest_first)?
        else {
            return store.websub_remove(s.id);
        };
        let topic = self.topic(&author);
        let link = format!("<{hub}>; rel=\"hub\", <{topic}>; rel=\"self\"");
        let signed = s.secret.as_deref().map(|k| signature(k, body.as_bytes()));
        let mut headers = vec![
            ("Content-Type", "application/atom+xml"),
            ("Link", link.as_str()),
        ];
        if let Some(sig) = &signed {
            headers.push(("X-Hub-Signature", sig.as_str()));
        }
        let answer = self
            .client
            .post(&s.callback, &headers, body.as_bytes(), MAX_ANSWER_BYTES);
        let error = match answer {
            Ok(r) if (200..300).contains(&r.status) => {
                self.hub.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(callback = %s.callback, upto, "websub: delivered");
                return store.websub_delivered(s.id, upto);
            }
            Ok(r) if r.status == 410 => {
                self.hub.failed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(callback = %s.callback, "websub: the callback is gone (410); unsubscribed");
                return store.websub_remove(s.id);
            }
            Ok(r) => format!("answered {}", r.status),
            Err(e) => e.to_string(),
        };
        self.hub.failed.fetch_add(1, Ordering::Relaxed);
        if s.attempts + 1 >= MAX_DELIVERY_ATTEMPTS {
            tracing::warn!(callback = %s.callback, %error, upto, "websub: gave up posts after the last attempt");
            return store.websub_delivered(s.id, upto);
        }
        tracing::info!(callback = %s.callback, %error, attempts = s.attempts + 1, "websub: delivery failed; will retry");
        store.websub_delivery_failed(s.id, crate::now_ms() + retry_delay_ms(s.attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(
            signature(b"Jefe", b"what do ya want for nothing!"),
            signature(b"Jefe", b"what do ya want for nothing?")
        );
    }

    #[test]
    fn retries_back_off_to_a_cap() {
        assert_eq!(retry_delay_ms(0), FIRST_RETRY_MS);
        assert_eq!(retry_delay_ms(1), 2 * FIRST_RETRY_MS);
        assert_eq!(retry_delay_ms(40), MAX_RETRY_DELAY_MS);
    }
}
