//! What a stored message means for the conversation around it: the people it mentions, its
//! hashtags, an edit's new text (the old one kept as history), and the notifications of local
//! users (mentions, replies, reposts, likes; follows are noted by `approvals` and
//! `federation`). [`apply`] runs inside `store_message`'s transaction, for own and received
//! messages alike, so every node derives the same from the same signed messages.
//!
//! A notification is made once per (user, kind, actor, message), never for one's own acts, and
//! not at all for a kind the user turned off, for an actor the user muted or blocked (or of a
//! domain blocked here) or, with "only people I follow" set, for an actor the user does not
//! follow. A withdrawn like or repost takes its notification with it.

use super::wire_text::text_of_m;
use super::{Store, StoreError};
use crate::proto::{text, Address, Body, SignedMessage};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Kinds of notification, as stored and as the API names them.
pub const NOTIFICATION_KINDS: [&str; 6] = [
    "mention",
    "reply",
    "repost",
    "like",
    "follow",
    "follow_request",
];

/// Most notifications one page returns.
pub const MAX_NOTIFICATION_PAGE: u32 = 100;

/// Notifications kept per user: older ones go when a new one comes past this.
pub const MAX_NOTIFICATIONS_KEPT: i64 = 2000;

/// Applies `signed` (stored as row `message_id`, author row `author_id`) to mentions, tags,
/// edits and notifications.
pub(crate) fn apply(
    conn: &Connection,
    signed: &SignedMessage,
    message_id: i64,
    author_id: i64,
    now_ms: u64,
) -> Result<(), StoreError> {
    let m = &signed.message;
    for a in m.body.mentions() {
        conn.prepare_cached("INSERT OR IGNORE INTO mentions(message_id, address) VALUES (?1, ?2)")?
            .execute(params![message_id, a.as_str()])?;
    }
    match &m.body {
        Body::Edit {
            target,
            text,
            summary,
            ..
        } => edit(conn, author_id, *target, text, summary, m.time_ms)?,
        Body::Delete { target } => withdraw(conn, author_id, *target)?,
        _ => {}
    }
    if m.body.is_shown() {
        if let Some(t) = m.body.text() {
            index_tags(conn, message_id, t)?;
        }
    }
    notify_for(conn, signed, message_id, now_ms)
}

/// An edited post's row id, text, content warning, time of its current version, deleted.
type EditedRow = (i64, Option<String>, Option<String>, i64, i64);

