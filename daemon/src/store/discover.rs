//! The discover window: a bounded set of public posts of authors nobody on this node follows,
//! kept from the firehose for the web client's "Discover" page and for search.
//!
//! # Trust: kept apart from `messages`
//!
//! A message in `messages` is author-verified: its signature checked against the author's key,
//! learned by following (or the author is a local user). A node does not know the key of an
//! author nobody here follows, so a discover post is vouched for only by the hub's stream
//! signature (`firehose.hub_key`): the hub could have forged it. It therefore lives in its own
//! table, `discover`, without its wire form, and never enters a timeline, the outbox, an
//! author's contiguous seq or a profile. Clients see it marked `"via": "firehose"` and
//! `"verified": false` (`true` only when the author's key happened to be known here, e.g. from
//! an earlier follow, and the signature checked out; a bad one is refused before this module).
//!
//! # What goes in
//!
//! Public posts and replies only: they are what a reader can judge alone. Reposts are left out
//! (a repost is an empty pointer to a post this node may not have), and so are profile updates
//! (they would change names shown for authors nobody follows, on the hub's word alone). A
//! delete from an author removes the matching discover row, whatever path brought it.
//!
//! # Bounds and flash
//!
//! The window holds the newest `firehose.discover_keep` rows by arrival (row id); every batch
//! (one writer job, see [`super::writer`]) inserts, applies deletes and prunes in one
//! transaction, so a burst of firehose posts costs one commit. When a user later follows an
//! author, that author's old discover rows stay and age out; listing and search hide a row
//! whose `(author, seq)` is also in `messages`, so nothing shows twice. A post deleted and
//! then replayed by the stream (a repair) could come back; it ages out like the rest.

use super::messages::{PostView, MAX_PAGE};
use super::search_index::{Indexed, Unindexed};
use super::timeline::{check_query, query_error, select_views};
use super::{Store, StoreError};
use crate::proto::{Address, Audience, Body, MessageId, SignedMessage};
use rusqlite::{params, Connection, Row};
use serde::Serialize;

/// What clients see in `via` for a discover post.
pub const VIA_FIREHOSE: &str = "firehose";

/// Columns read for a [`DiscoverEntry`], from `discover d LEFT JOIN authors a`.
/// In the order of the timeline's columns (so [`super::timeline::entry_of`] reads them: the
/// discover window keeps no pictures, only the author's avatar), then `verified`.
const ENTRY_COLUMNS: &str = "d.author, d.seq, d.time_ms, d.kind, 'public', d.text, d.ref_author, \
     d.ref_seq, coalesce(a.display_name, ''), d.id, NULL, NULL, 0, 0, 0, 0, 0, NULL, \
     CASE WHEN a.avatar IS NOT NULL THEN '/media/' || lower(hex(a.avatar)) END, d.verified";

/// Discover rows not also stored as author-verified messages (those show from `messages`).
const NOT_IN_MESSAGES: &str =
    "NOT EXISTS(SELECT 1 FROM messages m WHERE m.author_id = a.id AND m.seq = d.seq)";

/// Discover rows the viewer `?V` does not see: authors they muted or blocked, authors of a
/// blocked domain (those rows are deleted when the domain is blocked; this covers a race).
const NOT_HIDDEN: &str =
    "coalesce(a.domain_blocked, 0) = 0 AND NOT EXISTS(SELECT 1 FROM relations r \
     WHERE r.user_id = ?V AND r.target = d.author)";

/// A public post or reply of an unfollowed author, as the firehose delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverPost {
    /// Who wrote it (by the hub's word).
    pub author: Address,
    /// The author's seq.
    pub seq: u64,
    /// Unix milliseconds, as the author's node saw it.
    pub time_ms: u64,
    /// What a reply answers; `None` for a post.
    pub reply_to: Option<MessageId>,
    /// The text.
    pub text: String,
    /// The author's signature was checked against a key known here.
    pub verified: bool,
}

