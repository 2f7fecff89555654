//! Mastodon's entities (Account, Status, MediaAttachment, Notification, StatusEdit, ...) built
//! from msm's views, as <https://docs.joinmastodon.org/entities/> documents them.
//!
//! One [`Entities`] serves one request: it remembers each account it built, so a page of 40
//! statuses by 3 people reads 3 accounts. A status costs its timeline row (the caller's query)
//! and one more small query ([`Store::status_extras`]: what it answers, replies, mentions); a
//! repost one more for the reposted post, which is read with the viewer's visibility like every
//! other ([`Store::entry_at`]).
//!
//! Mapping (see the module docs of [`super`]): visibility `public` → `public`, `followers` →
//! `private`, `direct` → `direct`; `spoiler_text` is msm's content warning and `sensitive` is
//! true when there is one; `favourited`/`reblogged`/`bookmarked` are the viewer's like, repost
//! and bookmark. msm has no pins, polls, cards, custom emojis, languages nor conversation mutes:
//! `pinned` and `muted` are false, `poll`, `card`, `language` null, `emojis` empty.

use super::super::WebError;
use super::html::{self, Links};
use crate::proto::attachment::parse_hex256;
use crate::proto::Address;
use crate::store::conversation::{NotificationView, Version};
use crate::store::mastodon_views::{split_ref, AccountRow};
use crate::store::messages::{MediaView, PostView};
use crate::store::timeline::Entry;
use crate::store::Store;
use crate::web::public::rfc3339;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The avatar of an account without one (under the node's base URL).
pub const DEFAULT_AVATAR: &str = "/icon-192.png";
/// The header of an account without one.
pub const DEFAULT_HEADER: &str = "/icon-512.png";

/// Builds entities for one viewer, remembering the accounts it has built (a page of statuses
/// by a few people builds each account once).
pub struct Entities<'s> {
    /// The database.
    pub store: &'s Store,
    /// `https://host` of this node.
    pub base: String,
    /// The viewer's user id (`None`: nobody logged in).
    pub viewer: Option<i64>,
    accounts: HashMap<String, Value>,
    domain: Option<String>,
}

/// Unix milliseconds as RFC 3339 with milliseconds (`2026-12-06T10:04:05.123Z`).
pub fn time(ms: u64) -> String {
    let s = rfc3339(ms);
    let whole = s.strip_suffix('Z').unwrap_or(&s);
    format!("{whole}.{:03}Z", ms % 1000)
}

/// msm's audience as Mastodon's visibility.
pub fn visibility(audience: &str) -> &'static str {
    match audience {
        "followers" => "private",
        "direct" => "direct",
        _ => "public",
    }
}

/// msm's notification kind as Mastodon's notification type.
pub fn notification_type(kind: &str) -> &'static str {
    match kind {
        "repost" => "reblog",
        "like" => "favourite",
        "follow" => "follow",
        "follow_request" => "follow_request",
        // Mastodon reports a reply as a mention
        _ => "mention",
    }
}

impl<'s> Entities<'s> {
    /// Entities for `viewer`.
    pub fn new(store: &'s Store, base: String, viewer: Option<i64>) -> Self {
        Entities {
            store,
            base,
            viewer,
            accounts: HashMap::new(),
            domain: None,
        }
    }

    /// This node's domain (read once).
    fn domain(&mut self) -> Result<String, WebError> {
        if let Some(d) = &self.domain {
            return Ok(d.clone());
        }
        let d = self.store.node_info()?.domain;
        self.domain = Some(d.clone());
        Ok(d)
    }

    /// The profile page of `address`: here for a local one, at its node otherwise.
    pub fn profile_url(&mut self, address: &str) -> Result<String, WebError> {
        let (user, domain) = address.split_once('@').unwrap_or((address, ""));
        Ok(if domain == self.domain()? {
            format!("{}/@{user}", self.base)
        } else {
            format!("https://{domain}/@{user}")
        })
    }

    /// The HTML of `text` written by `author`.
    pub fn html(&mut self, text: &str, author: &str) -> Result<String, WebError> {
        let local = self.domain()?;
        let author_domain = author.split_once('@').map_or("", |(_, d)| d);
        Ok(html::content(
            text,
            &Links {
                base: &self.base,
                local_domain: &local,
                author_domain,
            },
        ))
    }

    /// The Account of `address` (local or remote). Someone nothing is known of (a mention of a
    /// stranger) has id "0" and no numbers.
    pub fn account(&mut self, address: &str) -> Result<Value, WebError> {
        if let Some(a) = self.accounts.get(address) {
            return Ok(a.clone());
        }
        let row = self
            .store
            .account_row(address)?
            .unwrap_or_else(|| AccountRow {
                address: address.to_string(),
                ..AccountRow::default()
            });
        let a = self.account_of(&row)?;
        self.accounts.insert(address.to_string(), a.clone());
        Ok(a)
    }

