//! A remote person's recent public posts, fetched from their node when someone here opens
//! their profile before anyone here follows them (as Mastodon shows an account's recent
//! posts). The node asks the author's node for the author's key and newest seq
//! (`proto::conversation`), then for the last [`PREVIEW_POSTS`] seqs by Backfill; the author's
//! node sends the public ones and a Withheld for the rest. The messages are verified and kept
//! like any other (no timeline rows), so the profile lists them.
//!
//! Bounded: at most [`MAX_PREVIEWS`] authors at once, [`PREVIEW_POSTS`] messages each, a
//! fetch at most once per author per [`PREVIEW_TTL_MS`], and the asking request waits at most
//! [`PREVIEW_WAIT`]. Sans-IO: [`Previews`] is the table; [`Net::preview`] drives it.

use super::{Net, NetError};
use crate::proto::conversation::AuthorKeyQuery;
use crate::proto::link as wire;
use crate::proto::{Address, FrameType};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Messages one preview takes.
pub const PREVIEW_POSTS: u64 = 20;
/// Authors previewed at once.
pub const MAX_PREVIEWS: usize = 64;
/// How long a preview stays open for its messages, and the shortest time between two
/// fetches of one author.
pub const PREVIEW_TTL_MS: u64 = 30_000;
/// Longest a profile request waits for the author's node.
pub const PREVIEW_WAIT: Duration = Duration::from_secs(4);
/// The part of [`PREVIEW_WAIT`] given to the domain's WebFinger first (a fediverse account).
pub const FEDIVERSE_PREVIEW_WAIT: Duration = Duration::from_secs(2);

/// One author's preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Preview {
    started_ms: u64,
    /// Messages it may still take.
    remaining: u64,
    /// The author's node has answered with everything it sends (Withheld, or nothing to send).
    finished: bool,
}

/// The open previews.
#[derive(Debug, Default)]
pub struct Previews {
    open: HashMap<String, Preview>,
}

impl Previews {
    /// Opens a preview of `author` at `now_ms`; false if one is open or was within the TTL,
    /// or the table is full.
    pub fn start(&mut self, author: &Address, now_ms: u64) -> bool {
        self.open
            .retain(|_, p| now_ms.saturating_sub(p.started_ms) < PREVIEW_TTL_MS);
        if self.open.contains_key(author.as_str()) || self.open.len() >= MAX_PREVIEWS {
            return false;
        }
        self.open.insert(
            author.to_string(),
            Preview {
                started_ms: now_ms,
                remaining: PREVIEW_POSTS,
                finished: false,
            },
        );
        true
    }

    /// True if a message of `author` is wanted by its open preview (and counts it).
    pub fn take(&mut self, author: &Address, now_ms: u64) -> bool {
        match self.open.get_mut(author.as_str()) {
            Some(p)
                if p.remaining > 0
                    && !p.finished
                    && now_ms.saturating_sub(p.started_ms) < PREVIEW_TTL_MS =>
            {
                p.remaining -= 1;
                true
            }
            _ => false,
        }
    }

    /// True if `author`'s preview is open and has not asked for messages yet (then marks it
    /// asked, by `last_seq`: with nothing to fetch it is finished).
    pub fn wants_range(&mut self, author: &Address, last_seq: u64) -> Option<(u64, u64)> {
        let p = self.open.get_mut(author.as_str())?;
        if p.finished || p.remaining != PREVIEW_POSTS {
            return None;
        }
        if last_seq == 0 {
            p.finished = true;
            return None;
        }
        Some((last_seq.saturating_sub(PREVIEW_POSTS - 1).max(1), last_seq))
    }

    /// The author's node sent all it will (its Withheld after the range).
    pub fn finish(&mut self, author: &Address) {
        if let Some(p) = self.open.get_mut(author.as_str()) {
            p.finished = true;
        }
    }

    /// True once `author`'s preview has all it will get (or is gone).
    pub fn done(&self, author: &Address) -> bool {
        self.open
            .get(author.as_str())
            .is_none_or(|p| p.finished || p.remaining == 0)
    }
}

impl Net {
    /// Fetches `author`'s recent public posts from their node, waiting at most
    /// [`PREVIEW_WAIT`]; Ok(false) if no fetch was started (one ran lately, or the table is
    /// full).
    pub async fn preview(self: &Arc<Self>, author: &Address) -> Result<bool, NetError> {
        let started = self
            .previews
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .start(author, crate::now_ms());
        if !started {
            return Ok(false);
        }
        let t0 = std::time::Instant::now();
        if !self.discovery.is_static(author.domain()) {
            // A fediverse account (its domain's WebFinger names an actor) is made known here;
            // the lookup goes on after its share of the wait, so that a search again finds it.
            // A domain whose web site is slow or says nothing usable gets msm's own preview in
            // the time left.
            let (net, who) = (self.clone(), author.clone());
            let lookup =
                tokio::spawn(async move { crate::fediverse::follow::preview(&net, &who).await });
            match tokio::time::timeout(FEDIVERSE_PREVIEW_WAIT, lookup).await {
                Ok(Ok(Some(Ok(known)))) => {
                    self.previews
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .finish(author);
                    return Ok(known);
                }
                Ok(Ok(Some(Err(why)))) => {
                    tracing::debug!(%author, %why, "no fediverse account; asking msm's links");
                }
                Ok(_) | Err(_) => {}
            }
        }
        let asked = tokio::time::timeout(PREVIEW_WAIT.saturating_sub(t0.elapsed()), async {
            let link = self.link_to(author.domain()).await?;
            if link.version < 3 {
                return Ok(());
            }
            let q = AuthorKeyQuery {
                author: author.clone(),
            };
            link.send(FrameType::AuthorKeyQuery, wire::encode(&q))
                .await?;
            while !self
                .previews
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .done(author)
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<(), NetError>(())
        })
        .await;
        match asked {
            Ok(r) => r.map(|()| true),
            Err(_) => Ok(true), // what came in time is shown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn a_preview_takes_its_range_and_no_more() {
        let mut p = Previews::default();
        let bob = a("bob@b.test");
        assert!(!p.take(&bob, 0), "nothing without a preview");
        assert!(p.start(&bob, 0));
        assert!(!p.start(&bob, 1), "one at a time");
        assert_eq!(p.wants_range(&bob, 57), Some((38, 57)));
        for _ in 0..PREVIEW_POSTS {
            assert!(p.take(&bob, 2));
        }
        assert!(!p.take(&bob, 3), "no more than the range");
        assert!(p.done(&bob));
        assert!(!p.start(&bob, 4), "not again within the TTL");
        assert!(p.start(&bob, PREVIEW_TTL_MS));
        assert_eq!(p.wants_range(&bob, 3), Some((1, 3)));
        p.finish(&bob);
        assert!(p.done(&bob) && !p.take(&bob, PREVIEW_TTL_MS + 1));
    }

    #[test]
    fn an_author_with_no_posts_finishes_at_once_and_the_table_is_bounded() {
        let mut p = Previews::default();
        assert!(p.start(&a("new@b.test"), 0));
        assert_eq!(p.wants_range(&a("new@b.test"), 0), None);
        assert!(p.done(&a("new@b.test")));
        for i in 1..MAX_PREVIEWS {
            assert!(p.start(&a(&format!("u{i}@b.test")), 0));
        }
        assert!(!p.start(&a("late@b.test"), 1), "full");
        assert!(p.start(&a("late@b.test"), PREVIEW_TTL_MS), "old ones go");
    }
}
