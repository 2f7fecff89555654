//! Bookmarks and lists: private to one local user, never sent anywhere.
//!
//! A bookmark keeps a post a user can read at hand (`bookmarks`); a list is a named group of
//! people the user follows, read as a timeline of their posts (`lists`, `list_members`).
//! Reading both goes through the one visibility rule of [`super::timeline`], so a bookmark of
//! a post that was deleted, or became unreadable, simply no longer shows.

use super::timeline::{entry_of, select_views, Entry};
use super::{Store, StoreError};
use crate::proto::Address;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// Most bookmarks one user keeps.
pub const MAX_BOOKMARKS: i64 = 10_000;
/// Most lists one user has.
pub const MAX_LISTS: i64 = 100;
/// Most people in one list.
pub const MAX_LIST_MEMBERS: i64 = 1_000;
/// Longest list title, in bytes.
pub const MAX_LIST_TITLE: usize = 100;

/// Migration 9: bookmarks and lists.
pub const LISTS_MIGRATION: &str = r#"
    CREATE TABLE bookmarks(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (user_id, message_id)
    ) WITHOUT ROWID;
    CREATE TABLE lists(
        id      INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title   TEXT NOT NULL
    );
    CREATE INDEX lists_by_user ON lists(user_id);
    CREATE TABLE list_members(
        list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        PRIMARY KEY (list_id, address)
    ) WITHOUT ROWID;
"#;

/// A list as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListView {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// The people in it.
    pub members: Vec<String>,
}

/// `Full` if the count `sql` gives for `param` has reached `max`.
fn room(
    store: &Store,
    sql: &str,
    param: i64,
    what: &'static str,
    max: i64,
) -> Result<(), StoreError> {
    let n: i64 = store.conn().query_row(sql, [param], |r| r.get(0))?;
    if n >= max {
        return Err(StoreError::Full { what, max });
    }
    Ok(())
}

impl Store {
    fn message_row(&self, author: &Address, seq: u64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT m.id FROM messages m JOIN authors a ON a.id = m.author_id
                 WHERE a.address = ?1 AND m.seq = ?2",
                params![author.as_str(), seq as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Bookmarks `author`/`seq` for `user_id`; false if it was already.
    pub fn bookmark(
        &mut self,
        user_id: i64,
        author: &Address,
        seq: u64,
        now_ms: u64,
    ) -> Result<bool, StoreError> {
        let id = self
            .message_row(author, seq)?
            .ok_or_else(|| StoreError::Invalid(format!("no post {author}/{seq} here")))?;
        room(
            self,
            "SELECT count(*) FROM bookmarks WHERE user_id = ?1",
            user_id,
            "bookmarks",
            MAX_BOOKMARKS,
        )?;
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO bookmarks(user_id, message_id, created_ms) VALUES (?1, ?2, ?3)",
            params![user_id, id, now_ms as i64],
        )? > 0)
    }

    /// Removes a bookmark; false if there was none.
    pub fn unbookmark(
        &mut self,
        user_id: i64,
        author: &Address,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let Some(id) = self.message_row(author, seq)? else {
            return Ok(false);
        };
        Ok(self.conn().execute(
            "DELETE FROM bookmarks WHERE user_id = ?1 AND message_id = ?2",
            params![user_id, id],
        )? > 0)
    }

