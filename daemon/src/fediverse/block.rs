//! A local person's block of a fediverse account, told to its server as Mastodon tells it.
//!
//! The store's block has already ended both follows (`store::relations`); here, when the
//! blocked address is a fediverse actor this node knows, the activities go out through the
//! durable queue ([`super::deliver`]), signed by the blocker: a `Reject` of the actor's follow
//! if it followed (so its server drops the follow at once, as Mastodon's block does), then a
//! `Block`. An unblock sends `Undo` of that `Block`. The block's IRI carries the time it was
//! made, so a later block of the same actor is a new activity (receivers drop a repeated id)
//! and its `Undo` names the one it takes back.

use super::inbox::Node;
use super::Fediverse;
use crate::activitypub::outbound::{block as block_activity, undo, Iris};
use crate::proto::Address;
use crate::store::activitypub::KnownActor;
use crate::store::{Store, StoreError, User};

/// The IRI of `user`'s block made at `since_ms`.
fn block_id(iris: &Iris<'_>, user: &str, since_ms: u64) -> String {
    format!("{}#blocks/{since_ms}", iris.actor(user))
}

/// The fediverse actor `who` is, if this node knows it as one.
fn actor_of(store: &Store, who: &Address) -> Result<Option<KnownActor>, StoreError> {
    store.actor_by_address(who.as_str())
}

/// `user` blocked `who` (the store's block is made): queues the `Reject` of `who`'s follow, if
/// any, and the `Block`, when `who` is a fediverse account; whether it is one.
pub fn blocked(
    fed: &Fediverse,
    store: &mut Store,
    node: Node<'_>,
    user: &User,
    who: &Address,
    now_ms: u64,
) -> Result<bool, StoreError> {
    let Some(actor) = actor_of(store, who)? else {
        return Ok(false);
    };
    if let Some(follow_id) = store.follow_id(user.id, &actor.id)? {
        let answered = fed.answer(
            store,
            node,
            user.id,
            &user.address,
            &actor,
            &follow_id,
            false,
            now_ms,
        );
        if let Err(e) = answered {
            tracing::warn!(error = %e, "could not queue the Reject of a blocked follower");
        }
    }
    let Some(since) = store.block_since(user.id, who)? else {
        return Ok(true);
    };
    let iris = Iris { base: node.base };
    let me = iris.actor(user.address.user());
    let id = block_id(&iris, user.address.user(), since);
    let body = block_activity(id, me, &actor.id).to_string();
    if !store.queue_activity(user.id, &actor.inbox, body.as_bytes(), now_ms)? {
        tracing::warn!(inbox = %actor.inbox, "the fediverse outbox is full; a Block is dropped");
    }
    fed.wake();
    Ok(true)
}

/// `user` is about to unblock `who`, blocked since `since_ms`: queues the `Undo` of the `Block`
/// when `who` is a fediverse account.
pub fn unblocked(
    fed: &Fediverse,
    store: &mut Store,
    base: &str,
    user: &User,
    who: &Address,
    since_ms: u64,
) -> Result<(), StoreError> {
    let Some(actor) = actor_of(store, who)? else {
        return Ok(());
    };
    let iris = Iris { base };
    let me = iris.actor(user.address.user());
    let id = block_id(&iris, user.address.user(), since_ms);
    let earlier = block_activity(id.clone(), me.clone(), &actor.id);
    let body = undo(
        format!("{id}/undo"),
        me,
        earlier,
        std::slice::from_ref(&actor.id),
        &[],
    )
    .to_string();
    let now = crate::now_ms();
    if !store.queue_activity(user.id, &actor.inbox, body.as_bytes(), now)? {
        tracing::warn!(inbox = %actor.inbox, "the fediverse outbox is full; an Undo is dropped");
    }
    fed.wake();
    Ok(())
}
