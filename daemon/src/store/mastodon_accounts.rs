//! What the Mastodon client API's accounts, notifications, markers, search and lists need
//! beyond msm's own queries: accounts by `authors` row id, the flags of a Relationship, pages
//! of followers and following by row id, notification ids filtered by kind, reading markers
//! (migration 11's `markers`), hashtags by prefix, and a list's rename and members.
//!
//! Every page is bounded by its caller's limit (at most [`MAX_ACCOUNT_PAGE`] here).

use super::{Store, StoreError};
use crate::proto::Address;
use rusqlite::{params, OptionalExtension};

/// Most rows one page of accounts, notification ids or hashtags returns (Mastodon's 80 for
/// accounts; clients ask for 40).
pub const MAX_ACCOUNT_PAGE: u32 = 80;

/// Longest hashtag prefix looked up, in bytes.
pub const MAX_TAG_QUERY_BYTES: usize = 100;

/// The timelines a reading marker can be kept for.
pub const MARKER_TIMELINES: [&str; 2] = ["home", "notifications"];

/// A page of rows by id: only ids in `(above, below)`, the newest first unless
/// `oldest_first` (then the oldest above `above`), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// Exclusive lower bound.
    pub above: i64,
    /// Exclusive upper bound.
    pub below: i64,
    /// Take the oldest rows above `above` (Mastodon's `min_id`).
    pub oldest_first: bool,
    /// How many.
    pub limit: u32,
}

impl IdRange {
    fn order(&self) -> &'static str {
        if self.oldest_first {
            "ASC"
        } else {
            "DESC"
        }
    }

    fn limit(&self) -> u32 {
        self.limit.min(MAX_ACCOUNT_PAGE)
    }
}

/// What a user and another address are to each other (Mastodon's Relationship).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelationFlags {
    /// The user follows them, accepted.
    pub following: bool,
    /// The user's follow waits (for their approval or their node).
    pub requested: bool,
    /// They follow the user, accepted.
    pub followed_by: bool,
    /// Their follow of the user waits for the user's approval.
    pub requested_by: bool,
    /// The user blocks them.
    pub blocking: bool,
    /// They (a user of this node) block the user.
    pub blocked_by: bool,
    /// The user mutes them.
    pub muting: bool,
    /// Their domain is blocked on this node.
    pub domain_blocking: bool,
}

/// A reading marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// `home` or `notifications`.
    pub timeline: String,
    /// The id read up to.
    pub last_read_id: i64,
    /// Grows with every change.
    pub version: i64,
    /// Unix milliseconds of the last change.
    pub updated_ms: u64,
}

