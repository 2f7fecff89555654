//! The store layer's error type, and the process-wide "database damaged" flag.
//!
//! Every SQLite error passes through [`From<rusqlite::Error>`] here: a full disk becomes
//! [`StoreError::DiskFull`] (so clients hear "storage full", not "internal error"), and a
//! corrupt or unreadable file ([`rusqlite::ErrorCode::DatabaseCorrupt`], `NotADatabase`)
//! raises [`damaged`], which `/healthz` reports as 503 until the node is restarted and its
//! start-up check passes.

use crate::proto::ProtoError;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

static DAMAGED: AtomicBool = AtomicBool::new(false);

/// True once any connection of this process has read a damaged database.
pub fn damaged() -> bool {
    DAMAGED.load(Ordering::Relaxed)
}

/// Why a store operation failed. A failed operation has rolled back: nothing was changed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (I/O, corruption, a locked database).
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
    /// The disk holding the database is full: nothing was written.
    #[error(
        "disk full: the database could not be written (free space on the data directory's disk)"
    )]
    DiskFull,
    /// The database was written by a newer msmd.
    #[error(
        "database schema version {found} is newer than this msmd knows ({known}); upgrade msmd"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// The data directory has not been initialised (`msmd init`).
    #[error("data directory {0} is not initialised: run `msmd init`")]
    NotInitialised(String),
    /// The data directory belongs to another domain than the one asked for.
    #[error("data directory belongs to domain {stored}, not {asked}")]
    DomainMismatch {
        /// Domain in the store.
        stored: String,
        /// Domain asked for.
        asked: String,
    },
    /// No user of that name on this node.
    #[error("no user {0}")]
    NoSuchUser(String),
    /// A user of that name exists already, or the name belonged to a removed user.
    #[error("user name {0} is taken (names of removed users stay reserved to their key)")]
    NameTaken(String),
    /// A table reached its documented bound.
    #[error("too many {what} (at most {max})")]
    Full {
        /// What is full.
        what: &'static str,
        /// The bound.
        max: i64,
    },
    /// A search query out of bounds (too long, an offset too deep), or one the full-text
    /// index could not parse (which `fts_query` never writes).
    #[error("bad search query: {0}")]
    BadQuery(String),
    /// No such thing of this user's (a list, say).
    #[error("no {0}")]
    NotFound(String),
    /// A value given to the store is not one it takes (a notification kind, say).
    #[error("{0}")]
    Invalid(String),
    /// The user does not follow that address.
    #[error("not following {0}")]
    NotFollowing(String),
    /// A domain that cannot be blocked (this node's own).
    #[error("cannot block this domain: {0}")]
    BadDomainBlock(String),
    /// A block stands between the follower and the author (either blocked the other).
    #[error("a block stands between you and {0}")]
    Blocked(String),
    /// The last owner cannot be removed or demoted.
    #[error("{0} is the last owner")]
    LastOwner(String),
    /// A message or address broke a protocol rule.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// A stored value is not what this build expects (a damaged or hand-edited database).
    #[error("corrupt store: {0}")]
    Corrupt(&'static str),
    /// The start-up check found the database file damaged.
    #[error("the database file is damaged ({0}): {recovery}", recovery = super::integrity::RECOVERY)]
    Damaged(String),
    /// The writer thread is gone (the node is shutting down).
    #[error("the store is shutting down")]
    ShuttingDown,
    /// A helper thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// Another msmd runs on this data directory.
    #[error("data directory {path} is in use by another msmd (PID {pid}); stop it first")]
    InUse {
        /// The directory.
        path: String,
        /// What the other process wrote in the lock file.
        pid: String,
    },
    /// Creating the data directory failed.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                if !DAMAGED.swap(true, Ordering::Relaxed) {
                    tracing::error!(error = %e, "the database is damaged: stop msmd and restore it (see `msmd run` at start for how)");
                }
                StoreError::Sqlite(e)
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// True for an error that says the database file itself is damaged.
    pub fn is_damage(&self) -> bool {
        matches!(self, StoreError::Sqlite(e) if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        ))
    }
}
