//! Pictures in the store: what is uploaded, by whom, what messages carry, what is cached.
//!
//! A picture is a content-addressed file (`media/ab/cdef…`, see [`super::media_files`]) and a
//! `media` row keyed by its SHA-256. Its state is `local` (uploaded here: the file is the
//! original, kept while anything refers to it), `remote` (a message stored here names it; no
//! bytes yet) or `cached` (fetched from the author's node on first view, evicted by least
//! recent use when the cache is over `media.cache_bytes`).
//!
//! References are counted by the rows that refer, not by a counter that a crash could leave
//! wrong: a picture is in use while an `attachments` row of a message not deleted, an author's
//! avatar or header, or an upload younger than [`UPLOAD_GRACE_MS`] and never attached names it
//! (so a deleted post's pictures go at once, an upload still being written about stays). [`Store::collect_media`]
//! removes what nothing uses, rows and files.

use super::{Store, StoreError};
use crate::proto::attachment::{hex, Attachment, MediaType};
use rusqlite::{params, OptionalExtension};

/// Migration 10. `media`: one row per picture known here. `uploads`: who uploaded which picture
/// (a person's quota, and the right to attach it). `attachments`: the pictures each message
/// carries, in order. `alt_fts`: alt text, searched beside post text. `authors.avatar` and
/// `authors.header`: the SHA-256 of the author's pictures, their metadata in `media`.
pub const MEDIA_MIGRATION: &str = r#"
    CREATE TABLE media(
        sha256      BLOB PRIMARY KEY,
        media_type  TEXT NOT NULL,
        size        INTEGER NOT NULL,
        width       INTEGER NOT NULL,
        height      INTEGER NOT NULL,
        orientation INTEGER NOT NULL DEFAULT 1,
        state       TEXT NOT NULL CHECK (state IN ('local', 'remote', 'cached')),
        created_ms  INTEGER NOT NULL,
        used_ms     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX media_cached ON media(used_ms) WHERE state = 'cached';
    CREATE TABLE uploads(
        user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        sha256     BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        attached   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, sha256)
    ) WITHOUT ROWID;
    CREATE INDEX uploads_by_sha ON uploads(sha256);
    CREATE TABLE attachments(
        message_id  INTEGER NOT NULL REFERENCES messages(id),
        position    INTEGER NOT NULL,
        sha256      BLOB NOT NULL,
        alt         TEXT NOT NULL,
        blurhash    TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
    ) WITHOUT ROWID;
    CREATE INDEX attachments_by_sha ON attachments(sha256);
    CREATE VIRTUAL TABLE alt_fts USING fts5(
        alt, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
    );
    ALTER TABLE authors ADD COLUMN avatar BLOB;
    ALTER TABLE authors ADD COLUMN header BLOB;
    CREATE INDEX authors_avatar ON authors(avatar) WHERE avatar IS NOT NULL;
    CREATE INDEX authors_header ON authors(header) WHERE header IS NOT NULL;
"#;

/// An upload not attached to a post or profile within this long is collected (Mastodon keeps
/// unattached media for a day too).
pub const UPLOAD_GRACE_MS: u64 = 24 * 3600 * 1000;
/// Most pictures one pass of [`Store::collect_media`] removes, so one pass is short.
pub const COLLECT_BATCH: i64 = 256;

/// A picture's facts, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// The format.
    pub media_type: MediaType,
    /// Bytes.
    pub size: u64,
    /// Pixels wide, as stored.
    pub width: u32,
    /// Pixels high, as stored.
    pub height: u32,
    /// EXIF orientation to apply.
    pub orientation: u8,
    /// `local`, `remote` or `cached`.
    pub state: String,
}

/// Where a picture's bytes come from when they are not here yet: an author whose message
/// (or profile) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSource {
    /// The picture.
    pub info: MediaInfo,
    /// An author on another node who published it.
    pub author: String,
}

/// What a removal pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Pictures whose files are to be removed now (their rows are gone or back to `remote`).
    pub files: Vec<[u8; 32]>,
}

impl MediaInfo {
    /// The reference a message carries, with its alt text and blurhash.
    pub fn reference(&self, alt: String, blurhash: String) -> Attachment {
        Attachment {
            sha256: self.sha256,
            media_type: self.media_type,
            size: self.size.min(u32::MAX as u64) as u32,
            width: self.width,
            height: self.height,
            orientation: self.orientation,
            alt,
            blurhash,
        }
    }
}

