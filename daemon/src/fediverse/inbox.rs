//! An inbox POST, from verified signature to stored change.
//!
//! In order, each step refusing before the next runs: the signature's key id (a domain the
//! owner blocked is answered 202 and dropped here, before any fetch); the signature
//! verified (its policy first: what it covers, its date, the body's digest — so a stale or
//! tampered request never makes the node fetch) with the stored key, or with the key fetched
//! from the sender; the activity read and checked ([`crate::activitypub::activity`]); its actor
//! must own the key; its id must be new (replays refused). Then it is acted on:
//!
//! - `Follow` of a local account: the follower's server (its shared inbox) subscribes, the
//!   follow is recorded with the approval rules msm followers get, and an `Accept` (or
//!   `Reject`) is queued for the follower's inbox; a locked account decides later.
//! - `Undo` of a `Follow`: the follower is dropped (and its server, once it has nobody left).
//! - `Delete` of the actor itself: it is dropped as a follower everywhere; `Block` of a local
//!   account: it stops following it.
//! - `Create`, `Update`, `Delete` of posts, `Like`, `Announce` and their `Undo`: stored as
//!   msm messages of their author when they concern someone here ([`super::notes`]);
//!   `Update` of the actor: its document is kept.
//! - Anything else is answered 202 and counted as `ignored`.
//!
//! Every outcome is counted under one of [`OUTCOMES`] (shown in `/metrics`).

use super::notes::{self, Sink};
use super::{Fediverse, InboxError};
use crate::activitypub::activity::{self, Act, Activity};
use crate::activitypub::actor_doc::{self, ACTOR_TYPES};
use crate::activitypub::keys::PublicKey;
use crate::activitypub::note::host_of;
use crate::activitypub::outbound::{answer_follow, Iris};
use crate::activitypub::sig::{self, Request};
use crate::activitypub::SigError;
use crate::proto::follow::FollowAnswerState;
use crate::proto::Address;
use crate::store::activitypub::KnownActor;
use crate::store::Store;
use serde_json::json;

/// The labels inbox outcomes are counted under.
pub const OUTCOMES: [&str; 13] = [
    "accepted",
    "ignored",
    "unsigned",
    "digest",
    "date",
    "bad_signature",
    "malformed_signature",
    "not_the_actor",
    "replay",
    "unknown_key",
    "busy",
    "malformed",
    "error",
];

/// Where the node is: its public base URL and domain.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// `https://host` of the node's pages and actors.
    pub base: &'a str,
    /// The domain its accounts are at.
    pub domain: &'a str,
}

/// What was done with an accepted activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// It changed something here.
    Accepted,
    /// It was read and verified, but msm does not act on it (yet).
    Ignored,
}

impl Done {
    /// Its label in [`OUTCOMES`].
    pub fn label(self) -> &'static str {
        match self {
            Done::Accepted => "accepted",
            Done::Ignored => "ignored",
        }
    }
}

impl Fediverse {
    /// Verifies and acts on one inbox POST (its size already bounded by the caller).
    pub fn receive(
        &self,
        store: &mut Store,
        sink: &Sink<'_>,
        node: Node<'_>,
        req: &Request<'_>,
        now_ms: u64,
    ) -> Result<Done, InboxError> {
        // a blocked domain's servers are not even fetched from
        let key_id = sig::key_id(req)?;
        if is_blocked(sink, &key_id) {
            return Ok(Done::Ignored);
        }
        let actor = self.verify(store, node, req, &key_id, now_ms)?;
        if is_blocked(sink, &actor.id) {
            return Ok(Done::Ignored);
        }
        let doc: serde_json::Value = serde_json::from_slice(req.body)
            .map_err(|_| InboxError::BadRequest("body is not JSON"))?;
        let activity = activity::read(&doc, self.allow_http)?;
        if activity.actor != actor.id {
            return Err(InboxError::NotTheActor);
        }
        if store.seen(&activity.id)? {
            return Err(InboxError::Replay);
        }
        // recorded once acted on: a delivery whose handling failed may come again
        let done = self.act(store, sink, node, &actor, &activity, now_ms)?;
        store.first_sight(&activity.id, now_ms)?;
        Ok(done)
    }

