//! Following fediverse accounts by address, from the web client, the API and the apps.
//!
//! A follow of `bob@peer.test` is a subscription like any (`store::federation`); when it
//! comes due, the node asks `https://peer.test/.well-known/webfinger` first. A domain whose
//! answer names an msm node (`urn:msm:node`), or that answers nothing usable, is left to msm's
//! own discovery (DNS SRV, then links); an answer with a `self` link to an ActivityStreams
//! actor makes it a fediverse account: the actor is fetched (signed GET), and each local person
//! who follows the address sends it a `Follow` (queued, signed, delivered with retries). The
//! subscription is then active; posts come to the inbox, and the `Accept` moves each follow to
//! `accepted` (a `Reject` removes it). Unfollowing sends `Undo` of the `Follow` ([`undo`]).

use super::{Fediverse, InboxError};
use crate::activitypub::actor_doc::RemoteActor;
use crate::activitypub::outbound::{follow, undo as undo_activity, Iris};
use crate::discover::jrd::REL_NODE;
use crate::net::Net;
use crate::proto::follow::FollowAnswerState;
use crate::proto::Address;
use crate::store::Store;
use std::sync::Arc;

/// Largest WebFinger answer read.
pub const MAX_JRD_BYTES: usize = 64 * 1024;
/// The media types of a JRD.
const ACCEPT_JRD: &str = "application/jrd+json, application/json";

impl Fediverse {
    /// `address`'s actor IRI by WebFinger; `None` when the domain names an msm node or no actor.
    pub fn webfinger(&self, address: &Address) -> Result<Option<String>, InboxError> {
        let url = format!(
            "https://{}/.well-known/webfinger?resource=acct:{}",
            address.domain(),
            address.as_str()
        );
        let resp = self
            .client
            .get(&url, &[("Accept", ACCEPT_JRD)], MAX_JRD_BYTES)?;
        if resp.status != 200 {
            return Ok(None);
        }
        let jrd: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|_| InboxError::KeyFetch(format!("{url}: not JSON")))?;
        let links = jrd
            .get("links")
            .and_then(|l| l.as_array())
            .cloned()
            .unwrap_or_default();
        let rel = |l: &serde_json::Value, r: &str| l.get("rel").and_then(|v| v.as_str()) == Some(r);
        if links.iter().any(|l| rel(l, REL_NODE)) {
            return Ok(None);
        }
        Ok(links
            .iter()
            .filter(|l| rel(l, "self"))
            .find(|l| {
                l.get("type").and_then(|t| t.as_str()).is_some_and(|t| {
                    t.starts_with("application/activity+json")
                        || t.starts_with("application/ld+json")
                })
            })
            .and_then(|l| l.get("href").and_then(|h| h.as_str()))
            .map(str::to_string))
    }
}

/// `author`'s actor, when its domain's WebFinger names one: `None` when it does not (msm's
/// own discovery applies), else the actor fetched with a signed GET, or why it could not be.
async fn find_actor(
    net: &Arc<Net>,
    author: &Address,
) -> Option<Result<(Arc<Fediverse>, String, RemoteActor), String>> {
    let (fed, base) = net.fediverse.get()?.clone();
    let f = fed.clone();
    let key = match net.pool.run(move |s| Ok(f.instance_key(s))).await {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => return Some(Err(e.to_string())),
        Err(e) => return Some(Err(e.to_string())),
    };
    let (a, f, b) = (author.clone(), fed.clone(), base.clone());
    let found = tokio::task::spawn_blocking(move || {
        // the same budget as key fetches: lookups cannot pile up blocking threads
        let Some(_slot) = f.fetch_slot() else {
            return Err(InboxError::Busy);
        };
        let Some(id) = f.webfinger(&a)? else {
            return Ok(None);
        };
        f.fetch_actor_with(&key, &b, &id, crate::now_ms()).map(Some)
    })
    .await;
    match found {
        // WebFinger is answered by the domain asked: the actor it names must be that address
        // (a split-domain server, or a WebFinger naming someone else's actor, is refused)
        Ok(Ok(Some(actor))) if !actor.address.as_str().eq_ignore_ascii_case(author.as_str()) => {
            Some(Err(format!(
                "{author}'s WebFinger names the actor of {}",
                actor.address
            )))
        }
        Ok(Ok(Some(actor))) => Some(Ok((fed, base, actor))),
        Ok(Ok(None)) => None,
        // a domain without HTTPS, or one the address policy refuses, is msm's to try
        Ok(Err(InboxError::KeyFetch(e))) => {
            tracing::debug!(%author, error = %e, "no fediverse account");
            None
        }
        Ok(Err(e)) => Some(Err(e.to_string())),
        Err(e) => Some(Err(e.to_string())),
    }
}

