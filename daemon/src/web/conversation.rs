//! Handlers of the conversation: posting (with content warnings, mentions and the direct
//! audience), reposts and likes with their undo, edits and their history, notifications and
//! their settings, and hashtag timelines.
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/api/v1/posts` | `{"text", "audience"?, "reply_to"?, "summary"?}` → the stored post |
//! | PUT | `/api/v1/posts/{seq}` | `{"text", "summary"?}`: edit one's own post |
//! | GET | `/api/v1/posts/{author}/{seq}/history` | the versions of a post, oldest first |
//! | POST, DELETE | `/api/v1/posts/{author}/{seq}/like` | like, unlike |
//! | POST, DELETE | `/api/v1/posts/{author}/{seq}/repost` | repost, undo the repost |
//! | POST, DELETE | `/api/v1/posts/{author}/{seq}/bookmark` | see [`super::lists`] |
//! | POST | `/api/v1/reposts` | `{"of": "author/seq"}` (the older form of a repost) |
//! | GET | `/api/v1/notifications` | `?before=ID&limit=N` → `{notifications, unread}` |
//! | POST | `/api/v1/notifications/read` | `{"up_to"?: ID}`: mark read (all if no id) |
//! | GET, PUT | `/api/v1/notifications/settings` | `{"off": [kinds], "only_followed"}` |
//! | GET | `/api/v1/tags/{tag}` | `?before=CURSOR&limit=N` → stored posts with the hashtag |
//!
//! A reply takes its parent's audience unless it names one; a reply, like or repost names a
//! post this viewer can read here (else 404); one like and one repost per person per post
//! (a second is 409); only public posts can be reposted (422). A like of a post that is not
//! public goes to its author's node only (audience direct).

use super::api::{created, parse_message_id, publish_view, Context, MAX_CREDENTIALS_BODY};
use super::auth;
use super::io::{json, percent_decode, read_json, JsonResponse};
use super::reading::{number_param, page_limit};
use super::{WebError, MAX_REQUEST_BODY};
use crate::proto::message::{Mentions, MAX_MENTIONS};
use crate::proto::{text, Address, Audience, Body, MessageId};
use crate::store::conversation::{NotificationSettings, MAX_NOTIFICATION_PAGE};
use crate::store::messages::PostView;
use crate::store::{Store, User};
use serde::Deserialize;
use serde_json::json;
use tiny_http::Request;

/// Longest hashtag in a path, in bytes.
pub const MAX_TAG_PATH: usize = 256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePost {
    text: String,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    summary: Option<String>,
    /// Uploaded pictures to carry (`POST /api/v1/media`), at most four.
    #[serde(default)]
    media: Vec<MediaRef>,
}

/// A picture attached to a new post: an upload's id with its alt text and blurhash.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRef {
    /// The upload's SHA-256 in hex.
    pub id: String,
    /// Alt text.
    #[serde(default)]
    pub alt: String,
    /// Blurhash placeholder ('' for none).
    #[serde(default)]
    pub blurhash: String,
}

/// A post, reply or note a local user asks to publish, parsed from either API.
pub struct Draft {
    /// What it says.
    pub text: String,
    /// `public`, `followers` or `direct`; a reply takes its parent's when `None`, a post is
    /// public.
    pub audience: Option<String>,
    /// The post it answers.
    pub reply_to: Option<MessageId>,
    /// The content warning ('' for none).
    pub summary: String,
    /// Uploaded pictures to carry, at most four.
    pub media: Vec<MediaRef>,
}

/// The references of the pictures `refs` names, each an upload of `user_id`'s.
fn attachments_of(
    store: &Store,
    user_id: i64,
    refs: Vec<MediaRef>,
) -> Result<crate::proto::attachment::Attachments, WebError> {
    use crate::proto::attachment::{parse_hex256, MAX_ATTACHMENTS};
    if refs.len() > MAX_ATTACHMENTS {
        return Err(WebError::BadRequest(format!(
            "a post carries at most {MAX_ATTACHMENTS} pictures"
        )));
    }
    let mut out = crate::proto::attachment::Attachments::new();
    for r in refs {
        let sha = parse_hex256(&r.id)
            .ok_or_else(|| WebError::BadRequest(format!("{:?} is not a picture's id", r.id)))?;
        let alt = crate::proto::message::normalize_line_breaks(&r.alt);
        let a = store.own_upload(user_id, &sha)?.reference(alt, r.blurhash);
        a.validate()?;
        if out.iter().any(|o| o.sha256 == sha) {
            return Err(WebError::BadRequest(
                "the same picture is attached twice".into(),
            ));
        }
        let _ = out.push(a);
    }
    Ok(out)
}

fn audience_of(name: &str) -> Result<Audience, WebError> {
    match name {
        "public" => Ok(Audience::Public),
        "followers" => Ok(Audience::Followers),
        "direct" => Ok(Audience::Direct),
        other => Err(WebError::BadRequest(format!(
            "audience {other:?} is not \"public\", \"followers\" or \"direct\""
        ))),
    }
}

/// A post this viewer can read here, or 404.
fn readable(store: &Store, id: &MessageId, viewer: i64, what: &str) -> Result<PostView, WebError> {
    store
        .thread(&id.author, id.seq, Some(viewer))?
        .0
        .ok_or_else(|| {
            WebError::NotFound(format!("no post {}/{} here to {what}", id.author, id.seq))
        })
}

/// The people `text` mentions, capped at [`MAX_MENTIONS`].
fn mentions_in(ctx: &Context, t: &str, also: &[Address]) -> Result<Mentions, WebError> {
    let mut out = Mentions::new();
    for a in text::mentions(t, &ctx.domain).iter().chain(also) {
        if !out.contains(a) && out.push(a.clone()).is_err() {
            return Err(WebError::BadRequest(format!(
                "a post mentions at most {MAX_MENTIONS} people"
            )));
        }
    }
    Ok(out)
}

/// `POST /api/v1/posts`
pub fn create_post(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let b: CreatePost = read_json(req, MAX_REQUEST_BODY)?;
    let reply_to = b.reply_to.as_deref().map(parse_message_id).transpose()?;
    let draft = Draft {
        text: b.text,
        audience: b.audience,
        reply_to,
        summary: b.summary.unwrap_or_default(),
        media: b.media,
    };
    Ok(created(&publish_draft(ctx, store, &s.user, draft)?))
}

/// Publishes `user`'s post, reply or note: the parent must be readable here (else 404), a
/// direct post must mention someone, pictures must be the user's uploads.
pub fn publish_draft(
    ctx: &Context,
    store: &Store,
    user: &User,
    d: Draft,
) -> Result<PostView, WebError> {
    let parent = match &d.reply_to {
        Some(id) => Some(readable(store, id, user.id, "reply to")?),
        None => None,
    };
    let audience = match (d.audience.as_deref(), &parent) {
        (Some(a), _) => audience_of(a)?,
        (None, Some(p)) => audience_of(&p.audience)?,
        (None, None) => Audience::Public,
    };
    let mentions = mentions_in(ctx, &d.text, &[])?;
    let summary = d.summary;
    if audience == Audience::Direct && mentions.is_empty() {
        return Err(WebError::BadRequest(
            "a direct post names its readers: mention at least one @person".into(),
        ));
    }
    let attachments = attachments_of(store, user.id, d.media)?;
    let reply_to = d.reply_to;
    let body = if !attachments.is_empty() {
        Body::Pictures {
            text: d.text,
            summary,
            reply_to,
            mentions,
            attachments: Box::new(attachments),
        }
    } else if summary.is_empty() && mentions.is_empty() && audience != Audience::Direct {
        // what version 1 can say stays version 1
        match reply_to {
            None => Body::Post { text: d.text },
            Some(to) => Body::Reply { to, text: d.text },
        }
    } else {
        Body::Note {
            text: d.text,
            summary,
            reply_to,
            mentions,
        }
    };
    publish_view(ctx, user.id, audience, body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditPost {
    text: String,
    #[serde(default)]
    summary: Option<String>,
}

/// `PUT /api/v1/posts/{seq}`: publishes an edit of one's own post.
pub fn edit_post(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    seq: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let target = super::reading::seq_in_path(seq)?;
    let b: EditPost = read_json(req, MAX_REQUEST_BODY)?;
    Ok(created(&publish_edit(
        ctx,
        store,
        &s.user,
        target,
        b.text,
        b.summary.unwrap_or_default(),
    )?))
}

/// Publishes `user`'s edit of their post or reply `target`: its new text and content warning.
pub fn publish_edit(
    ctx: &Context,
    store: &Store,
    user: &User,
    target: u64,
    text: String,
    summary: String,
) -> Result<PostView, WebError> {
    let id = MessageId {
        author: user.address.clone(),
        seq: target,
    };
    let post = readable(store, &id, user.id, "edit")?;
    if !matches!(post.kind.as_str(), "post" | "reply") {
        return Err(WebError::BadRequest(
            "only a post or a reply can be edited".into(),
        ));
    }
    let audience = audience_of(&post.audience)?;
    // the edit goes where the post went: to the people it mentioned as well as the new ones
    let before = store.mentions_of(&user.address, target)?;
    let mentions = mentions_in(ctx, &text, &before)?;
    publish_view(
        ctx,
        user.id,
        audience,
        Body::Edit {
            target,
            text,
            summary,
            mentions,
        },
    )
}

/// `GET /api/v1/posts/{author}/{seq}/history`
pub fn history(
    ctx: &Context,
    store: &Store,
    req: &Request,
    who: &str,
    seq: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let id = super::reading::message_id_in_path(ctx, who, seq)?;
    let viewer = auth::optional(store, req, now).map_or(-1, |u| u.id);
    readable(store, &id, viewer, "show")?;
    let versions = store.edit_history(&id.author, id.seq)?;
    Ok(json(200, &json!({ "versions": versions })))
}

/// Like or repost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A like.
    Like,
    /// A repost.
    Repost,
}

impl Act {
    fn kind(self) -> &'static str {
        match self {
            Act::Like => "like",
            Act::Repost => "repost",
        }
    }
}

/// `POST /api/v1/posts/{author}/{seq}/like|repost`
pub fn act(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    id: MessageId,
    act: Act,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    Ok(created(&publish_act(ctx, store, &s.user, id, act)?))
}

/// Publishes `user`'s like or repost of `id`: a post the user can read here (else 404), once
/// (else 409); only a public post can be reposted (else 422).
pub fn publish_act(
    ctx: &Context,
    store: &Store,
    user: &User,
    id: MessageId,
    act: Act,
) -> Result<PostView, WebError> {
    let post = readable(store, &id, user.id, act.kind())?;
    if let Some(seq) = store.own_act_on(&user.address, act.kind(), &id.author, id.seq)? {
        return Err(WebError::Conflict(format!(
            "you {}d {}/{} already (your message {seq})",
            act.kind().trim_end_matches('e'),
            id.author,
            id.seq
        )));
    }
    let public = post.audience == "public";
    match act {
        Act::Repost if !public => Err(WebError::Unprocessable(
            "only a public post can be reposted".into(),
        )),
        Act::Repost => publish_view(ctx, user.id, Audience::Public, Body::Repost { of: id }),
        Act::Like => {
            let audience = if public {
                Audience::Public
            } else {
                Audience::Direct
            };
            publish_view(ctx, user.id, audience, Body::Like { of: id })
        }
    }
}

/// `DELETE /api/v1/posts/{author}/{seq}/like|repost`: deletes one's like or repost.
pub fn undo(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    id: MessageId,
    act: Act,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    Ok(created(&publish_undo(ctx, store, &s.user, id, act)?))
}

/// Publishes the delete of `user`'s like or repost of `id` (404 when there is none).
pub fn publish_undo(
    ctx: &Context,
    store: &Store,
    user: &User,
    id: MessageId,
    act: Act,
) -> Result<PostView, WebError> {
    let seq = store
        .own_act_on(&user.address, act.kind(), &id.author, id.seq)?
        .ok_or_else(|| {
            WebError::NotFound(format!(
                "no {} of {}/{} to undo",
                act.kind(),
                id.author,
                id.seq
            ))
        })?;
    publish_view(ctx, user.id, Audience::Public, Body::Delete { target: seq })
}

/// Routes `/api/v1/posts/{author}/{seq}/{like|repost|history}`.
pub fn on_post(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    (who, seq, what): (&str, &str, &str),
    now: u64,
) -> Result<JsonResponse, WebError> {
    let id = super::reading::message_id_in_path(ctx, who, seq)?;
    let act_of = match what {
        "like" => Act::Like,
        "repost" => Act::Repost,
        "history" => return history(ctx, store, req, who, seq, now),
        "bookmark" => return super::lists::bookmark(store, req, id, now),
        _ => return Err(WebError::NotFound(format!("no /{what} of a post"))),
    };
    match req.method() {
        tiny_http::Method::Post => act(ctx, store, req, id, act_of, now),
        tiny_http::Method::Delete => undo(ctx, store, req, id, act_of, now),
        _ => Err(WebError::MethodNotAllowed),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repost {
    of: String,
}

/// `POST /api/v1/reposts`
pub fn repost(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let b: Repost = read_json(req, MAX_CREDENTIALS_BODY)?;
    let of = parse_message_id(&b.of)?;
    act(ctx, store, req, of, Act::Repost, now)
}

/// `GET /api/v1/notifications?before=ID&limit=N`
pub fn notifications(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let before = number_param(query, "before")?.map(|b| b as i64);
    let limit = page_limit(query)?.min(MAX_NOTIFICATION_PAGE);
    let list = store.notifications(s.user.id, before, limit)?;
    let unread = store.unread_notifications(s.user.id)?;
    Ok(json(
        200,
        &json!({ "notifications": list, "unread": unread }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRead {
    #[serde(default)]
    up_to: Option<i64>,
}

/// `POST /api/v1/notifications/read`; wakes the live streams, which send the new unread count.
pub fn mark_read(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let b: MarkRead = read_json(req, MAX_CREDENTIALS_BODY)?;
    let marked = store.mark_notifications_read(s.user.id, b.up_to.unwrap_or(i64::MAX))?;
    if marked > 0 {
        ctx.pulse.bump();
    }
    let unread = store.unread_notifications(s.user.id)?;
    Ok(json(200, &json!({ "marked": marked, "unread": unread })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    off: Option<Vec<String>>,
    #[serde(default)]
    only_followed: Option<bool>,
}

/// `GET` and `PUT /api/v1/notifications/settings`
pub fn settings(store: &mut Store, req: &mut Request, now: u64) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let mut now_set = store.notification_settings(s.user.id)?;
    if *req.method() == tiny_http::Method::Put {
        let b: Settings = read_json(req, MAX_CREDENTIALS_BODY)?;
        let new = NotificationSettings {
            off: b.off.unwrap_or(now_set.off),
            only_followed: b.only_followed.unwrap_or(now_set.only_followed),
        };
        store.set_notification_settings(s.user.id, &new)?;
        now_set = new;
    }
    Ok(json(200, &now_set))
}

/// `GET /api/v1/tags/{tag}?before=CURSOR&limit=N`
pub fn tag(
    store: &Store,
    req: &Request,
    segment: &str,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    if segment.len() > MAX_TAG_PATH {
        return Err(WebError::BadRequest("hashtag too long".into()));
    }
    let raw = percent_decode(segment);
    let tag = text::tags(&format!("#{}", raw.trim_start_matches('#')))
        .into_iter()
        .next()
        .ok_or_else(|| WebError::BadRequest(format!("{raw:?} is not a hashtag")))?;
    let viewer = auth::optional(store, req, now).map(|u| u.id);
    let before = number_param(query, "before")?.map(|b| b as i64);
    let posts = store.tag_timeline(&tag, viewer, before, page_limit(query)?)?;
    Ok(json(200, &json!({ "tag": tag, "posts": posts })))
}
