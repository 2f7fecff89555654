//! [`Slots`]: a counting semaphore (a mutex and a condition variable) that caps the outgoing
//! requests in flight, so that a burst of deliveries cannot open sockets and threads without
//! bound on a router.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Connection slots, shared by a client's requests.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    taken: Mutex<usize>,
    freed: Condvar,
}

/// One taken slot, given back when the last clone of its `Arc` drops (a resolver thread
/// that outlives its request keeps the slot until it ends).
#[derive(Debug)]
pub struct Permit {
    slots: Arc<Slots>,
}

impl Slots {
    /// Slots for at most `max` requests at a time.
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max,
            taken: Mutex::new(0),
            freed: Condvar::new(),
        })
    }

    /// Takes a slot, waiting until `deadline` at most; `None` when none came free.
    pub fn acquire(self: &Arc<Self>, deadline: Instant) -> Option<Arc<Permit>> {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        while *taken >= self.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            taken = self
                .freed
                .wait_timeout(taken, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *taken += 1;
        Some(Arc::new(Permit {
            slots: self.clone(),
        }))
    }

    /// Requests in flight now.
    pub fn in_use(&self) -> usize {
        *self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|p| p.into_inner());
        *taken = taken.saturating_sub(1);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn slots_cap_holders_and_come_back_when_dropped() {
        let slots = Slots::new(2);
        let soon = || Instant::now() + Duration::from_millis(50);
        let a = slots.acquire(soon()).expect("first");
        let b = slots.acquire(soon()).expect("second");
        assert_eq!(slots.in_use(), 2);
        let started = Instant::now();
        assert!(slots.acquire(soon()).is_none(), "a third over the cap");
        assert!(started.elapsed() >= Duration::from_millis(40), "it waited");
        let a2 = a.clone();
        drop(a);
        assert!(
            slots.acquire(soon()).is_none(),
            "a clone still holds the slot"
        );
        drop(a2);
        let c = slots.acquire(soon()).expect("a freed slot");
        // a waiter is woken by a release before its deadline
        let s = slots.clone();
        let waiter = std::thread::spawn(move || {
            s.acquire(Instant::now() + Duration::from_secs(5)).is_some()
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(b);
        assert!(waiter.join().unwrap());
        drop(c);
        assert_eq!(slots.in_use(), 0);
    }
}
