//! Schema and versioned migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each migration runs in its own
//! transaction with the version bump, so a crash leaves the file at one version or the next,
//! never between. Migrations are only ever appended.

use super::StoreError;
use rusqlite::Connection;

/// The migrations, in order; the schema version is the number applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: the node foundation.
    r#"
    CREATE TABLE meta(
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE users(
        id           INTEGER PRIMARY KEY,
        name         TEXT NOT NULL UNIQUE,
        role         TEXT NOT NULL CHECK (role IN ('owner', 'member')),
        password_hash TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 0,
        secret_key   BLOB NOT NULL,
        created_ms   INTEGER NOT NULL
    );

    -- Everyone whose messages this node holds, local or remote.
    CREATE TABLE authors(
        id           INTEGER PRIMARY KEY,
        address      TEXT NOT NULL UNIQUE,
        public_key   BLOB,
        local_user   INTEGER UNIQUE REFERENCES users(id) ON DELETE SET NULL,
        display_name TEXT NOT NULL DEFAULT '',
        bio          TEXT NOT NULL DEFAULT '',
        last_seq     INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE messages(
        id          INTEGER PRIMARY KEY,
        author_id   INTEGER NOT NULL REFERENCES authors(id),
        seq         INTEGER NOT NULL,
        time_ms     INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        audience    TEXT NOT NULL,
        ref_author  TEXT,
        ref_seq     INTEGER,
        text        TEXT,
        wire        BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        deleted     INTEGER NOT NULL DEFAULT 0,
        UNIQUE (author_id, seq)
    );

    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER messages_fts_unindex AFTER UPDATE OF text ON messages WHEN old.text IS NOT NULL BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER messages_fts_reindex AFTER UPDATE OF text ON messages WHEN new.text IS NOT NULL BEGIN
        INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;

    CREATE TABLE timeline(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        PRIMARY KEY (user_id, message_id)
    ) WITHOUT ROWID;

    -- Local users following an address (local or remote).
    CREATE TABLE follows(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        address    TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, address)
    ) WITHOUT ROWID;
    CREATE INDEX follows_by_address ON follows(address);

    -- Remote servers subscribed to a local author: one row per server, not per follower.
    CREATE TABLE subscribers(
        author_id  INTEGER NOT NULL REFERENCES authors(id),
        server     TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (author_id, server)
    ) WITHOUT ROWID;

    -- Deliveries owed to remote servers, one row per (server, message).
    CREATE TABLE outbox(
        id              INTEGER PRIMARY KEY,
        server          TEXT NOT NULL,
        message_id      INTEGER NOT NULL REFERENCES messages(id),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        created_ms      INTEGER NOT NULL,
        UNIQUE (server, message_id)
    );
    CREATE INDEX outbox_due ON outbox(next_attempt_ms);

    -- What discovery learned about other domains' nodes.
    CREATE TABLE peers(
        domain     TEXT PRIMARY KEY,
        host       TEXT NOT NULL,
        port       INTEGER NOT NULL,
        public_key BLOB,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE sessions(
        token_hash BLOB PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_user ON sessions(user_id);
    "#,
    // 2: federation: this node's subscriptions at other nodes (one per followed remote author).
    r#"
    CREATE TABLE subscriptions(
        author          TEXT PRIMARY KEY,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'active')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT
    ) WITHOUT ROWID;
    CREATE INDEX outbox_by_server ON outbox(server, next_attempt_ms);
    "#,
    // 3: hub: authors of small nodes this hub subscribes to so as to multicast their posts.
    r#"
    CREATE TABLE streamed(
        author     TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: the firehose's discover window: public posts of authors nobody here follows, vouched
    // for only by the hub's stream signature (see `store::discover`), so kept apart from
    // `messages`. Rows are inserted and deleted, never updated.
    r#"
    CREATE TABLE discover(
        id          INTEGER PRIMARY KEY,
        author      TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        time_ms     INTEGER NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('post', 'reply')),
        ref_author  TEXT,
        ref_seq     INTEGER,
        text        TEXT NOT NULL,
        verified    INTEGER NOT NULL DEFAULT 0,
        received_ms INTEGER NOT NULL,
        UNIQUE (author, seq)
    );

    CREATE VIRTUAL TABLE discover_fts USING fts5(
        text, content = 'discover', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER discover_fts_insert AFTER INSERT ON discover BEGIN
        INSERT INTO discover_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER discover_fts_delete AFTER DELETE ON discover BEGIN
        INSERT INTO discover_fts(discover_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    "#,
    // 5: new rows are indexed for search once per commit (see `search_index`), not by a
    // trigger per row
    r#"
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER discover_fts_insert;
    "#,
    // 6: approval of followers (see `approvals`). `users.locked`: the account approves each
    // follower. `follows.state`: 'accepted', 'pending' (the author has not decided) or
    // 'requested' (a remote author's node has not answered yet); a new row's state is set by
    // the trigger below, so every way of following gets it. Every follow existing now stays
    // 'accepted': nobody loses what they could read. `remote_followers`: who follows a local
    // author from which server; a follower '' stands for the followers of a server that was
    // subscribed before this migration, so it keeps followers-only posts until it unsubscribes
    // (and its people are accepted without asking the author again).
    r#"
    ALTER TABLE users ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE follows ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted'
        CHECK (state IN ('requested', 'pending', 'accepted'));
    ALTER TABLE follows ADD COLUMN asked_ms INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER follows_state AFTER INSERT ON follows BEGIN
        UPDATE follows SET state = CASE
            WHEN NOT EXISTS(SELECT 1 FROM authors WHERE address = new.address AND local_user IS NOT NULL)
                THEN 'requested'
            WHEN EXISTS(SELECT 1 FROM authors a JOIN users u ON u.id = a.local_user
                        WHERE a.address = new.address AND u.locked = 1)
                THEN 'pending'
            ELSE 'accepted' END
        WHERE user_id = new.user_id AND address = new.address;
    END;

    CREATE TABLE remote_followers(
        author_id  INTEGER NOT NULL REFERENCES authors(id),
        server     TEXT NOT NULL,
        follower   TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (author_id, server, follower)
    ) WITHOUT ROWID;
    INSERT INTO remote_followers(author_id, server, follower, state, created_ms)
        SELECT author_id, server, '', 'accepted', created_ms FROM subscribers;
    CREATE TRIGGER subscriber_gone AFTER DELETE ON subscribers BEGIN
        DELETE FROM remote_followers WHERE author_id = old.author_id AND server = old.server;
    END;
    "#,
    // 7: conversation (see `conversation`).
    CONVERSATION,
    // 8: mutes, blocks and the owner's domain blocks (see `relations`).
    RELATIONS_MIGRATION,
    // 9: bookmarks and lists (see `lists`).
    super::lists::LISTS_MIGRATION,
    // 10: pictures (see `media`).
    super::media::MEDIA_MIGRATION,
    // 11: the Mastodon client API: OAuth, markers, idempotency (see `mastodon`).
    super::mastodon::MASTODON_MIGRATION,
    // 12: each author's status count, kept by triggers (see `mastodon_views`).
    super::mastodon_views::STATUS_COUNT_MIGRATION,
    // 13: notification ids never used twice (see `mastodon_accounts`).
    super::mastodon_accounts::NOTIFICATION_IDS_MIGRATION,
    // 14: the outbox as cursors in the authors' logs (see `outbox`).
    super::outbox::OUTBOX_CURSORS_MIGRATION,
    // 15: users' RSA keys for the fediverse (see `actor_keys`).
    super::actor_keys::ACTOR_KEYS_MIGRATION,
    // 16: remote fediverse actors, seen activities, owed activities (see `activitypub`).
    super::activitypub::ACTIVITYPUB_MIGRATION,
    // 17: the WebSub hub's subscriptions and requests to verify (see `websub`).
    super::websub::WEBSUB_MIGRATION,
    // 18: a message's text kept once, in its wire form (see `wire_text`).
    super::wire_text::TEXT_ONCE_MIGRATION,
];

/// Migration 7: conversation. `messages.summary`: a post's content warning; `edited_ms`: when
/// its text was last replaced by an edit, whose earlier versions `edits` keeps. `mentions`:
/// who each message mentions (the direct audience, and notifications). `messages_by_ref`
/// finds a post's replies, reposts and likes. `tags`: the hashtag index. `notifications` and
/// `notification_settings`: what each local user hears of, and which kinds they turned off.
const CONVERSATION: &str = r#"
    ALTER TABLE messages ADD COLUMN summary TEXT;
    ALTER TABLE messages ADD COLUMN edited_ms INTEGER;
    CREATE INDEX messages_by_ref ON messages(ref_author, ref_seq, kind) WHERE ref_author IS NOT NULL;
    CREATE TABLE mentions(
        message_id INTEGER NOT NULL REFERENCES messages(id),
        address    TEXT NOT NULL,
        PRIMARY KEY (message_id, address)
    ) WITHOUT ROWID;
    CREATE INDEX mentions_by_address ON mentions(address, message_id);
    CREATE TABLE edits(
        message_id INTEGER NOT NULL REFERENCES messages(id),
        time_ms    INTEGER NOT NULL,
        text       TEXT,
        summary    TEXT,
        PRIMARY KEY (message_id, time_ms)
    ) WITHOUT ROWID;
    CREATE TABLE tags(
        tag        TEXT NOT NULL,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        PRIMARY KEY (tag, message_id)
    ) WITHOUT ROWID;
    CREATE TABLE notifications(
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        actor      TEXT NOT NULL,
        message_id INTEGER,
        time_ms    INTEGER NOT NULL,
        read       INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX notifications_once ON notifications(user_id, kind, actor, coalesce(message_id, 0));
    CREATE INDEX notifications_by_user ON notifications(user_id, id);
    CREATE INDEX notifications_by_message ON notifications(message_id) WHERE message_id IS NOT NULL;
    CREATE TABLE notification_settings(
        user_id       INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        off           TEXT NOT NULL DEFAULT '',
        only_followed INTEGER NOT NULL DEFAULT 0
    );
"#;

/// Migration 8: `relations` holds each user's mutes and blocks of addresses (a block hides
/// like a mute and also cuts following both ways); `domain_blocks` the domains the owner
/// blocked for the whole node; `authors.domain_blocked` marks authors of a blocked domain, so
/// the read queries hide their stored posts with a column already in the row they read.
pub const RELATIONS_MIGRATION: &str = r#"
    CREATE TABLE relations(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        target     TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('mute', 'block')),
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, target)
    ) WITHOUT ROWID;
    CREATE TABLE domain_blocks(
        domain     TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE authors ADD COLUMN domain_blocked INTEGER NOT NULL DEFAULT 0;
    "#;

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest_version`]; refuses a database from a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // migration 18 rebuilds the search index through `wire_text`
    super::wire_text::register(conn)?;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > latest_version() {
        return Err(StoreError::SchemaTooNew {
            found,
            known: latest_version(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest_version());
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut c),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
