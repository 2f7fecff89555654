//! The group-commit writer for own posts.
//!
//! One thread owns a write connection. Request threads send it a [`NewPost`] and wait; the
//! thread takes every post waiting at that moment (up to [`MAX_BATCH`]), assigns seqs, signs and
//! stores them in one transaction, commits (one WAL fsync), and only then answers each request.
//! A post that fails (bad text, unknown user) is rolled back alone through a savepoint; a commit
//! that fails fails the whole batch, and nothing of it was acknowledged.
//!
//! The queue is bounded ([`QUEUE_DEPTH`]): when the disk is slower than posting, request threads
//! wait instead of piling up memory. Shutdown: drop every [`WriterHandle`] and call
//! [`PostWriter::finish`]; the thread drains the queue, commits and exits.

use super::messages::{sign_own, store_message, PostView};
use super::{NewPost, Store, StoreError};
use crate::proto::Limits;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Most posts in one transaction: enough to make a burst one fsync, small enough that the first
/// post in a batch is not held long.
pub const MAX_BATCH: usize = 64;
/// Posts that may wait for the writer before senders block.
pub const QUEUE_DEPTH: usize = 128;

struct Job {
    post: NewPost,
    limits: Limits,
    reply: SyncSender<Result<PostView, StoreError>>,
}

/// The writer thread.
pub struct PostWriter {
    handle: WriterHandle,
    thread: JoinHandle<()>,
}

/// A cheap, clonable way to submit posts to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: SyncSender<Job>,
}

impl PostWriter {
    /// Starts the writer on its own connection.
    pub fn start(store: Store) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("post-writer".into())
            .spawn(move || run(store, rx))?;
        Ok(PostWriter {
            handle: WriterHandle { tx },
            thread,
        })
    }

    /// A handle to submit posts.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Waits for every queued post to be committed, then stops the thread. Other handles must
    /// have been dropped first, or this waits for them.
    pub fn finish(self) {
        drop(self.handle);
        if self.thread.join().is_err() {
            tracing::error!("post writer thread panicked");
        }
    }
}

impl WriterHandle {
    /// Publishes a post: returns once it is durable, with its assigned seq.
    pub fn post(&self, post: NewPost, limits: Limits) -> Result<PostView, StoreError> {
        let (reply, answer) = sync_channel(1);
        self.tx
            .send(Job {
                post,
                limits,
                reply,
            })
            .map_err(|_| StoreError::ShuttingDown)?;
        answer.recv().map_err(|_| StoreError::ShuttingDown)?
    }
}

fn run(mut store: Store, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let n = batch.len();
        match commit_batch(&mut store, &batch) {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, posts = n, "post batch failed to commit; nothing acknowledged");
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Corrupt("commit failed")));
                }
            }
        }
        tracing::debug!(posts = n, "committed post batch");
    }
}

fn commit_batch(
    store: &mut Store,
    batch: &[Job],
) -> Result<Vec<Result<PostView, StoreError>>, StoreError> {
    let now = crate::now_ms();
    let mut tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let sp = tx.savepoint()?;
        let outcome = sign_own(&sp, &job.post, now, &job.limits).and_then(|signed| {
            store_message(&sp, &signed, now)?;
            Ok(signed)
        });
        match outcome {
            Ok(signed) => {
                sp.commit()?;
                results.push(Ok(view_of(&signed)));
            }
            Err(e) => {
                drop(sp); // rolls back this post only
                results.push(Err(e));
            }
        }
    }
    tx.commit()?;
    Ok(results)
}

fn view_of(s: &crate::proto::SignedMessage) -> PostView {
    use crate::proto::{Audience, Body};
    let m = &s.message;
    let refers_to = match &m.body {
        Body::Reply { to, .. } => Some(format!("{}/{}", to.author, to.seq)),
        Body::Repost { of } => Some(format!("{}/{}", of.author, of.seq)),
        _ => None,
    };
    PostView {
        id: format!("{}/{}", m.author, m.seq),
        author: m.author.to_string(),
        seq: m.seq,
        time_ms: m.time_ms,
        kind: m.body.kind().into(),
        audience: match m.audience {
            Audience::Public => "public".into(),
            Audience::Followers => "followers".into(),
        },
        text: m.body.text().map(str::to_string),
        refers_to,
    }
}
