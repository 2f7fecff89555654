//! Approval of followers: locked accounts, follow requests and who may read followers-only posts.
//!
//! On the author's side, `follows` rows of local followers and `remote_followers` rows (one per
//! remote person, with the server they follow from) carry a state: `pending` until a locked
//! author accepts, `accepted` otherwise. A followers-only message is shown to a local follower,
//! queued to a server and backfilled to it only when the follower is accepted (for a server:
//! at least one of its people). On the follower's side, `follows.state` is what the author's
//! node answered: `requested` until it answers, then `pending` or `accepted`; a rejection
//! removes the follow. Schema 6 kept every follow and subscription that existed as accepted.
//!
//! Bounds: rows come only from servers subscribed to the author, at most
//! [`MAX_FOLLOWERS_PER_SERVER`] per server and author, [`MAX_REMOTE_FOLLOWERS`] per author,
//! and at most [`MAX_PENDING`] requests wait per author.

use super::{Store, StoreError};
use crate::proto::follow::FollowAnswerState;
use crate::proto::Address;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use std::collections::HashMap;

/// Remote people followed from one server, per author: a household has a handful, a hub that
/// hosts an ISP's customers a few hundred.
pub const MAX_FOLLOWERS_PER_SERVER: i64 = 256;
/// Remote followers one author may have here: ~60 bytes a row, so at most ~600 KB of flash
/// per author, and more followers than a household account has.
pub const MAX_REMOTE_FOLLOWERS: i64 = 10_000;
/// Requests waiting for one author's decision: a person decides each by hand, so more than
/// this is a flood, refused rather than kept.
pub const MAX_PENDING: i64 = 256;

/// A follow request waiting for the author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowRequestView {
    /// Who asks.
    pub address: String,
    /// A user of this node.
    pub local: bool,
    /// When the request came (unix ms; 0 for a local one).
    pub created_ms: u64,
}

/// What deciding a request changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// A local follower: nothing to send.
    Local,
    /// A remote follower: tell this server.
    Remote(String),
}

fn state_str(s: FollowAnswerState) -> &'static str {
    match s {
        FollowAnswerState::Accepted => "accepted",
        FollowAnswerState::Pending => "pending",
        FollowAnswerState::Rejected => "rejected",
    }
}

fn local_author_id(tx: &rusqlite::Connection, author: &Address) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT id FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
            [author.as_str()],
            |r| r.get(0),
        )
        .optional()?)
}

fn count(
    tx: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<i64, StoreError> {
    Ok(tx.query_row(sql, p, |r| r.get(0))?)
}

/// Drops followers-only deliveries queued for `server` of `author_id` once none of the server's
/// people is an accepted follower (they must not go out any more).
pub(super) fn drop_unreadable(
    tx: &Transaction<'_>,
    author_id: i64,
    server: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM outbox WHERE server = ?2 AND message_id IN
           (SELECT id FROM messages WHERE author_id = ?1 AND audience = 'followers')
         AND NOT EXISTS(SELECT 1 FROM remote_followers
                        WHERE author_id = ?1 AND server = ?2 AND state = 'accepted')",
        params![author_id, server],
    )?;
    Ok(())
}

