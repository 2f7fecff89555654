//! What the node keeps of the fediverse: the remote actors it deals with (their inboxes and
//! keys, so an inbox verifies a known sender without fetching), the ids of activities taken in
//! (replays are refused), the follows it was sent (so an answer can name them), and the
//! activities it owes remote inboxes that are not posts of an author's log (`Accept`,
//! `Reject`, …), as rows delivered with backoff.
//!
//! Fediverse followers use the tables msm followers use: the follower's server is its shared
//! inbox URL in `subscribers` and `remote_followers`, so approvals, followers-only reading,
//! counts and the outbox cursors work for them unchanged.
//!
//! Posts and activities taken from the fediverse are msm messages of their author (numbered
//! here, in the order received); `ap_objects` maps their IRIs to those messages, so a reply,
//! a like or a delete that names one finds it.
//!
//! Bounds: [`MAX_ACTORS`] actors (the least recently fetched are forgotten first), seen ids
//! kept [`SEEN_KEEP_MS`] (past the signature window, a replay fails on its date) and at most
//! [`MAX_SEEN`]; at most [`MAX_QUEUED`] activities queued.

use super::wire_text::text_of_m;
use super::{Store, StoreError};
use crate::activitypub::actor_doc::RemoteActor;
use rusqlite::{params, OptionalExtension};

/// Migration 16: remote actors, seen activity ids, received follow ids, owed activities.
pub const ACTIVITYPUB_MIGRATION: &str = "
    CREATE TABLE ap_actors(
        id           TEXT PRIMARY KEY,
        address      TEXT NOT NULL,
        inbox        TEXT NOT NULL,
        shared_inbox TEXT,
        followers    TEXT,
        name         TEXT NOT NULL DEFAULT '',
        key_id       TEXT,
        public_key   TEXT,
        fetched_ms   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ap_actors_by_key ON ap_actors(key_id);
    CREATE INDEX ap_actors_by_address ON ap_actors(address);
    CREATE INDEX ap_actors_by_age ON ap_actors(fetched_ms);
    CREATE TABLE ap_seen(
        id      TEXT PRIMARY KEY,
        seen_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ap_seen_by_age ON ap_seen(seen_ms);
    CREATE TABLE ap_follows(
        user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        actor     TEXT NOT NULL,
        follow_id TEXT NOT NULL,
        PRIMARY KEY (user_id, actor)
    ) WITHOUT ROWID;
    CREATE TABLE ap_outbox(
        id              INTEGER PRIMARY KEY,
        user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        inbox           TEXT NOT NULL,
        body            BLOB NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        created_ms      INTEGER NOT NULL,
        last_error      TEXT
    );
    CREATE INDEX ap_outbox_due ON ap_outbox(next_attempt_ms);
    CREATE TABLE ap_following(
        user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        actor     TEXT NOT NULL,
        follow_id TEXT NOT NULL,
        PRIMARY KEY (user_id, actor)
    ) WITHOUT ROWID;
    CREATE INDEX ap_following_by_id ON ap_following(follow_id);
    CREATE TABLE ap_objects(
        iri    TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        seq    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ap_objects_by_message ON ap_objects(author, seq);
";

/// Remote actors kept; past this the least recently fetched are forgotten (they are fetched
/// again when they next sign something). ~600 bytes a row: ~6 MB of flash at most.
pub const MAX_ACTORS: i64 = 10_000;
/// How long an activity id is remembered: past the signature window (12 h), so a replay of an
/// older one fails on its date instead.
pub const SEEN_KEEP_MS: u64 = 13 * 3600 * 1000;
/// Most activity ids remembered; past this the oldest are forgotten.
pub const MAX_SEEN: i64 = 100_000;
/// Most activities waiting for delivery; past this new ones are refused (logged).
pub const MAX_QUEUED: i64 = 10_000;

/// Inserts between two prunes of `ap_seen` and `ap_actors` (a prune counts the table).
pub const PRUNE_EVERY: u32 = 64;
static SEEN_PRUNES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static ACTOR_PRUNES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// True once every [`PRUNE_EVERY`] calls (the first call included).
fn tick(counter: &std::sync::atomic::AtomicU32) -> bool {
    counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .is_multiple_of(PRUNE_EVERY)
}

/// A remote actor as kept, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownActor {
    /// Actor IRI.
    pub id: String,
    /// `user@domain`.
    pub address: String,
    /// Its inbox.
    pub inbox: String,
    /// Its server's shared inbox, or its own inbox.
    pub delivery_inbox: String,
    /// Key id and PEM, when known.
    pub key: Option<(String, String)>,
    /// When it was fetched (unix ms).
    pub fetched_ms: u64,
    /// Its followers collection, if it names one.
    pub followers: Option<String>,
}

/// A local message as the fediverse may fetch it ([`Store::local_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMessage {
    /// The signed wire form (as first posted).
    pub wire: Vec<u8>,
    /// Deleted.
    pub deleted: bool,
    /// Text, warning and time (unix ms) of its last edit, if edited.
    pub edited: Option<(String, String, u64)>,
}

/// Which follows a follow id is kept for: received from fediverse actors (`ap_follows`), or
/// sent to them (`ap_following`); the two tables have one shape.
#[derive(Debug, Clone, Copy)]
enum Follows {
    Received,
    Sent,
}

impl Follows {
    fn table(self) -> &'static str {
        match self {
            Follows::Received => "ap_follows",
            Follows::Sent => "ap_following",
        }
    }
}

