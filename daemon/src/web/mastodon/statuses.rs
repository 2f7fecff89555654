//! Statuses: create, get, delete, edit, context, source, history, favourite, reblog, bookmark.
//!
//! | method | path | scope | what |
//! |---|---|---|---|
//! | POST | `/api/v1/statuses` | `write:statuses` | publish (`Idempotency-Key` honoured) |
//! | GET | `/api/v1/statuses/{id}` | none | the Status (404 when the viewer may not read it) |
//! | DELETE | `/api/v1/statuses/{id}` | `write:statuses` | delete one's own; the Status with `text` |
//! | PUT | `/api/v1/statuses/{id}` | `write:statuses` | edit text and content warning |
//! | GET | `/api/v1/statuses/{id}/context` | none | ancestors and descendants |
//! | GET | `/api/v1/statuses/{id}/source` | `read:statuses` | `{id, text, spoiler_text}` of one's own |
//! | GET | `/api/v1/statuses/{id}/history` | none | StatusEdit list, oldest first |
//! | GET | `/api/v1/statuses/{id}/favourited_by`, `reblogged_by` | none | Accounts |
//! | POST | `/api/v1/statuses/{id}/favourite`, `unfavourite` | `write:favourites` | like, unlike |
//! | POST | `/api/v1/statuses/{id}/reblog`, `unreblog` | `write:statuses` | repost, undo |
//! | POST | `/api/v1/statuses/{id}/bookmark`, `unbookmark` | `write:bookmarks` | bookmark |
//! | POST | `/api/v1/statuses/{id}/pin`, `unpin`, `mute`, `unmute` | | 422: msm has none |
//!
//! Publishing goes through the same functions as msm's own API
//! ([`crate::web::conversation::publish_draft`], `publish_edit`, `publish_act`,
//! `publish_undo`), so the same checks and posting limits apply. Visibility `unlisted` is
//! published as msm `public` (msm has no "public but out of public timelines"; the post is
//! readable by all, so it is not made narrower than asked) and answered back as `public`;
//! `private` is msm `followers`. Acting on a reblog acts on the reblogged post, as Mastodon does.

use super::super::api::publish_view;
use super::super::conversation::{
    publish_act, publish_draft, publish_edit, publish_undo, Act, Draft, MediaRef,
};
use super::super::io::{header, json, JsonResponse};
use super::super::WebError;
use super::entities::Entities;
use super::paging::{parse_id, Page};
use super::Call;
use crate::proto::attachment::{parse_hex256, MAX_ATTACHMENTS};
use crate::proto::{Address, Audience, Body, MessageId};
use crate::store::mastodon_views::split_ref;
use crate::store::timeline::Entry;
use crate::store::PostView;
use serde_json::{json as j, Value};

/// How long an `Idempotency-Key` names the status it made (Mastodon keeps it an hour).
pub const IDEMPOTENCY_TTL_MS: u64 = 3600 * 1000;
/// Longest `Idempotency-Key` taken, in bytes (clients send a UUID or a hash).
pub const MAX_IDEMPOTENCY_KEY: usize = 256;
/// Most `media_ids` a status carries (msm's, and Mastodon's, four pictures).
pub const MAX_MEDIA_IDS: usize = MAX_ATTACHMENTS;

/// Held while a status with an `Idempotency-Key` is looked up and published, so the same
/// request sent twice at once publishes once (posts without a key do not wait for it).
static KEYED_POSTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// msm's audience for Mastodon's visibility; 422 for another word.
pub fn audience_of_visibility(v: &str) -> Result<&'static str, WebError> {
    match v {
        "public" | "unlisted" => Ok("public"),
        "private" => Ok("followers"),
        "direct" => Ok("direct"),
        other => Err(WebError::Unprocessable(format!(
            "visibility {other:?} is not public, unlisted, private or direct"
        ))),
    }
}

