//! A commit counter that threads can wait on: the writer bumps it after every commit, and live
//! streams sleep on it instead of polling the database.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Counts commits; waiters wake when the count moves.
#[derive(Debug, Default)]
pub struct Pulse {
    count: Mutex<u64>,
    moved: Condvar,
}

impl Pulse {
    /// Records a commit and wakes every waiter.
    pub fn bump(&self) {
        *self.count.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.moved.notify_all();
    }

    /// The current count.
    pub fn now(&self) -> u64 {
        *self.count.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the count differs from `seen` or `timeout` passes; returns the count.
    pub fn wait(&self, seen: u64, timeout: Duration) -> u64 {
        let guard = self.count.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .moved
            .wait_timeout_while(guard, timeout, |c| *c == seen)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waiters_wake_on_bump_and_time_out_otherwise() {
        let p = Arc::new(Pulse::default());
        assert_eq!(p.wait(0, Duration::from_millis(10)), 0);
        let q = p.clone();
        let t = std::thread::spawn(move || q.wait(0, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        p.bump();
        assert_eq!(t.join().unwrap(), 1);
        assert_eq!(p.now(), 1);
    }
}
