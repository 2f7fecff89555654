//! At most one key refresh per author per interval. A message that fails its signature (or
//! comes before its author's key) makes the node ask the author's node again, as the key may
//! have rotated; anyone can send such messages, so without a gate every forged frame would
//! cost a Subscribe with its backfill at the author's node. Sans-IO: `now_ms` is passed in.

use std::collections::HashMap;

/// Shortest time between two refreshes of one author's key: 10 minutes. A real rotation
/// is rare and the refresh after it comes at most this late; a forger gets one Subscribe out
/// of this node per author per interval.
pub const KEY_REFRESH_INTERVAL_MS: u64 = 10 * 60 * 1000;
/// [`KEY_REFRESH_INTERVAL_MS`] as a duration, for docs and logs.
pub const KEY_REFRESH_INTERVAL: std::time::Duration =
    std::time::Duration::from_millis(KEY_REFRESH_INTERVAL_MS);
/// Authors remembered at once (about 64 bytes each, so 64 KiB at most). Only followed authors
/// get here; a node that follows more and sees all of them forged within one interval
/// refreshes the overflow one interval later.
pub const MAX_TRACKED_AUTHORS: usize = 1024;

/// When each author's key was last refreshed.
#[derive(Debug, Default)]
pub struct RefreshGate {
    last: HashMap<String, u64>,
}

impl RefreshGate {
    /// True if `author`'s key may be refreshed now (and notes it); false if it was within
    /// [`KEY_REFRESH_INTERVAL_MS`], or the table is full of recent ones.
    pub fn try_start(&mut self, author: &str, now_ms: u64) -> bool {
        let recent = |t: &u64| now_ms.saturating_sub(*t) < KEY_REFRESH_INTERVAL_MS;
        if self.last.get(author).is_some_and(recent) {
            return false;
        }
        if self.last.len() >= MAX_TRACKED_AUTHORS {
            self.last.retain(|_, t| recent(t));
            if self.last.len() >= MAX_TRACKED_AUTHORS {
                return false;
            }
        }
        self.last.insert(author.to_string(), now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_per_author_per_interval() {
        let mut g = RefreshGate::default();
        assert!(g.try_start("bob@b.test", 1_000));
        for t in [1_001, 5_000, 1_000 + KEY_REFRESH_INTERVAL_MS - 1] {
            assert!(!g.try_start("bob@b.test", t), "at {t}");
        }
        assert!(g.try_start("carol@c.test", 2_000), "authors are apart");
        assert!(g.try_start("bob@b.test", 1_000 + KEY_REFRESH_INTERVAL_MS));
    }

    #[test]
    fn the_table_is_bounded_and_forgets_old_entries() {
        let mut g = RefreshGate::default();
        for i in 0..MAX_TRACKED_AUTHORS {
            assert!(g.try_start(&format!("a{i}@x.test"), 0));
        }
        assert!(!g.try_start("late@x.test", 1), "full of recent ones");
        assert_eq!(g.last.len(), MAX_TRACKED_AUTHORS);
        assert!(g.try_start("late@x.test", KEY_REFRESH_INTERVAL_MS));
        assert_eq!(g.last.len(), 1, "old entries pruned");
    }
}