    /// The verified signer.
    fn verify(
        &self,
        store: &mut Store,
        node: Node<'_>,
        req: &Request<'_>,
        key_id: &str,
        now_ms: u64,
    ) -> Result<KnownActor, InboxError> {
        let now = now_ms / 1000;
        let stored = self.stored_key(store, key_id)?;
        let key_of = |a: &KnownActor| {
            a.key
                .as_ref()
                .and_then(|(_, pem)| PublicKey::from_pem(pem).ok())
        };
        let first = sig::verify(req, now, |_| stored.as_ref().and_then(key_of));
        let refetch = match (&first, &stored) {
            (Ok(_), Some(a)) => return Ok(a.clone()),
            (Err(SigError::UnknownKey), _) => true,
            (Err(SigError::BadSignature), Some(a)) => {
                now_ms.saturating_sub(a.fetched_ms) >= super::keys::KEY_REFRESH_MS
            }
            _ => false,
        };
        if !refetch {
            return Err(first.err().unwrap_or(SigError::UnknownKey).into());
        }
        let (fetched, remote) = self.fetch_key(node.base, store, key_id, now_ms)?;
        sig::verify(req, now, |_| key_of(&fetched))?;
        // kept only once it signed something that verified
        store.remember_actor(&remote, now_ms)?;
        Ok(fetched)
    }

