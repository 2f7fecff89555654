//! The deliverer: activities owed to remote inboxes (`store::activitypub`'s queue), each POSTed
//! signed by the local user it is from, one at a time on one thread.
//!
//! Signing follows Mastodon and Fedify: RFC 9421 first; a server that refuses it (400, 401 or
//! 403) is asked again at once with draft-cavage, and remembered as a cavage server (at most
//! [`MAX_CAVAGE_HOSTS`] kept). A 2xx answer delivers; 404 and 410 mean the recipient is gone
//! and any other 4xx that the request will never pass (both dropped, counted as failed);
//! anything else (5xx, 401 — the server could not fetch our key yet —, 408, 429, no answer)
//! is tried again after [`retry_delay_ms`], and given
//! up after [`MAX_ATTEMPTS`].

use super::Fediverse;
use crate::activitypub::keys::RsaSigningKey;
use crate::activitypub::outbound::Iris;
use crate::activitypub::sig::{sign_post, sign_rfc9421, Outgoing};
use crate::net::fetch::{parse_url, Response};
use crate::net::pool::StorePool;
use crate::store::activitypub::QueuedActivity;
use crate::store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Activities taken from the queue at a time.
pub const BATCH: u32 = 16;
/// Failed attempts after which an activity is given up (with [`retry_delay_ms`], ~2 days).
pub const MAX_ATTEMPTS: u32 = 14;
/// The first retry's delay; each next one doubles, up to [`MAX_RETRY_DELAY_MS`].
pub const FIRST_RETRY_MS: u64 = 30_000;
/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY_MS: u64 = 6 * 3600 * 1000;
/// Largest answer body read from an inbox (answers are empty or a short error).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Hosts remembered as verifying only draft-cavage.
pub const MAX_CAVAGE_HOSTS: usize = 1024;
/// Longest wait between two looks at the queue (a queued activity also wakes the deliverer).
pub const IDLE_WAIT: Duration = Duration::from_secs(5);

/// The wait before attempt `attempts + 1`.
pub fn retry_delay_ms(attempts: u32) -> u64 {
    FIRST_RETRY_MS
        .saturating_mul(1u64 << attempts.min(20))
        .min(MAX_RETRY_DELAY_MS)
}

/// The hosts that refused RFC 9421 signatures.
#[derive(Default)]
pub struct CavageHosts(Mutex<HashSet<String>>);

impl Fediverse {
    /// POSTs `body` to `url`, signed with `key` (RFC 9421, then draft-cavage if refused).
    pub fn post_signed(
        &self,
        key: &RsaSigningKey,
        key_id: &str,
        url: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Response, String> {
        let target = parse_url(url).map_err(|e| e.to_string())?;
        let out = Outgoing {
            method: "POST",
            scheme: "https",
            authority: &target.authority,
            target: &target.path,
            content_type: crate::web::actor::ACTIVITY_JSON,
            body,
        };
        let cavage_only = self
            .cavage_hosts
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&target.host);
        if !cavage_only {
            let signed =
                sign_rfc9421(key, key_id, &out, now_ms / 1000).map_err(|e| e.to_string())?;
            let resp = self.send(url, &signed, body)?;
            if !matches!(resp.status, 400 | 401 | 403) {
                return Ok(resp);
            }
            let mut hosts = self
                .cavage_hosts
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if hosts.len() < MAX_CAVAGE_HOSTS {
                hosts.insert(target.host.clone());
            }
        }
        let signed = sign_post(key, key_id, &out, now_ms / 1000).map_err(|e| e.to_string())?;
        self.send(url, &signed, body)
    }

