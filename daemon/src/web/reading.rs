//! Handlers that read: the home timeline, the discover window, profiles, threads, search and
//! people search.
//!
//! Any text is a search query ([`crate::store::fts_query`]): only a missing `q`, an over-long
//! one or an offset out of range is a 400.
//!
//! Search looks in the stored messages and, for a logged-in viewer, in the discover window
//! ([`crate::store::discover`]): `scope=all` (the default) lists the stored matches first, best
//! first, then the discover matches, best first, with `offset` counting over both (the two
//! rankings are not comparable, and author-verified posts deserve the top); `scope=posts` and
//! `scope=discover` look in one only. Discover results carry `"via": "firehose"`. Anonymous
//! visitors search the stored public posts only: the window holds what the hub vouches for, not
//! what this node verified, so it is shown to the node's own users.
//!
//! People search (`/api/v1/search/people`, [`crate::store::people`]) is for logged-in users
//! only: the remote authors a node knows are, mostly, the people its household follows, and
//! that list is theirs, not every visitor's.

use super::api::{Context, DEFAULT_PAGE};
use super::auth;
use super::io::{json, percent_decode, query_param, JsonResponse};
use super::WebError;
use crate::proto::{Address, MessageId};
use crate::store::discover::SearchScope;
use crate::store::messages::MAX_PAGE;
use crate::store::people::MAX_PEOPLE_RESULTS;
use crate::store::relations::Relation;
use crate::store::Store;
use serde_json::json;
use tiny_http::Request;

/// `?limit=N` (default [`DEFAULT_PAGE`], 1 to [`MAX_PAGE`]).
pub fn page_limit(query: &str) -> Result<u32, WebError> {
    match query_param(query, "limit") {
        None => Ok(DEFAULT_PAGE),
        Some(l) => match l.parse::<u32>() {
            Ok(n @ 1..=MAX_PAGE) => Ok(n),
            _ => Err(WebError::BadRequest(format!(
                "limit must be 1 to {MAX_PAGE}"
            ))),
        },
    }
}

/// `?name=N` as a non-negative number, if present.
pub fn number_param(query: &str, name: &str) -> Result<Option<u64>, WebError> {
    match query_param(query, name) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| WebError::BadRequest(format!("{name} must be a number"))),
    }
}

/// An address from a path segment: `alice@domain`, or `alice` for a user of this node.
pub fn address_in_path(ctx: &Context, segment: &str) -> Result<Address, WebError> {
    let who = percent_decode(segment);
    Ok(if who.contains('@') {
        Address::parse(&who)?
    } else {
        Address::new(&who, &ctx.domain)?
    })
}

/// `GET /api/v1/timeline?before=CURSOR&limit=N`
pub fn timeline(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let before = number_param(query, "before")?.map(|b| b as i64);
    let limit = page_limit(query)?;
    Ok(entries_page(
        store.timeline(s.user.id, before, limit)?,
        limit,
    ))
}

/// A page of timeline entries: `{posts, next_before}` (the cursor of the last entry when the
/// page is full, for `?before=`).
pub fn entries_page(posts: Vec<crate::store::timeline::Entry>, limit: u32) -> JsonResponse {
    let next = (posts.len() as u32 == limit)
        .then(|| posts.last().map(|p| p.cursor))
        .flatten();
    json(200, &json!({ "posts": posts, "next_before": next }))
}

/// A message id from the path segments `{author}/{seq}`.
pub fn message_id_in_path(ctx: &Context, who: &str, seq: &str) -> Result<MessageId, WebError> {
    Ok(MessageId {
        author: address_in_path(ctx, who)?,
        seq: seq_in_path(seq)?,
    })
}

/// A seq number from a path segment.
pub fn seq_in_path(segment: &str) -> Result<u64, WebError> {
    segment
        .parse()
        .map_err(|_| WebError::BadRequest(format!("{segment:?} is not a seq number")))
}