impl Store {
    /// True if `user_id` approves each follower.
    pub fn is_locked(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT locked FROM users WHERE id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(false))
    }

    /// Sets whether `user_id` approves each follower. Unlocking accepts every waiting request;
    /// the remote ones are returned as `(server, follower)` to be told.
    pub fn set_locked(
        &mut self,
        user_id: i64,
        locked: bool,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE users SET locked = ?2 WHERE id = ?1",
            params![user_id, locked],
        )?;
        let mut accepted = Vec::new();
        if !locked {
            let author_id: i64 = tx.query_row(
                "SELECT id FROM authors WHERE local_user = ?1",
                [user_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE follows SET state = 'accepted' WHERE state = 'pending'
                   AND address = (SELECT address FROM authors WHERE id = ?1)",
                [author_id],
            )?;
            let mut stmt = tx.prepare(
                "SELECT server, follower FROM remote_followers WHERE author_id = ?1 AND state = 'pending'",
            )?;
            accepted = stmt
                .query_map([author_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            drop(stmt);
            tx.execute(
                "UPDATE remote_followers SET state = 'accepted' WHERE author_id = ?1 AND state = 'pending'",
                [author_id],
            )?;
        }
        tx.commit()?;
        Ok(accepted)
    }

    /// A remote `follower` asks, from `server`, to follow the local `author`: its state now.
    /// `None` when `server` is not subscribed to `author` (nothing is kept; it may ask again
    /// once it is). Over a bound the answer is `Rejected` and nothing is kept.
    pub fn follow_request(
        &mut self,
        author: &Address,
        follower: &Address,
        server: &str,
        now_ms: u64,
    ) -> Result<Option<FollowAnswerState>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let Some(author_id) = local_author_id(&tx, author)? else {
            return Ok(Some(FollowAnswerState::Rejected));
        };
        let blocked: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM relations r JOIN authors a ON a.local_user = r.user_id
                           WHERE a.id = ?1 AND r.target = ?2 AND r.kind = 'block')",
            params![author_id, follower.as_str()],
            |r| r.get(0),
        )?;
        if blocked {
            return Ok(Some(FollowAnswerState::Rejected));
        }
        let subscribed: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM subscribers WHERE author_id = ?1 AND server = ?2)",
            params![author_id, server],
            |r| r.get(0),
        )?;
        if !subscribed {
            return Ok(None);
        }
        let known: Option<String> = tx
            .query_row(
                "SELECT state FROM remote_followers WHERE author_id = ?1 AND server = ?2 AND follower = ?3",
                params![author_id, server, follower.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(state) = known {
            return Ok(Some(if state == "accepted" {
                FollowAnswerState::Accepted
            } else {
                FollowAnswerState::Pending
            }));
        }
        let per_server = count(
            &tx,
            "SELECT count(*) FROM remote_followers WHERE author_id = ?1 AND server = ?2",
            params![author_id, server],
        )?;
        let all = count(
            &tx,
            "SELECT count(*) FROM remote_followers WHERE author_id = ?1",
            [author_id],
        )?;
        if per_server >= MAX_FOLLOWERS_PER_SERVER || all >= MAX_REMOTE_FOLLOWERS {
            return Ok(Some(FollowAnswerState::Rejected));
        }
        // a server subscribed before schema 6 keeps its access: its people need no approval
        let grandfathered: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM remote_followers WHERE author_id = ?1 AND server = ?2 AND follower = '')",
            params![author_id, server],
            |r| r.get(0),
        )?;
        let locked: bool = tx.query_row(
            "SELECT u.locked FROM users u JOIN authors a ON a.local_user = u.id WHERE a.id = ?1",
            [author_id],
            |r| r.get(0),
        )?;
        let state = if locked && !grandfathered {
            let pending = count(
                &tx,
                "SELECT (SELECT count(*) FROM remote_followers WHERE author_id = ?1 AND state = 'pending')
                      + (SELECT count(*) FROM follows WHERE address = ?2 AND state = 'pending')",
                params![author_id, author.as_str()],
            )?;
            if pending >= MAX_PENDING {
                return Ok(Some(FollowAnswerState::Rejected));
            }
            FollowAnswerState::Pending
        } else {
            FollowAnswerState::Accepted
        };
        tx.execute(
            "INSERT INTO remote_followers(author_id, server, follower, state, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![author_id, server, follower.as_str(), state_str(state), now_ms as i64],
        )?;
        let user: i64 = tx.query_row(
            "SELECT local_user FROM authors WHERE id = ?1",
            [author_id],
            |r| r.get(0),
        )?;
        let kind = if state == FollowAnswerState::Pending {
            "follow_request"
        } else {
            "follow"
        };
        super::conversation::notify(&tx, user, kind, follower.as_str(), None, now_ms)?;
        tx.commit()?;
        Ok(Some(state))
    }

    /// A remote `follower` on `server` stops following `author` (or was refused).
    pub fn follow_undo(
        &mut self,
        author: &Address,
        follower: &Address,
        server: &str,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if let Some(author_id) = local_author_id(&tx, author)? {
            tx.execute(
                "DELETE FROM remote_followers WHERE author_id = ?1 AND server = ?2 AND follower = ?3",
                params![author_id, server, follower.as_str()],
            )?;
            drop_unreadable(&tx, author_id, server)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Requests waiting for `author`'s decision, oldest first (local ones first).
    pub fn follow_requests(&self, author: &Address) -> Result<Vec<FollowRequestView>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT a.address, 1, f.created_ms FROM follows f JOIN authors a ON a.local_user = f.user_id
               WHERE f.address = ?1 AND f.state = 'pending'
             UNION ALL
             SELECT r.follower, 0, r.created_ms FROM remote_followers r JOIN authors a ON a.id = r.author_id
               WHERE a.address = ?1 AND r.state = 'pending'
             ORDER BY 2 DESC, 3 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![author.as_str(), MAX_PENDING * 2], |r| {
            Ok(FollowRequestView {
                address: r.get(0)?,
                local: r.get(1)?,
                created_ms: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `author` accepts or refuses the waiting request of `follower`; `None` if there is none.
    pub fn decide_follow(
        &mut self,
        author: &Address,
        follower: &Address,
        accept: bool,
    ) -> Result<Option<Decided>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let Some(author_id) = local_author_id(&tx, author)? else {
            return Ok(None);
        };
        let local_sql = if accept {
            "UPDATE follows SET state = 'accepted' WHERE address = ?1 AND state = 'pending'
               AND user_id = (SELECT local_user FROM authors WHERE address = ?2)"
        } else {
            "DELETE FROM follows WHERE address = ?1 AND state = 'pending'
               AND user_id = (SELECT local_user FROM authors WHERE address = ?2)"
        };
        if tx.execute(local_sql, params![author.as_str(), follower.as_str()])? > 0 {
            tx.commit()?;
            return Ok(Some(Decided::Local));
        }
        let server: Option<String> = tx
            .query_row(
                "SELECT server FROM remote_followers WHERE author_id = ?1 AND follower = ?2 AND state = 'pending'",
                params![author_id, follower.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(server) = server else {
            return Ok(None);
        };
        let remote_sql = if accept {
            "UPDATE remote_followers SET state = 'accepted' WHERE author_id = ?1 AND server = ?2 AND follower = ?3"
        } else {
            "DELETE FROM remote_followers WHERE author_id = ?1 AND server = ?2 AND follower = ?3"
        };
        tx.execute(remote_sql, params![author_id, server, follower.as_str()])?;
        tx.commit()?;
        Ok(Some(Decided::Remote(server)))
    }

    /// True if `server` may get `author`'s followers-only messages: one of its people is an
    /// accepted follower (or it was subscribed before schema 6).
    pub fn may_read_followers_only(
        &self,
        author: &Address,
        server: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM remote_followers r JOIN authors a ON a.id = r.author_id
                           WHERE a.address = ?1 AND r.server = ?2 AND r.state = 'accepted')",
            params![author.as_str(), server],
            |r| r.get(0),
        )?)
    }

    /// Accepted remote followers of `author` known by name.
    pub fn remote_followers(&self, author: &Address) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT r.follower FROM remote_followers r JOIN authors a ON a.id = r.author_id
             WHERE a.address = ?1 AND r.state = 'accepted' AND r.follower <> '' ORDER BY 1 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![author.as_str(), MAX_REMOTE_FOLLOWERS], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Follower's side: follows of remote authors whose node should hear (again) who follows:
    /// unanswered ones asked before `requested_before`, pending ones asked before
    /// `pending_before`, where this node's subscription is active. Marks them asked at `now_ms`.
    pub fn follows_to_ask(
        &mut self,
        now_ms: u64,
        requested_before: u64,
        pending_before: u64,
        limit: u32,
    ) -> Result<Vec<(Address, Address)>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut stmt = tx.prepare(
            "SELECT a.address, f.address, f.user_id FROM follows f
             JOIN authors a ON a.local_user = f.user_id
             JOIN subscriptions s ON s.author = f.address AND s.state = 'active'
             WHERE (f.state = 'requested' AND f.asked_ms <= ?1)
                OR (f.state = 'pending' AND f.asked_ms <= ?2)
             LIMIT ?3",
        )?;
        let rows: Vec<(String, String, i64)> = stmt
            .query_map(
                params![requested_before as i64, pending_before as i64, limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        let mut out = Vec::with_capacity(rows.len());
        for (follower, author, user_id) in rows {
            tx.execute(
                "UPDATE follows SET asked_ms = ?3 WHERE user_id = ?1 AND address = ?2",
                params![user_id, author, now_ms as i64],
            )?;
            let (Ok(f), Ok(a)) = (Address::parse(&follower), Address::parse(&author)) else {
                return Err(StoreError::Corrupt("follow address"));
            };
            out.push((f, a));
        }
        tx.commit()?;
        Ok(out)
    }

    /// Follower's side: local followers of `author` whose node has not answered them yet.
    pub fn unanswered_followers(&self, author: &Address) -> Result<Vec<Address>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT a.address FROM follows f JOIN authors a ON a.local_user = f.user_id
             WHERE f.address = ?1 AND f.state = 'requested' LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![author.as_str(), MAX_FOLLOWERS_PER_SERVER], |r| {
            r.get::<_, String>(0)
        })?;
        rows.map(|a| Address::parse(&a?).map_err(|_| StoreError::Corrupt("follow address")))
            .collect()
    }

    /// Follower's side: marks the follow of `author` by the local `follower` asked now.
    pub fn follow_asked(
        &mut self,
        follower: &Address,
        author: &Address,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE follows SET asked_ms = ?3 WHERE address = ?2
               AND user_id = (SELECT local_user FROM authors WHERE address = ?1)",
            params![follower.as_str(), author.as_str(), now_ms as i64],
        )?;
        Ok(())
    }

    /// Follower's side: the author's node answered. The follower's user id and the follow's
    /// state before (a rejected follow is for the caller to remove), `None` when there is no
    /// such follow.
    pub fn follow_answered(
        &mut self,
        follower: &Address,
        author: &Address,
        state: FollowAnswerState,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let found: Option<(i64, String)> = self
            .conn()
            .query_row(
                "SELECT f.user_id, f.state FROM follows f JOIN authors a ON a.local_user = f.user_id
                 WHERE a.address = ?1 AND f.address = ?2",
                params![follower.as_str(), author.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let (Some((uid, _)), FollowAnswerState::Accepted | FollowAnswerState::Pending) =
            (&found, state)
        {
            self.conn().execute(
                "UPDATE follows SET state = ?3 WHERE user_id = ?1 AND address = ?2",
                params![uid, author.as_str(), state_str(state)],
            )?;
        }
        Ok(found)
    }

    /// Follower's side: `user_id`'s follows whose state is not `accepted`, by address.
    pub fn unapproved_follows(&self, user_id: i64) -> Result<HashMap<String, String>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT address, state FROM follows WHERE user_id = ?1 AND state <> 'accepted'",
        )?;
        let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Follower's side: the author's node says its seqs `from..=to` not sent are not for this
    /// server; the contiguous seq moves over them if it had reached `from - 1`.
    pub fn skip_withheld(
        &mut self,
        author: &Address,
        from: u64,
        to: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let moved = tx.execute(
            "UPDATE authors SET last_seq = ?3 WHERE address = ?1 AND local_user IS NULL
               AND last_seq >= ?2 - 1 AND last_seq < ?3",
            params![author.as_str(), from as i64, to.min(i64::MAX as u64) as i64],
        )?;
        if moved > 0 {
            let id: i64 = tx.query_row(
                "SELECT id FROM authors WHERE address = ?1",
                [author.as_str()],
                |r| r.get(0),
            )?;
            super::messages::advance_contiguous(&tx, id)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "approvals_tests.rs"]
mod tests;
