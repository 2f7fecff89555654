//! The receiver's NACK timers, one per missing range.
//!
//! A gap is first NACKed after a random backoff (so a datagram that is merely reordered can still
//! arrive, and many receivers of one multicast loss do not all ask in the same millisecond), then
//! every repeat interval, and given up on after the give-up time. Gaps come from
//! [`crate::proto::seq::SeqTracker::missing`]; when that list changes (a repair fills part of a
//! gap, a new hole opens), each new gap keeps the earliest timers of the old gaps it overlaps.

use super::rng::SplitMix64;
use std::ops::RangeInclusive;

/// Most gaps timed at once. 64 separate holes in a 4096-seq window is already a badly broken
/// link; holes above the 64th wait until lower ones close (they are then timed from that moment).
pub const MAX_GAPS: usize = 64;

/// One missing range and its timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The missing seqs.
    pub range: RangeInclusive<u64>,
    /// When the gap was first noticed.
    pub since: u64,
    /// When it is next NACKed.
    pub nack_at: u64,
}

/// Timers of the current gaps, oldest seq first, at most [`MAX_GAPS`].
#[derive(Debug, Clone, Default)]
pub struct GapTimers {
    gaps: Vec<Gap>,
}

impl GapTimers {
    /// The gaps, oldest seq first.
    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }

    /// Replaces the gaps by `missing` (sorted, disjoint), carrying timers over by overlap; a new
    /// gap is NACKed after a random delay in `0..=backoff_max`.
    pub fn refresh(
        &mut self,
        now: u64,
        missing: Vec<RangeInclusive<u64>>,
        backoff_max: u64,
        rng: &mut SplitMix64,
    ) {
        let mut next = Vec::with_capacity(missing.len().min(MAX_GAPS));
        let mut j = 0;
        for range in missing.into_iter().take(MAX_GAPS) {
            while j < self.gaps.len() && self.gaps[j].range.end() < range.start() {
                j += 1;
            }
            let inherited = self.gaps[j..]
                .iter()
                .take_while(|g| g.range.start() <= range.end())
                .fold(None, |acc: Option<(u64, u64)>, g| {
                    Some(acc.map_or((g.since, g.nack_at), |(s, n)| {
                        (s.min(g.since), n.min(g.nack_at))
                    }))
                });
            let (since, nack_at) =
                inherited.unwrap_or_else(|| (now, now.saturating_add(rng.between(0, backoff_max))));
            next.push(Gap {
                range,
                since,
                nack_at,
            });
        }
        self.gaps = next;
    }

    /// Takes the ranges due for a NACK at `now` (at most `max`) and sets their next NACK to
    /// `now + repeat`.
    pub fn due_nacks(&mut self, now: u64, repeat: u64, max: usize) -> Vec<RangeInclusive<u64>> {
        let mut out = Vec::new();
        for g in self.gaps.iter_mut().filter(|g| g.nack_at <= now).take(max) {
            out.push(g.range.clone());
            g.nack_at = now.saturating_add(repeat);
        }
        out
    }

    /// The earliest of all NACK and give-up times.
    pub fn next_deadline(&self, give_up: u64) -> Option<u64> {
        self.gaps
            .iter()
            .map(|g| g.nack_at.min(g.since.saturating_add(give_up)))
            .min()
    }

    /// Forgets every gap (epoch change).
    pub fn clear(&mut self) {
        self.gaps.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_carry_over_by_overlap_and_new_gaps_get_backoff() {
        let mut rng = SplitMix64::new(1);
        let mut t = GapTimers::default();
        t.refresh(100, vec![5..=10], 50, &mut rng);
        let first = t.gaps()[0].clone();
        assert_eq!(first.since, 100);
        assert!((100..=150).contains(&first.nack_at));
        // a repair fills the middle; a new hole opens above
        t.refresh(120, vec![5..=6, 9..=10, 20..=20], 50, &mut rng);
        let g = t.gaps();
        assert_eq!((g[0].since, g[1].since, g[2].since), (100, 100, 120));
        assert_eq!(g[1].nack_at, first.nack_at);
        assert!(t.due_nacks(99, 2000, 10).is_empty());
        let due = t.due_nacks(200, 2000, 10);
        assert_eq!(due, vec![5..=6, 9..=10, 20..=20]);
        assert!(t.due_nacks(201, 2000, 10).is_empty());
        assert_eq!(t.next_deadline(30_000), Some(2200));
        assert_eq!(t.next_deadline(10), Some(110));
    }
}