impl DiscoverPost {
    /// The discover form of a public post or reply; `None` for any other kind or audience.
    pub fn from_signed(s: &SignedMessage, verified: bool) -> Option<Self> {
        let m = &s.message;
        if m.audience != Audience::Public {
            return None;
        }
        let (reply_to, text) = match &m.body {
            Body::Post { text } => (None, text),
            Body::Reply { to, text } => (Some(to.clone()), text),
            _ => return None,
        };
        Some(DiscoverPost {
            author: m.author.clone(),
            seq: m.seq,
            time_ms: m.time_ms,
            reply_to,
            text: text.clone(),
            verified,
        })
    }
}

/// One writer job's worth of discover changes, applied in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoverBatch {
    /// Posts to keep (duplicates are ignored), oldest first.
    pub posts: Vec<DiscoverPost>,
    /// Posts their authors deleted.
    pub deletes: Vec<MessageId>,
    /// Rows the window keeps after the batch (`firehose.discover_keep`; 0 empties it).
    pub keep: usize,
}

/// A discover post as clients see it: the shape of a timeline entry, plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscoverEntry {
    /// Position in the window (row id): `before` pages back from it.
    pub cursor: i64,
    /// The post (`audience` is always `public`).
    #[serde(flatten)]
    pub post: PostView,
    /// Always [`VIA_FIREHOSE`].
    pub via: &'static str,
    /// The author's signature was checked here (see the module doc).
    pub verified: bool,
}

/// A search result: an author-verified post, or a discover post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SearchHit {
    /// From `messages`.
    Post(PostView),
    /// From the discover window.
    Discover(DiscoverEntry),
}

/// Which posts a search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// Stored messages first (best first), then discover posts (best first).
    All,
    /// Stored messages only.
    Posts,
    /// Discover posts only.
    Discover,
}

/// Applies a batch: inserts, deletes, then prunes to `keep`. Returns how many posts were new.
pub fn apply_batch(
    conn: &Connection,
    batch: &DiscoverBatch,
    received_ms: u64,
) -> Result<usize, StoreError> {
    let mut unindexed = Unindexed::start(conn, Indexed::Discover)?;
    let fresh = insert(conn, &batch.posts, received_ms)?;
    unindexed.index(conn)?;
    for id in &batch.deletes {
        delete(conn, &id.author, id.seq)?;
    }
    prune(conn, batch.keep)?;
    Ok(fresh)
}

/// Inserts posts in order, ignoring any already there; returns how many were new.
pub fn insert(
    conn: &Connection,
    posts: &[DiscoverPost],
    received_ms: u64,
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO discover(author, seq, time_ms, kind, ref_author, ref_seq, text, verified, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut fresh = 0;
    for p in posts {
        let kind = if p.reply_to.is_some() {
            "reply"
        } else {
            "post"
        };
        fresh += stmt.execute(params![
            p.author.as_str(),
            p.seq as i64,
            p.time_ms.min(i64::MAX as u64) as i64,
            kind,
            p.reply_to.as_ref().map(|r| r.author.as_str()),
            p.reply_to.as_ref().map(|r| r.seq as i64),
            p.text,
            p.verified,
            received_ms as i64,
        ])?;
    }
    Ok(fresh)
}

/// Removes `author`'s post `seq`, if kept; returns whether it was.
pub fn delete(conn: &Connection, author: &Address, seq: u64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM discover WHERE author = ?1 AND seq = ?2")?
        .execute(params![author.as_str(), seq as i64])?
        > 0)
}

/// Keeps the newest `keep` rows (by arrival); returns how many were removed.
pub fn prune(conn: &Connection, keep: usize) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM discover WHERE id <= (SELECT id FROM discover ORDER BY id DESC LIMIT 1 OFFSET ?1)",
        )?
        .execute([keep.min(i64::MAX as usize) as i64])?)
}

