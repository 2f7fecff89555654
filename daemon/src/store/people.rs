//! People search: the node's users and the remote authors it knows (the `authors` table), found
//! by address, user name or display name.
//!
//! What is typed is first reduced to a needle ([`needle`]): `@bob@b.test`, `bob@b.test`,
//! `acct:bob@b.test` and a profile URL `https://b.test/@bob` all become `bob@b.test`. The needle
//! matches as a substring of the address or of the display name (SQLite `LIKE`, so case is
//! ignored for ASCII letters only; `%`, `_` and `\` typed are literal). Order: the exact address
//! first, then addresses and display names (or a word of one) that start with the needle, then
//! the rest; the node's own users before remote authors within each, then by address.
//!
//! The search scans `authors` (one row per author this node holds messages of or follows: a
//! few thousand even on a busy node) with no index, which is a few milliseconds on a router;
//! the query length and the rows returned are bounded.

use super::{Store, StoreError};
use rusqlite::params;
use serde::Serialize;

/// Longest people query accepted, in bytes: a profile URL of the longest address fits.
pub const MAX_PEOPLE_QUERY_BYTES: usize = 400;
/// Most people in one answer: a list to pick from, not a directory to page through.
pub const MAX_PEOPLE_RESULTS: u32 = 40;

/// A person found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// The address.
    pub address: String,
    /// The user name (the address before the `@`).
    pub name: String,
    /// Display name ('' when none).
    pub display_name: String,
    /// A user of this node.
    pub local: bool,
    /// The viewer follows this address (in any state of approval).
    pub followed: bool,
}

/// What to look for in `typed`, lower-cased, or `None` when nothing is left: a leading `@` or
/// `acct:` dropped, and a profile URL (`http(s)://host[:port]/@user...`) read as `user@host`.
pub fn needle(typed: &str) -> Option<String> {
    let t = typed.trim();
    let t = t.strip_prefix("acct:").unwrap_or(t);
    let t = t.strip_prefix('@').unwrap_or(t);
    let from_url = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .and_then(|rest| {
            let (authority, path) = rest.split_once("/@")?;
            let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
            let user = path.split(['/', '?', '#']).next().unwrap_or("");
            (!host.is_empty() && !user.is_empty() && !host.contains('/'))
                .then(|| format!("{user}@{host}"))
        });
    let n = from_url.unwrap_or_else(|| t.to_string()).to_lowercase();
    (!n.is_empty()).then_some(n)
}

/// `s` as a literal inside a `LIKE ... ESCAPE '\'` pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// People matching `typed` (see the module doc), at most `limit` (capped at
    /// [`MAX_PEOPLE_RESULTS`]), best first; `viewer` decides `followed`.
    pub fn search_people(
        &self,
        typed: &str,
        viewer: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Person>, StoreError> {
        if typed.len() > MAX_PEOPLE_QUERY_BYTES {
            return Err(StoreError::BadQuery(format!(
                "the query is longer than {MAX_PEOPLE_QUERY_BYTES} bytes"
            )));
        }
        let Some(needle) = needle(typed) else {
            return Ok(Vec::new());
        };
        let lit = like_literal(&needle);
        let mut stmt = self.conn().prepare_cached(
            "SELECT a.address, a.display_name, a.local_user IS NOT NULL,
                    EXISTS(SELECT 1 FROM follows f WHERE f.user_id = ?1 AND f.address = a.address)
             FROM authors a
             WHERE a.address LIKE ?4 ESCAPE '\\' OR a.display_name LIKE ?4 ESCAPE '\\'
             ORDER BY CASE
                 WHEN a.address = ?2 THEN 0
                 WHEN a.address LIKE ?3 ESCAPE '\\' OR a.display_name LIKE ?3 ESCAPE '\\'
                      OR a.display_name LIKE ?5 ESCAPE '\\' THEN 1
                 ELSE 2 END,
                 a.local_user IS NULL, a.address
             LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                viewer.unwrap_or(-1),
                needle,
                format!("{lit}%"),
                format!("%{lit}%"),
                format!("% {lit}%"),
                limit.min(MAX_PEOPLE_RESULTS),
            ],
            |r| {
                let address: String = r.get(0)?;
                Ok(Person {
                    name: address.split('@').next().unwrap_or("").to_string(),
                    address,
                    display_name: r.get(1)?,
                    local: r.get(2)?,
                    followed: r.get(3)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
#[path = "people_tests.rs"]
mod tests;