/// A message's kind and the message (author, seq) it refers to.
pub type MessageRef = (String, Option<(String, u64)>);

/// An activity owed to a remote inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedActivity {
    /// Row id.
    pub id: i64,
    /// The local user who signs it.
    pub user_id: i64,
    /// Where it goes.
    pub inbox: String,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Failed attempts so far.
    pub attempts: u32,
}

const ACTOR_COLUMNS: &str =
    "id, address, inbox, coalesce(shared_inbox, inbox), key_id, public_key, fetched_ms, followers";

fn known(r: &rusqlite::Row<'_>) -> rusqlite::Result<KnownActor> {
    let key_id: Option<String> = r.get(4)?;
    let pem: Option<String> = r.get(5)?;
    Ok(KnownActor {
        id: r.get(0)?,
        address: r.get(1)?,
        inbox: r.get(2)?,
        delivery_inbox: r.get(3)?,
        key: key_id.zip(pem),
        fetched_ms: r.get::<_, i64>(6)? as u64,
        followers: r.get(7)?,
    })
}

impl Store {
    /// Keeps (or refreshes) what was fetched of a remote actor; its key only if it came with one.
    pub fn remember_actor(&mut self, a: &RemoteActor, now_ms: u64) -> Result<(), StoreError> {
        let (key_id, pem) = match &a.key {
            Some((k, p)) => (Some(k.as_str()), Some(p.as_str())),
            None => (None, None),
        };
        self.conn().execute(
            "INSERT INTO ap_actors(id, address, inbox, shared_inbox, followers, name, key_id, public_key, fetched_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(id) DO UPDATE SET address = excluded.address, inbox = excluded.inbox,
               shared_inbox = excluded.shared_inbox, followers = excluded.followers, name = excluded.name,
               key_id = coalesce(excluded.key_id, key_id), public_key = coalesce(excluded.public_key, public_key),
               fetched_ms = excluded.fetched_ms",
            params![
                a.id,
                a.address.as_str(),
                a.inbox,
                a.shared_inbox,
                a.followers,
                a.name,
                key_id,
                pem,
                now_ms as i64
            ],
        )?;
        if tick(&ACTOR_PRUNES) {
            // the least recently fetched beyond the bound, but never one somebody here follows
            // or is followed by (their inboxes and keys are needed to answer and to deliver)
            self.conn().execute(
                "DELETE FROM ap_actors WHERE id IN (
                   SELECT a.id FROM ap_actors a
                    WHERE NOT EXISTS(SELECT 1 FROM follows f WHERE f.address = a.address)
                      AND NOT EXISTS(SELECT 1 FROM remote_followers r WHERE r.follower = a.address)
                    ORDER BY a.fetched_ms
                    LIMIT max(0, (SELECT count(*) FROM ap_actors) - ?1))",
                [MAX_ACTORS],
            )?;
        }
        Ok(())
    }

    /// Makes the fediverse account `a` an author here (no key: its posts are verified by
    /// their HTTP signatures), named as its actor says unless a name is known already, so
    /// that a search finds it.
    pub fn remember_fediverse_author(&mut self, a: &RemoteActor) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO authors(address, display_name) VALUES (?1, ?2)
             ON CONFLICT(address) DO UPDATE SET display_name = excluded.display_name
              WHERE authors.display_name = ''",
            params![a.address.as_str(), a.name],
        )?;
        Ok(())
    }

    /// The actor whose key has id `key_id`.
    pub fn actor_by_key(&self, key_id: &str) -> Result<Option<KnownActor>, StoreError> {
        let sql = format!("SELECT {ACTOR_COLUMNS} FROM ap_actors WHERE key_id = ?1");
        Ok(self.conn().query_row(&sql, [key_id], known).optional()?)
    }

    /// The actor of IRI `id`.
    pub fn actor_by_id(&self, id: &str) -> Result<Option<KnownActor>, StoreError> {
        let sql = format!("SELECT {ACTOR_COLUMNS} FROM ap_actors WHERE id = ?1");
        Ok(self.conn().query_row(&sql, [id], known).optional()?)
    }

    /// The actor of address `user@domain`.
    pub fn actor_by_address(&self, address: &str) -> Result<Option<KnownActor>, StoreError> {
        let sql = format!(
            "SELECT {ACTOR_COLUMNS} FROM ap_actors WHERE address = ?1 ORDER BY fetched_ms DESC LIMIT 1"
        );
        Ok(self.conn().query_row(&sql, [address], known).optional()?)
    }

    /// Records activity `id` as taken in; false if it was already (a replay). Ids older than
    /// [`SEEN_KEEP_MS`] and past [`MAX_SEEN`] are forgotten here.
    pub fn first_sight(&mut self, id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let c = self.conn();
        let new = c.execute(
            "INSERT OR IGNORE INTO ap_seen(id, seen_ms) VALUES (?1, ?2)",
            params![id, now_ms as i64],
        )? == 1;
        if new {
            // by age through its index: cheap on every insert
            c.execute(
                "DELETE FROM ap_seen WHERE seen_ms < ?1",
                [now_ms.saturating_sub(SEEN_KEEP_MS) as i64],
            )?;
        }
        if new && tick(&SEEN_PRUNES) {
            c.execute(
                "DELETE FROM ap_seen WHERE id IN (SELECT id FROM ap_seen ORDER BY seen_ms
                   LIMIT max(0, (SELECT count(*) FROM ap_seen) - ?1))",
                [MAX_SEEN],
            )?;
        }
        Ok(new)
    }

    /// Whether activity `id` was taken in already.
    pub fn seen(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM ap_seen WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?)
    }

    /// Keeps the id of `actor`'s follow of local user `user_id` (an answer given later names it).
    pub fn remember_follow_id(
        &mut self,
        user_id: i64,
        actor: &str,
        follow_id: &str,
    ) -> Result<(), StoreError> {
        self.put_follow_id(Follows::Received, user_id, actor, follow_id)
    }

    /// The id of `actor`'s follow of `user_id`, if one was received.
    pub fn follow_id(&self, user_id: i64, actor: &str) -> Result<Option<String>, StoreError> {
        self.get_follow_id(Follows::Received, user_id, actor)
    }

    /// Forgets `actor`'s follow of `user_id`.
    pub fn forget_follow_id(&mut self, user_id: i64, actor: &str) -> Result<(), StoreError> {
        self.drop_follow_id(Follows::Received, user_id, actor)
    }

    fn put_follow_id(
        &self,
        t: Follows,
        user_id: i64,
        actor: &str,
        follow_id: &str,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO {}(user_id, actor, follow_id) VALUES (?1, ?2, ?3)",
            t.table()
        );
        self.conn()
            .execute(&sql, params![user_id, actor, follow_id])?;
        Ok(())
    }

    fn get_follow_id(
        &self,
        t: Follows,
        user_id: i64,
        actor: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = format!(
            "SELECT follow_id FROM {} WHERE user_id = ?1 AND actor = ?2",
            t.table()
        );
        Ok(self
            .conn()
            .query_row(&sql, params![user_id, actor], |r| r.get(0))
            .optional()?)
    }

    fn drop_follow_id(&self, t: Follows, user_id: i64, actor: &str) -> Result<(), StoreError> {
        let sql = format!(
            "DELETE FROM {} WHERE user_id = ?1 AND actor = ?2",
            t.table()
        );
        self.conn().execute(&sql, params![user_id, actor])?;
        Ok(())
    }

    /// Queues `body`, signed by `user_id`, for `inbox`; false (nothing kept) when the queue is full.
    pub fn queue_activity(
        &mut self,
        user_id: i64,
        inbox: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM ap_outbox", [], |r| r.get(0))?;
        if n >= MAX_QUEUED {
            return Ok(false);
        }
        self.conn().execute(
            "INSERT INTO ap_outbox(user_id, inbox, body, next_attempt_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![user_id, inbox, body, now_ms as i64],
        )?;
        Ok(true)
    }

    /// Activities due at `now_ms`, oldest first, at most `limit`.
    pub fn due_activities(
        &self,
        now_ms: u64,
        limit: u32,
    ) -> Result<Vec<QueuedActivity>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, user_id, inbox, body, attempts FROM ap_outbox
              WHERE next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now_ms as i64, limit], |r| {
            Ok(QueuedActivity {
                id: r.get(0)?,
                user_id: r.get(1)?,
                inbox: r.get(2)?,
                body: r.get(3)?,
                attempts: r.get::<_, i64>(4)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next queued activity is due, if any is queued.
    pub fn next_activity_due(&self) -> Result<Option<u64>, StoreError> {
        let t: Option<i64> =
            self.conn()
                .query_row("SELECT min(next_attempt_ms) FROM ap_outbox", [], |r| {
                    r.get(0)
                })?;
        Ok(t.map(|t| t.max(0) as u64))
    }

    /// Activity `id` was delivered, or given up: it is dropped.
    pub fn activity_done(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM ap_outbox WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Activity `id` failed; tried again at `next_ms`.
    pub fn activity_failed(
        &mut self,
        id: i64,
        next_ms: u64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE ap_outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_ms as i64, error],
        )?;
        Ok(())
    }

    /// Activities waiting for delivery.
    pub fn queued_activities(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM ap_outbox", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The user's RSA signing key (PKCS#8 DER), if it was made.
    pub fn rsa_private_key(&self, user_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT rsa_key FROM users WHERE id = ?1", [user_id], |r| {
                r.get::<_, Option<Vec<u8>>>(0)
            })
            .optional()?
            .flatten())
    }
}

