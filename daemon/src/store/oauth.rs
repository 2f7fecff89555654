//! OAuth apps, authorization codes and access tokens of the Mastodon client API (tables of
//! migration 11, [`super::mastodon`]). Only SHA-256 hashes of client secrets, codes and tokens
//! are kept, like sessions: a copy of the database lets nobody act as an app or a user.
//!
//! Bounds: anyone may register an app (as on Mastodon), so there are at most [`MAX_APPS`];
//! a full table first forgets apps that hold no person's token (an app's own
//! client-credentials tokens, which anyone can get, do not keep it) and are older than
//! [`STALE_APP_MS`], and refuses when none is. Registrations per client address are limited
//! too (`web::mastodon::limits::APPS_PER_WINDOW`). Pending codes: at most [`MAX_CODES`] (expired ones go first).
//! Tokens: at most [`MAX_TOKENS_PER_USER`] per user and [`MAX_APP_TOKENS`] without a user per
//! app (client credentials); the oldest go when a new one would pass.

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Registered apps at most.
pub const MAX_APPS: i64 = 1000;
/// An app without a token may be forgotten this long after its registration (a day).
pub const STALE_APP_MS: u64 = 24 * 3600 * 1000;
/// Pending authorization codes at most.
pub const MAX_CODES: i64 = 256;
/// Access tokens one user holds at most.
pub const MAX_TOKENS_PER_USER: i64 = 64;
/// Tokens without a user (client credentials) one app holds at most.
pub const MAX_APP_TOKENS: i64 = 4;

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Row id.
    pub id: i64,
    /// The public client id.
    pub client_id: String,
    /// SHA-256 of the client secret.
    pub secret_hash: [u8; 32],
    /// The name the app gave.
    pub name: String,
    /// Its web site, if it gave one.
    pub website: Option<String>,
    /// The redirect URIs, in the order registered.
    pub redirect_uris: Vec<String>,
    /// The scopes it may ask for, space-separated.
    pub scopes: String,
    /// Unix milliseconds.
    pub created_ms: u64,
}

/// A new app to register.
#[derive(Debug, Clone)]
pub struct NewApp<'a> {
    /// The public client id.
    pub client_id: &'a str,
    /// SHA-256 of the client secret.
    pub secret_hash: [u8; 32],
    /// The name.
    pub name: &'a str,
    /// Its web site.
    pub website: Option<&'a str>,
    /// The redirect URIs.
    pub redirect_uris: &'a [String],
    /// The scopes, space-separated.
    pub scopes: &'a str,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// The app it was issued to.
    pub app_id: i64,
    /// The user who authorized.
    pub user_id: i64,
    /// The redirect URI of the authorization (the exchange must name it again).
    pub redirect_uri: String,
    /// The scopes granted, space-separated.
    pub scopes: String,
    /// The PKCE S256 challenge, if the app sent one.
    pub challenge: Option<String>,
}

/// A stored access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The app it was issued to.
    pub app_id: i64,
    /// The user it acts for (`None`: client credentials, the app itself).
    pub user_id: Option<i64>,
    /// The scopes granted, space-separated.
    pub scopes: String,
    /// When last used (updated at most once a minute), Unix milliseconds.
    pub used_ms: u64,
}

/// An app holding tokens of a user, for the settings page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorisedApp {
    /// The app's row id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its web site.
    pub website: Option<String>,
    /// The scopes of its tokens, each once, space-separated.
    pub scopes: String,
    /// When its first token of this user was issued.
    pub created_ms: u64,
    /// When one of them was last used.
    pub used_ms: u64,
}

type AppRow = (
    i64,
    String,
    Vec<u8>,
    String,
    Option<String>,
    String,
    String,
    i64,
);

