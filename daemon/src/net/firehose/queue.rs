//! A relay session's queue: what the hub task sends, in order, to one session.
//!
//! Bounded like a tokio `mpsc` channel, but it allocates only while something is queued and
//! frees its slots when it drains: a tokio channel allocates a cache-padded header and a first
//! block of 32 slots up front, about 1.5 KiB per idle session, more than a relay session's
//! whole budget (1 KiB). Any number of [`QueueSender`]s (the hub's, cloned); one
//! [`QueueReceiver`] (the session's); the queue closes when the last sender is dropped, which
//! is how the hub drops a slow session.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

struct Shared<T> {
    items: Mutex<VecDeque<T>>,
    /// Most items queued at once.
    cap: usize,
    /// Live senders; 0 closes the queue.
    senders: AtomicUsize,
    /// Woken when an item arrives or the last sender goes.
    ready: Notify,
}

/// The sending end; clone it to send from several places.
pub struct QueueSender<T>(Arc<Shared<T>>);

/// The receiving end.
pub struct QueueReceiver<T>(Arc<Shared<T>>);

/// A queue of at most `cap` items.
pub fn queue<T>(cap: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        cap,
        senders: AtomicUsize::new(1),
        ready: Notify::new(),
    });
    (QueueSender(shared.clone()), QueueReceiver(shared))
}

impl<T> QueueSender<T> {
    /// Queues `item`, or gives it back if the queue is full.
    pub fn try_send(&self, item: T) -> Result<(), T> {
        {
            let mut items = self.0.items.lock().unwrap_or_else(|p| p.into_inner());
            if items.len() >= self.0.cap {
                return Err(item);
            }
            items.push_back(item);
        }
        self.0.ready.notify_one();
        Ok(())
    }
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        QueueSender(self.0.clone())
    }
}

impl<T> Drop for QueueSender<T> {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.ready.notify_one();
        }
    }
}

impl<T> std::fmt::Debug for QueueSender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueSender")
            .field("cap", &self.0.cap)
            .finish()
    }
}

impl<T> QueueReceiver<T> {
    /// The next item; `None` once the queue is empty and every sender is gone. Cancel-safe:
    /// an item is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.pop() {
                return Some(item);
            }
            if self.0.senders.load(Ordering::Acquire) == 0 {
                // a last item may have come just before the last sender went
                return self.pop();
            }
            // notify_one keeps a permit when no one waits, so nothing sent between the pop
            // above and this wait is missed
            self.0.ready.notified().await;
        }
    }

    fn pop(&self) -> Option<T> {
        let mut items = self.0.items.lock().unwrap_or_else(|p| p.into_inner());
        let item = items.pop_front();
        if items.is_empty() && items.capacity() > 0 {
            // drained: free the slots (an idle session holds none)
            *items = VecDeque::new();
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn bounded_in_order_and_closed_by_the_last_sender() {
        let (tx, mut rx) = queue(3);
        let tx2 = tx.clone();
        for i in 0..3 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(tx2.try_send(9), Err(9), "full");
        for i in 0..3 {
            assert_eq!(rx.recv().await, Some(i));
        }
        assert_eq!(
            rx.0.items.lock().unwrap().capacity(),
            0,
            "drained: no slots held"
        );
        tx2.try_send(4).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(4));
        let wait = tokio::time::timeout(Duration::from_millis(20), rx.recv());
        assert!(wait.await.is_err(), "one sender left: still open");
        drop(tx2);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_an_item() {
        let (tx, mut rx) = queue(4);
        let got = tokio::spawn(async move { rx.recv().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.try_send(7u8).unwrap();
        assert_eq!(got.await.unwrap(), Some(7));
    }
}