impl Store {
    /// The node's instance-actor RSA key (PKCS#8 DER), made with `make` and kept if there is
    /// none yet (two makers racing keep the first).
    pub fn instance_rsa_key(
        &self,
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, StoreError> {
        let read = || -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self
                .conn()
                .query_row(
                    "SELECT value FROM meta WHERE key = 'instance_rsa_key'",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        };
        if let Some(k) = read()? {
            return Ok(k);
        }
        let made = make().map_err(StoreError::Random)?;
        self.conn().execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('instance_rsa_key', ?1)",
            [made],
        )?;
        read()?.ok_or(StoreError::Corrupt("instance key"))
    }
}

impl Store {
    /// Unsubscribes `server` from local `author` once nobody there follows them.
    pub fn unsubscribe_if_unfollowed(
        &mut self,
        author: &crate::proto::Address,
        server: &str,
    ) -> Result<(), StoreError> {
        if self.followers_from(author, server)? == 0 {
            self.remove_subscriber(author, server)?;
        }
        Ok(())
    }

    /// How many people on `server` follow local `author`.
    pub fn followers_from(
        &self,
        author: &crate::proto::Address,
        server: &str,
    ) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM remote_followers r JOIN authors a ON a.id = r.author_id
              WHERE a.address = ?1 AND r.server = ?2",
            params![author.as_str(), server],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The local authors `follower` (a remote person) follows.
    pub fn followed_by(
        &self,
        follower: &crate::proto::Address,
    ) -> Result<Vec<crate::proto::Address>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT a.address FROM remote_followers r JOIN authors a ON a.id = r.author_id
              WHERE r.follower = ?1",
        )?;
        let rows = stmt.query_map([follower.as_str()], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            if let Ok(a) = crate::proto::Address::parse(&r?) {
                out.push(a);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// The name of user `user_id`.
    pub fn user_name(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

#[cfg(test)]
#[path = "activitypub_tests.rs"]
mod tests;

impl Store {
    /// The message (author, seq) an object IRI from the fediverse was stored as.
    pub fn ap_object(&self, iri: &str) -> Result<Option<(String, u64)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT author, seq FROM ap_objects WHERE iri = ?1",
                [iri],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )
            .optional()?)
    }

    /// Records that object `iri` was stored as `author`'s message `seq`.
    pub fn remember_ap_object(
        &mut self,
        iri: &str,
        author: &str,
        seq: u64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO ap_objects(iri, author, seq) VALUES (?1, ?2, ?3)",
            params![iri, author, seq as i64],
        )?;
        Ok(())
    }

    /// The seq the next message taken from fediverse author `address` gets.
    pub fn next_ap_seq(&self, address: &str) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT coalesce(max(m.seq), 0) + 1 FROM messages m JOIN authors a ON a.id = m.author_id
              WHERE a.address = ?1",
            [address],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Whether a local user follows `address`.
    pub fn followed_here(&self, address: &str) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE address = ?1)",
            [address],
            |r| r.get(0),
        )?)
    }
}

