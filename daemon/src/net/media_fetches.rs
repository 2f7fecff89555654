//! The fetches of pictures' bytes in flight, sans-IO: which pictures are being fetched, from
//! which node, how far each has come, and the one chunk each may hold until its fetch takes
//! it. [`super::media`] drives it: it asks for each chunk, and the link's reader hands the
//! answers in here, where they are checked against what was asked.
//!
//! Bounded: at most [`MAX_MEDIA_FETCHES`] pictures at once, one chunk in flight each (so at
//! most `MAX_MEDIA_FETCHES × MEDIA_CHUNK` bytes held here), one fetch per picture, and a
//! fetch older than [`MEDIA_FETCH_WAIT_MS`] is dropped by the next [`MediaFetches::start`].
//! Any answer that is not exactly the chunk asked for (another offset, another total than the
//! reference's size, an answer nobody asked for) fails the fetch: nothing of it is kept.

use crate::proto::media_wire::{MediaMissing, MediaPart};
use std::collections::HashMap;

/// Pictures fetched at once (a router's link and flash are slow; a page shows a few at a time).
pub const MAX_MEDIA_FETCHES: usize = 4;
/// Longest one fetch may take in all, in ms (an 8 MiB photo from a node on a slow uplink).
pub const MEDIA_FETCH_WAIT_MS: u64 = 20_000;

/// What [`MediaFetches::start`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The caller fetches the picture now.
    Go,
    /// The picture is being fetched already: wait for that fetch.
    Busy,
    /// [`MAX_MEDIA_FETCHES`] are in flight.
    Full,
}

/// What came of the chunk a fetch asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrived {
    /// The next bytes, at the offset asked.
    Chunk(Vec<u8>),
    /// The node will not give the picture.
    Missing,
    /// The node broke the exchange; the fetch is over.
    Failed(&'static str),
}

/// One picture being fetched.
#[derive(Debug)]
struct Fetch {
    /// The node asked (the author's domain).
    domain: String,
    /// The size the reference gives.
    size: u32,
    started_ms: u64,
    /// Offset of the chunk asked for, if one is in flight.
    asked: Option<u32>,
    /// Bytes taken so far (the next offset to ask).
    taken: u32,
    arrived: Option<Arrived>,
}

/// The fetches in flight.
#[derive(Debug, Default)]
pub struct MediaFetches {
    open: HashMap<[u8; 32], Fetch>,
}

impl MediaFetches {
    /// Opens a fetch of `sha256` (`size` bytes by its reference) from `domain`'s node.
    pub fn start(&mut self, sha256: [u8; 32], domain: &str, size: u32, now_ms: u64) -> Start {
        self.open
            .retain(|_, f| now_ms.saturating_sub(f.started_ms) < MEDIA_FETCH_WAIT_MS);
        if self.open.contains_key(&sha256) {
            return Start::Busy;
        }
        if self.open.len() >= MAX_MEDIA_FETCHES {
            return Start::Full;
        }
        self.open.insert(
            sha256,
            Fetch {
                domain: domain.to_string(),
                size,
                started_ms: now_ms,
                asked: None,
                taken: 0,
                arrived: None,
            },
        );
        Start::Go
    }

    /// The offset of the next chunk to ask for, marking it asked; None when the fetch has all
    /// its bytes, has a chunk in flight, or is gone.
    pub fn ask(&mut self, sha256: &[u8; 32]) -> Option<u32> {
        let f = self.open.get_mut(sha256)?;
        if f.asked.is_some() || f.arrived.is_some() || f.taken >= f.size {
            return None;
        }
        f.asked = Some(f.taken);
        Some(f.taken)
    }

    /// A MediaPart from `domain`'s link. Returns true if a fetch took it (as a chunk or as
    /// its failure); false if no fetch of that picture from that node is open (a late answer).
    pub fn on_part(&mut self, domain: &str, part: MediaPart) -> bool {
        let Some(f) = self.open.get_mut(&part.sha256) else {
            return false;
        };
        if f.domain != domain {
            return false;
        }
        let verdict = match f.asked {
            _ if f.arrived.is_some() => Arrived::Failed("a chunk that was not asked for"),
            None => Arrived::Failed("a chunk that was not asked for"),
            Some(_) if part.total != f.size => {
                Arrived::Failed("the picture's size differs from its reference")
            }
            Some(at) if part.offset != at => Arrived::Failed("a chunk at another offset"),
            Some(at) if u64::from(at) + part.data.len() as u64 > u64::from(f.size) => {
                Arrived::Failed("bytes past the picture's size")
            }
            Some(_) => {
                f.taken += part.data.len() as u32;
                Arrived::Chunk(part.data)
            }
        };
        f.asked = None;
        f.arrived = Some(verdict);
        true
    }

    /// A MediaMissing from `domain`'s link; true if a fetch took it.
    pub fn on_missing(&mut self, domain: &str, m: MediaMissing) -> bool {
        match self.open.get_mut(&m.sha256) {
            Some(f) if f.domain == domain => {
                f.asked = None;
                f.arrived = Some(Arrived::Missing);
                true
            }
            _ => false,
        }
    }

    /// Takes what arrived for the fetch of `sha256`, if anything. A failure stays (the
    /// fetch is over); a chunk makes room for the next ask.
    pub fn take(&mut self, sha256: &[u8; 32]) -> Option<Arrived> {
        let f = self.open.get_mut(sha256)?;
        match f.arrived.take()? {
            Arrived::Chunk(d) => Some(Arrived::Chunk(d)),
            other => {
                f.arrived = Some(other.clone());
                Some(other)
            }
        }
    }

    /// True if the fetch of `sha256` has taken all its bytes.
    pub fn complete(&self, sha256: &[u8; 32]) -> bool {
        self.open.get(sha256).is_some_and(|f| f.taken == f.size)
    }

    /// True while a fetch of `sha256` is open.
    pub fn in_flight(&self, sha256: &[u8; 32]) -> bool {
        self.open.contains_key(sha256)
    }

    /// Closes the fetch of `sha256` (done, failed or given up).
    pub fn finish(&mut self, sha256: &[u8; 32]) {
        self.open.remove(sha256);
    }

    /// Bytes of chunks held, waiting for their fetches.
    pub fn held_bytes(&self) -> usize {
        self.open
            .values()
            .map(|f| match &f.arrived {
                Some(Arrived::Chunk(d)) => d.len(),
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
#[path = "media_fetches_tests.rs"]
mod tests;
