//! Full-text indexing, one statement per commit.
//!
//! FTS5 keeps new terms in memory until a commit, but it also writes them out as a new index
//! segment whenever a statement that writes the index begins inside a transaction (its
//! `xSavepoint` flushes). Indexing each row with its own statement (an `AFTER INSERT` trigger)
//! therefore wrote one small segment per message, and merged them later (`fts5IndexFlush` was
//! the writer's hottest path in `perf`; BENCHMARKS.md run 7 measures the change). So new rows
//! are not indexed as they are inserted: an [`Unindexed`] remembers the highest row id at the start of a batch,
//! and [`Unindexed::index`] indexes every row after it in one statement before the commit
//! (and before anything unindexes a row: FTS5 must never be asked to delete a row it lacks).
//! The triggers that unindex a row whose text changes or that is deleted stay.

use super::StoreError;
use rusqlite::Connection;

/// A table with a full-text index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    /// `messages` and `messages_fts`.
    Messages,
    /// `discover` and `discover_fts`.
    Discover,
}

impl Indexed {
    fn max_id(self) -> &'static str {
        match self {
            Indexed::Messages => "SELECT coalesce(max(id), 0) FROM messages",
            Indexed::Discover => "SELECT coalesce(max(id), 0) FROM discover",
        }
    }

    fn index_after(self) -> &'static str {
        match self {
            Indexed::Messages => {
                // the index's own content view: the text readers see, rows without one left out
                "INSERT INTO messages_fts(rowid, text)
                 SELECT id, text FROM messages_text WHERE id > ?1 ORDER BY id"
            }
            Indexed::Discover => {
                "INSERT INTO discover_fts(rowid, text)
                 SELECT id, text FROM discover WHERE id > ?1 ORDER BY id"
            }
        }
    }
}

/// Rows of one table inserted since a point of a transaction and not yet indexed.
#[derive(Debug)]
pub struct Unindexed {
    table: Indexed,
    after: i64,
}

impl Unindexed {
    /// Starts counting at the current end of `table`: rows inserted from now on are this
    /// value's to index. Take it inside the transaction (or savepoint) that inserts them.
    pub fn start(conn: &Connection, table: Indexed) -> Result<Self, StoreError> {
        let after = conn
            .prepare_cached(table.max_id())?
            .query_row([], |r| r.get(0))?;
        Ok(Unindexed { table, after })
    }

    /// Indexes every row inserted since [`Unindexed::start`] or the last call, in one statement.
    pub fn index(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let end: i64 = conn
            .prepare_cached(self.table.max_id())?
            .query_row([], |r| r.get(0))?;
        if end > self.after {
            conn.prepare_cached(self.table.index_after())?
                .execute([self.after])?;
            self.after = end;
        }
        Ok(())
    }
}