const APP_COLUMNS: &str =
    "id, client_id, secret_hash, name, website, redirect_uris, scopes, created_ms";

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn to_app(raw: AppRow) -> Result<App, StoreError> {
    let (id, client_id, secret, name, website, uris, scopes, created) = raw;
    Ok(App {
        id,
        client_id,
        secret_hash: secret
            .try_into()
            .map_err(|_| StoreError::Corrupt("oauth app secret hash"))?,
        name,
        website,
        redirect_uris: uris.lines().map(str::to_string).collect(),
        scopes,
        created_ms: created.max(0) as u64,
    })
}

impl Store {
    /// Registers an app; when [`MAX_APPS`] are registered, forgets the stale ones first
    /// (no person's token, older than [`STALE_APP_MS`]), or refuses with [`StoreError::Full`].
    pub fn oauth_create_app(&mut self, app: &NewApp<'_>, now_ms: u64) -> Result<App, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row("SELECT count(*) FROM oauth_apps", [], |r| r.get(0))?;
        if count >= MAX_APPS {
            tx.execute(
                "DELETE FROM oauth_apps WHERE created_ms < ?1
                   AND NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.app_id = oauth_apps.id
                                     AND t.user_id IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.app_id = oauth_apps.id
                                     AND c.expires_ms > ?2)",
                params![now_ms.saturating_sub(STALE_APP_MS) as i64, now_ms as i64],
            )?;
            let count: i64 = tx.query_row("SELECT count(*) FROM oauth_apps", [], |r| r.get(0))?;
            if count >= MAX_APPS {
                return Err(StoreError::Full {
                    what: "oauth apps",
                    max: MAX_APPS,
                });
            }
        }
        tx.execute(
            "INSERT INTO oauth_apps(client_id, secret_hash, name, website, redirect_uris, scopes, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                app.client_id,
                &app.secret_hash[..],
                app.name,
                app.website,
                app.redirect_uris.join("\n"),
                app.scopes,
                now_ms as i64
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        self.oauth_app(id)?
            .ok_or(StoreError::NotFound("oauth app".into()))
    }

    /// The app of that row id.
    pub fn oauth_app(&self, id: i64) -> Result<Option<App>, StoreError> {
        let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = ?1");
        let raw = self.conn().query_row(&sql, [id], app_row).optional()?;
        raw.map(to_app).transpose()
    }

    /// The app of that client id.
    pub fn oauth_app_by_client_id(&self, client_id: &str) -> Result<Option<App>, StoreError> {
        let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE client_id = ?1");
        let raw = self
            .conn()
            .query_row(&sql, [client_id], app_row)
            .optional()?;
        raw.map(to_app).transpose()
    }

    /// Stores a code (its hash) valid until `expires_ms`; drops expired codes, and refuses
    /// with [`StoreError::Full`] past [`MAX_CODES`].
    pub fn oauth_store_code(
        &mut self,
        code_hash: &[u8; 32],
        code: &Code,
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM oauth_codes WHERE expires_ms <= ?1",
            [now_ms as i64],
        )?;
        let count: i64 = tx.query_row("SELECT count(*) FROM oauth_codes", [], |r| r.get(0))?;
        if count >= MAX_CODES {
            return Err(StoreError::Full {
                what: "pending authorization codes",
                max: MAX_CODES,
            });
        }
        tx.execute(
            "INSERT INTO oauth_codes(code_hash, app_id, user_id, redirect_uri, scopes, challenge, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                &code_hash[..],
                code.app_id,
                code.user_id,
                code.redirect_uri,
                code.scopes,
                code.challenge,
                expires_ms as i64
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Takes a code: returns it if it exists and has not expired, and deletes it either way
    /// (a code is used once, also when the exchange then fails).
    pub fn oauth_take_code(
        &mut self,
        code_hash: &[u8; 32],
        now_ms: u64,
    ) -> Result<Option<Code>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let code = tx
            .query_row(
                "SELECT app_id, user_id, redirect_uri, scopes, challenge FROM oauth_codes
                 WHERE code_hash = ?1 AND expires_ms > ?2",
                params![&code_hash[..], now_ms as i64],
                |r| {
                    Ok(Code {
                        app_id: r.get(0)?,
                        user_id: r.get(1)?,
                        redirect_uri: r.get(2)?,
                        scopes: r.get(3)?,
                        challenge: r.get(4)?,
                    })
                },
            )
            .optional()?;
        tx.execute(
            "DELETE FROM oauth_codes WHERE code_hash = ?1",
            [&code_hash[..]],
        )?;
        tx.commit()?;
        Ok(code)
    }