/// A status the viewer may read, or 404.
fn visible(c: &Call<'_>, id: &str, viewer: Option<i64>) -> Result<Entry, WebError> {
    let n = parse_id(id)?;
    c.store
        .status_entry(n, viewer)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))
}

/// The post a status is about: itself, or the post a reblog repeats (404 when not readable).
fn target(c: &Call<'_>, e: Entry, viewer: Option<i64>) -> Result<Entry, WebError> {
    if e.post.kind != "repost" {
        return Ok(e);
    }
    let (author, seq) = e
        .post
        .refers_to
        .as_deref()
        .and_then(split_ref)
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    c.store
        .entry_at(author, seq, viewer)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))
}

fn message_id(e: &Entry) -> Result<MessageId, WebError> {
    Ok(MessageId {
        author: Address::parse(&e.post.author)?,
        seq: e.post.seq,
    })
}

/// The Status of the message just published.
fn published(c: &Call<'_>, view: &PostView, viewer: i64) -> Result<Value, WebError> {
    let id = c
        .store
        .message_id_of(&Address::parse(&view.author)?, view.seq)?
        .ok_or_else(|| WebError::Internal("a published message is not stored".into()))?;
    status_of(c, id, viewer)
}

fn status_of(c: &Call<'_>, id: i64, viewer: i64) -> Result<Value, WebError> {
    let e = c
        .store
        .status_entry(id, Some(viewer))?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    Entities::new(c.store, c.base_url(), Some(viewer)).status(&e)
}

