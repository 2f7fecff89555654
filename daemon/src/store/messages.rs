//! Storing and reading messages.
//!
//! [`store_message`] is the one way a signed message enters the database, own or received: it
//! inserts the message once per `(author, seq)`, applies its effect (a delete hides its target, a
//! profile update changes the author's name and bio), advances the author's contiguous seq, puts
//! it into the timelines of the author (if local) and of local followers, and queues one outbox
//! row per subscribed server (for a followers-only message, per server with an accepted
//! follower: see `approvals`). [`sign_own`] assigns the next seq and signs; the writer runs both in
//! one transaction.

use super::search_index::{Indexed, Unindexed};
use super::wire_text;
use super::{Store, StoreError};
use crate::proto::{Address, Audience, Body, Limits, Message, SignedMessage};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Most messages one page of a listing returns.
pub const MAX_PAGE: u32 = 200;

/// A post a local user asks to publish.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// The local author's user id.
    pub user_id: i64,
    /// Who may read it.
    pub audience: Audience,
    /// What it says.
    pub body: Body,
}

/// A message as clients see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostView {
    /// `author/seq`, the message id as one string.
    pub id: String,
    /// The author's address.
    pub author: String,
    /// The author's seq.
    pub seq: u64,
    /// Unix milliseconds.
    pub time_ms: u64,
    /// `post`, `reply`, `repost` (or, in a notification's target, `like`).
    pub kind: String,
    /// `public`, `followers` or `direct`.
    pub audience: String,
    /// The text, for posts and replies.
    pub text: Option<String>,
    /// What a reply answers or a repost repeats, as `author/seq`.
    pub refers_to: Option<String>,
    /// The author's display name, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// The content warning: readers see it and open the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// When the text was last edited (the edit history: `/api/v1/posts/{id}/history`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_ms: Option<u64>,
    /// Likes stored here.
    pub likes: u64,
    /// Reposts stored here.
    pub reposts: u64,
    /// The viewer liked it.
    pub liked: bool,
    /// The viewer reposted it.
    pub reposted: bool,
    /// The viewer bookmarked it.
    pub bookmarked: bool,
    /// The pictures it carries, in order.
    pub media: Vec<MediaView>,
    /// The author's avatar (`/media/<sha256>`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// A picture as clients see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MediaView {
    /// `/media/<sha256 hex>`.
    pub url: String,
    /// The MIME type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// Pixels wide, as stored.
    pub width: u32,
    /// Pixels high, as stored.
    pub height: u32,
    /// EXIF orientation to apply (1: as stored).
    pub orientation: u8,
    /// Alt text.
    pub alt: String,
    /// Blurhash placeholder, "" for none.
    pub blurhash: String,
}

impl MediaView {
    /// The view of a picture reference.
    pub fn of(a: &crate::proto::attachment::Attachment) -> Self {
        MediaView {
            url: format!("/media/{}", a.hex()),
            media_type: a.media_type.mime().into(),
            size: a.size as u64,
            width: a.width,
            height: a.height,
            orientation: a.orientation,
            alt: a.alt.clone(),
            blurhash: a.blurhash.clone(),
        }
    }
}

fn audience_str(a: Audience) -> &'static str {
    match a {
        Audience::Public => "public",
        Audience::Followers => "followers",
        Audience::Direct => "direct",
    }
}

impl PostView {
    /// The client's view of a signed message.
    pub fn from_signed(s: &SignedMessage) -> Self {
        let m = &s.message;
        let refers_to = m
            .body
            .refers_to()
            .map(|to| format!("{}/{}", to.author, to.seq));
        PostView {
            id: format!("{}/{}", m.author, m.seq),
            author: m.author.to_string(),
            seq: m.seq,
            time_ms: m.time_ms,
            kind: m.body.kind().into(),
            audience: audience_str(m.audience).into(),
            text: m.body.text().map(str::to_string),
            refers_to,
            display_name: String::new(),
            summary: m.body.summary().map(str::to_string),
            edited_ms: None,
            likes: 0,
            reposts: 0,
            liked: false,
            reposted: false,
            bookmarked: false,
            media: match &m.body {
                Body::Pictures { attachments, .. } => {
                    attachments.iter().map(MediaView::of).collect()
                }
                _ => Vec::new(),
            },
            avatar: None,
        }
    }
}