impl Store {
    /// The local users who follow `address`, with their names.
    pub fn local_followers_of(&self, address: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT f.user_id, u.name FROM follows f JOIN users u ON u.id = f.user_id WHERE f.address = ?1",
        )?;
        let rows = stmt.query_map([address], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records `user_id`'s follow `follow_id` of fediverse `actor`.
    pub fn remember_following(
        &mut self,
        user_id: i64,
        actor: &str,
        follow_id: &str,
    ) -> Result<(), StoreError> {
        self.put_follow_id(Follows::Sent, user_id, actor, follow_id)
    }

    /// The local user and the actor of this node's follow `follow_id`.
    pub fn following_by_id(&self, follow_id: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT user_id, actor FROM ap_following WHERE follow_id = ?1",
                [follow_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The id of `user_id`'s follow of `actor`, if one was sent.
    pub fn following_id(&self, user_id: i64, actor: &str) -> Result<Option<String>, StoreError> {
        self.get_follow_id(Follows::Sent, user_id, actor)
    }

    /// Forgets `user_id`'s follow of `actor`.
    pub fn forget_following(&mut self, user_id: i64, actor: &str) -> Result<(), StoreError> {
        self.drop_follow_id(Follows::Sent, user_id, actor)
    }

    /// Marks the subscription to fediverse author `address` active (its posts come to the inbox).
    pub fn fediverse_subscription_active(&mut self, address: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE subscriptions SET state = 'active', attempts = 0, last_error = NULL WHERE author = ?1",
            [address],
        )?;
        Ok(())
    }
}

impl Store {
    /// The fediverse IRI of the stored message (`author`, `seq`), if it came from there.
    pub fn ap_object_iri(&self, author: &str, seq: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT iri FROM ap_objects WHERE author = ?1 AND seq = ?2 AND iri NOT LIKE '%#%'",
                params![author, seq as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The kind of message (`author`, `seq`) and the message it refers to.
    pub fn message_ref(&self, author: &str, seq: u64) -> Result<Option<MessageRef>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT m.kind, m.ref_author, m.ref_seq FROM messages m JOIN authors a ON a.id = m.author_id
                  WHERE a.address = ?1 AND m.seq = ?2",
                params![author, seq as i64],
                |r| {
                    let ra: Option<String> = r.get(1)?;
                    let rs: Option<i64> = r.get(2)?;
                    Ok((r.get(0)?, ra.zip(rs.map(|s| s as u64))))
                },
            )
            .optional()?)
    }
}

impl Store {
    /// A local author's message as the fediverse may fetch it: its wire form, whether it was
    /// deleted, and its text, warning and time as last edited (`None` if never edited);
    /// `None` when there is no such message.
    pub fn local_message(
        &self,
        author: &str,
        seq: u64,
    ) -> Result<Option<LocalMessage>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                concat!(
                    "SELECT m.wire, m.deleted, ",
                    text_of_m!(),
                    ", m.summary, m.edited_ms FROM messages m
                   JOIN authors a ON a.id = m.author_id
                  WHERE a.address = ?1 AND m.seq = ?2 AND a.local_user IS NOT NULL"
                ),
                params![author, seq as i64],
                |r| local_message_row(r, 0),
            )
            .optional()?)
    }
}

/// A [`LocalMessage`] from the columns `wire, deleted, text, summary, edited_ms` of `messages`,
/// the first at index `at`.
pub(super) fn local_message_row(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<LocalMessage> {
    let edited: Option<i64> = r.get(at + 4)?;
    Ok(LocalMessage {
        wire: r.get(at)?,
        deleted: r.get(at + 1)?,
        edited: edited.map(|t| {
            let text: Option<String> = r.get(at + 2).ok().flatten();
            let summary: Option<String> = r.get(at + 3).ok().flatten();
            (
                text.unwrap_or_default(),
                summary.unwrap_or_default(),
                t.max(0) as u64,
            )
        }),
    })
}
