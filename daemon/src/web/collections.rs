//! `GET /users/{name}/{outbox,followers,following}` and `.../collections/featured`: the
//! collections an account's actor names, paged as Mastodon pages them
//! ([`crate::activitypub::collection`]).
//!
//! Without a query each is an `OrderedCollection` with its size (what Mastodon shows as an
//! account's counts) and its `first` page. The outbox's pages (`?page=true[&max_id=SEQ]`)
//! list the `Create` of each public post and the `Announce` of each boost, newest first; the
//! pages of followers and following (`?page=N`) list actor IRIs (a fediverse account's own, an
//! msm account's `https://domain/users/name`), accepted follows only. msm has no pinned posts:
//! featured is an empty list. At most [`PAGE_SIZE`] items a page; a bad query is a 400.

use super::api::Context;
use super::io::{static_header, JsonResponse};
use super::public::{base_url, local_user};
use super::WebError;
use crate::activitypub::collection::{
    actor_iri, collection as whole, numbered_next, numbered_page_iri, outbox_next, outbox_page_iri,
    page, read_query, Part, PAGE_SIZE,
};
use crate::activitypub::outbound::{listed_collection, Iris};
use crate::store::ap_collections::Member;
use crate::store::Store;
use tiny_http::Response;

/// An actor's collection: `which` is `followers`, `following`, `outbox` or `featured`;
/// `query` the request's query string.
pub fn collection(
    ctx: &Context,
    store: &Store,
    name: &str,
    which: &str,
    query: &str,
) -> Result<JsonResponse, WebError> {
    let (address, _) = local_user(ctx, store, name)?;
    let row = store
        .account_row(address.as_str())?
        .ok_or_else(|| WebError::NotFound(format!("no user {name} here")))?;
    let base = base_url(ctx);
    let (iris, user) = (Iris { base: &base }, address.user());
    let by_post = which == "outbox";
    let part = read_query(query, by_post).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let (id, total) = match which {
        "followers" => (iris.followers(user), row.followers),
        "following" => (iris.following(user), row.following),
        "outbox" => (iris.outbox(user), row.statuses),
        // msm has no pinned posts yet
        "featured" => {
            let doc = listed_collection(&iris.featured(user), Vec::new());
            return Ok(activity_json(&doc));
        }
        _ => return Err(WebError::NotFound(format!("no collection {which}"))),
    };
    let members = |n: u32, list: Vec<Member>| {
        let items = list
            .iter()
            .map(|m| actor_iri(&base, &ctx.domain, &m.address, m.actor.as_deref()).into())
            .collect();
        page(
            &id,
            &numbered_page_iri(&id, n),
            items,
            numbered_next(&id, n, total),
        )
    };
    let offset = |n: u32| u64::from(n - 1) * PAGE_SIZE as u64;
    let doc = match (which, part) {
        ("outbox", Part::Whole) => whole(&id, total, &outbox_page_iri(&id, None)),
        (_, Part::Whole) => whole(&id, total, &numbered_page_iri(&id, 1)),
        ("outbox", Part::Before(before)) => {
            let posts = store.public_posts_before(address.as_str(), before, PAGE_SIZE)?;
            let oldest = posts.last().map(|(seq, _)| *seq);
            let shown = posts.len();
            let items = posts
                .iter()
                .filter_map(|(_, m)| super::actor::stored_activity(&base, &ctx.domain, store, m))
                .collect();
            let next = outbox_next(&id, shown, oldest);
            page(&id, &outbox_page_iri(&id, before), items, next)
        }
        ("followers", Part::Numbered(n)) => members(
            n,
            store.followers_page(address.as_str(), offset(n), PAGE_SIZE)?,
        ),
        ("following", Part::Numbered(n)) => {
            let user_id = store
                .user_by_name(user)?
                .ok_or_else(|| WebError::NotFound(format!("no user {name} here")))?
                .id;
            members(n, store.following_page(user_id, offset(n), PAGE_SIZE)?)
        }
        _ => return Err(WebError::BadRequest("no such page".into())),
    };
    Ok(activity_json(&doc))
}

fn activity_json(doc: &serde_json::Value) -> JsonResponse {
    Response::from_data(doc.to_string().into_bytes())
        .with_header(static_header("Content-Type", super::actor::ACTIVITY_JSON))
        .with_header(static_header("Access-Control-Allow-Origin", "*"))
}
