//! The author's side of federation under attack: subscribers kept within caps, and backfills
//! read a page at a time that never also send what the outbox still owes.
//!
//! A backfill and an outbox retry must not carry the same message to one server: after a
//! follower restarts, a newer post can reach it before older deliveries waiting for their
//! retry; it sees the gap and asks for a backfill of them, and the retry then sent them again.
//! So a backfill for a subscribed server marks what the outbox owes that server
//! ([`PageMessage::owed`]) and the outbox retries that server now; the link sends
//! an owed one only if its delivery is in flight on that very link (then the backfill's copy
//! answers the delivery's ack), else leaves it to the outbox: each goes out once.

use crate::proto::{Address, PublicKey};
use crate::store::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Most local authors one remote server may subscribe to here. A household has a handful of
/// people and a hub a few hundred; one server subscribed to more is not a follower's server.
pub const MAX_SUBSCRIPTIONS_PER_SERVER: u64 = 256;

/// What became of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribing {
    /// No such local author.
    NoSuchUser,
    /// Kept (or kept already): the author's key and newest seq.
    Kept(PublicKey, u64),
    /// Refused: `links.max_subscribers` in all, or [`MAX_SUBSCRIPTIONS_PER_SERVER`] for the
    /// server, are reached.
    Full,
}

/// One message of a backfill page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMessage {
    /// Its seq.
    pub seq: u64,
    /// The signed message.
    pub wire: Vec<u8>,
    /// The outbox owes it to the server asking.
    pub owed: bool,
}

/// One page of a backfill.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackfillPage {
    /// The messages, oldest first.
    pub messages: Vec<PageMessage>,
    /// Where the next page starts, if the range goes on.
    pub next: Option<u64>,
}

impl Store {
    /// The key and newest seq of the local author `author`, if there is one.
    pub fn local_author(&self, author: &Address) -> Result<Option<(PublicKey, u64)>, StoreError> {
        let row: Option<(Vec<u8>, i64)> = self
            .conn()
            .query_row(
                "SELECT public_key, last_seq FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
                [author.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(k, last)| {
            let key = PublicKey::from_bytes(&k).map_err(|_| StoreError::Corrupt("author key"))?;
            Ok((key, last as u64))
        })
        .transpose()
    }

    /// Subscribes `server` to the local `author` unless that would pass `max_total`
    /// subscriber rows in all or [`MAX_SUBSCRIPTIONS_PER_SERVER`] for the server.
    pub fn add_subscriber_within(
        &mut self,
        author: &Address,
        server: &str,
        now_ms: u64,
        max_total: u64,
    ) -> Result<Subscribing, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // read in the transaction: a post committed after it has an outbox row for the server
        let row: Option<(Vec<u8>, i64)> = tx
            .query_row(
                "SELECT public_key, last_seq FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
                [author.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key, last)) = row else {
            return Ok(Subscribing::NoSuchUser);
        };
        let key = PublicKey::from_bytes(&key).map_err(|_| StoreError::Corrupt("author key"))?;
        let last = last as u64;
        let (exists, total, of_server): (bool, i64, i64) = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM subscribers s JOIN authors a ON a.id = s.author_id
                           WHERE a.address = ?1 AND s.server = ?2),
                    (SELECT count(*) FROM subscribers),
                    (SELECT count(*) FROM subscribers WHERE server = ?2)",
            params![author.as_str(), server],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if !exists {
            if total as u64 >= max_total || of_server as u64 >= MAX_SUBSCRIPTIONS_PER_SERVER {
                return Ok(Subscribing::Full);
            }
            tx.execute(
                "INSERT INTO subscribers(author_id, server, created_ms, acked_seq)
                 SELECT id, ?2, ?3, last_seq FROM authors WHERE address = ?1",
                params![author.as_str(), server, now_ms as i64],
            )?;
        }
        tx.commit()?;
        Ok(Subscribing::Kept(key, last))
    }

    /// Number of subscriber rows (all authors, all servers).
    pub fn subscriber_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM subscribers", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// A page of the local `author`'s messages `from..=to`, oldest first, of at most about
    /// `max_bytes` (at least one message), marking what the outbox owes `owed_to`, without
    /// followers-only ones unless `followers_too`.
    pub fn backfill_page(
        &self,
        author: &Address,
        owed_to: Option<&str>,
        from: u64,
        to: u64,
        max_bytes: usize,
        followers_too: bool,
    ) -> Result<BackfillPage, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.seq, m.wire,
                    EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id AND o.server = ?5)
                    OR EXISTS (SELECT 1 FROM subscribers s WHERE s.author_id = m.author_id
                          AND s.server = ?5 AND m.seq > s.acked_seq AND (m.audience = 'public'
                          OR (m.audience = 'followers' AND EXISTS (SELECT 1 FROM remote_followers r
                              WHERE r.author_id = s.author_id AND r.server = s.server
                                AND r.state = 'accepted'))))
             FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE a.address = ?1 AND a.local_user IS NOT NULL AND m.seq BETWEEN ?2 AND ?3
               AND (m.audience = 'public' OR (m.audience = 'followers' AND ?4))
             ORDER BY m.seq",
        )?;
        let to_sql = to.min(i64::MAX as u64) as i64;
        let mut rows = stmt.query(params![
            author.as_str(),
            from as i64,
            to_sql,
            followers_too,
            owed_to
        ])?;
        let mut page = BackfillPage::default();
        let mut bytes = 0;
        while let Some(r) = rows.next()? {
            let seq = r.get::<_, i64>(0)? as u64;
            let wire: Vec<u8> = r.get(1)?;
            bytes += wire.len();
            let owed = r.get(2)?;
            page.messages.push(PageMessage { seq, wire, owed });
            if bytes >= max_bytes {
                page.next = (seq < to).then_some(seq + 1);
                break;
            }
        }
        Ok(page)
    }
}
