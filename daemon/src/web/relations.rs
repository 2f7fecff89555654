//! Mutes, blocks and the owner's domain blocks in the API (see `store::relations`).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST, GET | `/api/v1/mutes` | mute `{"address"}`; list `{"mutes": [{"address", "created_ms"}]}` |
//! | DELETE | `/api/v1/mutes/{address}` | unmute |
//! | POST, GET | `/api/v1/blocks` | block `{"address"}`; list `{"blocks": [...]}` |
//! | DELETE | `/api/v1/blocks/{address}` | unblock (following is not restored) |
//! | GET, POST | `/api/v1/admin/domain_blocks` | owner only: list; block `{"domain"}` |
//! | DELETE | `/api/v1/admin/domain_blocks/{domain}` | owner only: unblock |
//!
//! A block also unfollows the blocked person (unsubscribing at their node when they were the
//! last followed person there) and tells the blocked person's server that their follow is
//! rejected, in the background; the store has already removed them from the followers. A
//! fediverse account's server is sent `Reject` of its follow and `Block`, and `Undo` of the
//! `Block` when it is lifted ([`crate::fediverse::block`]).

use super::admin::require_owner;
use super::api::Context;
use super::auth;
use super::federation::MAX_SMALL_BODY;
use super::io::{json, percent_decode, read_json, JsonResponse};
use super::WebError;
use crate::proto::follow::FollowAnswerState;
use crate::proto::Address;
use crate::store::relations::Relation;
use crate::store::{Store, User};
use serde::Deserialize;
use serde_json::json;
use tiny_http::Request;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    address: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainBody {
    domain: String,
}

/// The kind named by the path's collection (`mutes` or `blocks`).
pub fn kind_of(collection: &str) -> Relation {
    if collection == "blocks" {
        Relation::Block
    } else {
        Relation::Mute
    }
}

/// The address of a mute or block: parsed, not oneself, and a real user when local.
fn target(ctx: &Context, store: &Store, me: &Address, raw: &str) -> Result<Address, WebError> {
    let a = Address::parse(raw.trim())?;
    check_target(ctx, store, me, &a)?;
    Ok(a)
}

/// Refuses to mute or block oneself or a local name that is nobody.
pub fn check_target(
    ctx: &Context,
    store: &Store,
    me: &Address,
    a: &Address,
) -> Result<(), WebError> {
    if a == me {
        return Err(WebError::BadRequest(
            "you cannot mute or block yourself".into(),
        ));
    }
    if a.domain() == ctx.domain && !store.is_local_user(a)? {
        return Err(WebError::NotFound(format!("no user {a} on this node")));
    }
    Ok(())
}

/// `POST /api/v1/mutes|blocks {"address"}`
pub fn add(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    kind: Relation,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let body: AddressBody = read_json(req, MAX_SMALL_BODY)?;
    let who = target(ctx, store, &s.user.address, &body.address)?;
    relate(ctx, store, &s.user, kind, &who, now)?;
    let state = if kind == Relation::Mute {
        "muted"
    } else {
        "blocked"
    };
    Ok(json(
        200,
        &json!({ "address": who.as_str(), "state": state }),
    ))
}

/// `user` mutes or blocks `who` (checked by [`check_target`]); a block also unfollows them
/// and tells their server their follow is rejected. Shared by msm's API and Mastodon's.
pub fn relate(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    kind: Relation,
    who: &Address,
    now: u64,
) -> Result<(), WebError> {
    if kind == Relation::Mute {
        store.mute(user.id, who, now)?;
        tracing::info!(user = %user.address, target = %who, "muted");
        return Ok(());
    }
    let done = store.block(user.id, &user.address, who, now)?;
    tracing::info!(user = %user.address, target = %who, ?done, "blocked");
    // a fediverse account's server hears of it as Mastodon tells it: `Reject` and `Block`
    let fediverse = match ctx.net.fediverse.get() {
        Some((fed, base)) => {
            let node = crate::fediverse::inbox::Node {
                base,
                domain: &ctx.domain,
            };
            // the block itself is stored: a failure to queue the activities is logged, and
            // the rest (unfollowing, telling msm servers) still happens
            crate::fediverse::block::blocked(fed, store, node, user, who, now).unwrap_or_else(|e| {
                tracing::warn!(error = %e, target = %who, "could not queue the Block");
                false
            })
        }
        None => false,
    };
    if done.was_following {
        let (net, uid, a) = (ctx.net.clone(), user.id, who.clone());
        let f = user.address.clone();
        ctx.runtime.block_on(async move {
            if a.domain() != net.domain && !fediverse {
                crate::net::follow::undo(&net, &f, &a).await;
            }
            if let Err(e) = net.unfollow(uid, a).await {
                tracing::info!(error = %e, "unfollowing a blocked person");
            }
        });
    }
    if let Some(server) = done.tell_server.filter(|s| !crate::fediverse::is_inbox(s)) {
        let (net, follower, author) = (ctx.net.clone(), who.clone(), user.address.clone());
        ctx.runtime.spawn(async move {
            let rejected = FollowAnswerState::Rejected;
            let told = crate::net::follow::answer(&net, &server, follower, author, rejected);
            if let Err(e) = told.await {
                tracing::info!(%server, error = %e, "could not tell a blocked follower's node");
            }
        });
    }
    Ok(())
}

