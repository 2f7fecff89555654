//! How long the group-commit writer's commits take: a fixed-bucket histogram the writer thread
//! adds to after each batch, and `GET /metrics` reads (`msm_store_commit_*`).
//!
//! Lock-free: every field is an atomic the writer bumps with `Relaxed` adds, so a scrape never
//! holds the writer up. A reader may see one commit half-recorded (its bucket counted, its
//! duration not yet summed); the next read is whole again, which a scrape can afford.
//! Counts are `AtomicUsize` (32-bit routers have no 64-bit atomics: a count wraps after four
//! billion commits); the sum of microseconds is 64-bit where the target has 64-bit atomics,
//! else 32-bit (it wraps after 71 minutes of commit time, seen by Prometheus as a reset).
//!
//! One per process ([`COMMITS`]): there is one writer, and a global keeps the writer's change
//! to two lines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[cfg(target_has_atomic = "64")]
type Micros = std::sync::atomic::AtomicU64;
#[cfg(not(target_has_atomic = "64"))]
type Micros = AtomicUsize;

/// Upper bounds of the histogram's buckets, in microseconds (the last bucket, `+Inf`, is
/// implicit): from a RAM-backed fsync (0.5 ms) to a flash chip stalled in garbage collection
/// (seconds), about two buckets a decade so a router's and a hub's commits both spread out.
pub const BUCKETS_US: [u64; 11] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 2_500_000,
];

/// The writer's commits since start.
#[derive(Debug, Default)]
pub struct CommitTiming {
    /// Commits per bucket (not cumulative): `[i]` took at most `BUCKETS_US[i]` and more than
    /// the bound before it; the last counts those over every bound.
    buckets: [AtomicUsize; BUCKETS_US.len() + 1],
    /// Microseconds of all commits.
    sum_us: Micros,
    /// Jobs (posts, received messages, outbox and discover updates) in committed batches.
    jobs: AtomicUsize,
    /// Batches whose commit failed (nothing of them acknowledged).
    failures: AtomicUsize,
}

/// A copy of [`CommitTiming`] at one moment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommitSnapshot {
    /// Commits per bucket, not cumulative (see [`BUCKETS_US`]; one more than it, for `+Inf`).
    pub buckets: [u64; BUCKETS_US.len() + 1],
    /// Microseconds of all commits.
    pub sum_us: u64,
    /// Jobs in committed batches.
    pub jobs: u64,
    /// Batches whose commit failed.
    pub failures: u64,
}

impl CommitSnapshot {
    /// Commits counted (the sum of the buckets, so it always matches them).
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// The process's writer's commits.
pub static COMMITS: CommitTiming = CommitTiming::new();

impl CommitTiming {
    /// Nothing counted.
    pub const fn new() -> Self {
        #[allow(clippy::declare_interior_mutable_const)]
        const ZERO: AtomicUsize = AtomicUsize::new(0);
        CommitTiming {
            buckets: [ZERO; BUCKETS_US.len() + 1],
            sum_us: Micros::new(0),
            jobs: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }

    /// Counts one commit of `jobs` jobs that took `took` (`ok`: it committed).
    pub fn record(&self, took: Duration, jobs: usize, ok: bool) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let i = BUCKETS_US.partition_point(|&bound| bound < us);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us as _, Ordering::Relaxed);
        if ok {
            self.jobs.fetch_add(jobs, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reads every field.
    #[allow(clippy::unnecessary_cast)] // `sum_us` is already a u64 on 64-bit-atomic targets
    pub fn snapshot(&self) -> CommitSnapshot {
        CommitSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed) as u64),
            sum_us: self.sum_us.load(Ordering::Relaxed) as u64,
            jobs: self.jobs.load(Ordering::Relaxed) as u64,
            failures: self.failures.load(Ordering::Relaxed) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_fall_in_the_bucket_of_their_upper_bound() {
        let t = CommitTiming::new();
        t.record(Duration::from_micros(500), 3, true); // on a bound: that bucket
        t.record(Duration::from_micros(501), 1, true); // just over: the next
        t.record(Duration::from_secs(10), 2, true); // over every bound: +Inf
        t.record(Duration::ZERO, 5, false);
        let s = t.snapshot();
        assert_eq!(s.buckets.len(), BUCKETS_US.len() + 1);
        assert_eq!(s.buckets[0], 2, "{s:?}");
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[BUCKETS_US.len()], 1);
        assert_eq!(s.count(), 4);
        assert_eq!(s.sum_us, 500 + 501 + 10_000_000);
        assert_eq!(s.jobs, 6, "jobs of committed batches only");
        assert_eq!(s.failures, 1);
    }

    #[test]
    fn bounds_rise() {
        assert!(BUCKETS_US.windows(2).all(|w| w[0] < w[1]));
    }
}