/// Replaces the text of the author's post `target` with an edit's, keeping the old version.
fn edit(
    conn: &Connection,
    author_id: i64,
    target: u64,
    text: &str,
    summary: &str,
    time_ms: u64,
) -> Result<(), StoreError> {
    let row: Option<EditedRow> = conn
        .prepare_cached(concat!(
            "SELECT m.id, ",
            text_of_m!(),
            ", m.summary, coalesce(m.edited_ms, m.time_ms), m.deleted FROM messages m
                 WHERE m.author_id = ?1 AND m.seq = ?2 AND m.kind IN ('post', 'reply')"
        ))?
        .query_row(params![author_id, target as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((id, old_text, old_summary, old_time, deleted)) = row else {
        return Ok(()); // not held here (or not a post): nothing to change
    };
    if deleted != 0 || old_time as u64 >= time_ms {
        return Ok(()); // a later edit came first, or the post is gone
    }
    conn.prepare_cached(
        "INSERT OR IGNORE INTO edits(message_id, time_ms, text, summary) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, old_time, old_text, old_summary])?;
    let summary = (!summary.is_empty()).then_some(summary);
    conn.prepare_cached(
        "UPDATE messages SET text = ?2, summary = ?3, edited_ms = ?4 WHERE id = ?1",
    )?
    .execute(params![id, text, summary, time_ms as i64])?;
    conn.prepare_cached("DELETE FROM tags WHERE message_id = ?1")?
        .execute([id])?;
    index_tags(conn, id, text)
}

/// A deleted message leaves the tag index and takes its notifications with it.
fn withdraw(conn: &Connection, author_id: i64, target: u64) -> Result<(), StoreError> {
    let id: Option<i64> = conn
        .prepare_cached("SELECT id FROM messages WHERE author_id = ?1 AND seq = ?2")?
        .query_row(params![author_id, target as i64], |r| r.get(0))
        .optional()?;
    if let Some(id) = id {
        conn.prepare_cached("DELETE FROM tags WHERE message_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM notifications WHERE message_id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

fn index_tags(conn: &Connection, message_id: i64, t: &str) -> Result<(), StoreError> {
    for tag in text::tags(t) {
        conn.prepare_cached("INSERT OR IGNORE INTO tags(tag, message_id) VALUES (?1, ?2)")?
            .execute(params![tag, message_id])?;
    }
    Ok(())
}

/// The local user ids of the author of `author`/`seq`, if local and the message is held.
fn local_author_of(conn: &Connection, author: &Address) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT local_user FROM authors WHERE address = ?1 AND local_user IS NOT NULL",
        )?
        .query_row([author.as_str()], |r| r.get(0))
        .optional()?)
}

fn notify_for(
    conn: &Connection,
    signed: &SignedMessage,
    message_id: i64,
    now_ms: u64,
) -> Result<(), StoreError> {
    let m = &signed.message;
    let actor = m.author.as_str();
    let mut told: Vec<i64> = Vec::new();
    if let Some(to) = m.body.refers_to() {
        let kind = match &m.body {
            Body::Repost { .. } => "repost",
            Body::Like { .. } => "like",
            _ => "reply",
        };
        if let Some(user) = local_author_of(conn, &to.author)? {
            if to.author != m.author {
                notify(conn, user, kind, actor, Some(message_id), now_ms)?;
                told.push(user);
            }
        }
    }
    if matches!(m.body, Body::Note { .. }) {
        for a in m.body.mentions() {
            if *a == m.author {
                continue;
            }
            if let Some(user) = local_author_of(conn, a)? {
                if !told.contains(&user) {
                    notify(conn, user, "mention", actor, Some(message_id), now_ms)?;
                    told.push(user);
                }
            }
        }
    }
    Ok(())
}

/// Notes a notification for `user_id`, unless the user turned the kind off, or hears only
/// from people they follow and does not follow `actor`.
pub(crate) fn notify(
    conn: &Connection,
    user_id: i64,
    kind: &str,
    actor: &str,
    message_id: Option<i64>,
    now_ms: u64,
) -> Result<(), StoreError> {
    // nothing from people the user muted or blocked, or from a domain blocked here
    let silenced: bool = conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM relations WHERE user_id = ?1 AND target = ?2)
                 OR EXISTS(SELECT 1 FROM authors WHERE address = ?2 AND domain_blocked = 1)",
        )?
        .query_row(params![user_id, actor], |r| r.get(0))?;
    if silenced {
        return Ok(());
    }
    let setting: Option<(String, bool)> = conn
        .prepare_cached("SELECT off, only_followed FROM notification_settings WHERE user_id = ?1")?
        .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((off, only_followed)) = setting {
        if off.split(',').any(|k| k == kind) {
            return Ok(());
        }
        let follows: bool = conn
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM follows WHERE user_id = ?1 AND address = ?2)",
            )?
            .query_row(params![user_id, actor], |r| r.get(0))?;
        if only_followed && !follows {
            return Ok(());
        }
    }
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO notifications(user_id, kind, actor, message_id, time_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![user_id, kind, actor, message_id, now_ms as i64])?;
    if added > 0 {
        conn.prepare_cached(
            "DELETE FROM notifications WHERE user_id = ?1 AND id <= (
                 SELECT id FROM notifications WHERE user_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![user_id, MAX_NOTIFICATIONS_KEPT])?;
    }
    Ok(())
}

/// A notification as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationView {
    /// Its id, increasing.
    pub id: i64,
    /// One of [`NOTIFICATION_KINDS`].
    pub kind: String,
    /// Who acted.
    pub actor: String,
    /// The actor's display name, when known.
    pub actor_name: String,
    /// The message that acted (reply, mention, repost, like), as `author/seq`.
    pub message: Option<String>,
    /// For a repost or like: the local post it acted on, as `author/seq`.
    pub target: Option<String>,
    /// The acting message's text, for a reply or mention.
    pub text: Option<String>,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// Marked read.
    pub read: bool,
}

/// A user's notification settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotificationSettings {
    /// Kinds turned off.
    pub off: Vec<String>,
    /// Notifications only from people the user follows.
    pub only_followed: bool,
}