    fn send(
        &self,
        url: &str,
        signed: &[(&'static str, String)],
        body: &[u8],
    ) -> Result<Response, String> {
        let mut headers: Vec<(&str, &str)> = vec![
            ("Content-Type", crate::web::actor::ACTIVITY_JSON),
            ("Accept", super::keys::ACCEPT_ACTIVITY),
        ];
        headers.extend(signed.iter().map(|(n, v)| (*n, v.as_str())));
        self.client
            .post(url, &headers, body, MAX_ANSWER_BYTES)
            .map_err(|e| e.to_string())
    }
}

/// Runs the deliverer until the process ends, with a connection from `pool` for each round
/// (none held while it waits).
pub fn run(fed: Arc<Fediverse>, pool: Arc<StorePool>, base: String) {
    loop {
        let wait = match pool.with(|store| round(&fed, store, &base)) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "fediverse outbox: reading the queue");
                IDLE_WAIT
            }
        };
        if !wait.is_zero() {
            fed.wait(wait);
        }
    }
}

/// Delivers what is due (at most [`BATCH`]); the wait until the next look.
fn round(fed: &Fediverse, store: &mut Store, base: &str) -> Result<Duration, StoreError> {
    let due = store.due_activities(crate::now_ms(), BATCH)?;
    for a in &due {
        if let Err(e) = deliver_one(fed, store, base, a) {
            tracing::warn!(error = %e, "fediverse outbox: storing a delivery's outcome");
        }
    }
    if due.len() as u32 == BATCH {
        return Ok(Duration::ZERO);
    }
    Ok(match store.next_activity_due()? {
        Some(t) => Duration::from_millis(t.saturating_sub(crate::now_ms())).min(IDLE_WAIT),
        None => IDLE_WAIT,
    })
}

fn deliver_one(
    fed: &Fediverse,
    store: &mut Store,
    base: &str,
    a: &QueuedActivity,
) -> Result<(), crate::store::StoreError> {
    let now = crate::now_ms();
    let signer = store
        .user_name(a.user_id)?
        .zip(signing_key(store, a.user_id)?);
    let Some((name, der)) = signer else {
        tracing::warn!(inbox = %a.inbox, "fediverse outbox: the signer is gone; dropped");
        fed.failed.fetch_add(1, Ordering::Relaxed);
        return store.activity_done(a.id);
    };
    let key = match RsaSigningKey::from_pkcs8(&der) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "fediverse outbox: the signer's key does not load; dropped");
            return store.activity_done(a.id);
        }
    };
    let key_id = format!("{}#main-key", Iris { base }.actor(&name));
    let outcome = fed.post_signed(&key, &key_id, &a.inbox, &a.body, now);
    let error = match outcome {
        Ok(r) if (200..300).contains(&r.status) => {
            fed.delivered.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(inbox = %a.inbox, status = r.status, "delivered");
            return store.activity_done(a.id);
        }
        Ok(r) if (400..500).contains(&r.status) && !matches!(r.status, 401 | 408 | 429) => {
            fed.failed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(inbox = %a.inbox, status = r.status, "the inbox refused an activity; dropped");
            return store.activity_done(a.id);
        }
        Ok(r) => format!("answered {}", r.status),
        Err(e) => e,
    };
    fed.failed.fetch_add(1, Ordering::Relaxed);
    if a.attempts + 1 >= MAX_ATTEMPTS {
        tracing::warn!(inbox = %a.inbox, %error, "gave up an activity after its last attempt");
        return store.activity_done(a.id);
    }
    tracing::info!(inbox = %a.inbox, %error, attempts = a.attempts + 1, "delivery failed; will retry");
    store.activity_failed(a.id, now + retry_delay_ms(a.attempts), &error)
}

/// The user's RSA signing key (PKCS#8 DER), made now if the background maker has not reached
/// them yet (holding the process-wide key lock); `None` if there is no such user.
pub fn signing_key(
    store: &Store,
    user_id: i64,
) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
    if let Some(k) = store.rsa_private_key(user_id)? {
        return Ok(Some(k));
    }
    if store.user_name(user_id)?.is_none() {
        return Ok(None);
    }
    {
        let _making = crate::web::actor::KEY_MAKER
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        store.rsa_public_key(user_id, crate::web::actor::make_key)?;
    }
    store.rsa_private_key(user_id)
}
