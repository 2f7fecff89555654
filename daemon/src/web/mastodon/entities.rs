//! Mastodon's entities (Account, Status, MediaAttachment, Notification, Relationship, Tag,
//! Context, ...) built from msm's views, as <https://docs.joinmastodon.org/entities/> documents
//! them.
//!
//! (Skeleton: the builders are filled in by the statuses work; the signatures are fixed.)

use super::super::WebError;
use crate::store::conversation::NotificationView;
use crate::store::messages::MediaView;
use crate::store::timeline::Entry;
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::HashMap;

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
}

impl<'s> Entities<'s> {
    /// Entities for `viewer`.
    pub fn new(store: &'s Store, base: String, viewer: Option<i64>) -> Self {
        Entities {
            store,
            base,
            viewer,
            accounts: HashMap::new(),
        }
    }

    /// The Account of `address` (local or remote).
    pub fn account(&mut self, address: &str) -> Result<Value, WebError> {
        if let Some(a) = self.accounts.get(address) {
            return Ok(a.clone());
        }
        let a = json!({ "id": "0", "acct": address });
        self.accounts.insert(address.to_string(), a.clone());
        Ok(a)
    }

    /// The Status of a stored entry (a repost carries the reposted post as `reblog`).
    pub fn status(&mut self, e: &Entry) -> Result<Value, WebError> {
        Ok(json!({ "id": e.cursor.to_string(), "content": e.post.text }))
    }

    /// Statuses of entries, in order.
    pub fn statuses(&mut self, entries: &[Entry]) -> Result<Vec<Value>, WebError> {
        entries.iter().map(|e| self.status(e)).collect()
    }

    /// The Notification of a stored notification (`None` when its status is gone).
    pub fn notification(&mut self, n: &NotificationView) -> Result<Option<Value>, WebError> {
        Ok(Some(json!({ "id": n.id.to_string(), "type": n.kind })))
    }
}

/// The MediaAttachment of a picture (`id` is its SHA-256 in hex).
pub fn media(base: &str, m: &MediaView) -> Value {
    json!({ "id": m.url.trim_start_matches("/media/"), "url": format!("{base}{}", m.url) })
}
