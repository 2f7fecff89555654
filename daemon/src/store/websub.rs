//! WebSub (W3C WebSub, formerly PubSubHubbub): the hub's subscriptions to local users' Atom
//! feeds, and the requests waiting for intent verification (`crate::websub`).
//!
//! - `websub_intents`: a subscribe or unsubscribe request accepted (202) and not yet verified
//!   with the subscriber; one per (topic, callback), a newer request replacing an older one.
//! - `websub_subscriptions`: verified subscriptions, each with its lease's expiry and
//!   `delivered_seq`, a cursor in the author's log: every public post up to it was delivered
//!   (or given up). New posts write nothing per subscriber; the deliverer reads past the cursor.
//!
//! Bounds: at most [`MAX_SUBSCRIPTIONS`] subscriptions and [`MAX_INTENTS`] waiting requests per
//! node, [`MAX_PER_CALLBACK_HOST`] of each per callback host. Expired leases are dropped by
//! [`Store::websub_expire`].

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Most verified subscriptions a node keeps (a router's share of a popular blog's readers).
pub const MAX_SUBSCRIPTIONS: u64 = 1000;
/// Most subscriptions, and most waiting requests, for callbacks on one host: one aggregator
/// subscribes once per feed, and one host cannot take the whole node's share.
pub const MAX_PER_CALLBACK_HOST: u64 = 100;
/// Most requests waiting for verification at once (each is one GET to make).
pub const MAX_INTENTS: u64 = 256;

/// Migration 17: the WebSub hub's tables (see the module doc).
pub const WEBSUB_MIGRATION: &str = r#"
    CREATE TABLE websub_intents(
        id              INTEGER PRIMARY KEY,
        author_id       INTEGER NOT NULL REFERENCES authors(id),
        callback        TEXT NOT NULL,
        callback_host   TEXT NOT NULL,
        mode            TEXT NOT NULL CHECK (mode IN ('subscribe', 'unsubscribe')),
        secret          BLOB,
        lease_s         INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        UNIQUE (author_id, callback)
    );
    CREATE INDEX websub_intents_by_host ON websub_intents(callback_host);
    CREATE TABLE websub_subscriptions(
        id              INTEGER PRIMARY KEY,
        author_id       INTEGER NOT NULL REFERENCES authors(id),
        callback        TEXT NOT NULL,
        callback_host   TEXT NOT NULL,
        secret          BLOB,
        expires_ms      INTEGER NOT NULL,
        delivered_seq   INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        UNIQUE (author_id, callback)
    );
    CREATE INDEX websub_subscriptions_by_host ON websub_subscriptions(callback_host);
"#;

/// Subscribe or unsubscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `hub.mode=subscribe` (a new subscription or a renewal).
    Subscribe,
    /// `hub.mode=unsubscribe`.
    Unsubscribe,
}

impl Mode {
    /// The `hub.mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A request waiting for intent verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Row id.
    pub id: i64,
    /// The local author whose feed is the topic.
    pub author: String,
    /// Where the subscriber listens.
    pub callback: String,
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// The HMAC secret, if one was given.
    pub secret: Option<Vec<u8>>,
    /// The lease granted, in seconds.
    pub lease_s: u32,
    /// Verification attempts that failed without an answer.
    pub attempts: u32,
}

/// A verified subscription with posts past its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Row id.
    pub id: i64,
    /// The local author whose feed is the topic.
    pub author: String,
    /// Where deliveries go.
    pub callback: String,
    /// The HMAC secret, if one was given.
    pub secret: Option<Vec<u8>>,
    /// Every public post of the author up to this seq was delivered or given up.
    pub delivered_seq: u64,
    /// Failed deliveries of the posts past the cursor.
    pub attempts: u32,
}

/// Why a request was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// [`MAX_SUBSCRIPTIONS`] or [`MAX_INTENTS`] reached.
    Node,
    /// [`MAX_PER_CALLBACK_HOST`] reached for the callback's host.
    CallbackHost,
}

