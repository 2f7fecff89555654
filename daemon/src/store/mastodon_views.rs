//! What the Mastodon client API reads beyond msm's own views: an account's numbers, a status by
//! its id, what a status answers and who it mentions, and pages of the timelines with
//! Mastodon's paging (`max_id`, `since_id`, `min_id`).
//!
//! Every status read here goes through [`select_views`], so who may see what is the one rule of
//! [`super::timeline`] (`VISIBLE`, mutes and blocks), never a second copy of it.

use super::messages::MAX_PAGE;
use super::timeline::{entry_of, select_views, Entry, HOME_AUTHORS};
use super::{Store, StoreError};
use crate::proto::Address;
use rusqlite::{params, OptionalExtension, ToSql};

/// Migration 12: `authors.statuses` counts the author's posts, replies and reposts held here
/// and not deleted, and `authors.last_status_ms` is the time of the newest: triggers keep them
/// as messages are stored, deleted or removed, so an Account (built for every status of a
/// page) reads two columns instead of counting thousands of rows.
pub const STATUS_COUNT_MIGRATION: &str = r#"
    ALTER TABLE authors ADD COLUMN statuses INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE authors ADD COLUMN last_status_ms INTEGER;
    UPDATE authors SET
        statuses = (SELECT count(*) FROM messages m WHERE m.author_id = authors.id
            AND m.deleted = 0 AND m.kind IN ('post', 'reply', 'repost')),
        last_status_ms = (SELECT max(time_ms) FROM messages m WHERE m.author_id = authors.id
            AND m.deleted = 0 AND m.kind IN ('post', 'reply', 'repost'));
    CREATE TRIGGER status_counted AFTER INSERT ON messages
        WHEN new.deleted = 0 AND new.kind IN ('post', 'reply', 'repost') BEGIN
        UPDATE authors SET statuses = statuses + 1,
            last_status_ms = max(coalesce(last_status_ms, 0), new.time_ms)
        WHERE id = new.author_id;
    END;
    CREATE TRIGGER status_uncounted AFTER UPDATE OF deleted ON messages
        WHEN old.deleted = 0 AND new.deleted <> 0 AND old.kind IN ('post', 'reply', 'repost') BEGIN
        UPDATE authors SET statuses = max(statuses - 1, 0) WHERE id = old.author_id;
    END;
    CREATE TRIGGER status_removed AFTER DELETE ON messages
        WHEN old.deleted = 0 AND old.kind IN ('post', 'reply', 'repost') BEGIN
        UPDATE authors SET statuses = max(statuses - 1, 0) WHERE id = old.author_id;
    END;
"#;

/// Most ancestors a status's context walks up (each a query): a thread deeper than this shows
/// its nearest ancestors only.
pub const MAX_ANCESTORS: usize = 40;

/// What an Account is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRow {
    /// `authors.id`.
    pub id: i64,
    /// The address.
    pub address: String,
    /// Display name ('' when none).
    pub display_name: String,
    /// Bio ('' when none).
    pub bio: String,
    /// A user of this node.
    pub local: bool,
    /// Follow requests need approval.
    pub locked: bool,
    /// When the account was made (local) or first seen posting (remote), Unix milliseconds.
    pub created_ms: u64,
    /// `/media/<sha256>` of the avatar.
    pub avatar: Option<String>,
    /// `/media/<sha256>` of the header.
    pub header: Option<String>,
    /// Accepted followers known here (local people and remote ones).
    pub followers: u64,
    /// People this account follows (known for local users only).
    pub following: u64,
    /// Posts, replies and reposts stored here (not deleted).
    pub statuses: u64,
    /// Time of the newest of those.
    pub last_status_ms: Option<u64>,
}

/// What a status refers to and who answers it: the parts of a Status not in an [`Entry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusExtras {
    /// The answered post's row id and its author's `authors.id`, when held here.
    pub in_reply_to: Option<(i64, i64)>,
    /// Replies stored here.
    pub replies: u64,
    /// The people it mentions.
    pub mentions: Vec<String>,
}

/// Which statuses a timeline page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// A user's home timeline.
    Home,
    /// Public posts and replies; `Some(true)`: by local authors only, `Some(false)`: remote.
    Public {
        /// Local (`true`) or remote (`false`) authors only.
        local: Option<bool>,
    },
    /// Public... and visible posts with a (normalised) hashtag.
    Tag(String),
    /// One of the viewer's lists (its members' posts in the viewer's home timeline).
    List(i64),
    /// One author's statuses.
    Author {
        /// Whose.
        address: String,
        /// Leave replies out.
        exclude_replies: bool,
        /// Leave reposts out.
        exclude_reblogs: bool,
    },
    /// The viewer's bookmarks.
    Bookmarks,
    /// Posts the viewer liked.
    Favourites,
}

