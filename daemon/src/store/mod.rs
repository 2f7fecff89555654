//! The SQLite store.
//!
//! One file, `msm.db`, in the data directory, opened in WAL mode. Every thread that needs the
//! database opens its own [`Store`] (a connection); SQLite serialises writers, and readers never
//! wait for them.
//!
//! Durability: `synchronous = FULL`, so a commit is on disk before it returns, but commits are
//! batched: own posts go through the [`writer::PostWriter`] thread, which puts every post waiting
//! at that moment into one transaction (one WAL fsync for the batch, not one per post). A post is
//! acknowledged only after its transaction committed, so a crash at any moment loses no
//! acknowledged post; seq assignment and the insert are in the same transaction, so a crash
//! leaves no gap either.
//!
//! - [`schema`]: tables and migrations.
//! - [`users`]: accounts, roles, keys, log-in sessions.
//! - [`messages`]: storing messages.
//! - [`search_index`]: full-text indexing, one statement per commit.
//! - [`wire_text`]: a message's text kept once, in its wire form, unless an edit replaced it.
//! - [`timeline`]: reading them: timelines, profiles, threads, search.
//! - [`fts_query`]: what a person types in the search box, as an FTS5 expression that cannot fail.
//! - [`people`]: people search over users and known authors.
//! - [`discover`]: the firehose's discover window (unfollowed public posts, not
//!   author-verified, kept apart from messages).
//! - [`federation`]: follows, subscriptions, subscribers, outbox, author and peer keys.
//! - [`approvals`]: locked accounts, follow requests, who may read followers-only messages.
//! - [`relations`]: mutes and blocks, and what every read hides.
//! - [`blocked_domains`]: the owner's blocked domains, in the table and in memory.
//! - [`writer`]: the group-commit writer for own posts, received messages and discover batches.
//! - [`commit_timing`]: how long the writer's commits take, for `/metrics`.
//! - [`integrity`]: the start-up check of the database file.
//! - [`lock`]: one running msmd per data directory.
//! - [`media`]: pictures: uploads, quotas, what messages carry, the cache, collection.
//! - [`media_files`]: the pictures' content-addressed files, written atomically.
//! - [`oauth`]: the Mastodon client API's apps, authorization codes and tokens (hashes only).
//! - [`websub`]: the WebSub hub's subscriptions to local feeds and requests to verify.

pub mod activitypub;
pub mod actor_keys;
pub mod ap_collections;
pub mod approvals;
pub mod blocked_domains;
pub mod commit_timing;
pub mod conversation;
pub mod discover;
mod error;
pub mod federation;
pub mod fts_query;
pub mod integrity;
pub mod lists;
pub mod lock;
pub mod mastodon;
pub mod mastodon_accounts;
pub mod mastodon_views;
pub mod media;
pub mod media_files;
pub mod messages;
pub mod oauth;
pub mod outbox;
pub mod people;
pub mod pulse;
pub mod relations;
pub mod schema;
pub mod search_index;
pub mod streaming;
pub mod timeline;
pub mod users;
pub mod websub;
pub mod wire_text;
pub mod writer;

pub use error::{damaged, StoreError};
pub use messages::{NewPost, PostView};
pub use users::{Role, User};

use crate::proto::address::canonical_domain;
use crate::proto::NodeKey;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "msm.db";
/// How long a connection waits for another writer before giving up. Writes are short, so this
/// is only reached when something is badly wrong.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// SQLite page cache per connection, in KiB. Small on purpose: the OS page cache does the rest,
/// and a router has little RAM to spare.
pub const PAGE_CACHE_KIB: i64 = 256;
/// Page cache of a live stream's connection ([`Store::reopen_light`]), in KiB.
pub const STREAM_PAGE_CACHE_KIB: i64 = 64;
/// Prepared statements a live stream's connection keeps.
pub const STREAM_STATEMENT_CACHE: usize = 12;
/// Database page size for a new database, in bytes, unless `[store] page_size` says otherwise.
/// A commit writes every page it touched, whole, to the WAL, and the checkpoint writes it
/// again: a message stored touches a dozen pages (its row, the indexes, the search index, its
/// author), so smaller pages mean fewer bytes written to flash per message (a router's
/// choice); larger ones cost less CPU per message (a hub's, 4096). A database created with
/// another page size keeps it.
pub const PAGE_SIZE: i64 = 1024;
/// Smallest page size SQLite takes.
pub const MIN_PAGE_SIZE: u32 = 512;
/// Largest page size SQLite takes.
pub const MAX_PAGE_SIZE: u32 = 65536;

