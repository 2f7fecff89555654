//! The outbox as cursors: what each subscribed server is owed, read from the authors' logs.
//!
//! A server subscribed to a local author has `subscribers.acked_seq`: every message of the
//! author up to it that the server may read was acknowledged (or given up). What is owed is the
//! rest of the author's log that the server may read (public, or followers-only when one of its
//! people is an accepted follower), so storing a post writes nothing per server, and an ack
//! batch one cursor per (server, author). A delivery addressed to a server that is not owed the
//! post by a cursor (a mention, a reply, an unlike, where nobody follows the author there) is
//! a row of the small `outbox` table, deleted once acknowledged.
//!
//! The reading side ([`Store::owed_to`], [`Store::new_local_posts`]) feeds
//! `crate::delivery::Machine`; the writing side is [`store_cursors`], run by the group-commit
//! writer.

use super::{Store, StoreError};
use crate::delivery::{Entry, Subscription};
use rusqlite::{params, Connection};
use std::sync::Arc;

/// Migration 14: cursors replace a row per (server, message). Each subscriber's cursor starts
/// just before the first message it was still owed (or at the author's newest seq); the rows
/// left in `outbox` are the deliveries no cursor covers.
pub const OUTBOX_CURSORS_MIGRATION: &str = r#"
    ALTER TABLE subscribers ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
    UPDATE subscribers SET acked_seq = coalesce(
        (SELECT min(m.seq) - 1 FROM outbox o JOIN messages m ON m.id = o.message_id
          WHERE o.server = subscribers.server AND m.author_id = subscribers.author_id),
        (SELECT last_seq FROM authors WHERE id = subscribers.author_id));
    DELETE FROM outbox WHERE EXISTS (SELECT 1 FROM subscribers s JOIN messages m ON m.id = outbox.message_id
        WHERE s.author_id = m.author_id AND s.server = outbox.server AND m.seq > s.acked_seq
          AND (m.audience = 'public' OR (m.audience = 'followers' AND EXISTS (
              SELECT 1 FROM remote_followers r WHERE r.author_id = s.author_id
                AND r.server = s.server AND r.state = 'accepted'))));
    CREATE INDEX subscribers_by_server ON subscribers(server, author_id);
    CREATE INDEX outbox_by_message ON outbox(message_id);
"#;

/// The condition under which subscriber row `s` may read message `m` (public, or
/// followers-only with an accepted follower there).
const MAY_READ: &str = "(m.audience = 'public' OR (m.audience = 'followers' AND EXISTS (
    SELECT 1 FROM remote_followers r WHERE r.author_id = s.author_id AND r.server = s.server
      AND r.state = 'accepted')))";

/// A post a local author just stored, with every server that follows the author (and whether
/// it may read the post) and every server it is addressed to.
#[derive(Debug, Clone)]
pub struct LocalPost {
    /// Row id, author, seq.
    pub entry: Entry,
    /// The signed message.
    pub wire: Arc<[u8]>,
    /// Servers subscribed to the author before the post, each with whether it is owed it.
    pub subscribers: Vec<(String, bool)>,
    /// Servers the post is addressed to by a row: (server, row id).
    pub addressed: Vec<(String, i64)>,
}

/// What a server is owed, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Owed {
    /// Its subscriptions here.
    pub subscriptions: Vec<Subscription>,
    /// Owed messages in message order, with their signed bytes.
    pub entries: Vec<(Entry, Vec<u8>)>,
    /// Nothing owed comes after `entries`.
    pub complete: bool,
}

/// Stores cursors and deletes acknowledged rows for `server` (one writer job).
pub fn store_cursors(
    conn: &Connection,
    server: &str,
    cursors: &[(Arc<str>, u64)],
    rows: &[i64],
) -> Result<(), StoreError> {
    let mut up = conn.prepare_cached(
        "UPDATE subscribers SET acked_seq = ?3 WHERE server = ?1 AND acked_seq < ?3
           AND author_id = (SELECT id FROM authors WHERE address = ?2)",
    )?;
    for (author, acked) in cursors {
        up.execute(params![server, author.as_ref(), *acked as i64])?;
    }
    let mut del = conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
    for row in rows {
        del.execute([row])?;
    }
    Ok(())
}