/// `GET /api/v1/mutes|blocks`
pub fn list(
    store: &Store,
    req: &Request,
    kind: Relation,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let rows = store.relations(s.user.id, kind)?;
    let key = if kind == Relation::Block {
        "blocks"
    } else {
        "mutes"
    };
    Ok(json(200, &json!({ key: rows })))
}

/// `DELETE /api/v1/mutes|blocks/{address}`
pub fn remove(
    ctx: &Context,
    store: &mut Store,
    req: &Request,
    kind: Relation,
    who: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let who = Address::parse(&percent_decode(who))?;
    if !unrelate(ctx, store, &s.user, kind, &who)? {
        let word = if kind == Relation::Mute {
            "muted"
        } else {
            "blocked"
        };
        return Err(WebError::NotFound(format!("{who} is not {word}")));
    }
    Ok(json(
        200,
        &json!({ "address": who.as_str(), "state": "none" }),
    ))
}

/// `user` unmutes or unblocks `who`; false when there was no such mute or block. An unblock
/// of a fediverse account sends its server `Undo` of the `Block`.
pub fn unrelate(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    kind: Relation,
    who: &Address,
) -> Result<bool, WebError> {
    let removed = match kind {
        Relation::Mute => store.unmute(user.id, who)?,
        Relation::Block => {
            let since = store.block_since(user.id, who)?;
            let removed = store.unblock(user.id, who)?;
            if let (true, Some(since), Some((fed, base))) =
                (removed, since, ctx.net.fediverse.get())
            {
                if let Err(e) =
                    crate::fediverse::block::unblocked(fed, store, base, user, who, since)
                {
                    tracing::warn!(error = %e, target = %who, "could not queue the Undo(Block)");
                }
            }
            removed
        }
    };
    if removed {
        tracing::info!(user = %user.address, target = %who, ?kind, "undone");
    }
    Ok(removed)
}

/// `GET /api/v1/admin/domain_blocks`
pub fn list_domains(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    require_owner(store, req, now)?;
    Ok(json(
        200,
        &json!({ "domain_blocks": store.domain_blocks()? }),
    ))
}

/// `POST /api/v1/admin/domain_blocks {"domain"}`: 201 when new, 200 when blocked already.
pub fn add_domain(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = require_owner(store, req, now)?;
    let body: DomainBody = read_json(req, MAX_SMALL_BODY)?;
    let domain = crate::proto::address::canonical_domain(body.domain.trim())?;
    let added = store.block_domain(&domain, now)?;
    ctx.net.blocked_domains.reload(store)?;
    tracing::info!(owner = %s.user.address, %domain, added, "domain blocked");
    Ok(json(
        if added { 201 } else { 200 },
        &json!({ "domain": domain, "state": "blocked" }),
    ))
}

/// `DELETE /api/v1/admin/domain_blocks/{domain}`
pub fn remove_domain(
    ctx: &Context,
    store: &mut Store,
    req: &Request,
    domain: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = require_owner(store, req, now)?;
    let domain = crate::proto::address::canonical_domain(&percent_decode(domain))?;
    if !store.unblock_domain(&domain)? {
        return Err(WebError::NotFound(format!("{domain} is not blocked")));
    }
    ctx.net.blocked_domains.reload(store)?;
    tracing::info!(owner = %s.user.address, %domain, "domain unblocked");
    Ok(json(200, &json!({ "domain": domain, "state": "none" })))
}
