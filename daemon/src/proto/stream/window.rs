//! The sender's repair window: the last datagrams it sent, kept so NACKed ones can be resent.
//!
//! Bounded twice, by datagram count and by bytes (a large message fetched over TCP counts with
//! its body), and always contiguous in seq: the oldest datagram goes first. A seq below the
//! window is gone; the receiver fetches it by backfill instead.

use std::collections::VecDeque;

/// Bounds of a [`RepairWindow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimits {
    /// Most datagrams kept.
    pub max_datagrams: usize,
    /// Most bytes kept (datagrams plus large-message bodies).
    pub max_bytes: usize,
}

impl WindowLimits {
    /// A router sending its own household's posts: 1 MiB of a 128 MB device. At a few posts a
    /// minute that is hours of history, at a busy 100 datagrams/s still ~9 s of repair.
    pub const ROUTER: WindowLimits = WindowLimits {
        max_datagrams: 1024,
        max_bytes: 1024 * 1024,
    };
    /// A hub multicasting the firehose for many nodes: 64 MiB covers the 30 s repair horizon
    /// ([`super::event::GIVE_UP_MS`]) of a ~2 MB/s firehose.
    pub const HUB: WindowLimits = WindowLimits {
        max_datagrams: 64 * 1024,
        max_bytes: 64 * 1024 * 1024,
    };
}

/// Bookkeeping per kept datagram, counted into the byte bound.
const SENT_OVERHEAD: usize = 48;

/// One datagram kept for repair.
#[derive(Debug, Clone)]
pub struct Sent {
    /// First seq it carries.
    pub first: u64,
    /// Last seq it carries.
    pub last: u64,
    /// The signed datagram exactly as first sent.
    pub datagram: Vec<u8>,
    /// The body of a large message (BigAnnounce), for fetching over TCP.
    pub large: Option<Vec<u8>>,
}

impl Sent {
    fn cost(&self) -> usize {
        SENT_OVERHEAD + self.datagram.len() + self.large.as_ref().map_or(0, Vec::len)
    }
}

/// Recently sent datagrams, oldest first, within [`WindowLimits`].
#[derive(Debug)]
pub struct RepairWindow {
    sent: VecDeque<Sent>,
    bytes: usize,
    limits: WindowLimits,
}

impl RepairWindow {
    /// An empty window.
    pub fn new(limits: WindowLimits) -> Self {
        RepairWindow {
            sent: VecDeque::new(),
            bytes: 0,
            limits,
        }
    }

    /// Keeps a datagram (seqs must follow the previous one's), dropping the oldest over bounds.
    pub fn push(&mut self, sent: Sent) {
        self.bytes += sent.cost();
        self.sent.push_back(sent);
        while self.sent.len() > self.limits.max_datagrams || self.bytes > self.limits.max_bytes {
            match self.sent.pop_front() {
                Some(old) => self.bytes -= old.cost(),
                None => break,
            }
        }
    }

    /// The lowest seq that can still be resent.
    pub fn oldest(&self) -> Option<u64> {
        self.sent.front().map(|s| s.first)
    }

    /// The kept datagram carrying `seq`.
    pub fn find(&self, seq: u64) -> Option<&Sent> {
        let i = self.sent.partition_point(|s| s.last < seq);
        self.sent.get(i).filter(|s| s.first <= seq)
    }

    /// Bytes held, by the same measure as the bound.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Datagrams held.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(first: u64, last: u64, size: usize) -> Sent {
        Sent {
            first,
            last,
            datagram: vec![0; size],
            large: None,
        }
    }

    #[test]
    fn finds_by_seq_and_evicts_by_count_and_bytes() {
        let mut w = RepairWindow::new(WindowLimits {
            max_datagrams: 3,
            max_bytes: 10_000,
        });
        w.push(sent(1, 3, 100));
        w.push(sent(4, 4, 100));
        w.push(sent(5, 9, 100));
        assert_eq!(w.find(2).map(|s| s.first), Some(1));
        assert_eq!(w.find(7).map(|s| s.first), Some(5));
        assert!(w.find(10).is_none() && w.find(0).is_none());
        w.push(sent(10, 10, 100));
        assert_eq!((w.oldest(), w.len()), (Some(4), 3));
        assert!(w.find(2).is_none());
        w.push(sent(11, 11, 9_900));
        assert!(w.bytes() <= 10_000);
        assert_eq!(w.oldest(), Some(11));
    }
}