impl Store {
    /// What `server` is owed: its subscriptions and at most `limit` owed messages, read in
    /// one snapshot. Each subscription is read from its cursor on by the author's seq index (at
    /// most `limit` rows each, without their bytes), the rows by the server's index; the
    /// first `limit` by message order are kept and only their bytes read.
    pub fn owed_to(&self, server: &str, limit: u32) -> Result<Owed, StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        let mut owed = Owed {
            complete: true,
            ..Owed::default()
        };
        // (id, author, seq, row)
        let mut found: Vec<(i64, Arc<str>, u64, Option<i64>)> = Vec::new();
        let mut subs = tx.prepare_cached(
            "SELECT s.author_id, a.address, s.acked_seq, a.last_seq, EXISTS (
                 SELECT 1 FROM remote_followers r WHERE r.author_id = s.author_id
                   AND r.server = s.server AND r.state = 'accepted')
             FROM subscribers s JOIN authors a ON a.id = s.author_id
             WHERE s.server = ?1 AND a.local_user IS NOT NULL",
        )?;
        let subscriptions = subs
            .query_map([server], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Arc::<str>::from(r.get::<_, String>(1)?),
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                    r.get::<_, bool>(4)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut log = tx.prepare_cached(
            "SELECT id, seq, audience FROM messages WHERE author_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
        )?;
        for (author_id, author, acked, last, followers) in subscriptions {
            let mut covered = last.max(acked);
            let mut n = 0;
            let mut rows = log.query(params![author_id, acked as i64, limit])?;
            while let Some(r) = rows.next()? {
                n += 1;
                let (id, seq, audience): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                if audience == "public" || (audience == "followers" && followers) {
                    found.push((id, author.clone(), seq as u64, None));
                }
                if n == limit {
                    covered = seq as u64; // the author's log goes on: read it later
                    owed.complete = false;
                }
            }
            owed.subscriptions.push(Subscription {
                author,
                acked,
                covered,
            });
        }
        let mut rows = tx.prepare_cached(
            "SELECT o.message_id, a.address, m.seq, o.id FROM outbox o
               JOIN messages m ON m.id = o.message_id JOIN authors a ON a.id = m.author_id
             WHERE o.server = ?1 ORDER BY o.message_id LIMIT ?2",
        )?;
        let before = found.len();
        for r in rows.query_map(params![server, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Arc::<str>::from(r.get::<_, String>(1)?),
                r.get::<_, i64>(2)? as u64,
                Some(r.get::<_, i64>(3)?),
            ))
        })? {
            found.push(r?);
        }
        if found.len() - before == limit as usize {
            owed.complete = false;
        }
        found.sort_by_key(|f| (f.0, f.3));
        if found.len() > limit as usize {
            // what is cut is read again later: a cursor must not be said to cover it
            for (_, author, seq, row) in &found[limit as usize..] {
                if row.is_none() {
                    if let Some(s) = owed.subscriptions.iter_mut().find(|s| &s.author == author) {
                        s.covered = s.covered.min(seq - 1);
                    }
                }
            }
            found.truncate(limit as usize);
            owed.complete = false;
        }
        let mut wire = tx.prepare_cached("SELECT wire FROM messages WHERE id = ?1")?;
        for (id, author, seq, row) in found {
            let bytes: Vec<u8> = wire.query_row([id], |r| r.get(0))?;
            owed.entries.push((
                Entry {
                    id,
                    author,
                    seq,
                    row,
                },
                bytes,
            ));
        }
        Ok(owed)
    }

    /// Posts of local authors among the (at most `limit`) messages stored after row `after`,
    /// with their servers; the row id the next call starts after; and whether more may follow.
    pub fn new_local_posts(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<LocalPost>, i64, bool), StoreError> {
        let conn = self.conn();
        let mut posts = Vec::new();
        let mut last = after;
        let mut stmt = conn.prepare_cached(
            "SELECT m.id, a.address, m.seq, CASE WHEN a.local_user IS NOT NULL THEN m.wire END,
                    m.author_id, a.local_user IS NOT NULL
             FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE m.id > ?1 ORDER BY m.id LIMIT ?2",
        )?;
        let mut subs = conn.prepare_cached(&format!(
            "SELECT s.server, {MAY_READ} FROM subscribers s JOIN messages m ON m.id = ?1
             WHERE s.author_id = ?2 AND s.acked_seq < m.seq"
        ))?;
        let mut rows_of =
            conn.prepare_cached("SELECT server, id FROM outbox WHERE message_id = ?1")?;
        let mut rows = stmt.query(params![after, limit])?;
        let mut scanned = 0;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            last = id;
            scanned += 1;
            if !r.get::<_, bool>(5)? {
                continue; // received from elsewhere: owed to nobody
            }
            let author_id: i64 = r.get(4)?;
            let subscribers = subs
                .query_map(params![id, author_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<(String, bool)>, _>>()?;
            let addressed = rows_of
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<(String, i64)>, _>>()?;
            posts.push(LocalPost {
                entry: Entry {
                    id,
                    author: Arc::from(r.get::<_, String>(1)?),
                    seq: r.get::<_, i64>(2)? as u64,
                    row: None,
                },
                wire: Arc::from(r.get::<_, Vec<u8>>(3)?),
                subscribers,
                addressed,
            });
        }
        Ok((posts, last, scanned == limit))
    }

    /// The newest message row id.
    pub fn last_message_id(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
                r.get(0)
            })?)
    }

    /// Servers owed anything.
    pub fn owed_servers(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT s.server FROM subscribers s JOIN authors a ON a.id = s.author_id
             WHERE a.local_user IS NOT NULL AND s.acked_seq < a.last_seq AND EXISTS (
               SELECT 1 FROM messages m WHERE m.author_id = s.author_id AND m.seq > s.acked_seq AND {MAY_READ})
             UNION SELECT server FROM outbox"
        ))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deliveries still owed, all servers (a count, for `/healthz` and `/metrics`).
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(self.conn().query_row(
            &format!(
                "SELECT (SELECT count(*) FROM subscribers s JOIN authors a ON a.id = s.author_id
                           JOIN messages m ON m.author_id = s.author_id AND m.seq > s.acked_seq
                         WHERE a.local_user IS NOT NULL AND {MAY_READ})
                      + (SELECT count(*) FROM outbox)"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// When the oldest delivery still owed was stored (ms since the epoch), if any.
    pub fn outbox_oldest_ms(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT min(t) FROM (
                       SELECT min(m.received_ms) AS t FROM subscribers s JOIN authors a ON a.id = s.author_id
                         JOIN messages m ON m.author_id = s.author_id AND m.seq > s.acked_seq
                       WHERE a.local_user IS NOT NULL AND {MAY_READ}
                       UNION ALL SELECT min(created_ms) FROM outbox)"
                ),
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?
            .map(|v| v as u64))
    }

    /// The seqs of `author` in `from..=to` owed to `server` (a backfill leaves them to the
    /// outbox).
    pub fn owed_seqs(
        &self,
        author: &crate::proto::Address,
        server: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u64>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT m.seq FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE a.address = ?1 AND m.seq BETWEEN ?3 AND ?4 AND (
               EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id AND o.server = ?2)
               OR EXISTS (SELECT 1 FROM subscribers s WHERE s.author_id = m.author_id
                          AND s.server = ?2 AND m.seq > s.acked_seq AND {MAY_READ}))
             ORDER BY m.seq"
        ))?;
        let rows = stmt.query_map(
            params![
                author.as_str(),
                server,
                from as i64,
                to.min(i64::MAX as u64) as i64
            ],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(rows
            .map(|r| r.map(|v| v as u64))
            .collect::<Result<_, _>>()?)
    }

    /// Gives up what was owed of messages stored before `cutoff_ms`: cursors move past them,
    /// rows go. Returns (server, count) per server.
    pub fn expire_outbox(&mut self, cutoff_ms: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut expired: Vec<(String, u64)> = Vec::new();
        {
            let mut stmt = tx.prepare(&format!(
                "SELECT server, count(*) FROM (
                   SELECT s.server FROM subscribers s JOIN authors a ON a.id = s.author_id
                     JOIN messages m ON m.author_id = s.author_id AND m.seq > s.acked_seq
                   WHERE a.local_user IS NOT NULL AND m.received_ms < ?1 AND {MAY_READ}
                   UNION ALL SELECT server FROM outbox WHERE created_ms < ?1)
                 GROUP BY server ORDER BY server"
            ))?;
            for r in stmt.query_map([cutoff_ms as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })? {
                expired.push(r?);
            }
        }
        tx.execute(
            "UPDATE subscribers SET acked_seq = (SELECT max(m.seq) FROM messages m
                 WHERE m.author_id = subscribers.author_id AND m.received_ms < ?1)
             WHERE acked_seq < (SELECT max(m.seq) FROM messages m
                 WHERE m.author_id = subscribers.author_id AND m.received_ms < ?1)",
            [cutoff_ms as i64],
        )?;
        tx.execute(
            "DELETE FROM outbox WHERE created_ms < ?1",
            [cutoff_ms as i64],
        )?;
        tx.commit()?;
        Ok(expired)
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::MIGRATIONS;
    use rusqlite::Connection;

    /// A database of the row-per-delivery outbox (migration 13) keeps what was owed: each
    /// subscriber's cursor stops before its first undelivered post, and only rows no cursor
    /// covers stay rows.
    #[test]
    fn migration_14_turns_rows_into_cursors() {
        let c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..13] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "INSERT INTO users(id, name, role, password_hash, secret_key, created_ms) VALUES (1, 'alice', 'owner', 'h', x'00', 0);
             INSERT INTO authors(id, address, local_user, last_seq) VALUES (1, 'alice@a.test', 1, 5);
             INSERT INTO messages(id, author_id, seq, time_ms, kind, audience, wire, received_ms)
               VALUES (1,1,1,0,'post','public',x'00',0), (2,1,2,0,'post','public',x'00',0),
                      (3,1,3,0,'post','public',x'00',0), (4,1,4,0,'post','public',x'00',0),
                      (5,1,5,0,'post','direct',x'00',0);
             INSERT INTO subscribers(author_id, server, created_ms) VALUES (1, 'b.test', 0), (1, 'c.test', 0);
             INSERT INTO outbox(server, message_id, next_attempt_ms, created_ms)
               VALUES ('b.test', 3, 0, 0), ('b.test', 4, 0, 0), ('b.test', 5, 0, 0),
                      ('d.test', 5, 0, 0);",
        )
        .unwrap();
        c.execute_batch(MIGRATIONS[13]).unwrap();
        let cursor = |server: &str| -> i64 {
            c.query_row(
                "SELECT acked_seq FROM subscribers WHERE server = ?1",
                [server],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(cursor("b.test"), 2, "3 and 4 still owed");
        assert_eq!(cursor("c.test"), 5, "nothing owed");
        let rows: Vec<(String, i64)> = c
            .prepare("SELECT server, message_id FROM outbox ORDER BY server")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [("b.test".to_string(), 5), ("d.test".to_string(), 5)],
            "the direct message stays a row, even to a server with a cursor"
        );
    }
}