/// `POST /api/v1/statuses`
pub fn create(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:statuses")?;
    let key = match header(c.req, "Idempotency-Key") {
        Some(k) if k.len() > MAX_IDEMPOTENCY_KEY => {
            return Err(WebError::Unprocessable(format!(
                "Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} bytes"
            )))
        }
        Some(k) if !k.is_empty() => Some(crate::identity::token_hash(k)),
        _ => None,
    };
    // two copies of one keyed request sent at once: the second waits, then finds the first's
    let _one_at_a_time = key
        .is_some()
        .then(|| KEYED_POSTS.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(k) = &key {
        if let Some(id) = c
            .store
            .idempotent_status(g.user.id, k, c.now, IDEMPOTENCY_TTL_MS)?
        {
            return Ok(json(200, &status_of(c, id, g.user.id)?));
        }
    }
    let p = c.params()?;
    if p.text("poll[expires_in]").is_some() || !p.list("poll[options]").is_empty() {
        return Err(WebError::Unprocessable("msm has no polls".into()));
    }
    if p.text("scheduled_at").is_some() {
        return Err(WebError::Unprocessable(
            "msm does not schedule statuses".into(),
        ));
    }
    let ids = p.list("media_ids");
    if ids.len() > MAX_MEDIA_IDS {
        return Err(WebError::Unprocessable(format!(
            "a status carries at most {MAX_MEDIA_IDS} pictures"
        )));
    }
    let mut media = Vec::with_capacity(ids.len());
    for id in ids {
        let alt = match parse_hex256(id) {
            Some(sha) => c.store.upload_description(g.user.id, &sha)?,
            None => String::new(),
        };
        media.push(MediaRef {
            id: id.to_string(),
            alt,
            blurhash: String::new(),
        });
    }
    let text = p.get("status").unwrap_or("").to_string();
    if text.trim().is_empty() && media.is_empty() {
        return Err(WebError::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    let reply_to = match p.text("in_reply_to_id") {
        Some(id) => {
            let e = visible(c, id, Some(g.user.id))?;
            Some(message_id(&target(c, e, Some(g.user.id))?)?)
        }
        None => None,
    };
    let audience = p
        .text("visibility")
        .map(audience_of_visibility)
        .transpose()?
        .map(str::to_string);
    let draft = Draft {
        text,
        audience,
        reply_to,
        summary: p.get("spoiler_text").unwrap_or("").to_string(),
        media,
    };
    let view = publish_draft(c.ctx, c.store, &g.user, draft)?;
    let status = published(c, &view, g.user.id)?;
    if let Some(k) = &key {
        let id = parse_id(status["id"].as_str().unwrap_or(""))?;
        c.store
            .remember_idempotency(g.user.id, k, id, c.now, IDEMPOTENCY_TTL_MS)?;
    }
    Ok(json(200, &status))
}

/// `GET /api/v1/statuses/{id}`
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let e = visible(c, id, viewer)?;
    let s = Entities::new(c.store, c.base_url(), viewer).status(&e)?;
    Ok(json(200, &s))
}

/// One's own status, or 404.
fn own(c: &Call<'_>, id: &str, user_id: i64, address: &Address) -> Result<Entry, WebError> {
    let e = visible(c, id, Some(user_id))?;
    if e.post.author != address.as_str() {
        return Err(WebError::NotFound("Record not found".into()));
    }
    Ok(e)
}

/// `DELETE /api/v1/statuses/{id}`: the deleted Status with its `text` (for "delete and
/// redraft").
pub fn delete(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:statuses")?;
    let e = own(c, id, g.user.id, &g.user.address)?;
    let mut s = Entities::new(c.store, c.base_url(), Some(g.user.id)).status(&e)?;
    s["text"] = j!(e.post.text.clone().unwrap_or_default());
    publish_view(
        c.ctx,
        g.user.id,
        Audience::Public,
        Body::Delete { target: e.post.seq },
    )?;
    Ok(json(200, &s))
}

/// `PUT /api/v1/statuses/{id}`: a new text and content warning (msm edits change nothing
/// else: other pictures than the status has are 422).
pub fn edit(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:statuses")?;
    let e = own(c, id, g.user.id, &g.user.address)?;
    if !matches!(e.post.kind.as_str(), "post" | "reply") {
        return Err(WebError::Unprocessable(
            "only a post or a reply can be edited".into(),
        ));
    }
    let p = c.params()?;
    if p.text("poll[expires_in]").is_some() || !p.list("poll[options]").is_empty() {
        return Err(WebError::Unprocessable("msm has no polls".into()));
    }
    let ids = p.list("media_ids");
    let now: Vec<&str> = e
        .post
        .media
        .iter()
        .map(|m| m.url.trim_start_matches("/media/"))
        .collect();
    if !ids.is_empty() && ids != now {
        return Err(WebError::Unprocessable(
            "an msm edit changes the text and content warning, not the pictures".into(),
        ));
    }
    let text = match p.get("status") {
        Some(t) => t.to_string(),
        None => e.post.text.clone().unwrap_or_default(),
    };
    if text.trim().is_empty() && now.is_empty() {
        return Err(WebError::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    let summary = match p.get("spoiler_text") {
        Some(s) => s.to_string(),
        None => e.post.summary.clone().unwrap_or_default(),
    };
    publish_edit(c.ctx, c.store, &g.user, e.post.seq, text, summary)?;
    Ok(json(200, &status_of(c, e.cursor, g.user.id)?))
}

/// `GET /api/v1/statuses/{id}/context`: the statuses it answers (oldest first) and those
/// answering it stored here.
pub fn context(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let e = visible(c, id, viewer)?;
    let mut ancestors = c.store.ancestors(&e, viewer)?;
    ancestors.reverse();
    let descendants = c.store.descendants(&e, viewer)?;
    let mut en = Entities::new(c.store, c.base_url(), viewer);
    let body = j!({
        "ancestors": en.statuses(&ancestors)?,
        "descendants": en.statuses(&descendants)?,
    });
    Ok(json(200, &body))
}

/// `GET /api/v1/statuses/{id}/source`
pub fn source(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:statuses")?;
    let e = own(c, id, g.user.id, &g.user.address)?;
    Ok(json(
        200,
        &j!({
            "id": e.cursor.to_string(),
            "text": e.post.text.unwrap_or_default(),
            "spoiler_text": e.post.summary.unwrap_or_default(),
        }),
    ))
}

/// `GET /api/v1/statuses/{id}/history`
pub fn history(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let e = visible(c, id, viewer)?;
    let e = target(c, e, viewer)?;
    let versions = c
        .store
        .edit_history(&Address::parse(&e.post.author)?, e.post.seq)?;
    let list = Entities::new(c.store, c.base_url(), viewer).history(&e, &versions)?;
    Ok(json(200, &list))
}

/// `GET /api/v1/statuses/{id}/favourited_by` and `reblogged_by`
pub fn acted_by(c: &mut Call<'_>, id: &str, who: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let e = visible(c, id, viewer)?;
    let e = target(c, e, viewer)?;
    let kind = if who == "reblogged_by" {
        "repost"
    } else {
        "like"
    };
    let page = Page::of(&c.params()?)?;
    let addresses = c.store.acted_by(&e, kind, page.limit)?;
    let mut en = Entities::new(c.store, c.base_url(), viewer);
    let accounts = addresses
        .iter()
        .map(|a| en.account(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json(200, &accounts))
}

/// `POST /api/v1/statuses/{id}/{action}`
pub fn act(c: &mut Call<'_>, id: &str, action: &str) -> Result<JsonResponse, WebError> {
    let scope = match action {
        "favourite" | "unfavourite" => "write:favourites",
        "reblog" | "unreblog" => "write:statuses",
        "bookmark" | "unbookmark" => "write:bookmarks",
        "pin" | "unpin" => "write:accounts",
        "mute" | "unmute" => "write:mutes",
        other => return Err(WebError::NotFound(format!("no action {other:?}"))),
    };
    let g = c.grant(scope)?;
    let me = Some(g.user.id);
    let e = visible(c, id, me)?;
    let e = target(c, e, me)?;
    let post = message_id(&e)?;
    match action {
        "favourite" if !e.post.liked => {
            publish_act(c.ctx, c.store, &g.user, post, Act::Like)?;
        }
        "unfavourite" if e.post.liked => {
            publish_undo(c.ctx, c.store, &g.user, post, Act::Like)?;
        }
        "reblog" => {
            // the answer is the reblog itself, with the post inside
            let own = match c
                .store
                .own_act_on(&g.user.address, "repost", &post.author, post.seq)?
            {
                Some(seq) => seq,
                None => publish_act(c.ctx, c.store, &g.user, post, Act::Repost)?.seq,
            };
            let view = PostView {
                author: g.user.address.to_string(),
                seq: own,
                ..PostView::default()
            };
            return Ok(json(200, &published(c, &view, g.user.id)?));
        }
        "unreblog" if e.post.reposted => {
            publish_undo(c.ctx, c.store, &g.user, post, Act::Repost)?;
        }
        "bookmark" => {
            c.store.bookmark(g.user.id, &post.author, post.seq, c.now)?;
        }
        "unbookmark" => {
            c.store.unbookmark(g.user.id, &post.author, post.seq)?;
        }
        "pin" | "unpin" => {
            return Err(WebError::Unprocessable("msm has no pinned statuses".into()))
        }
        "mute" | "unmute" => {
            return Err(WebError::Unprocessable(
                "msm does not mute conversations; mute the person instead".into(),
            ))
        }
        _ => {} // already as asked
    }
    Ok(json(200, &status_of(c, e.cursor, g.user.id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibilities_map_to_audiences() {
        assert_eq!(audience_of_visibility("public").unwrap(), "public");
        assert_eq!(audience_of_visibility("unlisted").unwrap(), "public");
        assert_eq!(audience_of_visibility("private").unwrap(), "followers");
        assert_eq!(audience_of_visibility("direct").unwrap(), "direct");
        assert!(matches!(
            audience_of_visibility("limited"),
            Err(WebError::Unprocessable(_))
        ));
    }
}
