//! Signature checks of received messages, off the network thread. An Ed25519 check costs tens
//! of microseconds of CPU; on the one tokio worker that runs every link, a burst of them held
//! every other link. A link hands its run of messages to [`SigCheck`], a few threads of their
//! own (at most [`VERIFY_WORKERS`], never more than the machine's cores), in chunks of
//! [`VERIFY_CHUNK`], and waits for the answers, which come back in the order given: the link
//! stores and acknowledges its messages in order as before.
//!
//! Bounded: at most [`VERIFY_QUEUE`] chunks wait for a worker; a link that finds the queue full
//! waits (so a flood slows its own link, not memory). Each check is the same
//! [`SignedMessage::verify`] as before (strict: weak keys and malleable signatures refused). If
//! the workers are gone (shutdown), a chunk is checked on the caller's thread instead.

use crate::proto::{PublicKey, SignedMessage};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Most threads checking signatures (a router has 1 to 4 cores; fewer if the machine has fewer).
pub const VERIFY_WORKERS: usize = 2;
/// Chunks that may wait for a worker before a link waits to hand over more.
pub const VERIFY_QUEUE: usize = 64;
/// Most messages in one chunk: a link's run is split so that all workers share a long one.
pub const VERIFY_CHUNK: usize = 16;
/// Stack of a worker thread (a check needs a few KiB).
const WORKER_STACK: usize = 128 * 1024;

/// A message to check, with its author's key (`None`: not to be checked).
pub type Item = (SignedMessage, Option<PublicKey>);
/// A message back, with the outcome of its check (`None`: it was not checked).
pub type Checked = (SignedMessage, Option<bool>);

struct Job {
    items: Vec<Item>,
    reply: oneshot::Sender<Vec<Checked>>,
}

/// The pool of signature-checking threads (see the module doc). The threads end when it is
/// dropped.
pub struct SigCheck {
    tx: mpsc::Sender<Job>,
    workers: usize,
}

impl SigCheck {
    /// Starts `min(workers, cores)` threads (at least one).
    pub fn start(workers: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = workers.min(cores).max(1);
        let (tx, rx) = mpsc::channel::<Job>(VERIFY_QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..workers {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("verify-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || work(&rx));
            match spawned {
                Ok(_) => started += 1,
                Err(e) => tracing::warn!(error = %e, "could not start a signature worker"),
            }
        }
        SigCheck {
            tx,
            workers: started,
        }
    }

    /// Threads checking signatures (0 if none could start: checks then run on the caller).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Checks every item that has a key; gives the messages back in the order given. `None`
    /// only if a worker died with a chunk (a panic): the caller then drops the run.
    pub async fn check(&self, items: Vec<Item>) -> Option<Vec<Checked>> {
        let mut answers = Vec::new();
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<Item> = items.by_ref().take(VERIFY_CHUNK).collect();
            if !chunk.iter().any(|(_, k)| k.is_some()) {
                answers.push(Answer::Ready(
                    chunk.into_iter().map(|(m, _)| (m, None)).collect(),
                ));
                continue;
            }
            let (reply, answer) = oneshot::channel();
            match self
                .tx
                .send(Job {
                    items: chunk,
                    reply,
                })
                .await
            {
                Ok(()) => answers.push(Answer::Waiting(answer)),
                Err(mpsc::error::SendError(job)) => {
                    answers.push(Answer::Ready(check_all(job.items)))
                }
            }
        }
        let mut out = Vec::new();
        for a in answers {
            match a {
                Answer::Ready(mut v) => out.append(&mut v),
                Answer::Waiting(rx) => out.append(&mut rx.await.ok()?),
            }
        }
        Some(out)
    }
}

/// A chunk's answer: checked already, or on its way from a worker.
enum Answer {
    Ready(Vec<Checked>),
    Waiting(oneshot::Receiver<Vec<Checked>>),
}

/// A worker: takes chunks until the pool is dropped.
fn work(rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // one worker waits on the channel at a time; the others wait for the lock
        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
        let Some(job) = job else { return };
        let _ = job.reply.send(check_all(job.items));
    }
}

/// Checks each item that has a key, on this thread.
pub fn check_all(items: Vec<Item>) -> Vec<Checked> {
    items
        .into_iter()
        .map(|(m, key)| {
            let ok = key.map(|k| m.verify(&k).is_ok());
            (m, ok)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::{Address, Audience, Body, Limits, Message, NodeKey};

    /// A post of r@r.test, `seq`, signed with `key`.
    pub(crate) fn signed(seq: u64, key: &NodeKey) -> SignedMessage {
        Message {
            author: Address::parse("r@r.test").unwrap(),
            seq,
            time_ms: 1,
            audience: Audience::Public,
            body: Body::Post {
                text: format!("post {seq}"),
            },
        }
        .sign(key, &Limits::default())
        .unwrap()
    }

    #[test]
    fn a_long_run_comes_back_in_order_with_each_outcome() {
        let author = NodeKey::from_bytes(&[7; 32]).unwrap();
        let forger = NodeKey::from_bytes(&[8; 32]).unwrap();
        let n = VERIFY_CHUNK as u64 * 3 + 5;
        // every third message is forged, every fifth is not to be checked
        let expected = |seq: u64| match (seq.is_multiple_of(5), seq.is_multiple_of(3)) {
            (true, _) => None,
            (false, forged) => Some(!forged),
        };
        let items: Vec<Item> = (1..=n)
            .map(|seq| {
                let key = if seq.is_multiple_of(3) {
                    &forger
                } else {
                    &author
                };
                let check = (!seq.is_multiple_of(5)).then(|| author.public());
                (signed(seq, key), check)
            })
            .collect();
        let pool = SigCheck::start(VERIFY_WORKERS);
        assert!((1..=VERIFY_WORKERS).contains(&pool.workers()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(pool.check(items)).unwrap();
        let got: Vec<(u64, Option<bool>)> =
            out.iter().map(|(m, ok)| (m.message.seq, *ok)).collect();
        let want: Vec<(u64, Option<bool>)> = (1..=n).map(|s| (s, expected(s))).collect();
        assert_eq!(got, want);
        assert!(rt.block_on(pool.check(Vec::new())).unwrap().is_empty());
    }

    /// Threads of this process named like a worker.
    fn verify_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("verify-"))
            .count()
    }

    #[test]
    fn the_workers_are_threads_of_their_own() {
        let pool = SigCheck::start(VERIFY_WORKERS);
        // a new thread names itself as it starts
        let t0 = std::time::Instant::now();
        while verify_threads() < pool.workers() {
            assert!(t0.elapsed() < std::time::Duration::from_secs(5));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let author = NodeKey::from_bytes(&[7; 32]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let on = rt.block_on(async {
            // the check runs on a worker: the caller's own thread is free meanwhile
            let items = vec![(signed(1, &author), Some(author.public()))];
            pool.check(items).await.unwrap()
        });
        assert_eq!(on[0].1, Some(true));
        // a pool checks on the caller only when it has no workers left
        let items = vec![(signed(2, &author), Some(author.public()))];
        assert_eq!(check_all(items)[0].1, Some(true));
    }
}
