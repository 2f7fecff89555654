//! How much one person may publish: a token bucket of posts and a 24-hour budget of text bytes.
//!
//! Every message a person publishes (post, reply, repost, delete, profile update) is delivered
//! to every server that follows them, so one member's script could fill this router's flash and
//! every follower's. The limits are per local user and kept in memory:
//!
//! - posts: a bucket of `limits.post_burst` that refills at `limits.posts_per_hour`;
//! - bytes: post text published in the last 24 hours, in [`WINDOW_SLOTS`] hourly slots, at most
//!   `limits.daily_post_bytes`.
//!
//! Past either, the API answers 429 with `Retry-After` (the seconds until the post would be
//! taken) and nothing is stored. A restart forgets the counts: only a member can post, and a
//! member cannot restart the node. Deletes take a post from the bucket but no bytes, so a person
//! over their byte budget can still take posts down. The map holds one entry per local user who
//! posted (a household has a handful; [`MAX_TRACKED_USERS`] bounds it anyway).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hourly slots of the byte window: 24 hours.
pub const WINDOW_SLOTS: usize = 24;
/// Length of one slot of the byte window.
pub const SLOT: Duration = Duration::from_secs(3600);
/// Users whose counts are kept; past it, the entries with the fullest buckets are forgotten.
pub const MAX_TRACKED_USERS: usize = 4096;

/// The configured limits (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostLimits {
    /// Posts in a burst.
    pub burst: u32,
    /// Posts per hour after the burst.
    pub per_hour: u32,
    /// Bytes of text per 24 hours.
    pub daily_bytes: usize,
}

/// Why a post was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The post bucket is empty.
    Rate {
        /// Seconds until one post is available.
        retry_after_s: u64,
    },
    /// The 24-hour byte budget would be exceeded.
    Bytes {
        /// Seconds until enough of the budget is free.
        retry_after_s: u64,
    },
}

impl Refusal {
    /// Seconds to wait.
    pub fn retry_after_s(&self) -> u64 {
        match self {
            Refusal::Rate { retry_after_s } | Refusal::Bytes { retry_after_s } => *retry_after_s,
        }
    }
}

#[derive(Debug, Clone)]
struct Account {
    tokens: f64,
    at: Instant,
    /// Bytes per hourly slot; `slot_start` is when slot `head` began.
    bytes: [usize; WINDOW_SLOTS],
    head: usize,
    slot_start: Instant,
}

impl Account {
    fn new(limits: &PostLimits, now: Instant) -> Self {
        Account {
            tokens: f64::from(limits.burst),
            at: now,
            bytes: [0; WINDOW_SLOTS],
            head: 0,
            slot_start: now,
        }
    }

    fn refill(&mut self, limits: &PostLimits, now: Instant) {
        let hours = now.saturating_duration_since(self.at).as_secs_f64() / 3600.0;
        self.tokens =
            (self.tokens + hours * f64::from(limits.per_hour)).min(f64::from(limits.burst));
        self.at = now;
        // Move the window forward: slots older than 24 hours are emptied.
        let mut elapsed = now.saturating_duration_since(self.slot_start);
        let mut steps = 0;
        while elapsed >= SLOT && steps < WINDOW_SLOTS {
            self.head = (self.head + 1) % WINDOW_SLOTS;
            self.bytes[self.head] = 0;
            self.slot_start += SLOT;
            elapsed -= SLOT;
            steps += 1;
        }
        if elapsed >= SLOT {
            // Idle for more than a day: everything has expired.
            self.slot_start = now;
        }
    }

    fn used(&self) -> usize {
        self.bytes.iter().sum()
    }

    /// Seconds until `n` more bytes fit, as the oldest slots expire.
    fn bytes_retry(&self, limits: &PostLimits, n: usize, now: Instant) -> u64 {
        let mut used = self.used();
        // The oldest slot is the one after head; it expires when the current slot is 23 slots
        // old, i.e. at slot_start + SLOT; the next one an hour later, and so on.
        for i in 1..=WINDOW_SLOTS {
            let slot = (self.head + i) % WINDOW_SLOTS;
            used -= self.bytes[slot];
            if used + n <= limits.daily_bytes {
                let expires = self.slot_start + SLOT * i as u32;
                return expires.saturating_duration_since(now).as_secs().max(1);
            }
        }
        SLOT.as_secs() * WINDOW_SLOTS as u64
    }
}