    /// `user_id`'s bookmarked posts, newest bookmarked first, with cursors below `before`.
    pub fn bookmarks(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Entry>, StoreError> {
        let sql = select_views(
            "m.id IN (SELECT message_id FROM bookmarks WHERE user_id = ?1 AND message_id < ?2) \
             ORDER BY m.id DESC LIMIT ?3",
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                user_id,
                before.unwrap_or(i64::MAX),
                limit.min(super::messages::MAX_PAGE)
            ],
            entry_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Makes a list; its id.
    pub fn create_list(&mut self, user_id: i64, title: &str) -> Result<i64, StoreError> {
        let title = title.trim();
        if title.is_empty() || title.len() > MAX_LIST_TITLE || title.chars().any(char::is_control) {
            return Err(StoreError::Invalid(format!(
                "a list title is 1 to {MAX_LIST_TITLE} bytes of text"
            )));
        }
        room(
            self,
            "SELECT count(*) FROM lists WHERE user_id = ?1",
            user_id,
            "lists",
            MAX_LISTS,
        )?;
        self.conn().execute(
            "INSERT INTO lists(user_id, title) VALUES (?1, ?2)",
            params![user_id, title],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Deletes one of `user_id`'s lists; false if there is no such list of theirs.
    pub fn delete_list(&mut self, user_id: i64, list: i64) -> Result<bool, StoreError> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "DELETE FROM list_members WHERE list_id = (SELECT id FROM lists WHERE id = ?1 AND user_id = ?2)",
            params![list, user_id],
        )?;
        let gone = tx.execute(
            "DELETE FROM lists WHERE id = ?1 AND user_id = ?2",
            params![list, user_id],
        )? > 0;
        tx.commit()?;
        Ok(gone)
    }

    pub(crate) fn own_list(&self, user_id: i64, list: i64) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM lists WHERE id = ?1 AND user_id = ?2)",
            params![list, user_id],
            |r| r.get(0),
        )?)
    }

    /// Puts `address` (someone `user_id` follows) in a list, or takes them out.
    pub fn set_list_member(
        &mut self,
        user_id: i64,
        list: i64,
        address: &Address,
        member: bool,
    ) -> Result<bool, StoreError> {
        if !self.own_list(user_id, list)? {
            return Err(StoreError::NotFound(format!("list {list}")));
        }
        if !member {
            return Ok(self.conn().execute(
                "DELETE FROM list_members WHERE list_id = ?1 AND address = ?2",
                params![list, address.as_str()],
            )? > 0);
        }
        let follows: bool = self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM follows WHERE user_id = ?1 AND address = ?2)",
            params![user_id, address.as_str()],
            |r| r.get(0),
        )?;
        if !follows {
            return Err(StoreError::NotFollowing(address.to_string()));
        }
        room(
            self,
            "SELECT count(*) FROM list_members WHERE list_id = ?1",
            list,
            "people in a list",
            MAX_LIST_MEMBERS,
        )?;
        Ok(self.conn().execute(
            "INSERT OR IGNORE INTO list_members(list_id, address) VALUES (?1, ?2)",
            params![list, address.as_str()],
        )? > 0)
    }

    /// `user_id`'s lists with their members.
    pub fn lists(&self, user_id: i64) -> Result<Vec<ListView>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, title FROM lists WHERE user_id = ?1 ORDER BY id")?;
        let lists: Vec<(i64, String)> = stmt
            .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut members = self
            .conn()
            .prepare("SELECT address FROM list_members WHERE list_id = ?1 ORDER BY address")?;
        let mut out = Vec::with_capacity(lists.len());
        for (id, title) in lists {
            let m = members
                .query_map([id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            out.push(ListView {
                id,
                title,
                members: m,
            });
        }
        Ok(out)
    }

    /// A page of a list's timeline: posts of its members in `user_id`'s home timeline, newest
    /// first, older than cursor `before`.
    pub fn list_timeline(
        &self,
        user_id: i64,
        list: i64,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Entry>, StoreError> {
        if !self.own_list(user_id, list)? {
            return Err(StoreError::NotFound(format!("list {list}")));
        }
        let sql = select_views(
            "a.address IN (SELECT address FROM list_members WHERE list_id = ?4) \
             AND m.id IN (SELECT message_id FROM timeline WHERE user_id = ?1 AND message_id < ?2) \
             ORDER BY m.id DESC LIMIT ?3",
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![
                user_id,
                before.unwrap_or(i64::MAX),
                limit.min(super::messages::MAX_PAGE),
                list
            ],
            entry_of,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
#[path = "lists_tests.rs"]
mod tests;
