//! What the Mastodon client API keeps beside msm's own tables (migration 11,
//! [`MASTODON_MIGRATION`]): OAuth apps, authorization codes and tokens (only hashes of the
//! secrets, like sessions), a description per upload (an app describes a picture before it
//! posts it), reading markers, and the `Idempotency-Key`s of recent posts.

/// Migration 11.
pub const MASTODON_MIGRATION: &str = r#"
    CREATE TABLE oauth_apps(
        id            INTEGER PRIMARY KEY,
        client_id     TEXT NOT NULL UNIQUE,
        secret_hash   BLOB NOT NULL,
        name          TEXT NOT NULL,
        website       TEXT,
        redirect_uris TEXT NOT NULL,
        scopes        TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    );
    CREATE TABLE oauth_codes(
        code_hash    BLOB PRIMARY KEY,
        app_id       INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        redirect_uri TEXT NOT NULL,
        scopes       TEXT NOT NULL,
        challenge    TEXT,
        expires_ms   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE oauth_tokens(
        token_hash BLOB PRIMARY KEY,
        app_id     INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
        user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
        scopes     TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        used_ms    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX oauth_tokens_by_user ON oauth_tokens(user_id);
    CREATE INDEX oauth_tokens_by_app ON oauth_tokens(app_id);
    ALTER TABLE uploads ADD COLUMN description TEXT NOT NULL DEFAULT '';
    CREATE TABLE markers(
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        timeline     TEXT NOT NULL CHECK (timeline IN ('home', 'notifications')),
        last_read_id INTEGER NOT NULL,
        version      INTEGER NOT NULL DEFAULT 1,
        updated_ms   INTEGER NOT NULL,
        PRIMARY KEY (user_id, timeline)
    ) WITHOUT ROWID;
    CREATE TABLE idempotency(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_hash   BLOB NOT NULL,
        message_id INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, key_hash)
    ) WITHOUT ROWID;
"#;