fn info_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<MediaInfo> {
    let sha: Vec<u8> = r.get(0)?;
    let mut sha256 = [0u8; 32];
    if sha.len() == 32 {
        sha256.copy_from_slice(&sha);
    }
    let t: String = r.get(1)?;
    Ok(MediaInfo {
        sha256,
        media_type: MediaType::parse(&t).unwrap_or(MediaType::Jpeg),
        size: r.get::<_, i64>(2)? as u64,
        width: r.get::<_, i64>(3)? as u32,
        height: r.get::<_, i64>(4)? as u32,
        orientation: r.get::<_, i64>(5)? as u8,
        state: r.get(6)?,
    })
}

const INFO_COLUMNS: &str = "sha256, media_type, size, width, height, orientation, state";

/// SQL true when the picture `?1` is in use (see the module doc); `?2` is now.
const IN_USE: &str = "(EXISTS(SELECT 1 FROM attachments t JOIN messages m ON m.id = t.message_id \
        WHERE t.sha256 = ?1 AND m.deleted = 0) \
     OR EXISTS(SELECT 1 FROM authors WHERE avatar = ?1 OR header = ?1) \
     OR EXISTS(SELECT 1 FROM uploads WHERE sha256 = ?1 AND attached = 0 AND created_ms > ?2 - ?3))";

