//! Discovery: `/api/v1/instance`, `/api/v2/instance`, NodeInfo 2.0 and 2.1, preferences, and
//! the lists this node keeps empty (custom emojis, announcements, trends, ...).
//!
//! Apps read the version string to decide which features to use: msm says it is compatible
//! with Mastodon [`MASTODON_VERSION`] (Mastodon.py parses the leading `x.y.z`; masto and Elk
//! read `configuration`). The limits are msm's own: the text cap is in bytes (msm counts bytes,
//! so a text of many-byte characters may be refused with 422 below the count an app shows),
//! four pictures of the types the container walkers take, no polls, no video.

use super::super::io::{json, JsonResponse};
use super::super::WebError;
use super::Call;
use crate::proto::attachment::{MAX_ATTACHMENTS, MAX_PIXELS};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// The Mastodon version whose API msm answers as.
pub const MASTODON_VERSION: &str = "4.3.0";
/// Picture types msm takes (the container walkers of [`crate::media`]).
pub const PICTURE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];

/// `200 []`.
pub fn empty_list() -> JsonResponse {
    json(200, &json!([]))
}

/// The version string apps see.
pub fn version() -> String {
    format!(
        "{MASTODON_VERSION} (compatible; msm {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// `ws://` or `wss://` of the node's base URL, where streaming is served.
fn streaming_url(base: &str) -> String {
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    }
}

struct Counts {
    users: i64,
    posts: i64,
    domains: i64,
}

fn counts(c: &Call<'_>) -> Result<Counts, WebError> {
    let conn = c.store.conn();
    let one = |sql: &str| -> Result<i64, WebError> {
        Ok(conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(crate::store::StoreError::from)?)
    };
    Ok(Counts {
        users: one("SELECT count(*) FROM users")?,
        posts: one(
            "SELECT count(*) FROM messages m JOIN authors a ON a.id = m.author_id \
             WHERE a.local_user IS NOT NULL AND m.deleted = 0 AND m.kind IN ('post', 'reply')",
        )?,
        domains: one("SELECT count(*) FROM subscriptions")?,
    })
}

fn limits(c: &Call<'_>) -> Value {
    let max_text = c.ctx.max_text.load(Ordering::Relaxed);
    json!({
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
        "statuses": {
            "max_characters": max_text,
            "max_media_attachments": MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": PICTURE_TYPES,
            "image_size_limit": c.ctx.media.max_upload_bytes,
            "image_matrix_limit": MAX_PIXELS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
            "description_limit": crate::proto::attachment::MAX_ALT
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0
        },
        "translation": { "enabled": false }
    })
}

fn description(c: &Call<'_>) -> String {
    format!(
        "{}: a household's node of msm, a small social network on a home router",
        c.ctx.domain
    )
}

/// `GET /api/v1/instance` (Mastodon 3.x shape, still read by toot and Mastodon.py).
pub fn v1(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let base = c.base_url();
    let n = counts(c)?;
    let mut configuration = limits(c);
    configuration["urls"] = json!({ "streaming": streaming_url(&base) });
    Ok(json(
        200,
        &json!({
            "uri": c.ctx.domain,
            "title": c.ctx.domain,
            "short_description": description(c),
            "description": description(c),
            "email": "",
            "version": version(),
            "urls": { "streaming_api": streaming_url(&base) },
            "stats": { "user_count": n.users, "status_count": n.posts, "domain_count": n.domains },
            "thumbnail": Value::Null,
            "languages": [],
            "registrations": false,
            "approval_required": true,
            "invites_enabled": false,
            "configuration": configuration,
            "contact_account": Value::Null,
            "rules": []
        }),
    ))
}

/// `GET /api/v2/instance`.
pub fn v2(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let base = c.base_url();
    let n = counts(c)?;
    let mut configuration = limits(c);
    configuration["urls"] = json!({ "streaming": streaming_url(&base), "status": Value::Null });
    configuration["vapid"] = json!({ "public_key": "" });
    Ok(json(
        200,
        &json!({
            "domain": c.ctx.domain,
            "title": c.ctx.domain,
            "version": version(),
            "source_url": env!("CARGO_PKG_REPOSITORY"),
            "description": description(c),
            "usage": { "users": { "active_month": n.users } },
            "thumbnail": { "url": format!("{base}/icon-512.png") },
            "icon": [{ "src": format!("{base}/icon-192.png"), "size": "192x192" }],
            "languages": [],
            "configuration": configuration,
            "registrations": { "enabled": false, "approval_required": true, "message": Value::Null },
            "api_versions": { "mastodon": 2 },
            "contact": { "email": "", "account": Value::Null },
            "rules": []
        }),
    ))
}

/// `GET /api/v1/instance/peers`: the domains this node subscribes to, to its own people only
/// (whom the household follows is theirs).
pub fn peers(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    c.grant("read")?;
    let mut domains = c.store.subscribed_domains()?;
    domains.sort();
    domains.dedup();
    Ok(json(200, &domains))
}

/// `GET /.well-known/nodeinfo`.
pub fn nodeinfo_links(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let base = c.base_url();
    Ok(json(
        200,
        &json!({ "links": [
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
              "href": format!("{base}/nodeinfo/2.0") },
            { "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
              "href": format!("{base}/nodeinfo/2.1") }
        ]}),
    ))
}

/// `GET /nodeinfo/2.0` and `/nodeinfo/2.1`. `protocols` lists only what other servers can
/// speak to this node with among NodeInfo's names: none yet (msm's own protocol has no name
/// there); `outbound` services: the Atom feeds.
pub fn nodeinfo(c: &mut Call<'_>, version: &str) -> Result<JsonResponse, WebError> {
    let version = version.trim_end_matches(".json");
    if version != "2.0" && version != "2.1" {
        return Err(WebError::NotFound(format!("no NodeInfo version {version}")));
    }
    let n = counts(c)?;
    let mut software = json!({ "name": "msm", "version": env!("CARGO_PKG_VERSION") });
    if version == "2.1" {
        software["repository"] = json!(env!("CARGO_PKG_REPOSITORY"));
    }
    let body = json!({
        "version": version,
        "software": software,
        "protocols": [],
        "services": { "inbound": [], "outbound": ["atom1.0"] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": n.users, "activeMonth": n.users, "activeHalfyear": n.users },
            "localPosts": n.posts
        },
        "metadata": { "nodeName": c.ctx.domain }
    });
    let profile = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    Ok(json(200, &body).with_header(super::super::io::static_header("Content-Type", &profile)))
}

/// `GET /api/v1/preferences`.
pub fn preferences(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    c.grant("read:accounts")?;
    Ok(json(
        200,
        &json!({
            "posting:default:visibility": "public",
            "posting:default:sensitive": false,
            "posting:default:language": Value::Null,
            "reading:expand:media": "default",
            "reading:expand:spoilers": false
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_follows_the_scheme() {
        assert_eq!(streaming_url("https://smith.family"), "wss://smith.family");
        assert_eq!(
            streaming_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080"
        );
        assert!(version().starts_with("4.3.0 "));
    }
}
