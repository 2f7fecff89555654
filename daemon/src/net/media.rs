//! Pictures' bytes between nodes (link version 4, `proto::media_wire`), both sides.
//!
//! Serving: a MediaGet is answered with the chunk at its offset, read from the file, if one of
//! this node's authors published the picture to the asking server (`Store::media_servable`:
//! publicly, to followers the server subscribes for, or directly to someone there); else with
//! MediaMissing. A link that did not prove its domain gets public pictures only. Requests of one link are handled
//! in order and each answer waits for room in the link's send queue
//! (`link::SEND_QUEUE_BYTES`), so a peer that floods MediaGet makes this node hold at most
//! one chunk it read beside the queue, and a peer that does not read is dropped.
//!
//! Fetching: [`Net::fetch_media`] asks the author's node for a picture's bytes a chunk at a
//! time into a new file, which is kept only if its bytes hash to the picture's SHA-256; the
//! [`MediaFetches`] table checks each answer and bounds the fetches in flight.

use super::link::Link;
use super::media_fetches::{Arrived, MediaFetches, Start, MEDIA_FETCH_WAIT_MS};
use super::{Net, NetError};
use crate::proto::attachment::{hex, MAX_PICTURE_BYTES};
use crate::proto::frame::OwnedFrame;
use crate::proto::media_wire::{MediaGet, MediaMissing, MediaPart, MEDIA_CHUNK};
use crate::proto::{Address, FrameType};
use crate::store::media_files::{MediaFiles, NewFile};
use crate::store::StoreError;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Duration;

