//! A relay session's queue: what the hub task sends, in order, to one session.
//!
//! Bounded like a tokio `mpsc` channel, but it allocates only while something is queued and
//! frees its slots when it drains: a tokio channel allocates a cache-padded header and a first
//! block of 32 slots up front, about 1.5 KiB per idle session, more than a relay session's
//! whole budget (1 KiB). Any number of [`QueueSender`]s (the hub's, cloned); one
//! [`QueueReceiver`] (the session's); the queue closes when the last sender is dropped, which
//! is how the hub drops a slow session.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Most items queued at once.
    cap: usize,
    /// Live senders; 0 closes the queue.
    senders: AtomicUsize,
    /// The receiver is gone: sends fail, as they would on a closed channel.
    receiver_gone: AtomicBool,
}

struct State<T> {
    items: VecDeque<T>,
    /// The receiver, waiting for an item or for the last sender to go.
    waker: Option<Waker>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending end; clone it to send from several places.
pub struct QueueSender<T>(Arc<Shared<T>>);

/// The receiving end.
pub struct QueueReceiver<T>(Arc<Shared<T>>);

/// A queue of at most `cap` items.
pub fn queue<T>(cap: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waker: None,
        }),
        cap,
        senders: AtomicUsize::new(1),
        receiver_gone: AtomicBool::new(false),
    });
    (QueueSender(shared.clone()), QueueReceiver(shared))
}

impl<T> QueueSender<T> {
    /// Queues `item`, or gives it back if the queue is full or the receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), T> {
        let waker = {
            let mut state = self.0.lock();
            if state.items.len() >= self.0.cap || self.0.receiver_gone.load(Ordering::Relaxed) {
                return Err(item);
            }
            state.items.push_back(item);
            state.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
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
            let waker = self.0.lock().waker.take();
            if let Some(w) = waker {
                w.wake();
            }
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
    /// an item is taken only in the poll that returns it.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| {
            let mut state = self.0.lock();
            if let Some(item) = state.items.pop_front() {
                if state.items.is_empty() {
                    // drained: free the slots (an idle session holds none)
                    state.items = VecDeque::new();
                }
                return Poll::Ready(Some(item));
            }
            // checked under the lock the last sender takes to wake us: no wake is missed
            if self.0.senders.load(Ordering::Acquire) == 0 {
                return Poll::Ready(None);
            }
            match &mut state.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        self.0.receiver_gone.store(true, Ordering::Relaxed);
        // what was queued goes now, not when the last sender does
        self.0.lock().items = VecDeque::new();
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
        assert_eq!(rx.0.lock().items.capacity(), 0, "drained: no slots held");
        tx2.try_send(4).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(4));
        let wait = tokio::time::timeout(Duration::from_millis(20), rx.recv());
        assert!(wait.await.is_err(), "one sender left: still open");
        drop(tx2);
        assert_eq!(rx.recv().await, None);
    }

    #[test]
    fn sends_fail_once_the_receiver_is_gone() {
        let (tx, rx) = queue(4);
        tx.try_send(1).unwrap();
        drop(rx);
        assert_eq!(tx.try_send(2), Err(2));
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