/// True if SQLite takes `n` as a page size: a power of two from [`MIN_PAGE_SIZE`] to
/// [`MAX_PAGE_SIZE`].
pub fn valid_page_size(n: u32) -> bool {
    n.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n)
}
/// WAL size, in KiB, at which a commit checkpoints it into the database: small, as a router's
/// flash and RAM want, but a page written again before then is copied to the database once.
pub const WAL_CHECKPOINT_KIB: i64 = 1024;
/// Prepared statements kept per connection: every query on the hot paths (storing a message,
/// the outbox, timelines) stays parsed (a few KB each).
pub const STATEMENT_CACHE: usize = 48;

/// `meta` key present while msmd is stopped after a clean stop (see
/// [`Store::take_clean_stop`]).
const CLEAN_STOP_KEY: &str = "clean_stop";

/// A connection to the node's database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store in `data_dir`, creating the directory and applying migrations.
    /// Does not initialise the node (see [`Store::init_node`]).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_page_size(data_dir, PAGE_SIZE as u32)
    }

    /// [`Store::open`], creating a new database with pages of `page_size` bytes (see
    /// [`valid_page_size`]; another value leaves SQLite's own default). An existing database
    /// keeps the page size it was created with.
    pub fn open_with_page_size(data_dir: &Path, page_size: u32) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        set_private(data_dir);
        let path = data_dir.join(DB_FILE);
        let mut store = Self::connect_with(&path, i64::from(page_size))?;
        schema::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// Opens another connection to a store that [`Store::open`] has already prepared.
    pub fn reopen(&self) -> Result<Self, StoreError> {
        Self::connect(&self.path)
    }

    /// Opens a light connection for a live stream: it runs a few queries again and again, so
    /// it keeps [`STREAM_PAGE_CACHE_KIB`] of pages and [`STREAM_STATEMENT_CACHE`] statements
    /// (a node holds up to `http.max_streams` of these at once).
    pub fn reopen_light(&self) -> Result<Self, StoreError> {
        let s = Self::connect(&self.path)?;
        s.conn
            .set_prepared_statement_cache_capacity(STREAM_STATEMENT_CACHE);
        s.conn
            .pragma_update(None, "cache_size", -STREAM_PAGE_CACHE_KIB)?;
        Ok(s)
    }

    /// Opens another connection to the database file of a store opened before.
    pub fn connect_to(db: &Path) -> Result<Self, StoreError> {
        Self::connect(db)
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.path
    }

    fn connect(path: &Path) -> Result<Self, StoreError> {
        Self::connect_with(path, PAGE_SIZE)
    }

    /// Opens a connection; `page_size` applies only if this creates the database.
    fn connect_with(path: &Path, page_size: i64) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        wire_text::register(&conn)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans do not depend on bound values: without this, SQLite marks a statement whose
        // parameter it peeked at while planning (LIMIT ?, a partial index, a constant in a
        // compound SELECT) to be compiled again whenever that parameter changes, which made
        // every received message re-prepare its two busiest statements (a third of the
        // writer's time: BENCHMARKS.md, run 13).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        // only takes effect on a new, empty database (before WAL mode writes its header)
        conn.pragma_update(None, "page_size", page_size)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            WAL_CHECKPOINT_KIB * 1024 / page_size,
        )?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The underlying connection, for the modules of this layer.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Makes this data directory the node for `domain`: stores the domain and a fresh node key.
    /// Idempotent for the same domain; refuses another domain.
    pub fn init_node(&mut self, domain: &str) -> Result<NodeInfo, StoreError> {
        let domain = canonical_domain(domain)?;
        if let Some(info) = self.node_info_opt()? {
            if info.domain != domain {
                return Err(StoreError::DomainMismatch {
                    stored: info.domain,
                    asked: domain,
                });
            }
            return Ok(info);
        }
        let key = NodeKey::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('domain', ?1)",
            [domain.as_bytes()],
        )?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('node_key', ?1)",
            [&key.to_bytes()[..]],
        )?;
        tx.commit()?;
        tracing::info!(%domain, key = %key.public(), "initialised node");
        self.node_info()
    }

    /// The node's domain and key; an error if the node is not initialised.
    pub fn node_info(&self) -> Result<NodeInfo, StoreError> {
        self.node_info_opt()?
            .ok_or_else(|| StoreError::NotInitialised(self.path.display().to_string()))
    }

    /// Whether msmd stopped cleanly last time (every received message it answered was
    /// committed), forgetting it: the next stop says so again. A first start counts as unclean.
    pub fn take_clean_stop(&mut self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM meta WHERE key = ?1", [CLEAN_STOP_KEY])?
            > 0)
    }

    /// Notes that msmd stopped cleanly (see [`Store::take_clean_stop`]).
    pub fn mark_clean_stop(&self) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, x'01')",
            [CLEAN_STOP_KEY],
        )?;
        Ok(())
    }

    fn node_info_opt(&self) -> Result<Option<NodeInfo>, StoreError> {
        let get = |k: &str| -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self
                .conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?)
        };
        let (Some(domain), Some(key)) = (get("domain")?, get("node_key")?) else {
            return Ok(None);
        };
        let domain = String::from_utf8(domain).map_err(|_| StoreError::Corrupt("domain"))?;
        let key = NodeKey::from_bytes(&key).map_err(|_| StoreError::Corrupt("node key"))?;
        Ok(Some(NodeInfo { domain, key }))
    }
}