/// Assigns the author's next seq and signs the post with the author's key. Must run in the
/// same transaction as the [`store_message`] that stores it.
pub fn sign_own(
    conn: &Connection,
    post: &NewPost,
    now_ms: u64,
    limits: &Limits,
) -> Result<SignedMessage, StoreError> {
    let (address, last_seq, secret): (String, i64, Vec<u8>) = conn
        .query_row(
            "SELECT a.address, a.last_seq, u.secret_key FROM users u JOIN authors a ON a.local_user = u.id
             WHERE u.id = ?1",
            [post.user_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NoSuchUser(format!("#{}", post.user_id)))?;
    let key = crate::proto::NodeKey::from_bytes(&secret)
        .map_err(|_| StoreError::Corrupt("secret key"))?;
    let message = Message {
        author: Address::parse(&address).map_err(|_| StoreError::Corrupt("address"))?,
        seq: last_seq as u64 + 1,
        time_ms: now_ms,
        audience: post.audience,
        body: post.body.clone(),
    };
    Ok(message.sign(&key, limits)?)
}

/// Stores a verified message (see the module doc) and indexes it for search. Returns `Ok(false)`
/// if it was already there.
pub fn store_message(
    conn: &Connection,
    signed: &SignedMessage,
    received_ms: u64,
) -> Result<bool, StoreError> {
    let mut unindexed = Unindexed::start(conn, Indexed::Messages)?;
    let fresh = store_message_batched(conn, signed, received_ms, &mut unindexed)?;
    unindexed.index(conn)?;
    Ok(fresh)
}

/// Moves an author's contiguous seq (`?1`) over the messages stored after a gap.
pub(super) const ADVANCE_CONTIGUOUS: &str = "WITH RECURSIVE run(s) AS (
         SELECT last_seq FROM authors WHERE id = ?1
         UNION ALL
         SELECT s + 1 FROM run WHERE EXISTS(SELECT 1 FROM messages WHERE author_id = ?1 AND seq = s + 1)
     )
     UPDATE authors SET last_seq = (SELECT max(s) FROM run) WHERE id = ?1";

/// Puts a message (`?2`, by author `?1` at address `?3`, audience `?4`) in the timelines of
/// the local people it is for. `UNION ALL`: the table's key drops a person named twice, and a
/// `UNION` would build an ephemeral table to do that for every message stored.
pub(super) const TIMELINE_INSERT: &str = "INSERT OR IGNORE INTO timeline(user_id, message_id)
     SELECT local_user, ?2 FROM authors WHERE id = ?1 AND local_user IS NOT NULL
     UNION ALL SELECT user_id, ?2 FROM follows WHERE address = ?3 AND ?4 <> 'direct'
     UNION ALL SELECT a.local_user, ?2 FROM mentions n JOIN authors a ON a.address = n.address
           WHERE n.message_id = ?2 AND a.local_user IS NOT NULL AND ?4 = 'direct'";

