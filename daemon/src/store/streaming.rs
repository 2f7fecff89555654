//! What the Mastodon streaming API ([`crate::web::mastodon::streaming`]) reads: the messages
//! stored after a cursor, classified (a new post, an edit, a delete, or nothing to stream),
//! and where a post may show for a viewer (home, public, local, direct, a tag, a list). The
//! cursor is the message row id, as for msm's own stream ([`super::timeline`]).

use super::relations::HIDDEN;
use super::timeline::{entry_of, select_views, visible_sql, Entry, HOME_AUTHORS};
use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// What a stored message means to a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A post, reply or repost: `update`.
    New,
    /// An edit of the post: `status.update`.
    Edit,
    /// A delete of the post: `delete`.
    Delete,
}

/// A stored message after a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The message's row id (the stream's cursor moves past it).
    pub cursor: i64,
    /// What it does (`None`: nothing a stream shows, such as a like, or an edit of a post not
    /// stored here).
    pub kind: Option<ChangeKind>,
    /// The row id of the post it is or acts on (the Mastodon status id).
    pub status: i64,
}

/// Where a post may show for one viewer (who may read it and has not hidden its author).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The author's address.
    pub author: String,
    /// The author is a user of this node.
    pub local: bool,
    /// Its audience is public.
    pub public: bool,
    /// Its audience is direct.
    pub direct: bool,
    /// It is a repost.
    pub repost: bool,
    /// By the viewer or someone the viewer follows (or a direct post to them).
    pub home_author: bool,
    /// In the viewer's home timeline.
    pub in_home: bool,
}

impl Store {
    /// Up to `limit` messages stored after `after`, oldest first.
    pub fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<Change>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.kind, CASE WHEN m.kind IN ('edit', 'delete') THEN t.id ELSE m.id END
             FROM messages m
             LEFT JOIN authors ta ON m.kind IN ('edit', 'delete') AND ta.address = m.ref_author
             LEFT JOIN messages t ON t.author_id = ta.id AND t.seq = m.ref_seq
             WHERE m.id > ?1 ORDER BY m.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            let kind: String = r.get(1)?;
            let status: Option<i64> = r.get(2)?;
            let kind = match kind.as_str() {
                "post" | "reply" | "repost" => Some(ChangeKind::New),
                "edit" => Some(ChangeKind::Edit),
                "delete" => Some(ChangeKind::Delete),
                _ => None,
            };
            Ok(Change {
                cursor: r.get(0)?,
                kind: kind.filter(|_| status.is_some()),
                status: status.unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The post with row id `id` as `viewer` sees it, if shown to them.
    pub fn stream_status(&self, viewer: i64, id: i64) -> Result<Option<Entry>, StoreError> {
        let sql = select_views("m.id = ?2");
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row(params![viewer, id], entry_of)
            .optional()?)
    }

    /// Where the post with row id `id` (deleted or not) may show for `viewer`; `None` if they
    /// may not read it or have hidden its author.
    pub fn reach(&self, viewer: i64, id: i64) -> Result<Option<Reach>, StoreError> {
        let sql = format!(
            "SELECT a.address, a.local_user IS NOT NULL, m.audience, m.kind, {HOME_AUTHORS},
                    EXISTS(SELECT 1 FROM timeline WHERE user_id = ?1 AND message_id = m.id)
             FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE m.id = ?2 AND {} AND NOT {HIDDEN}",
            visible_sql("?1")
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row(params![viewer, id], |r| {
                let audience: String = r.get(2)?;
                let kind: String = r.get(3)?;
                Ok(Reach {
                    author: r.get(0)?,
                    local: r.get(1)?,
                    public: audience == "public",
                    direct: audience == "direct",
                    repost: kind == "repost",
                    home_author: r.get(4)?,
                    in_home: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// Does the post with row id `id` carry hashtag `tag` (normalised)?
    pub fn has_tag(&self, id: i64, tag: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM tags WHERE tag = ?1 AND message_id = ?2)")?
            .query_row(params![tag, id], |r| r.get(0))?)
    }

    /// Is `address` a member of list `list` of `user_id`?
    pub fn in_list(&self, user_id: i64, list: i64, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM list_members m JOIN lists l ON l.id = m.list_id
                 WHERE l.id = ?1 AND l.user_id = ?2 AND m.address = ?3)",
            )?
            .query_row(params![list, user_id, address], |r| r.get(0))?)
    }

    /// The newest notification id of `user_id` (0 when none).
    pub fn notification_head(&self, user_id: i64) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = ?1")?
            .query_row([user_id], |r| r.get(0))?)
    }
}