    fn account_of(&mut self, r: &AccountRow) -> Result<Value, WebError> {
        let (user, domain) = r.address.split_once('@').unwrap_or((&r.address, ""));
        let local = domain == self.domain()?;
        let acct = if local {
            user.to_string()
        } else {
            r.address.clone()
        };
        let url = self.profile_url(&r.address)?;
        let note = self.html(&r.bio, &r.address)?;
        let picture = |p: &Option<String>, default: &str| match p {
            Some(path) => format!("{}{path}", self.base),
            None => format!("{}{default}", self.base),
        };
        let avatar = picture(&r.avatar, DEFAULT_AVATAR);
        let header = picture(&r.header, DEFAULT_HEADER);
        // Mastodon gives the day an account was made, at midnight
        let created = r.created_ms - r.created_ms % 86_400_000;
        let last_status = r.last_status_ms.map(|t| time(t)[..10].to_string());
        Ok(json!({
            "id": r.id.to_string(),
            "username": user,
            "acct": acct,
            "display_name": r.display_name,
            "locked": r.locked,
            "bot": false,
            "discoverable": true,
            "indexable": false,
            "group": false,
            "hide_collections": false,
            "noindex": false,
            "created_at": time(created),
            "note": note,
            "url": url,
            "uri": url,
            "avatar": avatar,
            "avatar_static": avatar,
            "header": header,
            "header_static": header,
            "followers_count": r.followers,
            "following_count": r.following,
            "statuses_count": r.statuses,
            "last_status_at": last_status,
            "emojis": [],
            "fields": [],
            "roles": [],
        }))
    }

    /// The page of a status by `author` with seq `seq`.
    fn status_url(&mut self, author: &str, seq: u64) -> Result<String, WebError> {
        Ok(format!("{}/{seq}", self.profile_url(author)?))
    }

    /// The Status of a stored entry (a repost carries the reposted post as `reblog`; `null`
    /// when that post is not held here or the viewer may not read it).
    pub fn status(&mut self, e: &Entry) -> Result<Value, WebError> {
        let p = &e.post;
        let account = self.account(&p.author)?;
        let url = self.status_url(&p.author, p.seq)?;
        let created = time(p.time_ms);
        if p.kind == "repost" {
            let inner = match p.refers_to.as_deref().and_then(split_ref) {
                Some((author, seq)) => self.store.entry_at(author, seq, self.viewer)?,
                None => None,
            };
            let reblog = match inner {
                Some(i) if i.post.kind != "repost" => self.status(&i)?,
                _ => Value::Null,
            };
            let flag = |k: &str| reblog[k].as_bool().unwrap_or(false);
            let (favourited, reblogged, bookmarked) =
                (flag("favourited"), flag("reblogged"), flag("bookmarked"));
            return Ok(json!({
                "id": e.cursor.to_string(),
                "uri": url,
                "url": url,
                "created_at": created,
                "account": account,
                "content": "",
                "visibility": visibility(&p.audience),
                "sensitive": false,
                "spoiler_text": "",
                "media_attachments": [],
                "mentions": [],
                "tags": [],
                "emojis": [],
                "reblogs_count": 0,
                "favourites_count": 0,
                "replies_count": 0,
                "in_reply_to_id": null,
                "in_reply_to_account_id": null,
                "reblog": reblog,
                "poll": null,
                "card": null,
                "language": null,
                "edited_at": null,
                "favourited": favourited,
                "reblogged": reblogged,
                "muted": false,
                "bookmarked": bookmarked,
                "pinned": false,
                "filtered": [],
                "application": null,
            }));
        }
        let x = self.store.status_extras(e.cursor)?;
        let mut mentions = Vec::with_capacity(x.mentions.len());
        for m in &x.mentions {
            let a = self.account(m)?;
            mentions.push(json!({
                "id": a["id"],
                "username": a["username"],
                "url": a["url"],
                "acct": a["acct"],
            }));
        }
        let text = p.text.as_deref().unwrap_or("");
        let local = self.domain()?;
        let author_domain = p.author.split_once('@').map_or("", |(_, d)| d).to_string();
        let links = Links {
            base: &self.base,
            local_domain: &local,
            author_domain: &author_domain,
        };
        let tags: Vec<Value> = crate::proto::text::tags(text)
            .iter()
            .map(|t| json!({ "name": t, "url": links.tag_url(t) }))
            .collect();
        let content = html::content(text, &links);
        let media = self.media_of(p);
        let summary = p.summary.clone().unwrap_or_default();
        let (reply_id, reply_account) = match x.in_reply_to {
            Some((m, a)) => (json!(m.to_string()), json!(a.to_string())),
            None => (Value::Null, Value::Null),
        };
        Ok(json!({
            "id": e.cursor.to_string(),
            "uri": url,
            "url": url,
            "created_at": created,
            "account": account,
            "content": content,
            "visibility": visibility(&p.audience),
            "sensitive": !summary.is_empty(),
            "spoiler_text": summary,
            "media_attachments": media,
            "mentions": mentions,
            "tags": tags,
            "emojis": [],
            "reblogs_count": p.reposts,
            "favourites_count": p.likes,
            "replies_count": x.replies,
            "in_reply_to_id": reply_id,
            "in_reply_to_account_id": reply_account,
            "reblog": null,
            "poll": null,
            "card": null,
            "language": null,
            "edited_at": p.edited_ms.map(time),
            "favourited": p.liked,
            "reblogged": p.reposted,
            "muted": false,
            "bookmarked": p.bookmarked,
            "pinned": false,
            "filtered": [],
            "application": null,
        }))
    }

