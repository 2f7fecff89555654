//! Per-stream sequence tracking.
//!
//! One [`SeqTracker`] follows one numbered stream: an author's messages (seq from 1) or, later, a
//! multicast stream. It knows the highest seq below which everything arrived (`contiguous`),
//! which seqs within a window above it arrived out of order, and so which ranges are missing.
//!
//! Memory is fixed: a bitmap of [`SEQ_WINDOW`] bits (512 bytes), indexed by `seq % SEQ_WINDOW`.
//! Bit `s % SEQ_WINDOW` stands for seq `s` only while `contiguous < s <= contiguous + SEQ_WINDOW`;
//! a bit is cleared as `contiguous` passes it, so the invariant holds after every call.
//! A seq beyond the window is not recorded ([`Seen::BeyondWindow`]): the caller fetches the range
//! by backfill instead of buffering an unbounded amount.

use std::ops::RangeInclusive;

/// How far ahead of the contiguous point out-of-order seqs are remembered. 4096 covers several
/// seconds of a busy firehose and any sane burst of one author, in 512 bytes.
pub const SEQ_WINDOW: u64 = 4096;
const WORDS: usize = (SEQ_WINDOW / 64) as usize;

/// What [`SeqTracker::insert`] made of a seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time this seq arrived: deliver it.
    New,
    /// Already had it (or it is 0, which no stream uses): drop it.
    Duplicate,
    /// Too far ahead to remember; fetch the gap by backfill first.
    BeyondWindow,
}

/// Tracks which seqs of one stream have arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct SeqTracker {
    contiguous: u64,
    highest: u64,
    bits: [u64; WORDS],
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self::starting_after(0)
    }
}

impl std::fmt::Debug for SeqTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeqTracker")
            .field("contiguous", &self.contiguous)
            .field("highest", &self.highest)
            .finish()
    }
}

impl SeqTracker {
    /// A tracker that already has every seq up to and including `contiguous` (0 for a new
    /// stream; a late joiner starts at the stream's current seq; a restart at what is stored).
    pub fn starting_after(contiguous: u64) -> Self {
        SeqTracker {
            contiguous,
            highest: contiguous,
            bits: [0; WORDS],
        }
    }

    /// Every seq up to this one has arrived.
    pub fn contiguous(&self) -> u64 {
        self.contiguous
    }

    /// The highest seq seen (or announced by [`SeqTracker::observe_highest`]).
    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// True if `seq` is known to have arrived.
    pub fn has(&self, seq: u64) -> bool {
        seq != 0 && (seq <= self.contiguous || (self.in_window(seq) && self.bit(seq)))
    }

    /// Records that `seq` arrived.
    pub fn insert(&mut self, seq: u64) -> Seen {
        if seq == 0 || seq <= self.contiguous {
            return Seen::Duplicate;
        }
        if !self.in_window(seq) {
            return Seen::BeyondWindow;
        }
        if self.bit(seq) {
            return Seen::Duplicate;
        }
        self.set(seq, true);
        self.highest = self.highest.max(seq);
        self.advance();
        Seen::New
    }

    /// Learns that the stream has reached `seq` (from a heartbeat or a later message) without
    /// receiving it, so that tail loss shows in [`SeqTracker::missing`].
    pub fn observe_highest(&mut self, seq: u64) {
        self.highest = self.highest.max(seq);
    }

    /// Gives up on everything up to `seq` (fetched another way, or too old to repair).
    pub fn skip_to(&mut self, seq: u64) {
        if seq <= self.contiguous {
            return;
        }
        let end = seq.min(self.contiguous + SEQ_WINDOW);
        for s in self.contiguous + 1..=end {
            self.set(s, false);
        }
        self.contiguous = seq;
        self.highest = self.highest.max(seq);
        self.advance();
    }

    /// The missing ranges between `contiguous` and `highest`, oldest first, at most `max_ranges`.
    /// Ranges beyond the window are reported as one range up to `highest`.
    pub fn missing(&self, max_ranges: usize) -> Vec<RangeInclusive<u64>> {
        let mut out: Vec<RangeInclusive<u64>> = Vec::new();
        let window_end = self.highest.min(self.contiguous + SEQ_WINDOW);
        let mut s = self.contiguous + 1;
        while s <= window_end && out.len() < max_ranges {
            if self.bit(s) {
                s += 1;
                continue;
            }
            let start = s;
            while s <= window_end && !self.bit(s) {
                s += 1;
            }
            out.push(start..=s - 1);
        }
        if self.highest > window_end {
            let touches = out.last().is_some_and(|r| *r.end() == window_end);
            if touches {
                let start = out.pop().map_or(window_end, |r| *r.start());
                out.push(start..=self.highest);
            } else if out.len() < max_ranges {
                out.push(window_end + 1..=self.highest);
            }
        }
        out
    }

    fn in_window(&self, seq: u64) -> bool {
        seq > self.contiguous && seq - self.contiguous <= SEQ_WINDOW
    }

    fn bit(&self, seq: u64) -> bool {
        let i = (seq % SEQ_WINDOW) as usize;
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, seq: u64, on: bool) {
        let i = (seq % SEQ_WINDOW) as usize;
        if on {
            self.bits[i / 64] |= 1 << (i % 64);
        } else {
            self.bits[i / 64] &= !(1 << (i % 64));
        }
    }

    fn advance(&mut self) {
        while self.bit(self.contiguous + 1) {
            self.set(self.contiguous + 1, false);
            self.contiguous += 1;
        }
    }
}

#[cfg(test)]
#[path = "seq_tests.rs"]
mod tests;