/// The per-user counts.
#[derive(Debug)]
pub struct PostLimiter {
    limits: Mutex<PostLimits>,
    accounts: Mutex<HashMap<i64, Account>>,
}

impl PostLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: PostLimits) -> Self {
        PostLimiter {
            limits: Mutex::new(limits),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the limits (SIGHUP); counts so far stay.
    pub fn set_limits(&self, limits: PostLimits) {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Takes one post of `text_bytes` for `user` at `now`, or says why not (taking nothing).
    pub fn take(&self, user: i64, text_bytes: usize, now: Instant) -> Result<(), Refusal> {
        let limits = *self.limits.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&user) && map.len() >= MAX_TRACKED_USERS {
            map.retain(|_, a| {
                a.refill(&limits, now);
                a.tokens < f64::from(limits.burst) || a.used() > 0
            });
        }
        if !map.contains_key(&user) && map.len() >= MAX_TRACKED_USERS {
            return Err(Refusal::Rate { retry_after_s: 60 });
        }
        let account = map
            .entry(user)
            .or_insert_with(|| Account::new(&limits, now));
        account.refill(&limits, now);
        if account.tokens < 1.0 {
            let wait = (1.0 - account.tokens) * 3600.0 / f64::from(limits.per_hour);
            return Err(Refusal::Rate {
                retry_after_s: (wait.ceil() as u64).max(1),
            });
        }
        if account.used() + text_bytes > limits.daily_bytes {
            return Err(Refusal::Bytes {
                retry_after_s: account.bytes_retry(&limits, text_bytes, now),
            });
        }
        account.tokens -= 1.0;
        account.bytes[account.head] += text_bytes;
        Ok(())
    }

    /// Gives back a post taken by [`PostLimiter::take`] that was then not published (the
    /// store refused it), so a failed post costs nothing.
    pub fn give_back(&self, user: i64, text_bytes: usize) {
        let limits = *self.limits.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = map.get_mut(&user) {
            a.tokens = (a.tokens + 1.0).min(f64::from(limits.burst));
            a.bytes[a.head] = a.bytes[a.head].saturating_sub(text_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PostLimits = PostLimits {
        burst: 3,
        per_hour: 60,
        daily_bytes: 1000,
    };

    #[test]
    fn a_burst_then_the_hourly_rate() {
        let l = PostLimiter::new(LIMITS);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.take(1, 10, t0).unwrap();
        }
        assert_eq!(l.take(1, 10, t0), Err(Refusal::Rate { retry_after_s: 60 }));
        l.take(2, 10, t0)
            .expect("another user has their own bucket");
        l.take(1, 10, t0 + Duration::from_secs(60)).unwrap();
        assert!(l.take(1, 10, t0 + Duration::from_secs(61)).is_err());
    }

    #[test]
    fn bytes_per_day_free_up_as_hours_pass() {
        let l = PostLimiter::new(PostLimits {
            burst: 100,
            ..LIMITS
        });
        let t0 = Instant::now();
        l.take(1, 600, t0).unwrap();
        let t1 = t0 + Duration::from_secs(2 * 3600 + 5);
        l.take(1, 300, t1).unwrap();
        let refused = l.take(1, 200, t1).unwrap_err();
        // The 600 bytes of hour 0 expire 24 hours after that hour began.
        assert_eq!(
            refused,
            Refusal::Bytes {
                retry_after_s: 24 * 3600 - 2 * 3600 - 5
            }
        );
        l.take(1, 100, t1).expect("what fits is taken");
        l.take(1, 600, t0 + Duration::from_secs(24 * 3600 + 1))
            .expect("a day later the first post's bytes are free");
        l.take(1, 1000, t0 + Duration::from_secs(100 * 3600))
            .expect("after a long pause the whole budget is free");
    }

    #[test]
    fn a_refused_post_takes_nothing_and_a_failed_one_is_given_back() {
        let l = PostLimiter::new(LIMITS);
        let t0 = Instant::now();
        assert!(l.take(1, 1001, t0).is_err());
        l.take(1, 1000, t0).unwrap();
        l.give_back(1, 1000);
        l.take(1, 1000, t0).unwrap();
    }
}