    fn act(
        &self,
        store: &mut Store,
        sink: &Sink<'_>,
        node: Node<'_>,
        actor: &KnownActor,
        activity: &Activity,
        now_ms: u64,
    ) -> Result<Done, InboxError> {
        let done = |kept: bool| if kept { Done::Accepted } else { Done::Ignored };
        match &activity.act {
            Act::Create(obj) => Ok(done(notes::create(
                store, sink, node, actor, obj, false, now_ms,
            )?)),
            Act::Update(obj)
                if obj
                    .get("type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| ACTOR_TYPES.contains(&t)) =>
            {
                let fresh = actor_doc::read(obj, None, self.allow_http)?;
                if fresh.id != actor.id {
                    return Err(InboxError::NotTheActor);
                }
                store.remember_actor(&fresh, now_ms)?;
                Ok(Done::Accepted)
            }
            Act::Update(obj) => Ok(done(notes::create(
                store, sink, node, actor, obj, true, now_ms,
            )?)),
            Act::Like { object } => Ok(done(notes::react(
                store,
                sink,
                node,
                actor,
                &activity.id,
                object,
                false,
                now_ms,
            )?)),
            Act::Announce { object } => Ok(done(notes::react(
                store,
                sink,
                node,
                actor,
                &activity.id,
                object,
                true,
                now_ms,
            )?)),
            Act::Undo {
                kind, id: Some(id), ..
            } if kind == "Like" || kind == "Announce" || kind == "EmojiReact" => {
                Ok(done(notes::delete(store, sink, actor, id, now_ms)?))
            }
            Act::Answer {
                accept,
                follow: Some(follow),
            } => {
                let known = super::follow::answered(
                    store,
                    node,
                    &actor.id,
                    &actor.address,
                    follow,
                    *accept,
                )?;
                Ok(done(known))
            }
            Act::Block { object } => {
                let Some(user) = local_user(node, object) else {
                    return Ok(Done::Ignored);
                };
                unfollow(store, actor, &user)?;
                Ok(Done::Accepted)
            }
            Act::Follow { object } => self.follow(store, node, actor, &activity.id, object, now_ms),
            Act::Undo { kind, object, .. } if kind == "Follow" => {
                let Some(user) = object.as_deref().and_then(|o| local_user(node, o)) else {
                    return Ok(Done::Ignored);
                };
                unfollow(store, actor, &user)?;
                Ok(Done::Accepted)
            }
            Act::Delete { object } if *object != actor.id => {
                Ok(done(notes::delete(store, sink, actor, object, now_ms)?))
            }
            Act::Delete { .. } => {
                let follower = Address::parse(&actor.address)
                    .map_err(|_| InboxError::BadRequest("actor address"))?;
                for author in store.followed_by(&follower)? {
                    unfollow(store, actor, &author)?;
                }
                Ok(Done::Accepted)
            }
            _ => Ok(Done::Ignored),
        }
    }

    fn follow(
        &self,
        store: &mut Store,
        node: Node<'_>,
        actor: &KnownActor,
        follow_id: &str,
        object: &str,
        now_ms: u64,
    ) -> Result<Done, InboxError> {
        let Some(author) = local_user(node, object) else {
            return Ok(Done::Ignored);
        };
        let Some(user) = store.user_by_name(author.user())? else {
            return Ok(Done::Ignored);
        };
        let follower =
            Address::parse(&actor.address).map_err(|_| InboxError::BadRequest("actor address"))?;
        let server = actor.delivery_inbox.as_str();
        if store.add_subscriber(&author, server, now_ms)?.is_none() {
            return Ok(Done::Ignored);
        }
        let state = store
            .follow_request(&author, &follower, server, now_ms)?
            .unwrap_or(FollowAnswerState::Rejected);
        store.remember_follow_id(user.id, &actor.id, follow_id)?;
        match state {
            FollowAnswerState::Pending => {}
            FollowAnswerState::Accepted => self.answer(
                store, node, user.id, &author, actor, follow_id, true, now_ms,
            )?,
            FollowAnswerState::Rejected => {
                self.answer(
                    store, node, user.id, &author, actor, follow_id, false, now_ms,
                )?;
                unfollow(store, actor, &author)?;
            }
        }
        Ok(Done::Accepted)
    }

    /// Queues `author`'s `Accept` (or `Reject`) of `actor`'s follow `follow_id`. A rejected
    /// follow has nothing left to answer: its id is forgotten first.
    #[allow(clippy::too_many_arguments)]
    pub fn answer(
        &self,
        store: &mut Store,
        node: Node<'_>,
        user_id: i64,
        author: &Address,
        actor: &KnownActor,
        follow_id: &str,
        accept: bool,
        now_ms: u64,
    ) -> Result<(), InboxError> {
        if !accept {
            store.forget_follow_id(user_id, &actor.id)?;
        }
        let iris = Iris { base: node.base };
        let me = iris.actor(author.user());
        let follow = json!({"id": follow_id, "type": "Follow", "actor": actor.id, "object": me});
        let id = format!(
            "{me}#{}/{now_ms}",
            if accept { "accepts" } else { "rejects" }
        );
        let body = answer_follow(accept, id, me, &follow).to_string();
        if !store.queue_activity(user_id, &actor.inbox, body.as_bytes(), now_ms)? {
            tracing::warn!(inbox = %actor.inbox, "the fediverse outbox is full; a follow answer is dropped");
        }
        self.wake();
        Ok(())
    }
}

/// Whether the host of `iri` is one of the owner's blocked domains (any case, a trailing dot).
fn is_blocked(sink: &Sink<'_>, iri: &str) -> bool {
    host_of(iri).is_some_and(|h| {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        sink.blocked.matches(&h)
    })
}

/// The local account `iri` names (`{base}/users/{name}`), as an address.
fn local_user(node: Node<'_>, iri: &str) -> Option<Address> {
    let name = iri.strip_prefix(node.base)?.strip_prefix("/users/")?;
    if name.is_empty() || name.contains(['/', '#', '?']) {
        return None;
    }
    Address::parse(&format!("{name}@{}", node.domain)).ok()
}

/// `actor` no longer follows local `author`; its server is unsubscribed once nobody there does.
fn unfollow(store: &mut Store, actor: &KnownActor, author: &Address) -> Result<(), InboxError> {
    let follower =
        Address::parse(&actor.address).map_err(|_| InboxError::BadRequest("actor address"))?;
    let server = actor.delivery_inbox.as_str();
    store.follow_undo(author, &follower, server)?;
    if let Some(user) = store.user_by_name(author.user())? {
        store.forget_follow_id(user.id, &actor.id)?;
    }
    store.unsubscribe_if_unfollowed(author, server)?;
    Ok(())
}
