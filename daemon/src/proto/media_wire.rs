//! Link frames that carry a picture's bytes from its author's node to a reader's node
//! (link version 4).
//!
//! A message names a picture by the SHA-256 of its bytes (`super::attachment`); a node that
//! wants the bytes asks the author's node for them a chunk at a time, one chunk in flight:
//!
//! ```text
//! reader's node                                   author's node
//!   MediaGet{sha256, offset 0}          ──▶
//!                                       ◀──   MediaPart{sha256, 0, total, ≤ MEDIA_CHUNK bytes}
//!   MediaGet{sha256, offset n}          ──▶
//!                                       ◀──   MediaPart{sha256, n, total, ...}   ... to total
//!                                       ◀──   MediaMissing{sha256}   (not here, or not for you)
//! ```
//!
//! The reader keeps the bytes only if they hash to the reference, so the author's node (or a
//! hostile one) cannot swap a picture; `total` is checked against the size in the reference.
//!
//! # Byte layouts (fixed, big-endian; not postcard: each has exactly one encoding)
//!
//! ```text
//! MediaGet (27)      sha256 32 | offset u32                          = 36 bytes
//! MediaPart (28)     sha256 32 | offset u32 | total u32 | data       = 40 + 1..=MEDIA_CHUNK bytes
//!                    1 ≤ total ≤ MAX_PICTURE_BYTES, offset + len(data) ≤ total
//! MediaMissing (29)  sha256 32                                       = 32 bytes
//! ```
//!
//! "Missing" means the node has no bytes it will give this peer: it does not hold the picture,
//! the picture is not one of its authors' that the peer may see, or the offset is past its end.
//! The reader gives up on that fetch; it does not ask again for the same picture at once.

use super::attachment::MAX_PICTURE_BYTES;
use super::ProtoError;

/// Most picture bytes one MediaPart carries: 32 KiB, half a link's send queue
/// (`net::link::SEND_QUEUE_BYTES`), so a chunk never waits for a whole queue to drain, and an
/// 8 MiB photo is 256 round trips.
pub const MEDIA_CHUNK: usize = 32 * 1024;
/// Bytes of a MediaGet payload.
pub const GET_LEN: usize = 36;
/// Bytes of a MediaPart payload before its data.
pub const PART_HEADER_LEN: usize = 40;
/// Bytes of a MediaMissing payload.
pub const MISSING_LEN: usize = 32;

/// Asks for the chunk of a picture that starts at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaGet {
    /// The picture.
    pub sha256: [u8; 32],
    /// First byte wanted.
    pub offset: u32,
}

/// One chunk of a picture's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPart {
    /// The picture.
    pub sha256: [u8; 32],
    /// Where `data` starts in the picture.
    pub offset: u32,
    /// The picture's whole size in bytes.
    pub total: u32,
    /// The bytes: 1..=[`MEDIA_CHUNK`] of them, ending at or before `total`.
    pub data: Vec<u8>,
}

/// The node will not give this picture to the asking node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaMissing {
    /// The picture.
    pub sha256: [u8; 32],
}

fn malformed(what: &'static str, why: &str) -> ProtoError {
    ProtoError::Malformed {
        what,
        why: why.into(),
    }
}

fn sha_at(b: &[u8]) -> [u8; 32] {
    let mut s = [0u8; 32];
    s.copy_from_slice(&b[..32]);
    s
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl MediaGet {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(GET_LEN);
        out.extend_from_slice(&self.sha256);
        out.extend_from_slice(&self.offset.to_be_bytes());
        out
    }

    /// Decodes a payload of exactly [`GET_LEN`] bytes.
    pub fn decode(b: &[u8]) -> Result<Self, ProtoError> {
        if b.len() != GET_LEN {
            return Err(malformed("media get", "not 36 bytes"));
        }
        Ok(MediaGet {
            sha256: sha_at(b),
            offset: u32_at(b, 32),
        })
    }
}

impl MediaPart {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PART_HEADER_LEN + self.data.len());
        out.extend_from_slice(&self.sha256);
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Decodes a payload: the length is checked before the data is copied, and the chunk must
    /// be non-empty, at most [`MEDIA_CHUNK`] bytes and inside `total`.
    pub fn decode(b: &[u8]) -> Result<Self, ProtoError> {
        if b.len() > PART_HEADER_LEN + MEDIA_CHUNK {
            return Err(ProtoError::TooLarge {
                what: "media part",
                got: b.len(),
                max: PART_HEADER_LEN + MEDIA_CHUNK,
            });
        }
        if b.len() <= PART_HEADER_LEN {
            return Err(malformed("media part", "no data"));
        }
        let (offset, total) = (u32_at(b, 32), u32_at(b, 36));
        if total == 0 || total > MAX_PICTURE_BYTES {
            return Err(malformed("media part", "total out of range"));
        }
        let len = (b.len() - PART_HEADER_LEN) as u64;
        if u64::from(offset) + len > u64::from(total) {
            return Err(malformed("media part", "data past the total"));
        }
        Ok(MediaPart {
            sha256: sha_at(b),
            offset,
            total,
            data: b[PART_HEADER_LEN..].to_vec(),
        })
    }
}

impl MediaMissing {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.sha256.to_vec()
    }

    /// Decodes a payload of exactly [`MISSING_LEN`] bytes.
    pub fn decode(b: &[u8]) -> Result<Self, ProtoError> {
        if b.len() != MISSING_LEN {
            return Err(malformed("media missing", "not 32 bytes"));
        }
        Ok(MediaMissing { sha256: sha_at(b) })
    }
}

#[cfg(test)]
#[path = "media_wire_tests.rs"]
mod tests;