/// [`store_message`] for one of many in a transaction: the message is left to `unindexed`,
/// whose [`Unindexed::index`] the caller runs once before the commit.
pub fn store_message_batched(
    conn: &Connection,
    signed: &SignedMessage,
    received_ms: u64,
    unindexed: &mut Unindexed,
) -> Result<bool, StoreError> {
    let m = &signed.message;
    let author_id = author_id(conn, &m.author)?;
    let (ref_author, ref_seq) = match &m.body {
        // One's own message: the target is a seq of the same author.
        Body::Delete { target } | Body::Edit { target, .. } => {
            (Some(m.author.as_str().to_string()), Some(*target as i64))
        }
        b => match b.refers_to() {
            Some(to) => (Some(to.author.as_str().to_string()), Some(to.seq as i64)),
            None => (None, None),
        },
    };
    let wire = signed.encode();
    // an edit's text lives in the post it edits (and in the wire form); a post's text is
    // read out of its wire form, not stored twice (see `wire_text`)
    let text = wire_text::stored_text(m.body.text().filter(|_| m.body.is_shown()), &wire);
    let inserted = conn.prepare_cached("INSERT OR IGNORE INTO messages(author_id, seq, time_ms, kind, audience, ref_author, ref_seq, text, wire, received_ms, summary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(params![
            author_id,
            m.seq as i64,
            m.time_ms as i64,
            m.body.kind(),
            audience_str(m.audience),
            ref_author,
            ref_seq,
            text,
            wire,
            received_ms as i64,
            m.body.summary().filter(|_| m.body.is_shown()),
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let message_id = conn.last_insert_rowid();
    match &m.body {
        Body::Delete { target } | Body::Edit { target, .. } => {
            // the target may be one of this batch's, not yet indexed: FTS5 unindexes it below
            unindexed.index(conn)?;
            if matches!(m.body, Body::Delete { .. }) {
                conn.prepare_cached(
                    "UPDATE messages SET deleted = 1, text = NULL WHERE author_id = ?1 AND seq = ?2",
                )?
                .execute(params![author_id, *target as i64])?;
                super::media::forget_message_media(conn, author_id, *target)?;
            }
        }
        Body::Profile { display_name, bio }
        | Body::Portrait {
            display_name, bio, ..
        } => {
            conn.prepare_cached("UPDATE authors SET display_name = ?1, bio = ?2 WHERE id = ?3")?
                .execute(params![display_name, bio, author_id])?;
        }
        _ => {}
    }
    super::media::record_message_media(conn, message_id, author_id, &m.body, received_ms)?;
    super::conversation::apply(conn, signed, message_id, author_id, received_ms)?;
    // Advance the contiguous seq over this message and any stored after a gap. Only a message
    // that extends the run can move it, and only one with its successor already stored (it
    // filled a gap) needs the walk: the recursive query builds an ephemeral table, a page
    // cache of its own, for every message it runs for.
    let extended = conn
        .prepare_cached("UPDATE authors SET last_seq = ?2 WHERE id = ?1 AND last_seq = ?2 - 1")?
        .execute(params![author_id, m.seq as i64])?;
    if extended > 0
        && conn
            .prepare_cached("SELECT 1 FROM messages WHERE author_id = ?1 AND seq = ?2 + 1")?
            .exists(params![author_id, m.seq as i64])?
    {
        advance_contiguous(conn, author_id)?;
    }
    if m.body.is_shown() {
        // a direct message is for its author and the people it mentions; the rest for the
        // author and the author's followers here
        conn.prepare_cached(TIMELINE_INSERT)?.execute(params![
            author_id,
            message_id,
            m.author.as_str(),
            audience_str(m.audience)
        ])?;
    }
    // what followers' servers are owed is read from the log by their cursors (`outbox`); a
    // delivery to the people a post addresses is a row, which stays owed whatever the cursor
    // of their server (the delivery machine sends a message owed both ways once)
    queue_to_addressed(conn, signed, author_id, message_id, received_ms)?;
    Ok(true)
}

/// A local author's message also goes to the server of each person it mentions and of the
/// author it answers, repeats, likes: they hear of it even if nobody there follows the author.
fn queue_to_addressed(
    conn: &Connection,
    signed: &SignedMessage,
    author_id: i64,
    message_id: i64,
    now_ms: u64,
) -> Result<(), StoreError> {
    let m = &signed.message;
    let mut addressed: Vec<String> = m
        .body
        .mentions()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    if let Some(to) = m.body.refers_to() {
        addressed.push(to.author.as_str().to_string());
    }
    if let Body::Delete { target } | Body::Edit { target, .. } = &m.body {
        // a delete or edit also goes where the message it changes went: an unlike reaches
        // the liked author's node, an edit the people the post mentioned
        let mut stmt = conn.prepare_cached(
            "SELECT t.ref_author FROM messages t WHERE t.author_id = ?1 AND t.seq = ?2
               AND t.ref_author IS NOT NULL
             UNION SELECT n.address FROM mentions n JOIN messages t ON t.id = n.message_id
             WHERE t.author_id = ?1 AND t.seq = ?2",
        )?;
        let rows = stmt.query_map(params![author_id, *target as i64], |r| {
            r.get::<_, String>(0)
        })?;
        for r in rows {
            addressed.push(r?);
        }
    }
    if addressed.is_empty() {
        return Ok(());
    }
    let local: bool = conn
        .prepare_cached("SELECT local_user IS NOT NULL FROM authors WHERE id = ?1")?
        .query_row([author_id], |r| r.get(0))?;
    if !local {
        return Ok(());
    }
    let mut servers = Vec::with_capacity(addressed.len());
    for a in &addressed {
        servers.push(server_of(conn, a)?);
    }
    servers.retain(|d| d != m.author.domain());
    servers.sort_unstable();
    servers.dedup();
    for server in servers {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox(server, message_id, next_attempt_ms, created_ms)
             SELECT ?1, ?3, ?4, ?4 FROM authors WHERE id = ?2 AND local_user IS NOT NULL",
        )?
        .execute(params![server, author_id, message_id, now_ms as i64])?;
    }
    Ok(())
}