/// Reads a row of [`ENTRY_COLUMNS`].
fn entry_of(r: &Row<'_>) -> rusqlite::Result<DiscoverEntry> {
    let e = super::timeline::entry_of(r)?;
    Ok(DiscoverEntry {
        cursor: e.cursor,
        post: e.post,
        via: VIA_FIREHOSE,
        verified: r.get(19)?,
    })
}

impl Store {
    /// A page of the discover window, newest first, older than cursor `before`.
    pub fn discover(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DiscoverEntry>, StoreError> {
        self.discover_for(None, before, limit)
    }

    /// [`Store::discover`] as `viewer` sees it (without whom they muted or blocked).
    pub fn discover_for(
        &self,
        viewer: Option<i64>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DiscoverEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM discover d LEFT JOIN authors a ON a.address = d.author \
             WHERE d.id < ?1 AND {NOT_IN_MESSAGES} AND {} ORDER BY d.id DESC LIMIT ?2",
            NOT_HIDDEN.replace("?V", "?3")
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                before.unwrap_or(i64::MAX),
                limit.min(MAX_PAGE),
                viewer.unwrap_or(-1)
            ],
            entry_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rows in the discover window.
    pub fn discover_len(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM discover", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Full-text search over the discover window (the syntax of `Store::search`), best first.
    pub fn search_discover(
        &self,
        query: &str,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<DiscoverEntry>, StoreError> {
        self.search_discover_for(query, None, offset, limit)
    }

    /// [`Store::search_discover`] as `viewer` sees it (without whom they muted or blocked).
    pub fn search_discover_for(
        &self,
        query: &str,
        viewer: Option<i64>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<DiscoverEntry>, StoreError> {
        let Some(expr) = check_query(query, offset)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM discover_fts JOIN discover d ON d.id = discover_fts.rowid \
             LEFT JOIN authors a ON a.address = d.author \
             WHERE discover_fts MATCH ?1 AND {NOT_IN_MESSAGES} AND {} \
             ORDER BY bm25(discover_fts), d.id DESC LIMIT ?2 OFFSET ?3",
            NOT_HIDDEN.replace("?V", "?4")
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![expr, limit.min(MAX_PAGE), offset, viewer.unwrap_or(-1)],
            entry_of,
        );
        rows.and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(query_error)
    }

    /// Search in `scope`. For [`SearchScope::All`], `offset` counts over stored messages
    /// followed by discover posts, so a page may end the one and start the other.
    pub fn search_scoped(
        &self,
        query: &str,
        viewer: Option<i64>,
        scope: SearchScope,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let limit = limit.min(MAX_PAGE);
        let mut hits: Vec<SearchHit> = Vec::new();
        if scope != SearchScope::Discover {
            let posts = self.search(query, viewer, offset, limit)?;
            hits.extend(posts.into_iter().map(SearchHit::Post));
            if scope == SearchScope::Posts || hits.len() as u32 == limit {
                return Ok(hits);
            }
        }
        let discover_offset = if scope == SearchScope::Discover {
            offset
        } else if !hits.is_empty() || offset == 0 {
            0
        } else {
            // Past the last stored match: skip the stored matches that came before.
            offset - self.count_message_matches(query, viewer, offset)?
        };
        let rest = limit - hits.len() as u32;
        let found = self.search_discover_for(query, viewer, discover_offset, rest)?;
        hits.extend(found.into_iter().map(SearchHit::Discover));
        Ok(hits)
    }

    /// Stored messages `viewer` may read that match `query`, counted up to `cap`.
    fn count_message_matches(
        &self,
        query: &str,
        viewer: Option<i64>,
        cap: u32,
    ) -> Result<u32, StoreError> {
        let Some(expr) = check_query(query, 0)? else {
            return Ok(0);
        };
        let sql = format!(
            "SELECT count(*) FROM ({} LIMIT ?3)",
            select_views("m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?2)")
        );
        self.conn()
            .query_row(&sql, params![viewer.unwrap_or(-1), expr, cap], |r| {
                r.get::<_, u32>(0)
            })
            .map_err(query_error)
    }
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