    /// Statuses of entries, in order; a repost whose post the viewer cannot read here is left
    /// out.
    pub fn statuses(&mut self, entries: &[Entry]) -> Result<Vec<Value>, WebError> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let s = self.status(e)?;
            if e.post.kind == "repost" && s["reblog"].is_null() {
                continue;
            }
            out.push(s);
        }
        Ok(out)
    }

    /// The Notification of a stored notification (`None` when its status is gone or the
    /// viewer may no longer read it).
    pub fn notification(&mut self, n: &NotificationView) -> Result<Option<Value>, WebError> {
        let kind = notification_type(&n.kind);
        let about = match n.kind.as_str() {
            "repost" | "like" => n.target.as_deref(),
            "mention" | "reply" => n.message.as_deref(),
            _ => None,
        };
        let status = match about {
            Some(r) => {
                let Some((author, seq)) = split_ref(r) else {
                    return Ok(None);
                };
                match self.store.entry_at(author, seq, self.viewer)? {
                    Some(e) => Some(self.status(&e)?),
                    None => return Ok(None),
                }
            }
            None if matches!(kind, "mention" | "reblog" | "favourite") => return Ok(None),
            None => None,
        };
        let account = self.account(&n.actor)?;
        let mut v = json!({
            "id": n.id.to_string(),
            "type": kind,
            "created_at": time(n.time_ms),
            "account": account,
        });
        if let Some(s) = status {
            v["status"] = s;
        }
        Ok(Some(v))
    }

    /// The MediaAttachments of a post. A picture of a post that is not public is named to the
    /// viewer by a signed URL ([`crate::web::media::signed_path`]): apps load pictures without
    /// their token, and the plain URL answers only a session that may see it.
    fn media_of(&self, p: &PostView) -> Vec<Value> {
        p.media
            .iter()
            .map(|m| match (p.audience.as_str(), self.viewer) {
                ("public", _) | (_, None) => media(&self.base, m),
                (_, Some(viewer)) => {
                    let sha = m.url.strip_prefix("/media/").and_then(parse_hex256);
                    let Some(sha) = sha else {
                        return media(&self.base, m);
                    };
                    let signed = MediaView {
                        url: crate::web::media::signed_path(&sha, viewer, crate::now_ms()),
                        ..m.clone()
                    };
                    let mut v = media(&self.base, &signed);
                    v["id"] = json!(crate::proto::attachment::hex(&sha));
                    v
                }
            })
            .collect()
    }

    /// The StatusEdit list of `e`'s versions (oldest first, the current one last).
    pub fn history(&mut self, e: &Entry, versions: &[Version]) -> Result<Vec<Value>, WebError> {
        let account = self.account(&e.post.author)?;
        let media = self.media_of(&e.post);
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            let summary = v.summary.clone().unwrap_or_default();
            out.push(json!({
                "content": self.html(v.text.as_deref().unwrap_or(""), &e.post.author)?,
                "spoiler_text": summary,
                "sensitive": !summary.is_empty(),
                "created_at": time(v.time_ms),
                "account": account,
                "poll": null,
                "media_attachments": media,
                "emojis": [],
            }));
        }
        Ok(out)
    }
}

/// The MediaAttachment of a picture (`id` is its SHA-256 in hex).
pub fn media(base: &str, m: &MediaView) -> Value {
    let id = m.url.trim_start_matches("/media/");
    let url = format!("{base}{}", m.url);
    // EXIF orientations 5 to 8 turn the picture a quarter: shown, it is as wide as it is high
    let (w, h) = if (5..=8).contains(&m.orientation) {
        (m.height, m.width)
    } else {
        (m.width, m.height)
    };
    let dims = json!({
        "width": w,
        "height": h,
        "size": format!("{w}x{h}"),
        "aspect": if h == 0 { 1.0 } else { f64::from(w) / f64::from(h) },
    });
    json!({
        "id": id,
        "type": "image",
        "url": url,
        "preview_url": url,
        "remote_url": null,
        "preview_remote_url": null,
        "text_url": null,
        "meta": { "original": dims, "small": dims },
        "description": if m.alt.is_empty() { Value::Null } else { json!(m.alt) },
        "blurhash": if m.blurhash.is_empty() { Value::Null } else { json!(m.blurhash) },
    })
}

/// An address given as Mastodon's `acct` (`user` for a local one, `user@domain`).
pub fn address_of_acct(acct: &str, local_domain: &str) -> Option<Address> {
    let acct = acct.trim_start_matches('@');
    match acct.split_once('@') {
        Some((u, d)) => Address::new(u, d).ok(),
        None => Address::new(acct, local_domain).ok(),
    }
}

#[cfg(test)]
#[path = "entities_tests.rs"]
mod tests;