    /// Stores a token (its hash); drops the oldest of its user beyond
    /// [`MAX_TOKENS_PER_USER`], or of its app beyond [`MAX_APP_TOKENS`] when it has no user.
    pub fn oauth_create_token(
        &mut self,
        token_hash: &[u8; 32],
        app_id: i64,
        user_id: Option<i64>,
        scopes: &str,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO oauth_tokens(token_hash, app_id, user_id, scopes, created_ms, used_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![&token_hash[..], app_id, user_id, scopes, now_ms as i64],
        )?;
        match user_id {
            Some(user) => tx.execute(
                "DELETE FROM oauth_tokens WHERE user_id = ?1 AND token_hash NOT IN
                   (SELECT token_hash FROM oauth_tokens WHERE user_id = ?1
                    ORDER BY created_ms DESC LIMIT ?2)",
                params![user, MAX_TOKENS_PER_USER],
            )?,
            None => tx.execute(
                "DELETE FROM oauth_tokens WHERE app_id = ?1 AND user_id IS NULL AND token_hash NOT IN
                   (SELECT token_hash FROM oauth_tokens WHERE app_id = ?1 AND user_id IS NULL
                    ORDER BY created_ms DESC LIMIT ?2)",
                params![app_id, MAX_APP_TOKENS],
            )?,
        };
        tx.commit()?;
        Ok(())
    }