impl Store {
    /// Stores a request for verification (replacing one waiting for the same topic and
    /// callback), due at `now_ms`; `Err(Full)` inside `Ok` when a bound is reached.
    #[allow(clippy::too_many_arguments)]
    pub fn websub_request(
        &mut self,
        author: &str,
        callback: &str,
        callback_host: &str,
        mode: Mode,
        secret: Option<&[u8]>,
        lease_s: u32,
        now_ms: u64,
    ) -> Result<Result<(), Full>, StoreError> {
        // IMMEDIATE: it reads, then writes; a deferred one could not take the write lock
        // while another connection writes (SQLITE_BUSY without waiting)
        let tx = rusqlite::Transaction::new_unchecked(
            self.conn(),
            rusqlite::TransactionBehavior::Immediate,
        )?;
        let author_id: Option<i64> = tx
            .query_row(
                "SELECT id FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
                [author],
                |r| r.get(0),
            )
            .optional()?;
        let Some(author_id) = author_id else {
            return Err(StoreError::NotFound(format!("no local author {author}")));
        };
        let replaces: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM websub_intents WHERE author_id = ?1 AND callback = ?2)",
            params![author_id, callback],
            |r| r.get(0),
        )?;
        if !replaces {
            let (all, host): (i64, i64) = tx.query_row(
                "SELECT count(*), count(*) FILTER (WHERE callback_host = ?1) FROM websub_intents",
                [callback_host],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if all as u64 >= MAX_INTENTS {
                return Ok(Err(Full::Node));
            }
            if host as u64 >= MAX_PER_CALLBACK_HOST {
                return Ok(Err(Full::CallbackHost));
            }
        }
        if mode == Mode::Subscribe {
            let (all, host, exists): (i64, i64, bool) = tx.query_row(
                "SELECT count(*), count(*) FILTER (WHERE callback_host = ?1),
                        count(*) FILTER (WHERE author_id = ?2 AND callback = ?3) > 0
                   FROM websub_subscriptions",
                params![callback_host, author_id, callback],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            if !exists && all as u64 >= MAX_SUBSCRIPTIONS {
                return Ok(Err(Full::Node));
            }
            if !exists && host as u64 >= MAX_PER_CALLBACK_HOST {
                return Ok(Err(Full::CallbackHost));
            }
        }
        tx.execute(
            "INSERT INTO websub_intents(author_id, callback, callback_host, mode, secret, lease_s,
                                        attempts, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)
             ON CONFLICT (author_id, callback) DO UPDATE SET mode = excluded.mode,
                 secret = excluded.secret, lease_s = excluded.lease_s, attempts = 0,
                 next_attempt_ms = excluded.next_attempt_ms, callback_host = excluded.callback_host",
            params![
                author_id,
                callback,
                callback_host,
                mode.as_str(),
                secret,
                lease_s,
                now_ms as i64
            ],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Requests due for verification at `now_ms`, oldest first, at most `limit`.
    pub fn websub_due_intents(&self, now_ms: u64, limit: u32) -> Result<Vec<Intent>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT i.id, a.address, i.callback, i.mode, i.secret, i.lease_s, i.attempts
               FROM websub_intents i JOIN authors a ON a.id = i.author_id
              WHERE i.next_attempt_ms <= ?1 ORDER BY i.next_attempt_ms, i.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms as i64, limit], |r| {
            let mode: String = r.get(3)?;
            Ok(Intent {
                id: r.get(0)?,
                author: r.get(1)?,
                callback: r.get(2)?,
                mode: if mode == "unsubscribe" {
                    Mode::Unsubscribe
                } else {
                    Mode::Subscribe
                },
                secret: r.get(4)?,
                lease_s: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                attempts: r.get::<_, i64>(6)?.max(0) as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The subscriber confirmed `intent`: a subscription starts (its cursor at the author's
    /// newest post, so only what comes next is delivered) or is renewed (its cursor kept), or
    /// it ends. The request is done either way.
    pub fn websub_confirmed(&mut self, intent: &Intent, now_ms: u64) -> Result<(), StoreError> {
        // IMMEDIATE: it reads, then writes; a deferred one could not take the write lock
        // while another connection writes (SQLITE_BUSY without waiting)
        let tx = rusqlite::Transaction::new_unchecked(
            self.conn(),
            rusqlite::TransactionBehavior::Immediate,
        )?;
        match intent.mode {
            Mode::Subscribe => {
                let expires = now_ms.saturating_add(u64::from(intent.lease_s) * 1000);
                tx.execute(
                    "INSERT INTO websub_subscriptions(author_id, callback, callback_host, secret,
                                                      expires_ms, delivered_seq)
                     SELECT i.author_id, i.callback, i.callback_host, i.secret, ?2, a.last_seq
                       FROM websub_intents i JOIN authors a ON a.id = i.author_id WHERE i.id = ?1
                     ON CONFLICT (author_id, callback) DO UPDATE SET secret = excluded.secret,
                         expires_ms = excluded.expires_ms",
                    params![intent.id, expires as i64],
                )?;
            }
            Mode::Unsubscribe => {
                tx.execute(
                    "DELETE FROM websub_subscriptions WHERE (author_id, callback) =
                        (SELECT author_id, callback FROM websub_intents WHERE id = ?1)",
                    [intent.id],
                )?;
            }
        }
        tx.execute("DELETE FROM websub_intents WHERE id = ?1", [intent.id])?;
        tx.commit()?;
        Ok(())
    }

    /// A request is dropped (refused by the subscriber, or given up).
    pub fn websub_intent_done(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM websub_intents WHERE id = ?1", [id])?;
        Ok(())
    }

    /// A verification got no answer; tried again at `next_ms`.
    pub fn websub_intent_retry(&mut self, id: i64, next_ms: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE websub_intents SET attempts = attempts + 1, next_attempt_ms = ?2 WHERE id = ?1",
            params![id, next_ms as i64],
        )?;
        Ok(())
    }

    /// Drops the subscriptions whose lease ended by `now_ms`; returns how many.
    pub fn websub_expire(&mut self, now_ms: u64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM websub_subscriptions WHERE expires_ms <= ?1",
            [now_ms as i64],
        )?)
    }

    /// Live subscriptions due at `now_ms` whose author's log went past their cursor, at most
    /// `limit`.
    pub fn websub_due_deliveries(
        &self,
        now_ms: u64,
        limit: u32,
    ) -> Result<Vec<Subscription>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT s.id, a.address, s.callback, s.secret, s.delivered_seq, s.attempts
               FROM websub_subscriptions s JOIN authors a ON a.id = s.author_id
              WHERE s.next_attempt_ms <= ?1 AND s.expires_ms > ?1 AND a.last_seq > s.delivered_seq
              ORDER BY s.next_attempt_ms, s.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms as i64, limit], |r| {
            Ok(Subscription {
                id: r.get(0)?,
                author: r.get(1)?,
                callback: r.get(2)?,
                secret: r.get(3)?,
                delivered_seq: r.get::<_, i64>(4)?.max(0) as u64,
                attempts: r.get::<_, i64>(5)?.max(0) as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Everything up to `seq` was delivered to subscription `id` (or given up): its cursor
    /// moves there and its failures are forgotten.
    pub fn websub_delivered(&mut self, id: i64, seq: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE websub_subscriptions SET delivered_seq = max(delivered_seq, ?2), attempts = 0,
                    next_attempt_ms = 0 WHERE id = ?1",
            params![id, seq as i64],
        )?;
        Ok(())
    }

    /// A delivery to subscription `id` failed; tried again at `next_ms`.
    pub fn websub_delivery_failed(&mut self, id: i64, next_ms: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE websub_subscriptions SET attempts = attempts + 1, next_attempt_ms = ?2
              WHERE id = ?1",
            params![id, next_ms as i64],
        )?;
        Ok(())
    }

    /// Subscription `id` ends (its callback answered 410 Gone).
    pub fn websub_remove(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM websub_subscriptions WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The public posts of `author` after `seq`, oldest first, at most `limit` (what the feed
    /// shows: posts, replies and reposts, not deleted).
    pub fn websub_posts_after(
        &self,
        author: &crate::proto::Address,
        seq: u64,
        limit: u32,
    ) -> Result<Vec<super::PostView>, StoreError> {
        let sql = super::timeline::select_views(
            "a.address = ?2 AND m.seq > ?3 AND m.audience = 'public' ORDER BY m.seq LIMIT ?4",
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                -1i64,
                author.as_str(),
                seq.min(i64::MAX as u64) as i64,
                limit
            ],
            |r| super::timeline::entry_of(r).map(|e| e.post),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest seq in `author`'s log (0 when none or unknown).
    pub fn websub_last_seq(&self, author: &str) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn()
            .query_row(
                "SELECT last_seq FROM authors WHERE address = ?1",
                [author],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seq.unwrap_or(0).max(0) as u64)
    }

    /// (verified subscriptions, requests waiting for verification), for `/metrics`.
    pub fn websub_counts(&self) -> Result<(u64, u64), StoreError> {
        Ok(self.conn().query_row(
            "SELECT (SELECT count(*) FROM websub_subscriptions),
                    (SELECT count(*) FROM websub_intents)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }
}

#[cfg(test)]
#[path = "websub_tests.rs"]
mod tests;