impl Store {
    /// The `authors` row id of `address`.
    pub fn account_id(&self, address: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT id FROM authors WHERE address = ?1")?
            .query_row([address], |r| r.get(0))
            .optional()?)
    }

    /// The flags between the local user `user_id` (address `me`) and `other`.
    pub fn relation_flags(
        &self,
        user_id: i64,
        me: &Address,
        other: &Address,
    ) -> Result<RelationFlags, StoreError> {
        Ok(self.conn().prepare_cached(
            "SELECT
               EXISTS(SELECT 1 FROM follows WHERE user_id = ?1 AND address = ?3 AND state = 'accepted'),
               EXISTS(SELECT 1 FROM follows WHERE user_id = ?1 AND address = ?3 AND state <> 'accepted'),
               EXISTS(SELECT 1 FROM follows f JOIN authors a ON a.local_user = f.user_id
                      WHERE a.address = ?3 AND f.address = ?2 AND f.state = 'accepted')
                 OR EXISTS(SELECT 1 FROM remote_followers r JOIN authors a ON a.id = r.author_id
                      WHERE a.address = ?2 AND r.follower = ?3 AND r.state = 'accepted'),
               EXISTS(SELECT 1 FROM follows f JOIN authors a ON a.local_user = f.user_id
                      WHERE a.address = ?3 AND f.address = ?2 AND f.state = 'pending')
                 OR EXISTS(SELECT 1 FROM remote_followers r JOIN authors a ON a.id = r.author_id
                      WHERE a.address = ?2 AND r.follower = ?3 AND r.state = 'pending'),
               EXISTS(SELECT 1 FROM relations WHERE user_id = ?1 AND target = ?3 AND kind = 'block'),
               EXISTS(SELECT 1 FROM relations r JOIN authors a ON a.local_user = r.user_id
                      WHERE a.address = ?3 AND r.target = ?2 AND r.kind = 'block'),
               EXISTS(SELECT 1 FROM relations WHERE user_id = ?1 AND target = ?3 AND kind = 'mute'),
               EXISTS(SELECT 1 FROM domain_blocks WHERE domain = ?4)",
        )?
        .query_row(
            params![user_id, me.as_str(), other.as_str(), other.domain()],
            |r| {
                Ok(RelationFlags {
                    following: r.get(0)?,
                    requested: r.get(1)?,
                    followed_by: r.get(2)?,
                    requested_by: r.get(3)?,
                    blocking: r.get(4)?,
                    blocked_by: r.get(5)?,
                    muting: r.get(6)?,
                    domain_blocking: r.get(7)?,
                })
            },
        )?)
    }

    /// A page of the accepted followers of `author` this node knows (local ones, and remote
    /// ones by address), as `(authors id, address)`; a follower with no `authors` row here
    /// has no account id and is left out.
    pub fn follower_accounts(
        &self,
        author: &Address,
        page: IdRange,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT id, address FROM (
               SELECT a.id, a.address FROM follows f JOIN authors a ON a.local_user = f.user_id
                 WHERE f.address = ?1 AND f.state = 'accepted'
               UNION
               SELECT a.id, a.address FROM remote_followers r JOIN authors t ON t.id = r.author_id
                 JOIN authors a ON a.address = r.follower
                 WHERE t.address = ?1 AND r.state = 'accepted')
             WHERE id > ?2 AND id < ?3 ORDER BY id {} LIMIT ?4",
            page.order()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![author.as_str(), page.above, page.below, page.limit()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of the addresses `user_id` follows (accepted) that have an `authors` row, as
    /// `(authors id, address)`.
    pub fn followed_accounts(
        &self,
        user_id: i64,
        page: IdRange,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT a.id, a.address FROM follows f JOIN authors a ON a.address = f.address
             WHERE f.user_id = ?1 AND f.state = 'accepted' AND a.id > ?2 AND a.id < ?3
             ORDER BY a.id {} LIMIT ?4",
            page.order()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![user_id, page.above, page.below, page.limit()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of `user_id`'s notification ids whose kind is one of `kinds` (msm's kinds).
    pub fn notification_ids(
        &self,
        user_id: i64,
        kinds: &[&str],
        page: IdRange,
    ) -> Result<Vec<i64>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id FROM notifications WHERE user_id = ?1 AND id > ?2 AND id < ?3
               AND instr(?4, ',' || kind || ',') > 0
             ORDER BY id {} LIMIT ?5",
            page.order()
        );
        let kinds = format!(",{},", kinds.join(","));
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![user_id, page.above, page.below, kinds, page.limit()],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes one of `user_id`'s notifications; false if there is no such one.
    pub fn dismiss_notification(&mut self, user_id: i64, id: i64) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM notifications WHERE user_id = ?1 AND id = ?2",
            params![user_id, id],
        )? > 0)
    }

    /// Deletes all of `user_id`'s notifications; how many.
    pub fn clear_notifications(&mut self, user_id: i64) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM notifications WHERE user_id = ?1", [user_id])? as u64)
    }

    /// `user_id`'s reading markers.
    pub fn markers(&self, user_id: i64) -> Result<Vec<Marker>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT timeline, last_read_id, version, updated_ms FROM markers WHERE user_id = ?1
             ORDER BY timeline",
        )?;
        let rows = stmt.query_map([user_id], |r| {
            Ok(Marker {
                timeline: r.get(0)?,
                last_read_id: r.get(1)?,
                version: r.get(2)?,
                updated_ms: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets `user_id`'s marker of `timeline` (one of [`MARKER_TIMELINES`]), its version one
    /// more than before.
    pub fn set_marker(
        &mut self,
        user_id: i64,
        timeline: &str,
        last_read_id: i64,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        if !MARKER_TIMELINES.contains(&timeline) {
            return Err(StoreError::Invalid(format!(
                "no marker for the timeline {timeline:?}"
            )));
        }
        self.conn().execute(
            "INSERT INTO markers(user_id, timeline, last_read_id, version, updated_ms)
             VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT(user_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id,
               version = version + 1, updated_ms = excluded.updated_ms",
            params![user_id, timeline, last_read_id, now_ms as i64],
        )?;
        Ok(())
    }

    /// Hashtags of public posts stored here that start with `prefix` (lower-cased), most used
    /// first (a tag only followers-only or direct posts carry is nobody else's business).
    pub fn hashtags(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        if prefix.len() > MAX_TAG_QUERY_BYTES {
            return Err(StoreError::BadQuery(format!(
                "a hashtag query is at most {MAX_TAG_QUERY_BYTES} bytes"
            )));
        }
        let lit: String = prefix
            .to_lowercase()
            .chars()
            .flat_map(|c| {
                let esc = matches!(c, '%' | '_' | '\\').then_some('\\');
                esc.into_iter().chain(std::iter::once(c))
            })
            .collect();
        let mut stmt = self.conn().prepare_cached(
            "SELECT t.tag FROM tags t JOIN messages m ON m.id = t.message_id
             WHERE t.tag LIKE ?1 ESCAPE '\\' AND m.audience = 'public' AND m.deleted = 0
             GROUP BY t.tag ORDER BY count(*) DESC, t.tag LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![format!("{lit}%"), limit.min(MAX_ACCOUNT_PAGE)],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Renames one of `user_id`'s lists; false if there is no such list of theirs.
    pub fn rename_list(
        &mut self,
        user_id: i64,
        list: i64,
        title: &str,
    ) -> Result<bool, StoreError> {
        let title = title.trim();
        if title.is_empty()
            || title.len() > super::lists::MAX_LIST_TITLE
            || title.chars().any(char::is_control)
        {
            return Err(StoreError::Invalid(format!(
                "a list title is 1 to {} bytes of text",
                super::lists::MAX_LIST_TITLE
            )));
        }
        Ok(self.conn().execute(
            "UPDATE lists SET title = ?3 WHERE id = ?1 AND user_id = ?2",
            params![list, user_id, title],
        )? > 0)
    }

    /// `user_id`'s lists that hold `address`, as `(id, title)`.
    pub fn lists_holding(
        &self,
        user_id: i64,
        address: &str,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT l.id, l.title FROM lists l JOIN list_members m ON m.list_id = l.id
             WHERE l.user_id = ?1 AND m.address = ?2 ORDER BY l.id",
        )?;
        let rows = stmt.query_map(params![user_id, address], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of the members of `user_id`'s list `list` (`None`: no such list of theirs), as
    /// `(authors id, address)`.
    pub fn list_member_accounts(
        &self,
        user_id: i64,
        list: i64,
        page: IdRange,
    ) -> Result<Option<Vec<(i64, String)>>, StoreError> {
        let own: bool = self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM lists WHERE id = ?1 AND user_id = ?2)",
            params![list, user_id],
            |r| r.get(0),
        )?;
        if !own {
            return Ok(None);
        }
        let sql = format!(
            "SELECT a.id, a.address FROM list_members m JOIN authors a ON a.address = m.address
             WHERE m.list_id = ?1 AND a.id > ?2 AND a.id < ?3 ORDER BY a.id {} LIMIT ?4",
            page.order()
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![list, page.above, page.below, page.limit()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }
}

#[cfg(test)]
#[path = "mastodon_accounts_tests.rs"]
mod tests;
