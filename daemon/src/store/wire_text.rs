//! A message's text, kept once.
//!
//! Every message row holds its signed wire form, and the text of a post is inside it. Storing
//! the text a second time in `messages.text` made a 280-byte post's row ~690 bytes: with the
//! routers' 1 KiB pages one row filled a page, so every received post cost a whole page in the
//! WAL and again in the database file (BENCHMARKS.md, run 21). So a row stores `text` only where
//! it differs from what the wire form says, which is after an edit replaced it; otherwise
//! `text` is NULL and readers take the text out of the wire form with the SQL function
//! `wire_text(wire)`, registered on every connection ([`register`]). What a reader sees is
//! [`text_of_m!`]: the edited text, else the wire form's, and none once the message is deleted.
//! Rows stored before this change keep their copy (the expression prefers it); they age out.
//!
//! The function is deterministic and innocuous (a pure function of a blob the node stored
//! itself), so the search index's triggers may call it. It decodes with the protocol's widest
//! limits, so a node whose configured text cap was lowered still reads older, longer posts; a
//! blob that does not decode has no text (NULL), never an error that would fail a whole page of
//! a timeline. [`stored_text`] only leaves the column NULL when the function gives the text
//! back exactly, so nothing can be lost to a decoder that disagrees.

use crate::proto::message::MAX_TEXT_LIMIT;
use crate::proto::{Limits, SignedMessage};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// The SQL function's name.
const FUNCTION: &str = "wire_text";

/// The text readers see of the message row aliased `m` (see the module doc), as a SQL
/// expression; a macro so that `concat!` can splice it into statements.
macro_rules! text_of_m {
    () => {
        "(CASE WHEN m.deleted THEN NULL ELSE coalesce(m.text, wire_text(m.wire)) END)"
    };
}
pub(crate) use text_of_m;

/// The text a wire form carries, as timelines show it: a post's, reply's, repost's, note's or
/// pictures' text; none for anything else, or for bytes that do not decode.
pub fn text_in_wire(wire: &[u8]) -> Option<String> {
    with_text_in_wire(wire, |t| t.map(str::to_string))
}

/// Decodes `wire` with the protocol's widest limits and hands `read` its shown text.
fn with_text_in_wire<R>(wire: &[u8], read: impl FnOnce(Option<&str>) -> R) -> R {
    let limits = Limits {
        max_text: MAX_TEXT_LIMIT,
    };
    let decoded = SignedMessage::decode(wire, &limits).ok();
    let body = decoded.as_ref().map(|s| &s.message.body);
    read(body.filter(|b| b.is_shown()).and_then(|b| b.text()))
}

/// What goes in `messages.text` for a message whose text is `text` and wire form `wire`:
/// nothing when the wire form gives that same text back.
pub fn stored_text<'a>(text: Option<&'a str>, wire: &[u8]) -> Option<&'a str> {
    let t = text?;
    (!with_text_in_wire(wire, |w| w == Some(t))).then_some(t)
}

/// Makes `wire_text(blob)` callable on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0).as_blob_or_null() {
                Ok(Some(b)) => text_in_wire(b),
                _ => None,
            })
        },
    )
}

/// Migration 18: the search index reads a row's text as readers do. Its external content is
/// the view `messages_text` (the edited text, else the wire form's; rows without text, such as
/// likes and deleted posts, left out), so that
/// FTS5's own commands that read the content ('rebuild', 'integrity-check') see the text a
/// NULL `text` stands for; the index is built again from it once, here. The triggers that
/// unindex a row take its old text the same way, so what was indexed is what is removed.
/// A new text is unindexed and indexed by one trigger, in that order: as two triggers SQLite
/// ran the newer (index) first, and the unindex then took the row's size entry away with the
/// old terms, so that searching for an edited post failed as "database disk image is
/// malformed".
pub const TEXT_ONCE_MIGRATION: &str = r#"
    DROP TRIGGER messages_fts_unindex;
    DROP TRIGGER messages_fts_reindex;
    DROP TRIGGER messages_fts_delete;
    DROP TABLE messages_fts;
    CREATE VIEW messages_text(id, text) AS
        SELECT id, t FROM (
            SELECT id, CASE WHEN deleted THEN NULL ELSE coalesce(text, wire_text(wire)) END AS t
            FROM messages
        ) WHERE t IS NOT NULL;
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content = 'messages_text', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
    CREATE TRIGGER messages_fts_retext AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text)
            SELECT 'delete', old.id, coalesce(old.text, wire_text(old.wire))
            WHERE NOT old.deleted AND coalesce(old.text, wire_text(old.wire)) IS NOT NULL;
        INSERT INTO messages_fts(rowid, text)
            SELECT new.id, coalesce(new.text, wire_text(new.wire))
            WHERE NOT new.deleted AND coalesce(new.text, wire_text(new.wire)) IS NOT NULL;
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN NOT old.deleted AND coalesce(old.text, wire_text(old.wire)) IS NOT NULL BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text)
            VALUES ('delete', old.id, coalesce(old.text, wire_text(old.wire)));
    END;
"#;

#[cfg(test)]
#[path = "wire_text_tests.rs"]
mod tests;
