//! Reading what people see: home timelines (also the source of the live stream), profiles,
//! threads and full-text search.
//!
//! A timeline entry's cursor is the stored message's row id: it grows with every message the
//! node stores, so "entries after cursor N" is exactly what a live stream missed while it was
//! away, and "before N" pages back in time. Visibility is one rule everywhere ([`VISIBLE`]): a
//! public post, or the viewer's own, or one by an author who accepted the viewer as a follower;
//! and never one the viewer muted or blocked, or of a domain the owner blocked (`relations`).

use super::messages::{PostView, MAX_PAGE};
use super::relations::HIDDEN;
use super::wire_text::text_of_m;
use super::{Store, StoreError};
use crate::proto::Address;
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

/// Columns read for a [`PostView`], from `messages m JOIN authors a`.
/// Then the content warning, the time of the last edit, the like and repost counts, and
/// whether the viewer `?V` liked, reposted and bookmarked it.
const VIEW_COLUMNS: &str = concat!(
    "a.address, m.seq, m.time_ms, m.kind, m.audience, ",
    text_of_m!(),
    ", m.ref_author, m.ref_seq, a.display_name, m.id, m.summary, m.edited_ms, \
     (SELECT count(*) FROM messages l WHERE l.ref_author = a.address AND l.ref_seq = m.seq \
        AND l.kind = 'like' AND l.deleted = 0), \
     (SELECT count(*) FROM messages l WHERE l.ref_author = a.address AND l.ref_seq = m.seq \
        AND l.kind = 'repost' AND l.deleted = 0), \
     EXISTS(SELECT 1 FROM messages l JOIN authors la ON la.id = l.author_id \
        WHERE l.ref_author = a.address AND l.ref_seq = m.seq AND l.kind = 'like' \
        AND l.deleted = 0 AND la.local_user = ?V), \
     EXISTS(SELECT 1 FROM messages l JOIN authors la ON la.id = l.author_id \
        WHERE l.ref_author = a.address AND l.ref_seq = m.seq AND l.kind = 'repost' \
        AND l.deleted = 0 AND la.local_user = ?V), \
     EXISTS(SELECT 1 FROM bookmarks b WHERE b.user_id = ?V AND b.message_id = m.id), \
     CASE WHEN m.kind IN ('post', 'reply') THEN ",
    super::media::media_column!(),
    " END, \
     CASE WHEN a.avatar IS NOT NULL THEN '/media/' || lower(hex(a.avatar)) END",
);

/// Posts, replies and reposts that are not deleted.
const SHOWN: &str = "m.deleted = 0 AND m.kind IN ('post', 'reply', 'repost')";

/// Who may read `m` by `a`: the viewer is `?V` (-1 for nobody logged in). A direct message:
/// its author and the people it mentions.
const VISIBLE: &str = "(m.audience = 'public' OR a.local_user = ?V \
     OR (m.audience = 'followers' AND EXISTS(SELECT 1 FROM follows f WHERE f.user_id = ?V \
               AND f.address = a.address AND f.state = 'accepted')) \
     OR (m.audience = 'direct' AND EXISTS(SELECT 1 FROM mentions n JOIN authors u \
               ON u.address = n.address WHERE n.message_id = m.id AND u.local_user = ?V)))";

/// [`VISIBLE`] with the viewer as the SQL parameter `v` (such as `?2`).
pub(crate) fn visible_sql(v: &str) -> String {
    VISIBLE.replace("?V", v)
}

/// Whose posts a home timeline shows: the user's own and those of people the user follows now
/// (`?1` is the user). Unfollowing someone, or a refused follow request, takes all their posts
/// out of Home, public ones too (they stay on the author's profile and in search), as Mastodon
/// does; [`Store::unfollow`] also drops their timeline rows. A direct post shows in the Home of
/// each local person it mentions, followed or not ([`VISIBLE`], which every view applies with
/// the same user, already limits it to them).
pub(crate) const HOME_AUTHORS: &str = "(a.local_user = ?1 \
     OR EXISTS(SELECT 1 FROM follows f WHERE f.user_id = ?1 AND f.address = a.address) \
     OR m.audience = 'direct')";

/// Longest search query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;
/// Deepest a search may page (offset), so a query never scans without end.
pub const MAX_SEARCH_OFFSET: u32 = 1000;

/// A timeline entry: a post and its cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in the node's store (the stream's event id).
    pub cursor: i64,
    /// The post.
    #[serde(flatten)]
    pub post: PostView,
}

/// What a profile shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The address.
    pub address: String,
    /// Display name ('' when none).
    pub display_name: String,
    /// Bio ('' when none).
    pub bio: String,
    /// A user of this node.
    pub local: bool,
    /// The viewer follows this address.
    pub followed: bool,
    /// The avatar's URL (`/media/<sha256>`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// The header's URL, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

