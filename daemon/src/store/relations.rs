//! Mutes, blocks and the owner's domain blocks.
//!
//! A user *mutes* an address: that person's posts (and their reposts) are hidden from the
//! user's home timeline, discover window, search, profiles and threads, at read time (nothing
//! is deleted, so unmuting brings them back). A *block* hides the same way and also cuts
//! following both ways: the blocked person stops following the user (a local follow row is
//! deleted; a remote one is removed from `remote_followers`, and when nobody else of that
//! server follows the user the server's subscription and what was queued for it go too), the
//! user stops following them (the caller unfollows through the network layer, which
//! unsubscribes when it was the last local follower), and their follows and follow requests to
//! the user are refused. The blocked person's posts still arrive when someone else here
//! follows them; they are hidden at read time for the user who blocked.
//!
//! The owner *blocks a domain* for the whole node (the domain and its subdomains): its
//! authors are marked `domain_blocked` (their stored posts are hidden for everyone), its
//! discover posts are deleted, follows of its people and its servers' subscriptions are
//! dropped; the network layer refuses its links, follows and firehose posts through the
//! in-memory [`super::blocked_domains::BlockedDomains`], reloaded after each change (the
//! table and the set are in [`super::blocked_domains`]).
//!
//! Read filter: [`HIDDEN`], one indexed lookup of the `relations` primary key per row read
//! plus a column of the author row the queries read anyway.
//!
//! Bounds: [`MAX_RELATIONS`] mutes and blocks per user.

use super::{Store, StoreError};
use crate::proto::Address;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// Mutes and blocks one user may hold: a person curates these by hand, so this is far more
/// than anyone needs, and at ~60 bytes a row at most ~600 KB of flash per user.
pub const MAX_RELATIONS: i64 = 10_000;

/// The rows a viewer `?1` does not see, for `messages m JOIN authors a`: authors of a blocked
/// domain, authors the viewer muted or blocked, and reposts of them.
pub(crate) const HIDDEN: &str = "(a.domain_blocked = 1 OR EXISTS(SELECT 1 FROM relations r \
     WHERE r.user_id = ?1 AND r.target IN (a.address, CASE WHEN m.kind = 'repost' THEN m.ref_author END)))";

/// What a user holds against an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Their posts are hidden.
    Mute,
    /// Hidden, and no following either way.
    Block,
}

impl Relation {
    fn as_str(self) -> &'static str {
        match self {
            Relation::Mute => "mute",
            Relation::Block => "block",
        }
    }
}

/// A muted or blocked address, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationView {
    /// The address.
    pub address: String,
    /// When (unix ms).
    pub created_ms: u64,
}

/// What a block changed, for the network layer to finish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocked {
    /// The user followed the blocked address: unfollow it (and unsubscribe if last).
    pub was_following: bool,
    /// The blocked person followed (or asked to follow) from this server: tell it "rejected".
    pub tell_server: Option<String>,
    /// That server lost its subscription to the user (nobody else there follows).
    pub unsubscribed: bool,
}