/// The bounds of a page: ids strictly between `above` and `below`, `limit` of them, the oldest
/// (`oldest_first`, Mastodon's `min_id`) or the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Only ids below this.
    pub below: i64,
    /// Only ids above this.
    pub above: i64,
    /// Take the oldest above `above` rather than the newest below `below`.
    pub oldest_first: bool,
    /// How many.
    pub limit: u32,
    /// Only statuses carrying pictures.
    pub only_media: bool,
}

/// The answered post's row id and author id, the reply count, the mentions joined by spaces.
type ExtrasRow = (Option<i64>, Option<i64>, i64, Option<String>);

impl Store {
    /// The account of `address`, if anything is known of it (every local user is).
    pub fn account_row(&self, address: &str) -> Result<Option<AccountRow>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT a.id, a.address, a.display_name, a.bio, a.local_user IS NOT NULL,
                    coalesce(u.locked, 0),
                    coalesce(u.created_ms,
                        (SELECT time_ms FROM messages WHERE author_id = a.id ORDER BY seq LIMIT 1), 0),
                    CASE WHEN a.avatar IS NOT NULL THEN '/media/' || lower(hex(a.avatar)) END,
                    CASE WHEN a.header IS NOT NULL THEN '/media/' || lower(hex(a.header)) END,
                    (SELECT count(*) FROM follows f WHERE f.address = a.address AND f.state = 'accepted')
                      + (SELECT count(*) FROM remote_followers r WHERE r.author_id = a.id
                           AND r.state = 'accepted' AND r.follower <> ''),
                    CASE WHEN a.local_user IS NOT NULL THEN (SELECT count(*) FROM follows f
                           WHERE f.user_id = a.local_user AND f.state = 'accepted') ELSE 0 END,
                    a.statuses, a.last_status_ms
                 FROM authors a LEFT JOIN users u ON u.id = a.local_user
                 WHERE a.address = ?1",
            )?
            .query_row([address], |r| {
                Ok(AccountRow {
                    id: r.get(0)?,
                    address: r.get(1)?,
                    display_name: r.get(2)?,
                    bio: r.get(3)?,
                    local: r.get(4)?,
                    locked: r.get(5)?,
                    created_ms: r.get::<_, i64>(6)?.max(0) as u64,
                    avatar: r.get(7)?,
                    header: r.get(8)?,
                    followers: r.get::<_, i64>(9)?.max(0) as u64,
                    following: r.get::<_, i64>(10)?.max(0) as u64,
                    statuses: r.get::<_, i64>(11)?.max(0) as u64,
                    last_status_ms: r.get::<_, Option<i64>>(12)?.map(|t| t.max(0) as u64),
                })
            })
            .optional()?)
    }

    /// The address of account `id` (`authors.id`).
    pub fn account_address(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT address FROM authors WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// Status `id` (a message row id) if it is a post, reply or repost that `viewer` may read.
    pub fn status_entry(&self, id: i64, viewer: Option<i64>) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&select_views("m.id = ?2"))?
            .query_row(params![viewer.unwrap_or(-1), id], entry_of)
            .optional()?)
    }

    /// `author`'s message `seq` as a status, if `viewer` may read it.
    pub fn entry_at(
        &self,
        author: &str,
        seq: u64,
        viewer: Option<i64>,
    ) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&select_views(
                "m.author_id = (SELECT id FROM authors WHERE address = ?2) AND m.seq = ?3",
            ))?
            .query_row(params![viewer.unwrap_or(-1), author, seq as i64], entry_of)
            .optional()?)
    }

    /// What status `id` answers, how many replies it has here, and whom it mentions.
    pub fn status_extras(&self, id: i64) -> Result<StatusExtras, StoreError> {
        let row: Option<ExtrasRow> = self
            .conn()
            .prepare_cached(
                "SELECT p.id, p.author_id,
                    (SELECT count(*) FROM messages r WHERE r.ref_author = a.address
                       AND r.ref_seq = m.seq AND r.kind = 'reply' AND r.deleted = 0),
                    (SELECT group_concat(address, ' ') FROM mentions WHERE message_id = m.id)
                 FROM messages m JOIN authors a ON a.id = m.author_id
                 LEFT JOIN authors pa ON m.kind = 'reply' AND pa.address = m.ref_author
                 LEFT JOIN messages p ON p.author_id = pa.id AND p.seq = m.ref_seq
                 WHERE m.id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((parent, parent_author, replies, mentions)) = row else {
            return Ok(StatusExtras::default());
        };
        Ok(StatusExtras {
            in_reply_to: parent.zip(parent_author),
            replies: replies.max(0) as u64,
            mentions: mentions
                .unwrap_or_default()
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// The statuses `id` answers, nearest first, that `viewer` may read; the walk stops at
    /// [`MAX_ANCESTORS`], at a post not held here and at one the viewer may not read.
    pub fn ancestors(&self, entry: &Entry, viewer: Option<i64>) -> Result<Vec<Entry>, StoreError> {
        let mut out: Vec<Entry> = Vec::new();
        let mut at = entry.clone();
        while out.len() < MAX_ANCESTORS && at.post.kind == "reply" {
            let Some((author, seq)) = at.post.refers_to.as_deref().and_then(split_ref) else {
                break;
            };
            let Some(parent) = self.entry_at(author, seq, viewer)? else {
                break;
            };
            if parent.cursor == entry.cursor || out.iter().any(|e| e.cursor == parent.cursor) {
                break; // a loop (signed messages cannot make one, but stay bounded anyway)
            }
            out.push(parent.clone());
            at = parent;
        }
        Ok(out)
    }

    /// The replies to `entry` stored here and their replies, depth first in time order, that
    /// `viewer` may read; at most [`MAX_PAGE`].
    pub fn descendants(
        &self,
        entry: &Entry,
        viewer: Option<i64>,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out: Vec<Entry> = Vec::new();
        let mut stack: Vec<(String, u64)> = vec![(entry.post.author.clone(), entry.post.seq)];
        let mut stmt = self.conn().prepare_cached(&select_views(
            "m.kind = 'reply' AND m.ref_author = ?2 AND m.ref_seq = ?3 \
             ORDER BY m.time_ms DESC, m.id DESC LIMIT ?4",
        ))?;
        let mut seen = 0usize;
        while let Some((author, seq)) = stack.pop() {
            seen += 1;
            if out.len() >= MAX_PAGE as usize || seen > MAX_PAGE as usize {
                break;
            }
            let replies: Vec<Entry> = stmt
                .query_map(
                    params![viewer.unwrap_or(-1), author, seq as i64, MAX_PAGE],
                    entry_of,
                )?
                .collect::<Result<_, _>>()?;
            // newest pushed first, so the oldest reply is walked (and listed) first
            for r in replies {
                stack.push((r.post.author.clone(), r.post.seq));
                out.push(r);
            }
        }
        out.sort_by_key(|e| (e.post.time_ms, e.cursor));
        out.truncate(MAX_PAGE as usize);
        Ok(out)
    }

    /// A page of `feed` as `viewer` sees it, newest first.
    pub fn feed_page(
        &self,
        feed: &Feed,
        viewer: Option<i64>,
        b: Bounds,
    ) -> Result<Vec<Entry>, StoreError> {
        let media = if b.only_media {
            " AND EXISTS(SELECT 1 FROM attachments t WHERE t.message_id = m.id)"
        } else {
            ""
        };
        let mut extra: Vec<Box<dyn ToSql>> = Vec::new();
        let what = match feed {
            Feed::Home => format!(
                "{HOME_AUTHORS} AND m.id IN (SELECT message_id FROM timeline WHERE user_id = ?1 \
                 AND message_id < ?2 AND message_id > ?3)"
            ),
            Feed::Public { local } => {
                let whose = match local {
                    Some(true) => " AND a.local_user IS NOT NULL",
                    Some(false) => " AND a.local_user IS NULL",
                    None => "",
                };
                format!("m.audience = 'public' AND m.kind IN ('post', 'reply'){whose}")
            }
            Feed::Tag(tag) => {
                extra.push(Box::new(tag.clone()));
                "m.kind IN ('post', 'reply') AND m.id IN \
                 (SELECT message_id FROM tags WHERE tag = ?5 AND message_id < ?2 AND message_id > ?3)"
                    .to_string()
            }
            Feed::List(list) => {
                extra.push(Box::new(*list));
                "a.address IN (SELECT l.address FROM list_members l JOIN lists s ON s.id = l.list_id \
                   WHERE l.list_id = ?5 AND s.user_id = ?1) \
                 AND m.id IN (SELECT message_id FROM timeline WHERE user_id = ?1 \
                 AND message_id < ?2 AND message_id > ?3)"
                    .to_string()
            }
            Feed::Author {
                address,
                exclude_replies,
                exclude_reblogs,
            } => {
                extra.push(Box::new(address.clone()));
                let mut s = "m.author_id = (SELECT id FROM authors WHERE address = ?5)".to_string();
                if *exclude_replies {
                    s.push_str(" AND m.kind <> 'reply'");
                }
                if *exclude_reblogs {
                    s.push_str(" AND m.kind <> 'repost'");
                }
                s
            }
            Feed::Bookmarks => "m.id IN (SELECT message_id FROM bookmarks WHERE user_id = ?1 \
                 AND message_id < ?2 AND message_id > ?3)"
                .to_string(),
            Feed::Favourites => "m.kind IN ('post', 'reply') AND EXISTS(SELECT 1 FROM messages l \
                 JOIN authors la ON la.id = l.author_id WHERE la.local_user = ?1 \
                 AND l.ref_author = a.address AND l.ref_seq = m.seq AND l.kind = 'like' \
                 AND l.deleted = 0)"
                .to_string(),
        };
        let order = if b.oldest_first { "ASC" } else { "DESC" };
        let sql = select_views(&format!(
            "{what}{media} AND m.id < ?2 AND m.id > ?3 ORDER BY m.id {order} LIMIT ?4"
        ));
        let mut all: Vec<&dyn ToSql> = Vec::with_capacity(5);
        let v = viewer.unwrap_or(-1);
        let limit = b.limit.min(MAX_PAGE);
        all.push(&v);
        all.push(&b.below);
        all.push(&b.above);
        all.push(&limit);
        for e in &extra {
            all.push(e.as_ref());
        }
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows: Vec<Entry> = stmt
            .query_map(all.as_slice(), entry_of)?
            .collect::<Result<_, _>>()?;
        if b.oldest_first {
            rows.reverse();
        }
        Ok(rows)
    }

    /// The local people who liked (`like`) or reposted (`repost`) `entry`, and remote ones
    /// whose act is stored here, newest first, at most `limit`.
    pub fn acted_by(
        &self,
        entry: &Entry,
        kind: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.address FROM messages l JOIN authors a ON a.id = l.author_id
             WHERE l.ref_author = ?1 AND l.ref_seq = ?2 AND l.kind = ?3 AND l.deleted = 0
             ORDER BY l.id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                entry.post.author,
                entry.post.seq as i64,
                kind,
                limit.min(MAX_PAGE)
            ],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The message row id of `user_id`'s post `key_hash` recorded within the last `ttl_ms`
    /// (Mastodon's `Idempotency-Key`).
    pub fn idempotent_status(
        &self,
        user_id: i64,
        key_hash: &[u8; 32],
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT message_id FROM idempotency WHERE user_id = ?1 AND key_hash = ?2
                 AND created_ms > ?3",
            )?
            .query_row(
                params![
                    user_id,
                    key_hash.as_slice(),
                    now_ms.saturating_sub(ttl_ms) as i64
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records that `user_id`'s post with `key_hash` is message row `message_id`, and forgets
    /// keys older than `ttl_ms`.
    pub fn remember_idempotency(
        &mut self,
        user_id: i64,
        key_hash: &[u8; 32],
        message_id: i64,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "DELETE FROM idempotency WHERE created_ms <= ?1",
            [now_ms.saturating_sub(ttl_ms) as i64],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO idempotency(user_id, key_hash, message_id, created_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![user_id, key_hash.as_slice(), message_id, now_ms as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The row id of `author`'s message `seq`, if held.
    pub fn message_id_of(&self, author: &Address, seq: u64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT m.id FROM messages m JOIN authors a ON a.id = m.author_id
                 WHERE a.address = ?1 AND m.seq = ?2",
            )?
            .query_row(params![author.as_str(), seq as i64], |r| r.get(0))
            .optional()?)
    }

    /// Is `list` one of `user_id`'s lists?
    pub fn list_owned(&self, user_id: i64, list: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM lists WHERE id = ?1 AND user_id = ?2)")?
            .query_row(params![list, user_id], |r| r.get(0))?)
    }
}

/// `author/seq` split.
pub fn split_ref(r: &str) -> Option<(&str, u64)> {
    let (author, seq) = r.rsplit_once('/')?;
    Some((author, seq.parse().ok()?))
}

#[cfg(test)]
#[path = "mastodon_views_tests.rs"]
mod tests;