impl Store {
    /// Records a picture uploaded by `user_id` whose file is in place. Quotas are checked by
    /// the caller before the file is written ([`Store::media_usage`]).
    pub fn record_upload(
        &mut self,
        user_id: i64,
        info: &MediaInfo,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO media(sha256, media_type, size, width, height, orientation, state, \
                               created_ms, used_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'local', ?7, ?7)
             ON CONFLICT(sha256) DO UPDATE SET state = 'local', created_ms = ?7, used_ms = ?7",
            params![
                &info.sha256[..],
                info.media_type.as_str(),
                info.size as i64,
                info.width,
                info.height,
                info.orientation,
                now_ms as i64
            ],
        )?;
        tx.execute(
            "INSERT INTO uploads(user_id, sha256, created_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(user_id, sha256) DO UPDATE SET created_ms = ?3, attached = 0",
            params![user_id, &info.sha256[..], now_ms as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Bytes of pictures `user_id` uploaded that are still kept, and bytes of all local
    /// pictures on the node.
    pub fn media_usage(&self, user_id: i64) -> Result<(u64, u64), StoreError> {
        let mine: i64 = self.conn().query_row(
            "SELECT coalesce(sum(m.size), 0) FROM uploads u JOIN media m ON m.sha256 = u.sha256
             WHERE u.user_id = ?1 AND m.state = 'local'",
            [user_id],
            |r| r.get(0),
        )?;
        let all: i64 = self.conn().query_row(
            "SELECT coalesce(sum(size), 0) FROM media WHERE state = 'local'",
            [],
            |r| r.get(0),
        )?;
        Ok((mine as u64, all as u64))
    }

    /// Bytes of the cache of other nodes' pictures.
    pub fn media_cache_bytes(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT coalesce(sum(size), 0) FROM media WHERE state = 'cached'",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// A picture `user_id` uploaded and may attach, with its facts.
    pub fn own_upload(&self, user_id: i64, sha256: &[u8; 32]) -> Result<MediaInfo, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {INFO_COLUMNS} FROM media WHERE sha256 = ?2 AND state = 'local' \
                     AND EXISTS(SELECT 1 FROM uploads WHERE user_id = ?1 AND sha256 = ?2)"
                ),
                params![user_id, &sha256[..]],
                info_of,
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!("uploaded picture {} of yours", hex(sha256)))
            })
    }

    /// Sets the description (alt text) `user_id` gave its upload `sha256` before posting it
    /// (the Mastodon API describes a picture apart from the post); false when no such upload.
    pub fn set_upload_description(
        &mut self,
        user_id: i64,
        sha256: &[u8; 32],
        description: &str,
    ) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE uploads SET description = ?3 WHERE user_id = ?1 AND sha256 = ?2",
            params![user_id, &sha256[..], description],
        )? == 1)
    }

    /// The description `user_id` gave its upload `sha256` ("" when none or no such upload).
    pub fn upload_description(
        &self,
        user_id: i64,
        sha256: &[u8; 32],
    ) -> Result<String, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT description FROM uploads WHERE user_id = ?1 AND sha256 = ?2")?
            .query_row(params![user_id, &sha256[..]], |r| r.get(0))
            .optional()?
            .unwrap_or_default())
    }

    /// A picture's facts, if the store knows it.
    pub fn media_info(&self, sha256: &[u8; 32]) -> Result<Option<MediaInfo>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {INFO_COLUMNS} FROM media WHERE sha256 = ?1"),
                [&sha256[..]],
                info_of,
            )
            .optional()?)
    }

    /// Whether `viewer` (a local user id, or -1 for anyone) may see the picture: it is an
    /// avatar or header, an upload of the viewer's, or carried by a message the viewer may read.
    /// A picture uploaded here counts only its local authors' references: someone elsewhere
    /// who learnt its hash from a followers-only post cannot make it public by naming it in a
    /// public post of their own.
    pub fn media_visible(&self, sha256: &[u8; 32], viewer: i64) -> Result<bool, StoreError> {
        let state: String = self
            .conn()
            .query_row(
                "SELECT state FROM media WHERE sha256 = ?1",
                [&sha256[..]],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default();
        let visible = super::timeline::visible_sql("?2");
        Ok(self.conn().query_row(
            &format!(
                "SELECT EXISTS(SELECT 1 FROM authors WHERE (avatar = ?1 OR header = ?1) \
                    AND (local_user IS NOT NULL OR ?3 <> 'local')) \
                 OR EXISTS(SELECT 1 FROM uploads WHERE sha256 = ?1 AND user_id = ?2) \
                 OR EXISTS(SELECT 1 FROM attachments t JOIN messages m ON m.id = t.message_id \
                    JOIN authors a ON a.id = m.author_id \
                    WHERE t.sha256 = ?1 AND m.deleted = 0 AND {visible} \
                    AND (a.local_user IS NOT NULL OR ?3 <> 'local'))"
            ),
            params![&sha256[..], viewer, state],
            |r| r.get(0),
        )?)
    }

    /// Whether another node's `server` may fetch the picture from this node: a local author
    /// published it publicly (post or profile), to followers and `server` subscribes to them,
    /// or directly to someone on `server`'s domain. `server` "" (a peer that did not prove
    /// its domain) gets only public pictures.
    pub fn media_servable(&self, sha256: &[u8; 32], server: &str) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM authors WHERE (avatar = ?1 OR header = ?1) \
                    AND local_user IS NOT NULL) \
             OR EXISTS(SELECT 1 FROM attachments t JOIN messages m ON m.id = t.message_id \
                JOIN authors a ON a.id = m.author_id \
                WHERE t.sha256 = ?1 AND m.deleted = 0 AND a.local_user IS NOT NULL AND ( \
                  m.audience = 'public' \
                  OR (m.audience = 'followers' AND EXISTS(SELECT 1 FROM subscribers s \
                        WHERE s.author_id = a.id AND s.server = ?2)) \
                  OR (m.audience = 'direct' AND EXISTS(SELECT 1 FROM mentions n \
                        WHERE n.message_id = m.id AND n.address LIKE '%@' || ?2))))",
            params![&sha256[..], server],
            |r| r.get(0),
        )?)
    }

    /// Where to fetch a picture that is not here: the author on another node of a message
    /// or profile that names it.
    pub fn media_source(&self, sha256: &[u8; 32]) -> Result<Option<MediaSource>, StoreError> {
        let Some(info) = self.media_info(sha256)? else {
            return Ok(None);
        };
        let author: Option<String> = self
            .conn()
            .query_row(
                "SELECT a.address FROM attachments t JOIN messages m ON m.id = t.message_id \
                   JOIN authors a ON a.id = m.author_id \
                   WHERE t.sha256 = ?1 AND m.deleted = 0 AND a.local_user IS NULL \
                 UNION ALL SELECT address FROM authors \
                   WHERE (avatar = ?1 OR header = ?1) AND local_user IS NULL LIMIT 1",
                [&sha256[..]],
                |r| r.get(0),
            )
            .optional()?;
        Ok(author.map(|author| MediaSource { info, author }))
    }

    /// Marks a fetched picture as cached (its file is in place) and recently used.
    pub fn media_cached(&mut self, sha256: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE media SET state = 'cached', used_ms = ?2 WHERE sha256 = ?1 AND state <> 'local'",
            params![&sha256[..], now_ms as i64],
        )?;
        Ok(())
    }

    /// Notes that a cached picture was served, for the cache's least-recent-use order. Only
    /// once a minute per picture, so serving does not write to flash on every view.
    pub fn media_used(&mut self, sha256: &[u8; 32], now_ms: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE media SET used_ms = ?2 WHERE sha256 = ?1 AND state = 'cached' \
             AND used_ms < ?2 - 60000",
            params![&sha256[..], now_ms as i64],
        )?;
        Ok(())
    }

    /// Removes what nothing uses (see the module doc) and evicts cached pictures, least
    /// recently used first, until the cache holds at most `cache_bytes`. Returns the files
    /// to remove; the caller removes them after this commit (a crash between leaves files
    /// that [`super::media_files::MediaFiles::sweep`] removes at the next start).
    pub fn collect_media(
        &mut self,
        now_ms: u64,
        cache_bytes: u64,
    ) -> Result<Collected, StoreError> {
        let tx = self.conn_mut().transaction()?;
        let mut out = Collected::default();
        {
            let mut unused = tx.prepare(&format!(
                "SELECT sha256, state FROM media WHERE NOT {} LIMIT {COLLECT_BATCH}",
                IN_USE
                    .replace("?1", "media.sha256")
                    .replace("?2", "?1")
                    .replace("?3", "?2")
            ))?;
            let rows = unused
                .query_map(params![now_ms as i64, UPLOAD_GRACE_MS as i64], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for (sha, state) in rows {
                tx.execute("DELETE FROM uploads WHERE sha256 = ?1", [&sha])?;
                tx.execute("DELETE FROM media WHERE sha256 = ?1", [&sha])?;
                if state != "remote" {
                    if let Ok(s) = <[u8; 32]>::try_from(&sha[..]) {
                        out.files.push(s);
                    }
                }
            }
        }
        let mut cached: i64 = tx.query_row(
            "SELECT coalesce(sum(size), 0) FROM media WHERE state = 'cached'",
            [],
            |r| r.get(0),
        )?;
        if cached as u64 > cache_bytes {
            let mut oldest = tx.prepare(
                "SELECT sha256, size FROM media WHERE state = 'cached' ORDER BY used_ms",
            )?;
            let rows = oldest
                .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(oldest);
            for (sha, size) in rows {
                if cached as u64 <= cache_bytes {
                    break;
                }
                tx.execute(
                    "UPDATE media SET state = 'remote' WHERE sha256 = ?1",
                    [&sha],
                )?;
                cached -= size;
                if let Ok(s) = <[u8; 32]>::try_from(&sha[..]) {
                    out.files.push(s);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Whether a picture's file should be on disk (`local` or `cached`): what the start-up
    /// sweep keeps.
    pub fn media_has_file(&self, sha256: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM media WHERE sha256 = ?1 AND state <> 'remote')",
            [&sha256[..]],
            |r| r.get(0),
        )?)
    }

    /// An author's avatar and header as picture references (for a profile update that keeps
    /// one of them).
    pub fn profile_pictures(
        &self,
        address: &str,
    ) -> Result<(Option<Attachment>, Option<Attachment>), StoreError> {
        let (avatar, header): (Option<Vec<u8>>, Option<Vec<u8>>) = self
            .conn()
            .query_row(
                "SELECT avatar, header FROM authors WHERE address = ?1",
                [address],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((None, None));
        let pic = |sha: Option<Vec<u8>>| -> Result<Option<Attachment>, StoreError> {
            let Some(sha) = sha.and_then(|s| <[u8; 32]>::try_from(&s[..]).ok()) else {
                return Ok(None);
            };
            Ok(self
                .media_info(&sha)?
                .map(|i| i.reference(String::new(), String::new())))
        };
        Ok((pic(avatar)?, pic(header)?))
    }

    /// A picture whose file was found missing or damaged goes back to `remote` (a local one
    /// stays: its row tells the operator what was lost).
    pub fn media_lost(&mut self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE media SET state = 'remote' WHERE sha256 = ?1 AND state = 'cached'",
            [&sha256[..]],
        )?;
        Ok(())
    }
}

/// Stores the pictures a message carries (inside the writer's transaction): the
/// `attachments` rows, a `remote` row for each picture not known here, the alt text in the
/// search index, and an author's avatar and header.
pub(crate) fn record_message_media(
    conn: &rusqlite::Connection,
    message_id: i64,
    author_id: i64,
    body: &crate::proto::Body,
    now_ms: u64,
) -> Result<(), StoreError> {
    use crate::proto::Body;
    let known = |a: &Attachment| -> Result<(), StoreError> {
        // only the poster's own upload is attached (another person's upload of the same
        // bytes keeps its grace period)
        conn.prepare_cached(
            "UPDATE uploads SET attached = 1 WHERE sha256 = ?1 AND attached = 0 \
             AND user_id = (SELECT local_user FROM authors WHERE id = ?2)",
        )?
        .execute(params![&a.sha256[..], author_id])?;
        conn.prepare_cached(
            "INSERT INTO media(sha256, media_type, size, width, height, orientation, state, \
                               created_ms, used_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'remote', ?7, ?7) ON CONFLICT(sha256) DO NOTHING",
        )?
        .execute(params![
            &a.sha256[..],
            a.media_type.as_str(),
            a.size as i64,
            a.width,
            a.height,
            a.orientation,
            now_ms as i64
        ])?;
        Ok(())
    };
    match body {
        Body::Pictures { attachments, .. } => {
            let mut alts = String::new();
            for (i, a) in attachments.iter().enumerate() {
                known(a)?;
                conn.prepare_cached(
                    "INSERT OR IGNORE INTO attachments(message_id, position, sha256, alt, blurhash)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    message_id,
                    i as i64,
                    &a.sha256[..],
                    a.alt,
                    a.blurhash
                ])?;
                if !a.alt.is_empty() {
                    alts.push_str(&a.alt);
                    alts.push('\n');
                }
            }
            if !alts.is_empty() {
                conn.prepare_cached("INSERT INTO alt_fts(rowid, alt) VALUES (?1, ?2)")?
                    .execute(params![message_id, alts])?;
            }
        }
        Body::Portrait { avatar, header, .. } => {
            for a in avatar.iter().chain(header.iter()) {
                known(a)?;
            }
            conn.prepare_cached("UPDATE authors SET avatar = ?2, header = ?3 WHERE id = ?1")?
                .execute(params![
                    author_id,
                    avatar.as_ref().map(|a| a.sha256.to_vec()),
                    header.as_ref().map(|a| a.sha256.to_vec())
                ])?;
        }
        Body::Profile { .. } => {
            conn.prepare_cached("UPDATE authors SET avatar = NULL, header = NULL WHERE id = ?1")?
                .execute([author_id])?;
        }
        _ => {}
    }
    Ok(())
}