/// Makes `author` known here if it is a fediverse account, so that a search finds it (the
/// apps' `resolve=true`, before they follow by account id): `None` when it is not one (msm's
/// own preview applies), else whether it is known now.
pub async fn preview(net: &Arc<Net>, author: &Address) -> Option<Result<bool, String>> {
    let (_, _, actor) = match find_actor(net, author).await? {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let done = net
        .pool
        .run(move |s| {
            let now = crate::now_ms();
            s.remember_actor(&actor, now)?;
            s.remember_fediverse_author(&actor)
        })
        .await;
    Some(done.map(|()| true).map_err(|e| e.to_string()))
}

/// Subscribes to `author` if it is a fediverse account: `None` when it is not (msm's own
/// subscription applies), else whether following it worked.
pub async fn subscribe(net: &Arc<Net>, author: &Address) -> Option<Result<(), String>> {
    let (fed, base, actor) = match find_actor(net, author).await? {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let (a, f) = (author.clone(), fed.clone());
    let done = net
        .pool
        .run(move |s| {
            let now = crate::now_ms();
            s.remember_actor(&actor, now)?;
            let iris = Iris { base: &base };
            for (user_id, name) in s.local_followers_of(a.as_str())? {
                send_follow(s, &iris, user_id, &name, &actor.id, &actor.inbox, now)?;
            }
            s.fediverse_subscription_active(a.as_str())?;
            f.wake();
            Ok(())
        })
        .await;
    Some(done.map_err(|e| e.to_string()))
}

/// Sends local `follower`'s `Follow` to `author` if it is a known fediverse account and none
/// was sent yet; `None` when `author` is not a fediverse account (msm's request applies).
pub async fn ask(
    net: &Arc<Net>,
    follower: &Address,
    author: &Address,
) -> Option<Result<(), crate::store::StoreError>> {
    let (fed, base) = net.fediverse.get()?.clone();
    let (f, a) = (follower.clone(), author.clone());
    let asked = net
        .pool
        .run(move |s| {
            let Some(actor) = s.actor_by_address(a.as_str())? else {
                return Ok(None);
            };
            let Some(user) = s.user_by_name(f.user())? else {
                return Ok(Some(()));
            };
            let iris = Iris { base: &base };
            let now = crate::now_ms();
            send_follow(s, &iris, user.id, f.user(), &actor.id, &actor.inbox, now)?;
            fed.wake();
            Ok(Some(()))
        })
        .await;
    match asked {
        Ok(None) => None,
        Ok(Some(())) => Some(Ok(())),
        Err(e) => Some(Err(e)),
    }
}

/// Queues `user_id`'s `Follow` of `actor` (at `inbox`) unless one was sent already.
fn send_follow(
    s: &mut Store,
    iris: &Iris<'_>,
    user_id: i64,
    name: &str,
    actor: &str,
    inbox: &str,
    now: u64,
) -> Result<(), crate::store::StoreError> {
    if s.following_id(user_id, actor)?.is_some() {
        return Ok(());
    }
    let me = iris.actor(name);
    let id = format!("{me}#follows/{now}/{user_id}");
    let body = follow(id.clone(), me, actor).to_string();
    s.remember_following(user_id, actor, &id)?;
    s.queue_activity(user_id, inbox, body.as_bytes(), now)?;
    Ok(())
}

/// An `Accept` or `Reject` of this node's follow `follow_id` came from `actor`.
pub fn answered(
    store: &mut Store,
    node: super::inbox::Node<'_>,
    actor: &str,
    actor_address: &str,
    follow_id: &str,
    accept: bool,
) -> Result<bool, InboxError> {
    let Some((user_id, followed)) = store.following_by_id(follow_id)? else {
        return Ok(false);
    };
    if followed != actor {
        return Err(InboxError::NotTheActor);
    }
    let Some(name) = store.user_name(user_id)? else {
        return Ok(false);
    };
    let (Ok(me), Ok(author)) = (
        Address::parse(&format!("{name}@{}", node.domain)),
        Address::parse(actor_address),
    ) else {
        return Ok(false);
    };
    let state = if accept {
        FollowAnswerState::Accepted
    } else {
        FollowAnswerState::Rejected
    };
    store.follow_answered(&me, &author, state)?;
    if !accept {
        store.forget_following(user_id, actor)?;
        store.unfollow(user_id, &author)?;
    }
    Ok(true)
}

/// Queues the `Undo` of `user_id`'s follow of fediverse account `author`, if it was sent;
/// whether `author` is a fediverse account this node knows.
pub fn undo(
    fed: &Fediverse,
    store: &mut Store,
    base: &str,
    user_id: i64,
    author: &Address,
) -> Result<bool, InboxError> {
    let Some(actor) = store.actor_by_address(author.as_str())? else {
        return Ok(false);
    };
    let Some(follow_id) = store.following_id(user_id, &actor.id)? else {
        return Ok(true);
    };
    let Some(name) = store.user_name(user_id)? else {
        return Ok(true);
    };
    let me = Iris { base }.actor(&name);
    let earlier = follow(follow_id.clone(), me.clone(), &actor.id);
    let body = undo_activity(
        format!("{follow_id}/undo"),
        me,
        earlier,
        std::slice::from_ref(&actor.id),
        &[],
    );
    let now = crate::now_ms();
    store.queue_activity(user_id, &actor.inbox, body.to_string().as_bytes(), now)?;
    store.forget_following(user_id, &actor.id)?;
    fed.wake();
    Ok(true)
}