/// Oldest link version that carries the picture frames.
pub const MEDIA_VERSION: u32 = 4;
/// Longest [`Net::fetch_media`] takes, waiting for another fetch of the same picture included.
pub const MEDIA_FETCH_WAIT: Duration = Duration::from_millis(MEDIA_FETCH_WAIT_MS);
/// How often an asker waiting for another's fetch of the same picture looks again.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Handles a picture frame from `link`; a malformed one closes the link.
pub async fn handle(net: &Arc<Net>, link: &Arc<Link>, f: OwnedFrame) -> Result<(), NetError> {
    match f.kind {
        FrameType::MediaGet => serve(net, link, MediaGet::decode(&f.payload)?).await,
        FrameType::MediaPart => {
            let part = MediaPart::decode(&f.payload)?;
            if link.verified && fetches(net).on_part(&link.peer_domain, part) {
                net.media_arrived.notify_waiters();
            }
            Ok(())
        }
        FrameType::MediaMissing => {
            let m = MediaMissing::decode(&f.payload)?;
            if link.verified && fetches(net).on_missing(&link.peer_domain, m) {
                net.media_arrived.notify_waiters();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The fetch table, locked: bind what a call returns before awaiting or locking again (a
/// guard kept alive by a `match` on the call would deadlock the next lock).
fn fetches(net: &Net) -> std::sync::MutexGuard<'_, MediaFetches> {
    net.media_fetches.lock().unwrap_or_else(|p| p.into_inner())
}

/// Answers a MediaGet: the chunk, or MediaMissing.
async fn serve(net: &Arc<Net>, link: &Arc<Link>, get: MediaGet) -> Result<(), NetError> {
    // A link that did not prove its domain gets public pictures only: the empty server
    // name is subscribed to nothing and mentioned by no one.
    let server = if link.verified {
        link.peer_domain.clone()
    } else {
        String::new()
    };
    let part = net
        .pool
        .run(move |s| {
            if !s.media_servable(&get.sha256, &server)? {
                return Ok(None);
            }
            Ok(read_chunk(&MediaFiles::of(s), get))
        })
        .await?;
    match part {
        Some(p) => link.send(FrameType::MediaPart, p.encode()).await,
        None => {
            let m = MediaMissing { sha256: get.sha256 };
            link.send(FrameType::MediaMissing, m.encode()).await
        }
    }
}

/// The chunk of the file at `get.offset`: at most [`MEDIA_CHUNK`] bytes; None if the file is
/// not there, unreadable, empty, over [`MAX_PICTURE_BYTES`] or shorter than the offset.
fn read_chunk(files: &MediaFiles, get: MediaGet) -> Option<MediaPart> {
    let (mut f, len) = files.open(&get.sha256).ok()?;
    let total = u32::try_from(len)
        .ok()
        .filter(|t| (1..=MAX_PICTURE_BYTES).contains(t))?;
    if get.offset >= total {
        return None;
    }
    let want = (total - get.offset).min(MEDIA_CHUNK as u32) as usize;
    let mut data = Vec::with_capacity(want);
    let read = f
        .seek(SeekFrom::Start(u64::from(get.offset)))
        .and_then(|_| (&mut f).take(want as u64).read_to_end(&mut data));
    match read {
        Ok(n) if n == want => Some(MediaPart {
            sha256: get.sha256,
            offset: get.offset,
            total,
            data,
        }),
        Ok(_) => None, // the file shrank under us
        Err(e) => {
            tracing::warn!(picture = %hex(&get.sha256), error = %e, "reading a picture failed");
            None
        }
    }
}

/// Closes a fetch's entry in the table however the fetch ends (a dropped request included).
struct FetchGuard<'a> {
    net: &'a Net,
    sha256: [u8; 32],
}

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        fetches(self.net).finish(&self.sha256);
    }
}

impl Net {
    /// Makes the file of another node's picture `sha256` present on this node, fetching it
    /// from its author's node if it is not here yet, within [`MEDIA_FETCH_WAIT`].
    ///
    /// `Ok(())` means the file is in place (`MediaFiles::of(store).open(&sha256)` works) and
    /// its `media` row is `cached` (or `local`): the bytes hashed to `sha256` and their
    /// length is the reference's size. The cache is then brought back within
    /// `media.cache_bytes` (least recently used pictures evicted, never this one).
    ///
    /// Errors, nothing kept in each case:
    /// - [`NetError::NoSuchMedia`]: no message or profile of another node's author names it
    ///   (a 404 for a viewer);
    /// - [`NetError::MediaBusy`]: [`super::media_fetches::MAX_MEDIA_FETCHES`] fetches are
    ///   in flight (try again shortly);
    /// - [`NetError::MediaRefused`]: the author's node says it will not give it, is too old
    ///   to carry pictures, broke the exchange, sent bytes that do not hash to it, or did not
    ///   finish in time; also a picture larger than the whole cache;
    /// - link errors ([`NetError::LinkLost`], [`NetError::Unreachable`], ...), store and
    ///   file errors.
    ///
    /// A second caller for a picture being fetched waits for that fetch and gets its outcome
    /// (Ok if the file is then in place). Callers decide who may see the picture
    /// (`Store::media_visible`) before calling this.
    pub async fn fetch_media(self: &Arc<Self>, sha256: [u8; 32]) -> Result<(), NetError> {
        let (files, source, have) = self
            .pool
            .run(move |s| {
                Ok((
                    MediaFiles::of(s),
                    s.media_source(&sha256)?,
                    s.media_has_file(&sha256)?,
                ))
            })
            .await?;
        if have && files.exists(&sha256) {
            return Ok(());
        }
        let not_known = || NetError::NoSuchMedia(hex(&sha256));
        let source = source.ok_or_else(not_known)?;
        let author = Address::parse(&source.author).map_err(|_| not_known())?;
        let domain = author.domain().to_string();
        let size = u32::try_from(source.info.size)
            .ok()
            .filter(|s| (1..=MAX_PICTURE_BYTES).contains(s))
            .ok_or_else(not_known)?;
        let refused = |why: &str| NetError::MediaRefused {
            domain: domain.clone(),
            sha: hex(&sha256),
            why: why.to_string(),
        };
        if domain == self.domain {
            return Err(not_known());
        }
        if u64::from(size) > self.settings.media_cache_bytes {
            return Err(refused("it is larger than this node's picture cache"));
        }
        let start = fetches(self).start(sha256, &domain, size, crate::now_ms());
        match start {
            Start::Go => {}
            Start::Full => return Err(NetError::MediaBusy),
            Start::Busy => return self.wait_for_other(sha256, &files, refused).await,
        }
        let _guard = FetchGuard { net: self, sha256 };
        let fetched =
            tokio::time::timeout(MEDIA_FETCH_WAIT, self.stream_media(sha256, &domain, &files))
                .await
                .unwrap_or_else(|_| Err(refused("it did not finish in time")))?;
        let Some(file) = fetched else {
            return Err(refused("its node sent less than the picture's size"));
        };
        let committed = {
            let files = files.clone();
            tokio::task::spawn_blocking(move || files.commit(file, Some(&sha256)))
                .await
                .map_err(|_| StoreError::ShuttingDown)?
        };
        match committed {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                tracing::warn!(%domain, picture = %hex(&sha256), "fetched bytes do not match the picture's hash");
                return Err(refused("its bytes do not hash to the picture's reference"));
            }
            Err(e) => return Err(e.into()),
        }
        let cache = self.settings.media_cache_bytes;
        self.pool
            .run(move |s| {
                let now = crate::now_ms();
                s.media_cached(&sha256, now)?;
                for f in s.collect_media(now, cache)?.files {
                    files.remove(&f);
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Another caller is fetching `sha256`: waits until it is done and says whether the
    /// file is there.
    async fn wait_for_other(
        &self,
        sha256: [u8; 32],
        files: &MediaFiles,
        refused: impl Fn(&str) -> NetError,
    ) -> Result<(), NetError> {
        let waited = tokio::time::timeout(MEDIA_FETCH_WAIT, async {
            while fetches(self).in_flight(&sha256) {
                tokio::time::sleep(WAIT_POLL).await;
            }
        })
        .await;
        let have = self.pool.run(move |s| s.media_has_file(&sha256)).await?;
        match waited {
            Ok(()) if have && files.exists(&sha256) => Ok(()),
            Ok(()) => Err(refused("the fetch of it failed")),
            Err(_) => Err(refused("it did not finish in time")),
        }
    }

    /// Asks `domain`'s node for the picture chunk by chunk into a new file; the file when
    /// all of the reference's size arrived (not yet checked against the hash).
    async fn stream_media(
        self: &Arc<Self>,
        sha256: [u8; 32],
        domain: &str,
        files: &MediaFiles,
    ) -> Result<Option<NewFile>, NetError> {
        let refused = |why: &str| NetError::MediaRefused {
            domain: domain.to_string(),
            sha: hex(&sha256),
            why: why.to_string(),
        };
        let link = self.link_to(domain).await?;
        if link.version < MEDIA_VERSION {
            return Err(refused("its node is too old to carry pictures"));
        }
        let mut file = Some(files.create()?);
        loop {
            let next = fetches(self).ask(&sha256);
            let Some(offset) = next else {
                break;
            };
            let get = MediaGet { sha256, offset };
            link.send(FrameType::MediaGet, get.encode()).await?;
            let data = match self.arrival(&link, &sha256).await? {
                Arrived::Chunk(d) => d,
                Arrived::Missing => return Err(refused("its node does not give it to this one")),
                Arrived::Failed(why) => return Err(refused(why)),
            };
            let mut f = file.take().ok_or(StoreError::ShuttingDown)?;
            let f = tokio::task::spawn_blocking(move || f.write_all(&data).map(|()| f))
                .await
                .map_err(|_| StoreError::ShuttingDown)??;
            file = Some(f);
        }
        Ok(file.filter(|_| fetches(self).complete(&sha256)))
    }

    /// Waits for the answer to the chunk a fetch asked for, or the link's end.
    async fn arrival(&self, link: &Link, sha256: &[u8; 32]) -> Result<Arrived, NetError> {
        loop {
            let notified = self.media_arrived.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let arrived = fetches(self).take(sha256);
            if let Some(a) = arrived {
                return Ok(a);
            }
            if !link.is_open() {
                return Err(NetError::LinkLost(link.peer_domain.clone()));
            }
            tokio::select! {
                _ = notified => {}
                _ = link.wait_closed() => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