/// A version of a post's text: the current one, or one an edit replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// When this version was written (the post's time, or its edit's).
    pub time_ms: u64,
    /// The text.
    pub text: Option<String>,
    /// The content warning.
    pub summary: Option<String>,
}

impl Store {
    /// Up to `limit` notifications of `user_id` with ids below `before` (all if `None`),
    /// newest first, without those `hidden` says to leave out (muted actors).
    pub fn notifications(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<NotificationView>, StoreError> {
        let mut stmt = self.conn().prepare_cached(concat!(
            "SELECT n.id, n.kind, n.actor, coalesce(a.display_name, ''), n.message_id IS NOT NULL,
                    ma.address || '/' || m.seq, m.ref_author || '/' || m.ref_seq, m.kind, ",
            text_of_m!(),
            ",
                    n.time_ms, n.read
             FROM notifications n LEFT JOIN authors a ON a.address = n.actor
             LEFT JOIN messages m ON m.id = n.message_id LEFT JOIN authors ma ON ma.id = m.author_id
             WHERE n.user_id = ?1 AND n.id < ?2 ORDER BY n.id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                user_id,
                before.unwrap_or(i64::MAX),
                limit.min(MAX_NOTIFICATION_PAGE)
            ],
            |r| {
                let kind: String = r.get(1)?;
                let acts_on = matches!(kind.as_str(), "repost" | "like");
                Ok(NotificationView {
                    id: r.get(0)?,
                    actor: r.get(2)?,
                    actor_name: r.get(3)?,
                    message: r.get(5)?,
                    target: if acts_on { r.get(6)? } else { None },
                    text: if acts_on { None } else { r.get(8)? },
                    time_ms: r.get::<_, i64>(9)? as u64,
                    read: r.get(10)?,
                    kind,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many of `user_id`'s notifications are unread.
    pub fn unread_notifications(&self, user_id: i64) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT count(*) FROM notifications WHERE user_id = ?1 AND read = 0")?
            .query_row([user_id], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Marks `user_id`'s notifications up to id `up_to` read; returns how many changed.
    pub fn mark_notifications_read(&mut self, user_id: i64, up_to: i64) -> Result<u64, StoreError> {
        Ok(self.conn().execute(
            "UPDATE notifications SET read = 1 WHERE user_id = ?1 AND id <= ?2 AND read = 0",
            params![user_id, up_to],
        )? as u64)
    }

    /// `user_id`'s notification settings.
    pub fn notification_settings(&self, user_id: i64) -> Result<NotificationSettings, StoreError> {
        let row: Option<(String, bool)> = self
            .conn()
            .query_row(
                "SELECT off, only_followed FROM notification_settings WHERE user_id = ?1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(
            row.map_or_else(NotificationSettings::default, |(off, only_followed)| {
                NotificationSettings {
                    off: off
                        .split(',')
                        .filter(|k| !k.is_empty())
                        .map(str::to_string)
                        .collect(),
                    only_followed,
                }
            }),
        )
    }

    /// Sets `user_id`'s notification settings; kinds must be among [`NOTIFICATION_KINDS`].
    pub fn set_notification_settings(
        &mut self,
        user_id: i64,
        settings: &NotificationSettings,
    ) -> Result<(), StoreError> {
        if let Some(k) = settings
            .off
            .iter()
            .find(|k| !NOTIFICATION_KINDS.contains(&k.as_str()))
        {
            return Err(StoreError::Invalid(format!("no notification kind {k:?}")));
        }
        self.conn().execute(
            "INSERT INTO notification_settings(user_id, off, only_followed) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id) DO UPDATE SET off = excluded.off, only_followed = excluded.only_followed",
            params![user_id, settings.off.join(","), settings.only_followed],
        )?;
        Ok(())
    }

    /// The versions of `author`'s post `seq`, oldest first, the current one last; empty if
    /// the post is not held (or deleted).
    pub fn edit_history(&self, author: &Address, seq: u64) -> Result<Vec<Version>, StoreError> {
        let row: Option<(i64, i64, Option<String>, Option<String>)> = self
            .conn()
            .query_row(
                concat!(
                    "SELECT m.id, coalesce(m.edited_ms, m.time_ms), ",
                    text_of_m!(),
                    ", m.summary FROM messages m
                 JOIN authors a ON a.id = m.author_id
                 WHERE a.address = ?1 AND m.seq = ?2 AND m.deleted = 0"
                ),
                params![author.as_str(), seq as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, time, text, summary)) = row else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT time_ms, text, summary FROM edits WHERE message_id = ?1 ORDER BY time_ms",
        )?;
        let mut out: Vec<Version> = stmt
            .query_map([id], |r| {
                Ok(Version {
                    time_ms: r.get::<_, i64>(0)? as u64,
                    text: r.get(1)?,
                    summary: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        out.push(Version {
            time_ms: time as u64,
            text,
            summary,
        });
        Ok(out)
    }

    /// The seq of `user`'s (local author `author`'s) live like or repost (`kind`) of
    /// `target`, if there is one.
    pub fn own_act_on(
        &self,
        author: &Address,
        kind: &str,
        target: &Address,
        target_seq: u64,
    ) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT m.seq FROM messages m JOIN authors a ON a.id = m.author_id
                 WHERE m.ref_author = ?3 AND m.ref_seq = ?4 AND m.kind = ?2 AND a.address = ?1
                   AND m.deleted = 0 LIMIT 1",
            )?
            .query_row(
                params![author.as_str(), kind, target.as_str(), target_seq as i64],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|s| s as u64))
    }
}

impl Store {
    /// True if `m`, from an author nobody here follows, is for this node all the same: it
    /// mentions a local user, answers, repeats or likes a local user's post held here, or
    /// edits or deletes a message held here.
    pub fn addressed_here(&self, m: &crate::proto::Message) -> Result<bool, StoreError> {
        for a in m.body.mentions() {
            if self.is_local_user(a)? {
                return Ok(true);
            }
        }
        let held = |author: &Address, seq: u64| -> Result<bool, StoreError> {
            Ok(self
                .conn()
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM messages m JOIN authors a ON a.id = m.author_id
                     WHERE a.address = ?1 AND m.seq = ?2 AND m.deleted = 0)",
                )?
                .query_row(params![author.as_str(), seq as i64], |r| r.get(0))?)
        };
        match &m.body {
            Body::Delete { target } | Body::Edit { target, .. } => held(&m.author, *target),
            b => match b.refers_to() {
                Some(to) => Ok(self.is_local_user(&to.author)? && held(&to.author, to.seq)?),
                None => Ok(false),
            },
        }
    }

    /// Keeps `author`'s public key, learnt from the author's own node over a link that proved
    /// its domain, for an author nobody here follows (a key already held is not replaced:
    /// key changes come through subscriptions).
    pub fn learn_author_key(
        &mut self,
        author: &Address,
        key: &crate::proto::PublicKey,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO authors(address, public_key) VALUES (?1, ?2)
             ON CONFLICT(address) DO UPDATE SET public_key = excluded.public_key
             WHERE public_key IS NULL AND local_user IS NULL",
            params![author.as_str(), key.to_bytes().as_slice()],
        )?;
        Ok(())
    }
}

impl Store {
    /// The people `author`'s message `seq` mentions.
    pub fn mentions_of(&self, author: &Address, seq: u64) -> Result<Vec<Address>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT n.address FROM mentions n JOIN messages m ON m.id = n.message_id
             JOIN authors a ON a.id = m.author_id WHERE a.address = ?1 AND m.seq = ?2",
        )?;
        let rows = stmt.query_map(params![author.as_str(), seq as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Address::parse(&r?).map_err(|_| StoreError::Corrupt("mention"))?);
        }
        Ok(out)
    }

    /// A page of the stored posts with hashtag `tag` (normalised) that `viewer` may read,
    /// newest first, older than cursor `before`.
    pub fn tag_timeline(
        &self,
        tag: &str,
        viewer: Option<i64>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<super::timeline::Entry>, StoreError> {
        let sql = super::timeline::select_views(
            "m.id IN (SELECT message_id FROM tags WHERE tag = ?2 AND message_id < ?3) \
             ORDER BY m.id DESC LIMIT ?4",
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                viewer.unwrap_or(-1),
                tag,
                before.unwrap_or(i64::MAX),
                limit.min(super::messages::MAX_PAGE)
            ],
            super::timeline::entry_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
#[path = "conversation_tests.rs"]
mod tests;
