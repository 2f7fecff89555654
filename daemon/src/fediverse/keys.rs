//! The key a signature names: from the store when the sender is known, else fetched from the
//! sender's server as a signed GET (the instance actor signs, RFC 9421-free draft-cavage, which
//! every server verifies) and kept with its actor.
//!
//! A fetch is bounded by the client (time, bytes, public addresses only), by
//! [`super::MAX_KEY_FETCHES`] in flight for the whole node, and by the document's size
//! ([`MAX_ACTOR_BYTES`]). A key is kept [`KEY_REFRESH_MS`] before a failed verification may
//! fetch it again (a rotated key), so a flood of bad signatures cannot make the node fetch.

use super::{Fediverse, InboxError};
use crate::activitypub::actor_doc::{self, key_document, same_host, RemoteActor, MAX_ACTOR_BYTES};
use crate::activitypub::keys::RsaSigningKey;
use crate::activitypub::note::host_of;
use crate::activitypub::outbound::Iris;
use crate::activitypub::sig::{sign_get, Outgoing};
use crate::net::fetch::parse_url;
use crate::store::activitypub::KnownActor;
use crate::store::Store;
use std::sync::Arc;

/// How long a stored key is trusted before a signature it fails may fetch it again.
pub const KEY_REFRESH_MS: u64 = 3600 * 1000;
/// What a fetch of an actor asks for.
pub const ACCEPT_ACTIVITY: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

impl Fediverse {
    /// The stored actor whose key is `key_id`, if its key is stored.
    pub fn stored_key(
        &self,
        store: &Store,
        key_id: &str,
    ) -> Result<Option<KnownActor>, InboxError> {
        Ok(store.actor_by_key(key_id)?.filter(|a| a.key.is_some()))
    }

    /// Fetches the actor that owns `key_id`: the actor as it would be kept (with the key), and
    /// its document; the caller stores it once a signature verified with the key.
    pub fn fetch_key(
        &self,
        base: &str,
        store: &Store,
        key_id: &str,
        now_ms: u64,
    ) -> Result<(KnownActor, RemoteActor), InboxError> {
        let _slot = self.fetch_slot().ok_or(InboxError::Busy)?;
        let key = self.instance_key(store)?;
        let doc = self.fetch_json(&key, base, key_document(key_id), now_ms)?;
        let actor = actor_doc::read(&doc, Some(key_id), self.allow_http)?;
        let host = host_of(&actor.id).unwrap_or("");
        if !same_host(key_id, host) {
            return Err(InboxError::NotTheActor);
        }
        let known = KnownActor {
            id: actor.id.clone(),
            address: actor.address.to_string(),
            inbox: actor.inbox.clone(),
            delivery_inbox: actor.delivery_inbox().to_string(),
            key: actor.key.clone(),
            fetched_ms: now_ms,
            followers: actor.followers.clone(),
        };
        Ok((known, actor))
    }

    /// Fetches the actor `id` (no key needed) and stores it.
    pub fn fetch_actor(
        &self,
        store: &mut Store,
        base: &str,
        id: &str,
        now_ms: u64,
    ) -> Result<RemoteActor, InboxError> {
        let _slot = self.fetch_slot().ok_or(InboxError::Busy)?;
        let key = self.instance_key(store)?;
        let actor = self.fetch_actor_with(&key, base, id, now_ms)?;
        store.remember_actor(&actor, now_ms)?;
        Ok(actor)
    }

    /// Fetches the actor `id`, signed with the instance key `key` (no store needed).
    pub fn fetch_actor_with(
        &self,
        key: &RsaSigningKey,
        base: &str,
        id: &str,
        now_ms: u64,
    ) -> Result<RemoteActor, InboxError> {
        let doc = self.fetch_json(key, base, id, now_ms)?;
        let actor = actor_doc::read(&doc, None, self.allow_http)?;
        if actor.id != id {
            return Err(InboxError::KeyFetch(
                "the document is of another actor".into(),
            ));
        }
        Ok(actor)
    }

    /// The instance actor's signing key (read, or made, once; then kept in memory).
    pub fn instance_key(&self, store: &Store) -> Result<Arc<RsaSigningKey>, InboxError> {
        if let Some(k) = self.instance_key.get() {
            return Ok(k.clone());
        }
        let k = Arc::new(super::instance::signing_key(store).map_err(InboxError::KeyFetch)?);
        Ok(self.instance_key.get_or_init(|| k).clone())
    }

    /// GETs `url` as an ActivityStreams document, signed by the instance actor.
    fn fetch_json(
        &self,
        key: &RsaSigningKey,
        base: &str,
        url: &str,
        now_ms: u64,
    ) -> Result<serde_json::Value, InboxError> {
        let target = parse_url(url)?;
        let iris = Iris { base };
        let out = Outgoing {
            method: "GET",
            scheme: "https",
            authority: &target.authority,
            target: &target.path,
            content_type: "",
            body: &[],
        };
        let signed = sign_get(key, &super::instance::key_id(&iris), &out, now_ms / 1000)?;
        let mut headers: Vec<(&str, &str)> = vec![("Accept", ACCEPT_ACTIVITY)];
        headers.extend(signed.iter().map(|(n, v)| (*n, v.as_str())));
        let resp = self.client.get(url, &headers, MAX_ACTOR_BYTES)?;
        if resp.status != 200 {
            return Err(InboxError::KeyFetch(format!(
                "{url} answered {}",
                resp.status
            )));
        }
        serde_json::from_slice(&resp.body)
            .map_err(|_| InboxError::KeyFetch(format!("{url} is not JSON")))
    }
}