/// Reads a row of [`VIEW_COLUMNS`].
pub(crate) fn entry_of(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let author: String = r.get(0)?;
    let seq: i64 = r.get(1)?;
    let ref_author: Option<String> = r.get(6)?;
    let ref_seq: Option<i64> = r.get(7)?;
    Ok(Entry {
        cursor: r.get(9)?,
        post: PostView {
            id: format!("{author}/{seq}"),
            author,
            seq: seq as u64,
            time_ms: r.get::<_, i64>(2)? as u64,
            kind: r.get(3)?,
            audience: r.get(4)?,
            text: r.get(5)?,
            refers_to: ref_author.zip(ref_seq).map(|(a, s)| format!("{a}/{s}")),
            display_name: r.get(8)?,
            summary: r.get(10)?,
            edited_ms: r.get::<_, Option<i64>>(11)?.map(|t| t as u64),
            likes: r.get::<_, i64>(12)? as u64,
            reposts: r.get::<_, i64>(13)? as u64,
            liked: r.get(14)?,
            reposted: r.get(15)?,
            bookmarked: r.get(16)?,
            media: super::media::media_views(r.get(17)?),
            avatar: r.get(18)?,
        },
    })
}

/// `SELECT ... FROM messages m JOIN authors a ... WHERE <shown> AND <visible> AND NOT
/// <hidden> AND <rest>` (the viewer is `?1`; see [`HIDDEN`] for mutes and blocks).
pub(crate) fn select_views(rest: &str) -> String {
    format!(
        "SELECT {VIEW_COLUMNS} FROM messages m JOIN authors a ON a.id = m.author_id \
         WHERE {SHOWN} AND {} AND NOT {HIDDEN} AND {rest}",
        VISIBLE.replace("?V", "?1")
    )
    .replace("?V", "?1")
}