/// Forgets the pictures of a withdrawn message (inside the writer's transaction); their files
/// go at the next [`Store::collect_media`] if nothing else uses them.
pub(crate) fn forget_message_media(
    conn: &rusqlite::Connection,
    author_id: i64,
    seq: u64,
) -> Result<(), StoreError> {
    let id: Option<i64> = conn
        .prepare_cached("SELECT id FROM messages WHERE author_id = ?1 AND seq = ?2")?
        .query_row(params![author_id, seq as i64], |r| r.get(0))
        .optional()?;
    if let Some(id) = id {
        conn.prepare_cached("DELETE FROM attachments WHERE message_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM alt_fts WHERE rowid = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// A message's pictures as views show them (`m` is the message), for [`super::timeline`]'s
/// view columns: one record per picture, in order, separated by U+001E, its fields by U+001F
/// (alt text and blurhash never hold control characters: [`crate::proto::attachment`]); read by
/// [`media_views`]. Not JSON: the router builds leave SQLite's JSON functions out. (A macro, so
/// that `concat!` can build the columns.)
macro_rules! media_column {
    () => {
        "(SELECT group_concat(lower(hex(t.sha256)) || char(31) || md.media_type || char(31) || \
            md.size || char(31) || md.width || char(31) || md.height || char(31) || \
            md.orientation || char(31) || t.alt || char(31) || t.blurhash, \
            char(30) ORDER BY t.position) \
         FROM attachments t JOIN media md ON md.sha256 = t.sha256 WHERE t.message_id = m.id)"
    };
}
pub(crate) use media_column;

/// The pictures of a [`media_column`] value.
pub(crate) fn media_views(column: Option<String>) -> Vec<super::messages::MediaView> {
    let Some(column) = column else {
        return Vec::new();
    };
    column
        .split('\u{1e}')
        .filter_map(|rec| {
            let f: Vec<&str> = rec.split('\u{1f}').collect();
            let [sha, kind, size, width, height, orientation, alt, blurhash] = f[..] else {
                return None;
            };
            Some(super::messages::MediaView {
                url: format!("/media/{sha}"),
                media_type: MediaType::parse(kind)?.mime().into(),
                size: size.parse().ok()?,
                width: width.parse().ok()?,
                height: height.parse().ok()?,
                orientation: orientation.parse().ok()?,
                alt: alt.into(),
                blurhash: blurhash.into(),
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