    /// The token of that hash.
    pub fn oauth_token(&self, token_hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT app_id, user_id, scopes, used_ms FROM oauth_tokens WHERE token_hash = ?1",
                [&token_hash[..]],
                |r| {
                    Ok(Token {
                        app_id: r.get(0)?,
                        user_id: r.get(1)?,
                        scopes: r.get(2)?,
                        used_ms: r.get::<_, i64>(3)?.max(0) as u64,
                    })
                },
            )
            .optional()?)
    }

    /// The name of the user of that row id (tokens name users by id).
    pub fn oauth_user_name(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Records that a token was used now.
    pub fn oauth_touch_token(&self, token_hash: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE oauth_tokens SET used_ms = ?2 WHERE token_hash = ?1",
            params![&token_hash[..], now_ms as i64],
        )?;
        Ok(())
    }

    /// Revokes a token of the app `app_id`; false if there was none.
    pub fn oauth_revoke_token(
        &mut self,
        token_hash: &[u8; 32],
        app_id: i64,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM oauth_tokens WHERE token_hash = ?1 AND app_id = ?2",
            params![&token_hash[..], app_id],
        )?;
        Ok(n > 0)
    }

    /// The apps holding tokens of a user, most recently used first.
    pub fn oauth_user_apps(&self, user_id: i64) -> Result<Vec<AuthorisedApp>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT a.id, a.name, a.website, group_concat(t.scopes, ' '),
                    min(t.created_ms), max(t.used_ms)
             FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id
             WHERE t.user_id = ?1 GROUP BY a.id ORDER BY max(t.used_ms) DESC",
        )?;
        let rows = stmt.query_map([user_id], |r| {
            let all: String = r.get(3)?;
            let mut scopes: Vec<&str> = Vec::new();
            for s in all.split(' ').filter(|s| !s.is_empty()) {
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
            Ok(AuthorisedApp {
                id: r.get(0)?,
                name: r.get(1)?,
                website: r.get(2)?,
                scopes: scopes.join(" "),
                created_ms: r.get::<_, i64>(4)?.max(0) as u64,
                used_ms: r.get::<_, i64>(5)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes every token of the app `app_id` acting for the user; how many there were.
    pub fn oauth_revoke_user_app(
        &mut self,
        user_id: i64,
        app_id: i64,
    ) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM oauth_tokens WHERE user_id = ?1 AND app_id = ?2",
            params![user_id, app_id],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Role;

    fn store() -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.init_node("a.test").unwrap();
        let u = s.add_user("alice", Role::Member, "x", false, 1).unwrap();
        (dir, s, u.id)
    }

    fn new_app(s: &mut Store, id: &str, now: u64) -> Result<App, StoreError> {
        let uris = vec!["urn:ietf:wg:oauth:2.0:oob".to_string()];
        s.oauth_create_app(
            &NewApp {
                client_id: id,
                secret_hash: [7; 32],
                name: "an app",
                website: None,
                redirect_uris: &uris,
                scopes: "read write",
            },
            now,
        )
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let (_d, mut s, user) = store();
        let app = new_app(&mut s, "c1", 10).unwrap();
        assert_eq!(app.redirect_uris, vec!["urn:ietf:wg:oauth:2.0:oob"]);
        let code = Code {
            app_id: app.id,
            user_id: user,
            redirect_uri: "urn:ietf:wg:oauth:2.0:oob".into(),
            scopes: "read".into(),
            challenge: None,
        };
        s.oauth_store_code(&[1; 32], &code, 100, 200).unwrap();
        assert_eq!(
            s.oauth_take_code(&[1; 32], 150).unwrap(),
            Some(code.clone())
        );
        assert_eq!(s.oauth_take_code(&[1; 32], 150).unwrap(), None, "used once");
        s.oauth_store_code(&[2; 32], &code, 100, 200).unwrap();
        assert_eq!(s.oauth_take_code(&[2; 32], 200).unwrap(), None, "expired");
    }

    #[test]
    fn tokens_are_bounded_per_user_and_listed_per_app() {
        let (_d, mut s, user) = store();
        let app = new_app(&mut s, "c1", 10).unwrap();
        for i in 0..(MAX_TOKENS_PER_USER + 3) {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&i.to_be_bytes());
            s.oauth_create_token(&h, app.id, Some(user), "read", 100 + i as u64)
                .unwrap();
        }
        assert!(
            s.oauth_token(&[0; 32]).unwrap().is_none(),
            "the oldest went"
        );
        let apps = s.oauth_user_apps(user).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].scopes, "read");
        assert_eq!(
            s.oauth_revoke_user_app(user, app.id).unwrap(),
            MAX_TOKENS_PER_USER as usize
        );
        assert!(s.oauth_user_apps(user).unwrap().is_empty());
        for i in 0..(MAX_APP_TOKENS + 2) as u8 {
            s.oauth_create_token(&[100 + i; 32], app.id, None, "read", 100 + i as u64)
                .unwrap();
        }
        let n: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM oauth_tokens", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MAX_APP_TOKENS);
    }

    #[test]
    fn a_full_app_table_forgets_stale_apps_or_refuses() {
        let (_d, mut s, user) = store();
        for i in 0..MAX_APPS {
            new_app(&mut s, &format!("c{i}"), 1000).unwrap();
        }
        let kept = s.oauth_app_by_client_id("c0").unwrap().unwrap();
        s.oauth_create_token(&[9; 32], kept.id, Some(user), "read", 1000)
            .unwrap();
        assert!(matches!(
            new_app(&mut s, "new", 2000),
            Err(StoreError::Full { .. })
        ));
        new_app(&mut s, "new", 1000 + STALE_APP_MS + 1).unwrap();
        assert!(
            s.oauth_app_by_client_id("c0").unwrap().is_some(),
            "it holds a token"
        );
        assert!(s.oauth_app_by_client_id("c1").unwrap().is_none());
    }
}
