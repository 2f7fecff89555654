//! `[media]`: pictures' bounds, sized for a router.
//!
//! A household router has ~16 MB of flash shared with the system (pictures belong on a USB
//! stick or SD card where there is one) and ~128 MB of RAM. So: an upload is at most 8 MiB
//! (a phone photo; the web client shrinks photos to ≤ 2048 px first, ~0.5 MiB), a person keeps
//! at most 64 MiB, the node 256 MiB of its own pictures and 32 MiB of other nodes' (a cache,
//! fetched again when needed), and no write may leave the data directory's file system with
//! less than 4 MiB free, whatever the caps say: SQLite and the system need that room. On a
//! router with no USB storage the free-space floor is what binds, as it should.

use serde::Deserialize;

/// Highest configurable upload cap: a picture reference names at most this.
pub const MAX_UPLOAD_LIMIT: u64 = crate::proto::attachment::MAX_PICTURE_BYTES as u64;

/// `[media]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Largest picture one upload may send, in bytes.
    pub max_upload_bytes: u64,
    /// Bytes of pictures one person may keep on the node.
    pub user_quota_bytes: u64,
    /// Bytes of pictures uploaded here that the node keeps in all.
    pub max_total_bytes: u64,
    /// Bytes of other nodes' pictures kept as a cache (least recently viewed go first).
    pub cache_bytes: u64,
    /// Free bytes a picture write must leave on the data directory's file system.
    pub min_free_bytes: u64,
    /// An upload's body must arrive whole within this many seconds.
    pub upload_timeout_s: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            max_upload_bytes: 8 * 1024 * 1024,
            user_quota_bytes: 64 * 1024 * 1024,
            max_total_bytes: 256 * 1024 * 1024,
            cache_bytes: 32 * 1024 * 1024,
            min_free_bytes: 4 * 1024 * 1024,
            upload_timeout_s: 120,
        }
    }
}

impl MediaConfig {
    /// Checks the values; the error is `(key, why)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1024..=MAX_UPLOAD_LIMIT).contains(&self.max_upload_bytes) {
            return Err((
                "media.max_upload_bytes",
                format!("must be 1024 to {MAX_UPLOAD_LIMIT}"),
            ));
        }
        if self.user_quota_bytes < self.max_upload_bytes {
            return Err((
                "media.user_quota_bytes",
                "must be at least media.max_upload_bytes".into(),
            ));
        }
        if self.max_total_bytes < self.user_quota_bytes {
            return Err((
                "media.max_total_bytes",
                "must be at least media.user_quota_bytes".into(),
            ));
        }
        if !(5..=3600).contains(&self.upload_timeout_s) {
            return Err(("media.upload_timeout_s", "must be 5 to 3600".into()));
        }
        Ok(())
    }
}