impl Store {
    /// `user_id` mutes `target`; false if it was muted or blocked already (a block stays).
    pub fn mute(
        &mut self,
        user_id: i64,
        target: &Address,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        self.check_room(user_id, target)?;
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO relations(user_id, target, kind, created_ms) VALUES (?1, ?2, 'mute', ?3)",
            params![user_id, target.as_str(), now_ms as i64],
        )? > 0)
    }

    /// Undoes a mute; false if `target` was not muted (a block is undone by unblocking).
    pub fn unmute(&mut self, user_id: i64, target: &Address) -> Result<bool, StoreError> {
        self.remove_relation(user_id, target, Relation::Mute)
    }

    /// Undoes a block; false if `target` was not blocked. Following is not restored.
    pub fn unblock(&mut self, user_id: i64, target: &Address) -> Result<bool, StoreError> {
        self.remove_relation(user_id, target, Relation::Block)
    }

    /// When `user_id` blocked `target` (unix ms), if it does.
    pub fn block_since(&self, user_id: i64, target: &Address) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT created_ms FROM relations WHERE user_id = ?1 AND target = ?2 AND kind = 'block'",
                params![user_id, target.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|ms| ms as u64))
    }

    fn remove_relation(
        &mut self,
        user_id: i64,
        target: &Address,
        kind: Relation,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM relations WHERE user_id = ?1 AND target = ?2 AND kind = ?3",
            params![user_id, target.as_str(), kind.as_str()],
        )? > 0)
    }

    /// Refuses a new relation over [`MAX_RELATIONS`] (changing an existing one is fine).
    fn check_room(&self, user_id: i64, target: &Address) -> Result<(), StoreError> {
        let (n, exists): (i64, bool) = self.conn().query_row(
            "SELECT count(*), coalesce(max(target = ?2), 0) FROM relations WHERE user_id = ?1",
            params![user_id, target.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if n >= MAX_RELATIONS && !exists {
            return Err(StoreError::Full {
                what: "mutes and blocks",
                max: MAX_RELATIONS,
            });
        }
        Ok(())
    }

    /// `user_id` (whose address is `me`) blocks `target`: see the module doc. What is left
    /// for the network layer is returned.
    pub fn block(
        &mut self,
        user_id: i64,
        me: &Address,
        target: &Address,
        now_ms: u64,
    ) -> Result<Blocked, StoreError> {
        self.check_room(user_id, target)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO relations(user_id, target, kind, created_ms) VALUES (?1, ?2, 'block', ?3)
             ON CONFLICT(user_id, target) DO UPDATE SET kind = 'block'",
            params![user_id, target.as_str(), now_ms as i64],
        )?;
        let was_following: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE user_id = ?1 AND address = ?2)",
            params![user_id, target.as_str()],
            |r| r.get(0),
        )?;
        // a local follower (or request) of the user
        tx.execute(
            "DELETE FROM follows WHERE address = ?1
               AND user_id = (SELECT local_user FROM authors WHERE address = ?2)",
            params![me.as_str(), target.as_str()],
        )?;
        let author_id: Option<i64> = tx
            .query_row(
                "SELECT id FROM authors WHERE address = ?1 AND local_user = ?2",
                params![me.as_str(), user_id],
                |r| r.get(0),
            )
            .optional()?;
        let mut out = Blocked {
            was_following,
            ..Default::default()
        };
        if let Some(author_id) = author_id {
            let server: Option<String> = tx
                .query_row(
                    "SELECT server FROM remote_followers WHERE author_id = ?1 AND follower = ?2",
                    params![author_id, target.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(server) = server {
                tx.execute(
                    "DELETE FROM remote_followers WHERE author_id = ?1 AND follower = ?2",
                    params![author_id, target.as_str()],
                )?;
                super::approvals::drop_unreadable(&tx, author_id, &server)?;
                let others: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM remote_followers WHERE author_id = ?1 AND server = ?2)",
                    params![author_id, server],
                    |r| r.get(0),
                )?;
                if !others {
                    tx.execute(
                        "DELETE FROM outbox WHERE server = ?2 AND message_id IN
                           (SELECT id FROM messages WHERE author_id = ?1)",
                        params![author_id, server],
                    )?;
                    out.unsubscribed = tx.execute(
                        "DELETE FROM subscribers WHERE author_id = ?1 AND server = ?2",
                        params![author_id, server],
                    )? > 0;
                }
                out.tell_server = Some(server);
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// True if a block stands between the local user `user_id` (address `me`) and `other`,
    /// either way (`other` blocked by `user_id`, or `other` a local user who blocked `me`).
    pub fn block_between(&self, me: &Address, other: &Address) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM relations WHERE kind = 'block' AND (
                 (user_id = (SELECT local_user FROM authors WHERE address = ?1) AND target = ?2)
              OR (user_id = (SELECT local_user FROM authors WHERE address = ?2) AND target = ?1)))",
            params![me.as_str(), other.as_str()],
            |r| r.get(0),
        )?)
    }

    /// `user_id`'s mutes or blocks, oldest first (at most [`MAX_RELATIONS`]).
    pub fn relations(&self, user_id: i64, kind: Relation) -> Result<Vec<RelationView>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT target, created_ms FROM relations WHERE user_id = ?1 AND kind = ?2
             ORDER BY created_ms, target LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![user_id, kind.as_str(), MAX_RELATIONS], |r| {
            Ok(RelationView {
                address: r.get(0)?,
                created_ms: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What `user_id` holds against `target`, if anything.
    pub fn relation(&self, user_id: i64, target: &Address) -> Result<Option<Relation>, StoreError> {
        let kind: Option<String> = self
            .conn()
            .query_row(
                "SELECT kind FROM relations WHERE user_id = ?1 AND target = ?2",
                params![user_id, target.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(kind.map(|k| {
            if k == "block" {
                Relation::Block
            } else {
                Relation::Mute
            }
        }))
    }
}

#[cfg(test)]
#[path = "relations_tests.rs"]
mod tests;
