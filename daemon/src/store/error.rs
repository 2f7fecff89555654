//! The store layer's error type.

use crate::proto::ProtoError;
use thiserror::Error;

/// Why a store operation failed. A failed operation has rolled back: nothing was changed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error (I/O, corruption, a full disk, a locked database).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
    /// A search query that the full-text index cannot parse.
    #[error("bad search query: {0}")]
    BadQuery(String),
    /// The user does not follow that address.
    #[error("not following {0}")]
    NotFollowing(String),
    /// The last owner cannot be removed or demoted.
    #[error("{0} is the last owner")]
    LastOwner(String),
    /// A message or address broke a protocol rule.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// A stored value is not what this build expects (a damaged or hand-edited database).
    #[error("corrupt store: {0}")]
    Corrupt(&'static str),
    /// The writer thread is gone (the node is shutting down).
    #[error("the store is shutting down")]
    ShuttingDown,
    /// The operating system's random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// Creating the data directory failed.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