/// The server a message addressed to `address` goes to: a fediverse account's shared inbox
/// (or its own inbox), else the address's domain (an msm node).
fn server_of(conn: &Connection, address: &str) -> Result<String, StoreError> {
    let inbox: Option<String> = conn
        .prepare_cached(
            "SELECT coalesce(shared_inbox, inbox) FROM ap_actors WHERE address = ?1
              ORDER BY fetched_ms DESC LIMIT 1",
        )?
        .query_row([address], |r| r.get(0))
        .optional()?;
    Ok(inbox.unwrap_or_else(|| {
        address
            .rsplit_once('@')
            .map_or(address, |(_, d)| d)
            .to_string()
    }))
}

/// Moves an author's contiguous seq over every message stored right after it.
pub fn advance_contiguous(conn: &Connection, author_id: i64) -> Result<(), StoreError> {
    conn.prepare_cached(ADVANCE_CONTIGUOUS)?
        .execute([author_id])?;
    Ok(())
}

/// The author's row id, creating the row for an author seen for the first time.
fn author_id(conn: &Connection, author: &Address) -> Result<i64, StoreError> {
    // known authors are the common case: one lookup, and an insert only for a new one
    let known = conn
        .prepare_cached("SELECT id FROM authors WHERE address = ?1")?
        .query_row([author.as_str()], |r| r.get(0))
        .optional()?;
    if let Some(id) = known {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO authors(address) VALUES (?1)")?
        .execute([author.as_str()])?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// Takes a message from another node: decodes it against `limits`, checks the signature
    /// with the author's key, and stores it (see [`store_message`]) in one transaction.
    /// `Ok(false)` for a duplicate. Anything malformed, oversize or badly signed is refused
    /// before the database is touched.
    pub fn receive_message(
        &mut self,
        wire: &[u8],
        author_key: &crate::proto::PublicKey,
        limits: &Limits,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let signed = SignedMessage::decode(wire, limits)?;
        signed.verify(author_key)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let fresh = store_message(&tx, &signed, now_ms)?;
        tx.commit()?;
        Ok(fresh)
    }

    /// The seqs of every message stored for `author`, ascending (for checks and backfill).
    pub fn stored_seqs(&self, author: &Address) -> Result<Vec<u64>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.seq FROM messages m JOIN authors a ON a.id = m.author_id WHERE a.address = ?1 ORDER BY m.seq",
        )?;
        let rows = stmt.query_map([author.as_str()], |r| r.get::<_, i64>(0))?;
        rows.map(|r| Ok(r? as u64)).collect()
    }

    /// The signed wire form of one message, if stored.
    pub fn message_wire(&self, author: &Address, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT m.wire FROM messages m JOIN authors a ON a.id = m.author_id WHERE a.address = ?1 AND m.seq = ?2",
                params![author.as_str(), seq as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// True if any message of `author` is stored or `author` is a local user.
    pub fn author_known(&self, author: &Address) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM authors WHERE address = ?1 AND (local_user IS NOT NULL OR last_seq > 0
                 OR EXISTS(SELECT 1 FROM messages m WHERE m.author_id = authors.id)))",
            [author.as_str()],
            |r| r.get(0),
        )?)
    }

    /// Total number of messages stored.
    pub fn message_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
pub(crate) mod tests;
