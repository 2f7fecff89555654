//! What federation keeps: follows and subscriptions on the follower's side, subscribers and
//! the outbox on the author's side, author keys and pinned node keys.
//!
//! Terms: a *follow* is a local user following an address; a *subscription* is this node
//! subscribed at a remote author's node, one for all its local followers of that author; a
//! *subscriber* is a remote server subscribed to a local author, with a cursor in the author's log
//! (what it is owed is in [`super::outbox`]).

use super::{Store, StoreError};
use crate::proto::{Address, PublicKey};
use rusqlite::{params, OptionalExtension};

mod guarded;
pub use guarded::{BackfillPage, PageMessage, Subscribing, MAX_SUBSCRIPTIONS_PER_SERVER};

/// A followed address, the state of its subscription (none for local authors) and the last
/// subscription error.
pub type Followed = (String, Option<String>, Option<String>);

/// What a new follow needs from the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowNeeds {
    /// Nothing: the author is local, or this node is already subscribed.
    Nothing,
    /// A subscription at the author's node.
    Subscription,
}

impl Store {
    /// Records that `user_id` follows `author` and fills their timeline with what is stored of
    /// the author's last `backfill` posts. Refused when either blocked the other
    /// ([`super::relations`]).
    pub fn follow(
        &mut self,
        user_id: i64,
        author: &Address,
        backfill: u32,
        now_ms: u64,
    ) -> Result<FollowNeeds, StoreError> {
        let domain = self.node_info()?.domain;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let blocked: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM relations WHERE kind = 'block' AND (
                 (user_id = ?1 AND target = ?2)
              OR (user_id = (SELECT local_user FROM authors WHERE address = ?2)
                  AND target = (SELECT address FROM authors WHERE local_user = ?1))))",
            params![user_id, author.as_str()],
            |r| r.get(0),
        )?;
        if blocked {
            return Err(StoreError::Blocked(author.to_string()));
        }
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO follows(user_id, address, created_ms) VALUES (?1, ?2, ?3)",
            params![user_id, author.as_str(), now_ms as i64],
        )? > 0;
        if fresh && author.domain() == domain {
            // a local author hears of a local follower at once (remote ones: `approvals`)
            let row: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT a.local_user, f.state, me.address FROM authors a
                     JOIN follows f ON f.address = a.address AND f.user_id = ?2
                     JOIN authors me ON me.local_user = ?2
                     WHERE a.address = ?1 AND a.local_user IS NOT NULL",
                    params![author.as_str(), user_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((author_user, state, me)) = row {
                let kind = if state == "pending" {
                    "follow_request"
                } else {
                    "follow"
                };
                super::conversation::notify(&tx, author_user, kind, &me, None, now_ms)?;
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO timeline(user_id, message_id)
             SELECT ?1, m.id FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE a.address = ?2 AND m.deleted = 0 AND m.kind IN ('post', 'reply', 'repost')
             ORDER BY m.seq DESC LIMIT ?3",
            params![user_id, author.as_str(), backfill],
        )?;
        let subscribed: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM subscriptions WHERE author = ?1)",
            [author.as_str()],
            |r| r.get(0),
        )?;
        let needs = if author.domain() == domain || subscribed {
            FollowNeeds::Nothing
        } else {
            tx.execute(
                "INSERT INTO subscriptions(author, state, next_attempt_ms) VALUES (?1, 'pending', ?2)",
                params![author.as_str(), now_ms as i64],
            )?;
            FollowNeeds::Subscription
        };
        tx.commit()?;
        Ok(needs)
    }

    /// Removes a follow and takes the author's posts out of the user's home timeline. True when
    /// it was the last local follower of a remote author: the
    /// subscription is gone and the author's node should hear Unsubscribe.
    pub fn unfollow(&mut self, user_id: i64, author: &Address) -> Result<bool, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let removed = tx.execute(
            "DELETE FROM follows WHERE user_id = ?1 AND address = ?2",
            params![user_id, author.as_str()],
        )?;
        if removed == 0 {
            return Err(StoreError::NotFollowing(author.to_string()));
        }
        // Home shows the posts of people the user follows now: none of the author's posts,
        // public or not, stay (their public ones stay on their profile and in search).
        tx.execute(
            "DELETE FROM timeline WHERE user_id = ?1 AND message_id IN
                (SELECT m.id FROM messages m JOIN authors a ON a.id = m.author_id
                 WHERE a.address = ?2)",
            params![user_id, author.as_str()],
        )?;
        let others: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE address = ?1)
                 OR EXISTS(SELECT 1 FROM streamed WHERE author = ?1)",
            [author.as_str()],
            |r| r.get(0),
        )?;
        let last = !others
            && tx.execute(
                "DELETE FROM subscriptions WHERE author = ?1",
                [author.as_str()],
            )? > 0;
        tx.commit()?;
        Ok(last)
    }

    /// Addresses `user_id` follows, with the subscription state of remote ones.
    pub fn following(&self, user_id: i64) -> Result<Vec<Followed>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT f.address, s.state, s.last_error FROM follows f LEFT JOIN subscriptions s ON s.author = f.address
             WHERE f.user_id = ?1 ORDER BY f.address",
        )?;
        let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Local followers of `author` and the remote servers subscribed to them.
    pub fn followers(&self, author: &Address) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT a.address FROM follows f JOIN authors a ON a.local_user = f.user_id WHERE f.address = ?1 ORDER BY 1",
        )?;
        let local = stmt
            .query_map([author.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.conn().prepare(
            "SELECT s.server FROM subscribers s JOIN authors a ON a.id = s.author_id WHERE a.address = ?1 ORDER BY 1",
        )?;
        let servers = stmt
            .query_map([author.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok((local, servers))
    }

    /// Records that this hub streams `author`'s public posts (a small node asked it to): it
    /// subscribes like a follower would. Needs a subscription unless one exists already.
    pub fn stream_author(
        &mut self,
        author: &Address,
        now_ms: u64,
    ) -> Result<FollowNeeds, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO streamed(author, created_ms) VALUES (?1, ?2)",
            params![author.as_str(), now_ms as i64],
        )?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO subscriptions(author, state, next_attempt_ms) VALUES (?1, 'pending', ?2)",
            params![author.as_str(), now_ms as i64],
        )?;
        tx.commit()?;
        Ok(if added > 0 {
            FollowNeeds::Subscription
        } else {
            FollowNeeds::Nothing
        })
    }

    /// True if some local user follows `author`, or this hub streams them.
    pub fn is_followed(&self, author: &Address) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE address = ?1)
                 OR EXISTS(SELECT 1 FROM streamed WHERE author = ?1)",
            [author.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Subscriptions due for a (re)try.
    pub fn due_subscriptions(
        &self,
        now_ms: u64,
        limit: u32,
    ) -> Result<Vec<(Address, u32)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT author, attempts FROM subscriptions WHERE state = 'pending' AND next_attempt_ms <= ?1
             ORDER BY next_attempt_ms LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms as i64, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
        })?;
        rows.map(|r| {
            let (a, n) = r?;
            Ok((
                Address::parse(&a).map_err(|_| StoreError::Corrupt("subscription address"))?,
                n,
            ))
        })
        .collect()
    }

    /// Domains where this node holds active subscriptions (dialled at start so that their
    /// outboxes flush at once).
    pub fn subscribed_domains(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT author FROM subscriptions WHERE state = 'active'")?;
        let mut out: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|a| {
                a.ok()
                    .and_then(|a| a.split_once('@').map(|(_, d)| d.to_string()))
            })
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The authors of active subscriptions at `domain` with their contiguous seqs: after an
    /// unclean stop, what follows each may have been answered and not committed.
    pub fn catch_up_points(&self, domain: &str) -> Result<Vec<(Address, u64)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT s.author, COALESCE(a.last_seq, 0) FROM subscriptions s
             LEFT JOIN authors a ON a.address = s.author
             WHERE s.state = 'active' AND substr(s.author, instr(s.author, '@') + 1) = ?1",
        )?;
        let rows = stmt.query_map([domain], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        rows.map(|r| {
            let (a, seq) = r?;
            Ok((
                Address::parse(&a).map_err(|_| StoreError::Corrupt("subscription address"))?,
                seq.max(0) as u64,
            ))
        })
        .collect()
    }

    /// Marks a subscription active; stores the author's key (from their node) and skips older
    /// history than `floor` (it is not fetched).
    pub fn subscription_active(
        &mut self,
        author: &Address,
        key: &PublicKey,
        floor: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE subscriptions SET state = 'active', attempts = 0, last_error = NULL WHERE author = ?1",
            [author.as_str()],
        )?;
        set_author_key(&tx, author, key, floor)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed subscription attempt; tries again after `retry_ms`.
    pub fn subscription_failed(
        &mut self,
        author: &Address,
        error: &str,
        next_attempt_ms: u64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE subscriptions SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE author = ?1",
            params![author.as_str(), next_attempt_ms as i64, error],
        )?;
        Ok(())
    }

    /// Drops every follow of `author` and the subscription (the author does not exist).
    pub fn drop_follows_of(&mut self, author: &Address) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM follows WHERE address = ?1", [author.as_str()])?;
        tx.execute("DELETE FROM streamed WHERE author = ?1", [author.as_str()])?;
        tx.execute(
            "DELETE FROM subscriptions WHERE author = ?1",
            [author.as_str()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The author's known public key.
    pub fn author_key(&self, author: &Address) -> Result<Option<PublicKey>, StoreError> {
        let raw: Option<Option<Vec<u8>>> = self
            .conn()
            .query_row(
                "SELECT public_key FROM authors WHERE address = ?1",
                [author.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        raw.flatten()
            .map(|k| PublicKey::from_bytes(&k).map_err(|_| StoreError::Corrupt("author key")))
            .transpose()
    }

    /// Every seq up to this one of `author` is stored (or skipped).
    pub fn contiguous_seq(&self, author: &Address) -> Result<u64, StoreError> {
        let v: Option<i64> = self
            .conn()
            .query_row(
                "SELECT last_seq FROM authors WHERE address = ?1",
                [author.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Subscribes `server` to the local user `author`: their key and newest seq, or `None` if
    /// there is no such local user.
    pub fn add_subscriber(
        &mut self,
        author: &Address,
        server: &str,
        now_ms: u64,
    ) -> Result<Option<(PublicKey, u64)>, StoreError> {
        let row: Option<(i64, Vec<u8>, i64)> = self
            .conn()
            .query_row(
                "SELECT id, public_key, last_seq FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
                [author.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((id, key, last)) = row else {
            return Ok(None);
        };
        self.conn().execute(
            "INSERT OR IGNORE INTO subscribers(author_id, server, created_ms, acked_seq) VALUES (?1, ?2, ?3, ?4)",
            params![id, server, now_ms as i64, last],
        )?;
        let key = PublicKey::from_bytes(&key).map_err(|_| StoreError::Corrupt("author key"))?;
        Ok(Some((key, last as u64)))
    }

    /// Unsubscribes `server` from `author`: what its cursor still owed is dropped with it.
    pub fn remove_subscriber(&mut self, author: &Address, server: &str) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // deliveries addressed to people there (rows) stay owed: they are not the subscription's
        tx.execute(
            "DELETE FROM subscribers WHERE server = ?2 AND author_id = (SELECT id FROM authors WHERE address = ?1)",
            params![author.as_str(), server],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// True if `server` is subscribed to `author`.
    pub fn is_subscriber(&self, author: &Address, server: &str) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM subscribers s JOIN authors a ON a.id = s.author_id WHERE a.address = ?1 AND s.server = ?2)",
            params![author.as_str(), server],
            |r| r.get(0),
        )?)
    }

    /// Signed messages of a local `author` with seq in `from..=to` (at most `limit`), oldest
    /// first; followers-only ones only when `followers_too`.
    pub fn message_range(
        &self,
        author: &Address,
        from: u64,
        to: u64,
        limit: u64,
        followers_too: bool,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.wire FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE a.address = ?1 AND a.local_user IS NOT NULL AND m.seq BETWEEN ?2 AND ?3
               AND (m.audience = 'public' OR (m.audience = 'followers' AND ?5)) ORDER BY m.seq LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                author.as_str(),
                from as i64,
                to.min(i64::MAX as u64) as i64,
                limit as i64,
                followers_too
            ],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The key a domain's node proved when this node first dialled it (trust on first use,
    /// when DNS pins none).
    pub fn peer_key(&self, domain: &str) -> Result<Option<PublicKey>, StoreError> {
        let raw: Option<Option<Vec<u8>>> = self
            .conn()
            .query_row(
                "SELECT public_key FROM peers WHERE domain = ?1",
                [domain],
                |r| r.get(0),
            )
            .optional()?;
        raw.flatten()
            .map(|k| PublicKey::from_bytes(&k).map_err(|_| StoreError::Corrupt("peer key")))
            .transpose()
    }

    /// Remembers the key a domain's node proved.
    pub fn remember_peer(
        &mut self,
        domain: &str,
        addr: &std::net::SocketAddr,
        key: &PublicKey,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO peers(domain, host, port, public_key, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(domain) DO UPDATE SET host = ?2, port = ?3, public_key = ?4, expires_ms = ?5",
            params![domain, addr.ip().to_string(), addr.port(), &key.to_bytes()[..], now_ms as i64],
        )?;
        Ok(())
    }
}

/// Stores an author's key (rotation: a key from the author's own node replaces the old one)
/// and raises their contiguous seq to at least `floor`, then over anything stored after it.
fn set_author_key(
    conn: &rusqlite::Connection,
    author: &Address,
    key: &PublicKey,
    floor: u64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO authors(address, public_key, last_seq) VALUES (?1, ?2, ?3)
         ON CONFLICT(address) DO UPDATE SET public_key = ?2, last_seq = max(last_seq, ?3)",
        params![author.as_str(), &key.to_bytes()[..], floor as i64],
    )?;
    let id: i64 = conn.query_row(
        "SELECT id FROM authors WHERE address = ?1",
        [author.as_str()],
        |r| r.get(0),
    )?;
    super::messages::advance_contiguous(conn, id)?;
    Ok(())
}

#[cfg(test)]
#[path = "federation_tests.rs"]
mod tests;
