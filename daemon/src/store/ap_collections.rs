//! What a local account's ActivityPub collections list, a page at a time: its public posts
//! (newest first, by seq), and the accepted follows both ways as addresses with their
//! fediverse actor IRI where this node knows one (`web::actor` pages them).

use super::activitypub::{local_message_row, LocalMessage};
use super::wire_text::text_of_m;
use super::{Store, StoreError};
use rusqlite::params;

/// Someone in a followers or following list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `user@domain`.
    pub address: String,
    /// Its fediverse actor IRI, when it is a known fediverse account.
    pub actor: Option<String>,
}

fn member(r: &rusqlite::Row<'_>) -> rusqlite::Result<Member> {
    Ok(Member {
        address: r.get(0)?,
        actor: r.get(1)?,
    })
}

impl Store {
    /// Local `author`'s public posts, replies and boosts still standing whose seq is below
    /// `before` (all for `None`), newest first, at most `limit`: each with its seq.
    pub fn public_posts_before(
        &self,
        author: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, LocalMessage)>, StoreError> {
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let mut stmt = self.conn().prepare_cached(
            concat!("SELECT m.seq, m.wire, m.deleted, ", text_of_m!(), ", m.summary, m.edited_ms FROM messages m
               JOIN authors a ON a.id = m.author_id
              WHERE a.address = ?1 AND a.local_user IS NOT NULL AND m.seq < ?2
                AND m.deleted = 0 AND m.audience = 'public' AND m.kind IN ('post', 'reply', 'repost')
              ORDER BY m.seq DESC LIMIT ?3"),
        )?;
        let rows = stmt.query_map(params![author, before, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?.max(0) as u64, local_message_row(r, 1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Local `author`'s accepted followers, here and elsewhere, newest first: `limit` of them
    /// after skipping `offset`.
    pub fn followers_page(
        &self,
        author: &str,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.address, NULL, f.created_ms FROM follows f
               JOIN authors a ON a.local_user = f.user_id
              WHERE f.address = ?1 AND f.state = 'accepted'
             UNION ALL
             SELECT r.follower,
                    CASE WHEN r.server LIKE 'https://%' THEN
                      (SELECT x.id FROM ap_actors x WHERE x.address = r.follower LIMIT 1) END,
                    r.created_ms
               FROM remote_followers r JOIN authors au ON au.id = r.author_id
              WHERE au.address = ?1 AND r.state = 'accepted' AND r.follower <> ''
             ORDER BY 3 DESC, 1 LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(
            params![author, limit as i64, offset.min(i64::MAX as u64) as i64],
            member,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whom local user `user_id` follows (accepted), newest first: `limit` after `offset`.
    pub fn following_page(
        &self,
        user_id: i64,
        offset: u64,
        limit: usize,
    ) -> Result<Vec<Member>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT f.address, (SELECT x.id FROM ap_actors x WHERE x.address = f.address LIMIT 1)
               FROM follows f WHERE f.user_id = ?1 AND f.state = 'accepted'
              ORDER BY f.created_ms DESC, f.address LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(
            params![user_id, limit as i64, offset.min(i64::MAX as u64) as i64],
            member,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
#[path = "ap_collections_tests.rs"]
mod tests;
