//! Timelines: home, public, tag, list, an account's statuses, bookmarks, favourites.
//!
//! | path | scope | what |
//! |---|---|---|
//! | `/api/v1/timelines/home` | `read:statuses` | the viewer's home timeline |
//! | `/api/v1/timelines/public` | none | public posts and replies (`local`, `remote`, `only_media`) |
//! | `/api/v1/timelines/tag/{tag}` | none | posts with the hashtag the viewer may read (`only_media`) |
//! | `/api/v1/timelines/list/{id}` | `read:lists` | one of the viewer's lists |
//! | `/api/v1/accounts/{id}/statuses` | none | `exclude_replies`, `exclude_reblogs`, `only_media`, `pinned` |
//! | `/api/v1/bookmarks` | `read:bookmarks` | the viewer's bookmarks |
//! | `/api/v1/favourites` | `read:favourites` | posts the viewer liked |
//!
//! All page with `max_id`, `since_id`, `min_id` and `limit` ([`super::paging`]) over status
//! ids, newest first, with a `Link` header to the next and previous pages. Who may see what is
//! the store's one rule ([`crate::store::mastodon_views::Store::feed_page`]). msm has no pins:
//! `pinned=true` is an empty list. Bookmarks and favourites page by the status's id (msm keeps
//! no separate id for the act).

use super::super::io::{json, percent_decode, JsonResponse};
use super::super::WebError;
use super::entities::Entities;
use super::paging::{link, parse_id, Page};
use super::params::Params;
use super::Call;
use crate::proto::text;
use crate::store::mastodon_views::{Bounds, Feed};
use crate::web::conversation::MAX_TAG_PATH;

/// Query keys the `Link` header replaces (the others it keeps).
const PAGING_KEYS: [&str; 3] = ["max_id", "min_id", "since_id"];

/// A page of `feed` for `viewer` as Statuses with its `Link` header.
fn answer(
    c: &Call<'_>,
    p: &Params,
    feed: Feed,
    viewer: Option<i64>,
    path: &str,
) -> Result<JsonResponse, WebError> {
    let page = Page::of(p)?;
    let bounds = Bounds {
        below: page.below(),
        above: page.above(),
        oldest_first: page.oldest_first(),
        limit: page.limit,
        only_media: p.flag("only_media").unwrap_or(false),
    };
    let entries = c.store.feed_page(&feed, viewer, bounds)?;
    let base = c.base_url();
    let statuses = Entities::new(c.store, base.clone(), viewer).statuses(&entries)?;
    let ids: Vec<i64> = entries.iter().map(|e| e.cursor).collect();
    let extra = kept_query(c.query);
    Ok(link(
        json(200, &statuses),
        &format!("{base}{path}"),
        &extra,
        &ids,
    ))
}

/// The query without its paging keys, for the `Link` header.
fn kept_query(query: &str) -> String {
    query
        .split('&')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !kv.is_empty() && !PAGING_KEYS.contains(&k)
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /api/v1/accounts/{id}/statuses`
pub fn account_statuses(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let n = parse_id(id)?;
    let address = c
        .store
        .account_address(n)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    let p = c.params()?;
    if p.flag("pinned") == Some(true) {
        return Ok(json(200, &serde_json::json!([])));
    }
    let feed = Feed::Author {
        address,
        exclude_replies: p.flag("exclude_replies").unwrap_or(false),
        exclude_reblogs: p.flag("exclude_reblogs").unwrap_or(false),
    };
    answer(
        c,
        &p,
        feed,
        viewer,
        &format!("/api/v1/accounts/{n}/statuses"),
    )
}

/// `GET /api/v1/timelines/home`
pub fn home(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:statuses")?;
    let p = c.params()?;
    answer(c, &p, Feed::Home, Some(g.user.id), "/api/v1/timelines/home")
}

/// `GET /api/v1/timelines/public`
pub fn public(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let p = c.params()?;
    let local = match (p.flag("local"), p.flag("remote")) {
        (Some(true), _) => Some(true),
        (_, Some(true)) => Some(false),
        _ => None,
    };
    answer(
        c,
        &p,
        Feed::Public { local },
        viewer,
        "/api/v1/timelines/public",
    )
}

/// `GET /api/v1/timelines/tag/{tag}` (a word that is no hashtag finds nothing)
pub fn tag(c: &mut Call<'_>, tag: &str) -> Result<JsonResponse, WebError> {
    if tag.len() > MAX_TAG_PATH {
        return Err(WebError::BadRequest("hashtag too long".into()));
    }
    let viewer = c.viewer().map(|g| g.user.id);
    let raw = percent_decode(tag);
    let Some(t) = text::tags(&format!("#{}", raw.trim_start_matches('#')))
        .into_iter()
        .next()
    else {
        return Ok(json(200, &serde_json::json!([])));
    };
    let p = c.params()?;
    let path = format!("/api/v1/timelines/tag/{}", super::html::percent_encode(&t));
    answer(c, &p, Feed::Tag(t), viewer, &path)
}

/// `GET /api/v1/timelines/list/{id}` (404 for a list that is not the viewer's)
pub fn list(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:lists")?;
    let n = parse_id(id)?;
    if !c.store.list_owned(g.user.id, n)? {
        return Err(WebError::NotFound("Record not found".into()));
    }
    let p = c.params()?;
    answer(
        c,
        &p,
        Feed::List(n),
        Some(g.user.id),
        &format!("/api/v1/timelines/list/{n}"),
    )
}

/// `GET /api/v1/bookmarks`
pub fn bookmarks(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:bookmarks")?;
    let p = c.params()?;
    answer(c, &p, Feed::Bookmarks, Some(g.user.id), "/api/v1/bookmarks")
}

/// `GET /api/v1/favourites`
pub fn favourites(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:favourites")?;
    let p = c.params()?;
    answer(
        c,
        &p,
        Feed::Favourites,
        Some(g.user.id),
        "/api/v1/favourites",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_keeps_the_other_keys() {
        assert_eq!(
            kept_query("limit=2&max_id=9&local=true&min_id=1&since_id=3&"),
            "limit=2&local=true"
        );
        assert_eq!(kept_query(""), "");
    }
}