impl Store {
    /// A page of `user_id`'s home timeline, newest first, older than `before` (a cursor).
    pub fn timeline(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Entry>, StoreError> {
        let sql = select_views(&format!(
            "{HOME_AUTHORS} AND m.id IN (SELECT message_id FROM timeline WHERE user_id = ?1 AND message_id < ?2) \
             ORDER BY m.id DESC LIMIT ?3"
        ));
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![user_id, before.unwrap_or(i64::MAX), limit.min(MAX_PAGE)],
            entry_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Entries of `user_id`'s timeline stored after cursor `after`, oldest first.
    pub fn timeline_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Entry>, StoreError> {
        let sql = select_views(&format!(
            "{HOME_AUTHORS} AND m.id IN (SELECT message_id FROM timeline WHERE user_id = ?1 AND message_id > ?2) \
             ORDER BY m.id LIMIT ?3"
        ));
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(params![user_id, after, limit.min(MAX_PAGE)], entry_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes stored after cursor `after` of posts that may be in `user_id`'s timeline (their
    /// author is the user or someone the user follows), oldest first: `(cursor, "author/seq")`.
    pub fn deletes_after(
        &self,
        user_id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.id, m.ref_author || '/' || m.ref_seq FROM messages m
             JOIN authors a ON a.id = m.author_id
             WHERE m.id > ?2 AND m.kind = 'delete' AND m.ref_author IS NOT NULL
               AND (a.local_user = ?1
                    OR EXISTS(SELECT 1 FROM follows f WHERE f.user_id = ?1 AND f.address = a.address))
             ORDER BY m.id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user_id, after, limit.min(MAX_PAGE)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest cursor in `user_id`'s timeline (0 when empty).
    pub fn timeline_head(&self, _user_id: i64) -> Result<i64, StoreError> {
        // Every stored message moves the cursor (timeline entries and deletes share it).
        Ok(self
            .conn()
            .query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
                r.get(0)
            })?)
    }

    /// A page of `author`'s posts that `viewer` may read, newest first, below seq `before`.
    pub fn posts_by(
        &self,
        author: &Address,
        viewer: Option<i64>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<PostView>, StoreError> {
        let sql = select_views("a.address = ?2 AND m.seq < ?3 ORDER BY m.seq DESC LIMIT ?4");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let rows = stmt.query_map(
            params![
                viewer.unwrap_or(-1),
                author.as_str(),
                before,
                limit.min(MAX_PAGE)
            ],
            |r| entry_of(r).map(|e| e.post),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One post, if it is stored and `viewer` may read it.
    pub fn post(
        &self,
        author: &Address,
        seq: u64,
        viewer: Option<i64>,
    ) -> Result<Option<PostView>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(&select_views("a.address = ?2 AND m.seq = ?3"))?
            .query_row(
                params![viewer.unwrap_or(-1), author.as_str(), seq as i64],
                entry_of,
            )
            .optional()?
            .map(|e| e.post))
    }

    /// One post (if `viewer` may read it) and the replies to it stored here, oldest first.
    pub fn thread(
        &self,
        author: &Address,
        seq: u64,
        viewer: Option<i64>,
    ) -> Result<(Option<PostView>, Vec<PostView>), StoreError> {
        let post = self.post(author, seq, viewer)?;
        let viewer = viewer.unwrap_or(-1);
        let mut stmt = self.conn().prepare_cached(&select_views(
            "m.kind = 'reply' AND m.ref_author = ?2 AND m.ref_seq = ?3 ORDER BY m.time_ms, m.id LIMIT ?4",
        ))?;
        let rows = stmt.query_map(
            params![viewer, author.as_str(), seq as i64, MAX_PAGE],
            |r| entry_of(r).map(|e| e.post),
        )?;
        Ok((post, rows.collect::<Result<_, _>>()?))
    }

    /// Is `address` a user of this node?
    pub fn is_local_user(&self, address: &Address) -> Result<bool, StoreError> {
        Ok(address.domain() == self.node_info()?.domain
            && self.user_by_name(address.user())?.is_some())
    }

    /// What is known of `address`, as `viewer` sees it; `None` if nothing is. A user of this
    /// node who has not posted yet has an empty profile.
    pub fn profile(
        &self,
        address: &Address,
        viewer: Option<i64>,
    ) -> Result<Option<Profile>, StoreError> {
        let known = self
            .conn()
            .query_row(
                "SELECT display_name, bio, local_user IS NOT NULL,
                        EXISTS(SELECT 1 FROM follows f WHERE f.user_id = ?2 AND f.address = ?1),
                        CASE WHEN avatar IS NOT NULL THEN '/media/' || lower(hex(avatar)) END,
                        CASE WHEN header IS NOT NULL THEN '/media/' || lower(hex(header)) END
                 FROM authors WHERE address = ?1",
                params![address.as_str(), viewer.unwrap_or(-1)],
                |r| {
                    Ok(Profile {
                        address: address.to_string(),
                        display_name: r.get(0)?,
                        bio: r.get(1)?,
                        local: r.get(2)?,
                        followed: r.get(3)?,
                        avatar: r.get(4)?,
                        header: r.get(5)?,
                    })
                },
            )
            .optional()?;
        if known.is_some() || !self.is_local_user(address)? {
            return Ok(known);
        }
        let followed: bool = self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE user_id = ?2 AND address = ?1)",
            params![address.as_str(), viewer.unwrap_or(-1)],
            |r| r.get(0),
        )?;
        Ok(Some(Profile {
            address: address.to_string(),
            display_name: String::new(),
            bio: String::new(),
            local: true,
            followed,
            avatar: None,
            header: None,
        }))
    }

    /// Full-text search over the posts `viewer` may read, best match first. Any text is a
    /// query (words, `"phrases"`, `prefix*`, `OR`, `-word`: see [`super::fts_query`]); one
    /// with nothing to look for finds nothing.
    pub fn search(
        &self,
        query: &str,
        viewer: Option<i64>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<PostView>, StoreError> {
        let Some(expr) = check_query(query, offset)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {VIEW_COLUMNS} FROM \
               (SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH ?2 \
                UNION ALL SELECT rowid, rank FROM alt_fts WHERE alt_fts MATCH ?2) hit \
             JOIN messages m ON m.id = hit.rowid JOIN authors a ON a.id = m.author_id \
             WHERE {SHOWN} AND {} AND NOT {HIDDEN} \
             GROUP BY m.id ORDER BY min(hit.rank) LIMIT ?3 OFFSET ?4",
            VISIBLE.replace("?V", "?1")
        )
        .replace("?V", "?1");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![viewer.unwrap_or(-1), expr, limit.min(MAX_PAGE), offset],
            |r| entry_of(r).map(|e| e.post),
        );
        rows.and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(query_error)
    }
}

/// Refuses an over-long query and an offset past [`MAX_SEARCH_OFFSET`], for both searches
/// (stored posts and the discover window), and translates the query to FTS5
/// ([`super::fts_query::translate`]): `None` when it has nothing to look for.
pub(crate) fn check_query(query: &str, offset: u32) -> Result<Option<String>, StoreError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(StoreError::BadQuery(format!(
            "the query is longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    if offset > MAX_SEARCH_OFFSET {
        return Err(StoreError::BadQuery(format!(
            "offset must be at most {MAX_SEARCH_OFFSET}"
        )));
    }
    Ok(super::fts_query::translate(query))
}

/// A query the index cannot parse fails as a plain SQLITE_ERROR when it runs ("fts5: syntax
/// error near ..."). [`super::fts_query`] writes none, so this is a bug of ours if it happens,
/// but it is still the query's fault ([`StoreError::BadQuery`]), not a damaged database.
pub(crate) fn query_error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::Unknown => {
            StoreError::BadQuery(msg.trim_start_matches("fts5: ").to_string())
        }
        other => other.into(),
    }
}
