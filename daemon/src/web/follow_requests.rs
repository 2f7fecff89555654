//! Approval of followers in the API: the account setting and the requests waiting for it.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET, PUT | `/api/v1/account/settings` | `{"locked"}`: followers need approval |
//! | GET | `/api/v1/follow_requests` | `{"requests": [{"address", "local", "created_ms"}]}` |
//! | POST | `/api/v1/follow_requests/{address}/authorize` | accept one |
//! | POST | `/api/v1/follow_requests/{address}/reject` | refuse one (the follow is removed) |
//!
//! A decision on a remote follower is told to its server at once (best effort: the follower's
//! node asks again while it sees the request pending, see `net::follow`).

use super::api::Context;
use super::auth;
use super::federation::MAX_SMALL_BODY;
use super::io::{json, percent_decode, read_json, JsonResponse};
use super::WebError;
use crate::proto::follow::FollowAnswerState;
use crate::proto::Address;
use crate::store::approvals::Decided;
use crate::store::{Store, User};
use serde::Deserialize;
use serde_json::json;
use tiny_http::Request;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    locked: bool,
}

/// `GET /api/v1/account/settings`
pub fn settings(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    Ok(json(200, &json!({ "locked": store.is_locked(s.user.id)? })))
}

/// `PUT /api/v1/account/settings`: unlocking accepts every waiting request.
pub fn set_settings(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let b: SettingsBody = read_json(req, MAX_SMALL_BODY)?;
    set_locked(ctx, store, &s.user, b.locked)?;
    Ok(json(200, &json!({ "locked": b.locked })))
}

/// Locks or unlocks `user`'s account (unlocking accepts every waiting request, and tells
/// the remote followers' servers): shared by msm's settings and Mastodon's
/// `update_credentials`.
pub fn set_locked(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    locked: bool,
) -> Result<(), WebError> {
    let accepted = store.set_locked(user.id, locked)?;
    tracing::info!(user = %user.address, locked, accepted = accepted.len(), "account settings");
    for (server, follower) in accepted {
        if let Ok(f) = Address::parse(&follower) {
            tell(ctx, &server, f, &user.address, FollowAnswerState::Accepted);
        }
    }
    Ok(())
}

/// `GET /api/v1/follow_requests`
pub fn list(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let requests = store.follow_requests(&s.user.address)?;
    Ok(json(200, &json!({ "requests": requests })))
}

/// `POST /api/v1/follow_requests/{address}/authorize|reject`
pub fn decide(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    who: &str,
    action: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let accept = match action {
        "authorize" => true,
        "reject" => false,
        _ => return Err(WebError::NotFound(format!("no such action: {action}"))),
    };
    let follower = Address::parse(&percent_decode(who))?;
    if !decide_request(ctx, store, &s.user, &follower, accept)? {
        return Err(WebError::NotFound(format!(
            "no request from {follower} waits"
        )));
    }
    let shown = if accept { "accepted" } else { "rejected" };
    Ok(json(
        200,
        &json!({ "address": follower.as_str(), "state": shown }),
    ))
}

/// `user` accepts or refuses `follower`'s waiting request, telling a remote follower's
/// server; false when no request from them waits. Shared by msm's API and Mastodon's.
pub fn decide_request(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    follower: &Address,
    accept: bool,
) -> Result<bool, WebError> {
    let Some(decided) = store.decide_follow(&user.address, follower, accept)? else {
        return Ok(false);
    };
    let state = if accept {
        FollowAnswerState::Accepted
    } else {
        FollowAnswerState::Rejected
    };
    if let Decided::Remote(server) = decided {
        if crate::fediverse::is_inbox(&server) {
            answer_fediverse(ctx, store, user, follower, &server, accept)?;
        } else {
            tell(ctx, &server, follower.clone(), &user.address, state);
        }
    }
    tracing::info!(user = %user.address, %follower, accept, "follow request decided");
    Ok(true)
}

/// Queues the `Accept` or `Reject` of a fediverse follower's waiting follow; a refused
/// follower's server is unsubscribed once nobody there follows `user`.
fn answer_fediverse(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    follower: &Address,
    server: &str,
    accept: bool,
) -> Result<(), WebError> {
    let (Some(fed), Some(actor)) = (&ctx.fediverse, store.actor_by_address(follower.as_str())?)
    else {
        return Ok(());
    };
    let Some(follow_id) = store.follow_id(user.id, &actor.id)? else {
        return Ok(());
    };
    let base = super::public::base_url(ctx);
    let node = crate::fediverse::inbox::Node {
        base: &base,
        domain: &ctx.domain,
    };
    let now = crate::now_ms();
    fed.answer(
        store,
        node,
        user.id,
        &user.address,
        &actor,
        &follow_id,
        accept,
        now,
    )
    .map_err(|e| WebError::BadRequest(e.to_string()))?;
    if !accept {
        store.unsubscribe_if_unfollowed(&user.address, server)?;
    }
    Ok(())
}

/// Tells `server` the decision in the background (a slow node does not hold the request).
fn tell(
    ctx: &Context,
    server: &str,
    follower: Address,
    author: &Address,
    state: FollowAnswerState,
) {
    let (net, server, author) = (ctx.net.clone(), server.to_string(), author.clone());
    ctx.runtime.spawn(async move {
        if let Err(e) = crate::net::follow::answer(&net, &server, follower, author, state).await {
            tracing::info!(%server, error = %e, "could not tell the follower's node; it will ask again");
        }
    });
}