/// `GET /api/v1/discover?before=CURSOR&limit=N`
pub fn discover(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let before = number_param(query, "before")?.map(|b| b as i64);
    let limit = page_limit(query)?;
    let posts = store.discover_for(Some(s.user.id), before, limit)?;
    let next = (posts.len() as u32 == limit)
        .then(|| posts.last().map(|p| p.cursor))
        .flatten();
    Ok(json(200, &json!({ "posts": posts, "next_before": next })))
}

/// `GET /api/v1/users/{address}`
pub fn profile(
    ctx: &Context,
    store: &Store,
    req: &Request,
    who: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let address = address_in_path(ctx, who)?;
    let viewer = auth::optional(store, req, now).map(|u| u.id);
    match store.profile(&address, viewer)? {
        Some(p) => {
            // what the viewer holds against this address ([`super::relations`])
            let rel = match viewer {
                Some(uid) => store.relation(uid, &address)?,
                None => None,
            };
            let mut v = serde_json::to_value(&p).map_err(|e| WebError::Internal(e.to_string()))?;
            v["muted"] = json!(rel == Some(Relation::Mute));
            v["blocked"] = json!(rel == Some(Relation::Block));
            Ok(json(200, &v))
        }
        None => Err(WebError::NotFound(format!("nothing known of {address}"))),
    }
}

/// `GET /api/v1/thread/{author}/{seq}`
pub fn thread(
    ctx: &Context,
    store: &Store,
    req: &Request,
    who: &str,
    seq: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let MessageId { author, seq } = message_id_in_path(ctx, who, seq)?;
    let viewer = auth::optional(store, req, now).map(|u| u.id);
    let (post, replies) = store.thread(&author, seq, viewer)?;
    if post.is_none() && replies.is_empty() {
        return Err(WebError::NotFound(format!("no post {author}/{seq} here")));
    }
    Ok(json(200, &json!({ "post": post, "replies": replies })))
}

/// `?scope=all|posts|discover` (default `all`).
fn search_scope(query: &str) -> Result<SearchScope, WebError> {
    match query_param(query, "scope").as_deref() {
        None | Some("all") => Ok(SearchScope::All),
        Some("posts") => Ok(SearchScope::Posts),
        Some("discover") => Ok(SearchScope::Discover),
        Some(other) => Err(WebError::BadRequest(format!(
            "scope {other:?} is not \"all\", \"posts\" or \"discover\""
        ))),
    }
}

/// `GET /api/v1/search?q=...&limit=N&offset=K&scope=S`
pub fn search(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let viewer = auth::optional(store, req, now).map(|u| u.id);
    let q = query_param(query, "q").ok_or_else(|| WebError::BadRequest("q is missing".into()))?;
    let limit = page_limit(query)?;
    let offset = number_param(query, "offset")?
        .unwrap_or(0)
        .min(u64::from(u32::MAX)) as u32;
    let scope = match (search_scope(query)?, viewer) {
        (SearchScope::Discover, None) => return Err(WebError::Unauthorized("log in first")),
        (_, None) => SearchScope::Posts,
        (scope, Some(_)) => scope,
    };
    let posts = store.search_scoped(&q, viewer, scope, offset, limit)?;
    let next = (posts.len() as u32 == limit).then_some(offset + limit);
    Ok(json(
        200,
        &json!({ "query": q, "posts": posts, "next_offset": next }),
    ))
}

/// People in an answer when `?limit` is not given.
pub const DEFAULT_PEOPLE: u32 = 20;

/// `GET /api/v1/search/people?q=...&limit=N`
pub fn search_people(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let viewer = auth::require(store, req, now, false)?.user.id;
    let q = query_param(query, "q").ok_or_else(|| WebError::BadRequest("q is missing".into()))?;
    let limit = match query_param(query, "limit") {
        None => DEFAULT_PEOPLE,
        Some(l) => match l.parse::<u32>() {
            Ok(n @ 1..=MAX_PEOPLE_RESULTS) => n,
            _ => {
                return Err(WebError::BadRequest(format!(
                    "limit must be 1 to {MAX_PEOPLE_RESULTS}"
                )))
            }
        },
    };
    let people = store.search_people(&q, Some(viewer), limit)?;
    Ok(json(200, &json!({ "query": q, "people": people })))
}