/// The node's identity.
pub struct NodeInfo {
    /// The domain whose identities this node hosts (IDNA ASCII).
    pub domain: String,
    /// The node's own key, proven on every link.
    pub key: NodeKey,
}

/// Data directories hold secret keys: owner-only where the OS supports it.
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not make the data directory private");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(s: &Store) -> i64 {
        s.conn()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_takes_the_page_size_and_an_existing_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_with_page_size(dir.path(), 4096).unwrap();
        s.init_node("hub.test").unwrap();
        assert_eq!(page_size(&s), 4096);
        assert_eq!(
            page_size(&s.reopen().unwrap()),
            4096,
            "other connections too"
        );
        drop(s);
        let s = Store::open_with_page_size(dir.path(), 512).unwrap();
        assert_eq!(
            page_size(&s),
            4096,
            "an existing database keeps its page size"
        );
        assert_eq!(s.node_info().unwrap().domain, "hub.test");
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(page_size(&s), 4096);

        let dir = tempfile::tempdir().unwrap();
        assert_eq!(page_size(&Store::open(dir.path()).unwrap()), PAGE_SIZE);
    }

    #[test]
    fn page_sizes_are_powers_of_two_sqlite_takes() {
        for ok in [512, 1024, 4096, 65536] {
            assert!(valid_page_size(ok), "{ok}");
        }
        for bad in [0, 256, 1000, 3072, 131072, u32::MAX] {
            assert!(!valid_page_size(bad), "{bad}");
        }
    }

    #[test]
    fn init_is_idempotent_and_refuses_another_domain() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert!(matches!(s.node_info(), Err(StoreError::NotInitialised(_))));
        let a = s.init_node("Smith.Family").unwrap();
        assert_eq!(a.domain, "smith.family");
        let b = s.init_node("smith.family").unwrap();
        assert_eq!(a.key.public(), b.key.public());
        assert!(matches!(
            s.init_node("other.test"),
            Err(StoreError::DomainMismatch { .. })
        ));
        assert!(matches!(
            s.init_node("bad..domain"),
            Err(StoreError::Proto(_))
        ));
    }
}
