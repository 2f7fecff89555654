//! The group-commit writer: every write that must be durable before it is acknowledged.
//!
//! One thread owns a write connection. Callers send it jobs and wait: own posts (from request
//! threads), messages received from other nodes (from link tasks), and outbox bookkeeping. The
//! thread takes every job waiting at that moment (up to [`MAX_BATCH`]), runs them in one
//! transaction (a job that fails is undone alone, see [`commit_batch`]), commits once (one WAL
//! fsync for the batch, not one per message), and only then answers each caller. So a post is
//! acknowledged to its author only once it is on disk, and a received message to its sender
//! only once it is committed (synced later, see below); a crash of msmd loses nothing
//! acknowledged. A commit that fails fails the whole batch and acknowledges none of it.
//!
//! The queue is bounded ([`QUEUE_DEPTH`]): when the disk is slower than the input, callers wait
//! instead of piling up memory. Shutdown: drop every [`WriterHandle`] and call
//! [`PostWriter::finish`]; the thread drains the queue, commits and exits.
//!
//! Discover batches (public posts of unfollowed authors from the firehose, see
//! [`super::discover`]) are one job each: insert, deletes and prune to the window's size in one
//! savepoint, so a burst of the firehose costs one commit, not one per post. A delete stored
//! through `Receive` also removes its target from the discover window.
//!
//! Received messages are the exception to "durable before acknowledged": a received message
//! can always be fetched again from its author's node, so a batch that holds only received
//! messages is committed without syncing the WAL (`synchronous = NORMAL` for that commit). Its
//! acknowledgement goes out once the commit is in the operating system's hands, which a crash
//! of msmd (kill -9) cannot undo; only a power cut can, and then at most
//! [`RECEIVED_SYNC_WITHIN`] of received messages: the WAL is synced that long after such a commit
//! at the latest (or by the next batch with an own post, which syncs everything before it), and
//! a gap left behind is refilled by backfill when the author's next message arrives (or by the
//! catch-up at start, below). A batch whose answers wait for its commit is not held back for
//! company, nor made larger than [`MAX_BATCH`]: its links wait for its acks, so little more
//! comes while it waits (tried: a 25 ms wait and batches of up to 1,024 lost about a quarter
//! of the ingest rate for a tenth fewer bytes written per post).
//!
//! A message from an author this node follows, received over a link, goes one step further:
//! it is *answered before its commit* ([`WriterHandle::queue_receive_held`]). The writer tells
//! from what is committed and what it holds whether the message is new and how far the
//! author's run of seqs reaches, answers at once (the link acknowledges it), and holds the
//! message, committing what it holds together at most [`HOLD_RECEIVED_FOR`] later, when
//! [`HOLD_RECEIVED_MAX`] are held, or with the next batch that needs a commit of its own. A
//! received post stored one at a time then costs a share of one commit instead of a commit
//! (`msmbench ingest`: BENCHMARKS.md run 17). What a kill -9 takes back is fetched again: a
//! node that did not stop cleanly asks each followed author's node, at start, for everything
//! after the author's contiguous seq (`Net::announce`), and a gap is refilled by backfill as
//! ever. Messages this node keeps without following their author (mentions, previews) have no
//! such second source and are answered only after their commit.
//!
//! A hub also hands every public message it newly stores (own users' posts and received ones)
//! to the firehose through a [`PublicTap`], after the commit; a full tap drops (and logs)
//! rather than slowing the writer.

use super::discover::{self, DiscoverBatch};
use super::messages::{sign_own, store_message_batched, PostView};
use super::pulse::Pulse;
use super::search_index::{Indexed, Unindexed};
use super::{NewPost, Store, StoreError};
use crate::proto::{Audience, Body, Limits, SignedMessage};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Most jobs in one transaction: enough to make a burst one fsync, small enough that the first
/// job in a batch is not held long.
pub const MAX_BATCH: usize = 128;
/// Jobs that may wait for the writer before senders block.
pub const QUEUE_DEPTH: usize = 256;
/// A commit of only received messages is not synced to disk at once; the WAL is synced this
/// long after it at the latest (the most a power cut may take back, refilled by backfill).
pub const RECEIVED_SYNC_WITHIN: Duration = Duration::from_secs(1);

/// A received message answered before its commit is committed at most this long after the
/// first message held with it: how long it may stay out of timelines, and what a kill -9 may
/// take back for the author's node to send again.
pub const HOLD_RECEIVED_FOR: Duration = Duration::from_millis(250);
/// Most received messages held answered but not committed; the next ones wait for a commit.
pub const HOLD_RECEIVED_MAX: usize = 512;
/// Stored seqs looked at past an author's contiguous seq when answering a held message (a
/// longer run only makes the next gap's backfill ask for a few it has).
const HELD_WALK: u64 = 64;

/// Where a hub's writer hands the wire form of each public message it newly stored (bounded by
/// the channel's capacity; see `net::firehose::TAP_QUEUE`).
pub type PublicTap = mpsc::Sender<Vec<u8>>;

/// What storing a received message came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// False if it was already stored.
    pub fresh: bool,
    /// The author's contiguous seq after it.
    pub contiguous: u64,
}

enum Job {
    Post {
        post: Box<NewPost>,
        limits: Limits,
        reply: oneshot::Sender<Result<PostView, StoreError>>,
    },
    Receive {
        msg: Box<SignedMessage>,
        /// Answered before its commit (see the module doc).
        held: bool,
        /// Taken when a held message is answered; the commit's answer then goes nowhere.
        reply: Option<oneshot::Sender<Result<Received, StoreError>>>,
    },
    Outbox {
        server: String,
        cursors: Vec<(Arc<str>, u64)>,
        delivered: Vec<i64>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Discover {
        batch: DiscoverBatch,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    /// Commit what came before, then stop (jobs sent later get `ShuttingDown`).
    Stop,
}

/// The writer thread.
pub struct PostWriter {
    handle: WriterHandle,
    /// Gives true if every message answered before its commit was committed.
    thread: JoinHandle<bool>,
}

/// A cheap, clonable way to submit jobs to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Job>,
}

impl PostWriter {
    /// Starts the writer on its own connection.
    /// `pulse` is bumped after every commit.
    pub fn start(store: Store, pulse: Arc<Pulse>) -> std::io::Result<Self> {
        Self::start_with_tap(store, pulse, None)
    }

    /// Starts the writer; every public message newly stored also goes to `tap` (a hub's firehose).
    pub fn start_with_tap(
        store: Store,
        pulse: Arc<Pulse>,
        tap: Option<PublicTap>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || run(store, rx, &pulse, tap.as_ref()))?;
        Ok(PostWriter {
            handle: WriterHandle { tx },
            thread,
        })
    }

    /// A handle to submit jobs.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Waits for every job queued so far to be committed, then stops the thread. Jobs sent
    /// through other handles after this get [`StoreError::ShuttingDown`]. True if everything
    /// answered was committed (a clean stop: nothing to fetch again at the next start).
    pub fn finish(self) -> bool {
        let _ = self.handle.tx.blocking_send(Job::Stop);
        drop(self.handle);
        match self.thread.join() {
            Ok(clean) => clean,
            Err(_) => {
                tracing::error!("writer thread panicked");
                false
            }
        }
    }
}

impl WriterHandle {
    /// Publishes a post from a plain thread: returns once it is durable, with its seq.
    /// Must not be called from inside the async runtime.
    pub fn post(&self, post: NewPost, limits: Limits) -> Result<PostView, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .blocking_send(Job::Post {
                post: Box::new(post),
                limits,
                reply,
            })
            .map_err(|_| StoreError::ShuttingDown)?;
        answer
            .blocking_recv()
            .map_err(|_| StoreError::ShuttingDown)?
    }

    /// Stores a message received from another node (already verified); returns once committed
    /// (see the module doc on when it is synced).
    pub async fn receive(&self, msg: SignedMessage) -> Result<Received, StoreError> {
        self.queue_receive(msg)
            .await?
            .await
            .map_err(|_| StoreError::ShuttingDown)?
    }

    /// Queues a received message and returns the answer to wait for. Queue several before
    /// waiting and they share one commit; they are stored in the order queued.
    pub async fn queue_receive(
        &self,
        msg: SignedMessage,
    ) -> Result<oneshot::Receiver<Result<Received, StoreError>>, StoreError> {
        self.queue_receive_as(msg, false).await
    }

    /// [`WriterHandle::queue_receive`] for a message its author's node sends again when asked
    /// (a followed author's, over a link): answered before its commit, committed within
    /// [`HOLD_RECEIVED_FOR`] (see the module doc).
    pub async fn queue_receive_held(
        &self,
        msg: SignedMessage,
    ) -> Result<oneshot::Receiver<Result<Received, StoreError>>, StoreError> {
        self.queue_receive_as(msg, true).await
    }

    async fn queue_receive_as(
        &self,
        msg: SignedMessage,
        held: bool,
    ) -> Result<oneshot::Receiver<Result<Received, StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Receive {
                msg: Box::new(msg),
                held,
                reply: Some(reply),
            })
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        Ok(answer)
    }

    /// Stores `server`'s cursors and deletes its acknowledged delivery rows
    /// (see [`super::outbox::store_cursors`]).
    pub async fn outbox(
        &self,
        server: String,
        cursors: Vec<(Arc<str>, u64)>,
        delivered: Vec<i64>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Outbox {
                server,
                cursors,
                delivered,
                reply,
            })
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        answer.await.map_err(|_| StoreError::ShuttingDown)?
    }

    /// Queues a discover batch (see [`discover::apply_batch`]) and returns the answer to wait
    /// for: how many of its posts were new in the window.
    pub async fn queue_discover(
        &self,
        batch: DiscoverBatch,
    ) -> Result<oneshot::Receiver<Result<usize, StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Discover { batch, reply })
            .await
            .map_err(|_| StoreError::ShuttingDown)?;
        Ok(answer)
    }

    /// Applies a discover batch; returns once durable, with how many posts were new.
    pub async fn discover(&self, batch: DiscoverBatch) -> Result<usize, StoreError> {
        self.queue_discover(batch)
            .await?
            .await
            .map_err(|_| StoreError::ShuttingDown)?
    }
}

/// A job's answer, sent to its caller once the batch is committed.
enum Answer {
    Post(Box<Result<PostView, StoreError>>),
    Receive(Result<Received, StoreError>),
    Outbox(Result<(), StoreError>),
    Discover(Result<usize, StoreError>),
}

impl Answer {
    fn is_ok(&self) -> bool {
        match self {
            Answer::Post(r) => r.is_ok(),
            Answer::Receive(r) => r.is_ok(),
            Answer::Outbox(r) => r.is_ok(),
            Answer::Discover(r) => r.is_ok(),
        }
    }
}

impl Job {
    /// Sends `answer` (the answer this job's own work gave) to the caller.
    fn reply(self, answer: Answer) {
        match (self, answer) {
            (Job::Post { reply, .. }, Answer::Post(r)) => drop(reply.send(*r)),
            (Job::Receive { reply, .. }, Answer::Receive(r)) => {
                if let Some(reply) = reply {
                    drop(reply.send(r));
                }
            }
            (Job::Outbox { reply, .. }, Answer::Outbox(r)) => drop(reply.send(r)),
            (Job::Discover { reply, .. }, Answer::Discover(r)) => drop(reply.send(r)),
            (job, _) => job.fail(false),
        }
    }

    /// Tells the caller its job was not committed (`disk_full`: because the disk is full).
    fn fail(self, disk_full: bool) {
        let e = || {
            if disk_full {
                StoreError::DiskFull
            } else {
                StoreError::Corrupt("commit failed")
            }
        };
        match self {
            Job::Post { reply, .. } => drop(reply.send(Err(e()))),
            Job::Receive { reply, .. } => {
                if let Some(reply) = reply {
                    drop(reply.send(Err(e())));
                }
            }
            Job::Outbox { reply, .. } => drop(reply.send(Err(e()))),
            Job::Discover { reply, .. } => drop(reply.send(Err(e()))),
            Job::Stop => {}
        }
    }
}

fn run(store: Store, mut rx: mpsc::Receiver<Job>, pulse: &Pulse, tap: Option<&PublicTap>) -> bool {
    // a clock for the deferred sync's and the held messages' deadlines; nothing else runs on it
    let clock = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "writer: no timer; nothing will be stored");
            return false;
        }
    };
    let mut w = Writer {
        store,
        mode: Durability::Full,
        unsynced: None,
        held: Held::default(),
        lost: false,
        pulse,
        tap,
    };
    loop {
        let first = match w.deadline() {
            None => clock.block_on(rx.recv()),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                match clock.block_on(async { tokio::time::timeout(left, rx.recv()).await }) {
                    Ok(job) => job,
                    Err(_) => {
                        w.on_deadline();
                        continue;
                    }
                }
            }
        };
        let Some(first) = first else { break };
        if matches!(first, Job::Stop) {
            break;
        }
        let mut batch = vec![first];
        let stopping = gather(&mut batch, &mut rx);
        // held messages are answered now; the rest wait for a commit, with what is held
        let rest = w.hold_all(batch);
        if !rest.is_empty() || w.held.jobs.len() >= HOLD_RECEIVED_MAX {
            w.commit_with_held(rest);
        }
        // a queue that is never empty when the writer looks must not put off the held
        // messages' commit or the sync
        w.on_deadline();
        if stopping {
            break;
        }
    }
    w.commit_with_held(Vec::new());
    if w.unsynced.is_some() {
        sync_wal(&w.store);
    }
    !w.lost
}

/// The writer thread's state between batches.
struct Writer<'a> {
    store: Store,
    /// The connection's `synchronous` setting.
    mode: Durability,
    /// When the oldest commit whose WAL frames are not yet synced was made.
    unsynced: Option<Instant>,
    /// Received messages answered but not yet committed.
    held: Held,
    /// Whether a commit of held messages failed (they were answered: not a clean stop).
    lost: bool,
    pulse: &'a Pulse,
    tap: Option<&'a PublicTap>,
}

/// Received messages answered before their commit.
#[derive(Default)]
struct Held {
    jobs: Vec<Job>,
    /// Their seqs by author.
    seqs: std::collections::HashMap<String, Vec<u64>>,
    /// When the first of them was answered.
    since: Option<Instant>,
}

impl Held {
    fn contains(&self, author: &str, seq: u64) -> bool {
        self.seqs.get(author).is_some_and(|s| s.contains(&seq))
    }

    fn take(&mut self) -> Vec<Job> {
        self.seqs.clear();
        self.since = None;
        std::mem::take(&mut self.jobs)
    }
}

impl Writer<'_> {
    /// The next moment something is due without a job: the held messages' commit, the sync.
    fn deadline(&self) -> Option<Instant> {
        let held = self.held.since.map(|at| at + HOLD_RECEIVED_FOR);
        let sync = self.unsynced.map(|at| at + RECEIVED_SYNC_WITHIN);
        held.into_iter().chain(sync).min()
    }

    fn on_deadline(&mut self) {
        let now = Instant::now();
        if self
            .held
            .since
            .is_some_and(|at| at + HOLD_RECEIVED_FOR <= now)
        {
            self.commit_with_held(Vec::new());
        }
        if self
            .unsynced
            .is_some_and(|at| at + RECEIVED_SYNC_WITHIN <= now)
        {
            sync_wal(&self.store);
            self.unsynced = None;
        }
    }

    /// [`Writer::hold`] for each job of `batch`, their lookups in one read transaction (each
    /// statement outside one takes and releases the WAL's read lock, two `fcntl` calls and a
    /// look at the shared index: ~10 % of the writer's time during ingest); gives back the
    /// jobs that wait for a commit.
    fn hold_all(&mut self, batch: Vec<Job>) -> Vec<Job> {
        let read = batch.len() > 1 && self.store.conn().execute_batch("BEGIN").is_ok();
        let rest = batch.into_iter().filter_map(|j| self.hold(j)).collect();
        if read {
            // read only: ending it changes nothing; left open, the next commit could not begin
            if let Err(e) = self.store.conn().execute_batch("COMMIT") {
                tracing::warn!(error = %e, "writer: ending a read transaction failed");
                let _ = self.store.conn().execute_batch("ROLLBACK");
            }
        }
        rest
    }

    /// Answers a held receive now and keeps it for the next commit; gives back any other job,
    /// and a held one it cannot answer or has no room for (they go through a commit).
    fn hold(&mut self, mut job: Job) -> Option<Job> {
        let Job::Receive {
            msg,
            held: true,
            reply,
        } = &mut job
        else {
            return Some(job);
        };
        if self.held.jobs.len() >= HOLD_RECEIVED_MAX {
            return Some(job);
        }
        let answer = match answer_held(self.store.conn(), msg, &self.held) {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(error = %e, "a held message goes through a commit");
                return Some(job);
            }
        };
        let (author, seq) = (msg.message.author.as_str().to_string(), msg.message.seq);
        // its answer goes now; the commit's answer goes nowhere
        if let Some(reply) = reply.take() {
            drop(reply.send(Ok(answer)));
        }
        self.held.seqs.entry(author).or_default().push(seq);
        self.held.since.get_or_insert_with(Instant::now);
        self.held.jobs.push(job);
        None
    }

    /// Commits what is held and `rest` in one transaction, held first.
    fn commit_with_held(&mut self, mut rest: Vec<Job>) {
        let held = self.held.jobs.len();
        let mut batch = self.held.take();
        batch.append(&mut rest);
        if batch.is_empty() {
            return;
        }
        if !self.commit(batch) && held > 0 {
            self.lost = true;
            tracing::error!(
                held,
                "received messages answered before their commit were not stored; their authors' nodes send them again when asked (next start, or the next gap)"
            );
        }
    }

    /// Commits `batch` (see [`commit_batch`]) and answers its jobs; false if the commit failed.
    fn commit(&mut self, batch: Vec<Job>) -> bool {
        let n = batch.len();
        let want = durability(&batch);
        let received_only = want == Durability::Normal;
        let started = std::time::Instant::now();
        let outcome = set_sync(&self.store, &mut self.mode, want)
            .and_then(|()| commit_batch(&mut self.store, &batch));
        super::commit_timing::COMMITS.record(started.elapsed(), n, outcome.is_ok());
        tracing::debug!(jobs = n, received_only, "committed post batch");
        match outcome {
            Ok((answers, public)) => {
                if received_only {
                    self.unsynced.get_or_insert_with(Instant::now);
                } else {
                    // this commit synced the WAL, and with it every commit before
                    self.unsynced = None;
                }
                self.pulse.bump();
                batch.into_iter().zip(answers).for_each(|(j, a)| j.reply(a));
                if let Some(tap) = self.tap {
                    for wire in public {
                        if tap.try_send(wire).is_err() {
                            tracing::warn!("firehose tap full: a public message is not streamed");
                        }
                    }
                }
                true
            }
            Err(e) => {
                let full = matches!(e, StoreError::DiskFull);
                if full {
                    tracing::error!(jobs = n, "disk full: the batch could not be committed; nothing acknowledged (free space on the data directory's disk)");
                } else {
                    tracing::error!(error = %e, jobs = n, "batch failed to commit; nothing acknowledged");
                }
                batch.into_iter().for_each(|j| j.fail(full));
                false
            }
        }
    }
}

/// The answer to a held message, from what is committed and what is held: whether it is new,
/// and the author's contiguous seq once it is stored (as [`receive`] would find after the
/// commit, but for a run longer than [`HELD_WALK`] past the committed one).
fn answer_held(
    conn: &rusqlite::Connection,
    msg: &SignedMessage,
    held: &Held,
) -> Result<Received, StoreError> {
    use rusqlite::OptionalExtension;
    let (author, seq) = (msg.message.author.as_str(), msg.message.seq);
    let row: Option<(i64, i64)> = conn
        .prepare_cached("SELECT id, last_seq FROM authors WHERE address = ?1")?
        .query_row([author], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let stored = |s: u64| -> Result<bool, StoreError> {
        if held.contains(author, s) {
            return Ok(true);
        }
        let Some((id, _)) = row else { return Ok(false) };
        Ok(conn
            .prepare_cached("SELECT 1 FROM messages WHERE author_id = ?1 AND seq = ?2")?
            .exists(rusqlite::params![id, s as i64])?)
    };
    let fresh = !stored(seq)?;
    let mut contiguous = row.map_or(0, |r| r.1.max(0) as u64);
    for _ in 0..HELD_WALK {
        let next = contiguous + 1;
        if next != seq && !stored(next)? {
            break;
        }
        contiguous = next;
    }
    Ok(Received { fresh, contiguous })
}

/// Adds to `batch` the jobs waiting now, up to [`MAX_BATCH`]. Returns true if a `Stop` came
/// (it ends the batch).
fn gather(batch: &mut Vec<Job>, rx: &mut mpsc::Receiver<Job>) -> bool {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(Job::Stop) => return true,
            Ok(job) => batch.push(job),
            Err(_) => return false,
        }
    }
    false
}

/// How the next commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// The WAL is synced at the commit (own posts, outbox bookkeeping, discover batches).
    Full,
    /// The WAL is synced later (batches of only received messages).
    Normal,
}

/// How `batch` is committed: without a WAL sync only if it holds nothing but received
/// messages (an own post is acknowledged only once it is on disk).
fn durability(batch: &[Job]) -> Durability {
    if batch.iter().all(|j| matches!(j, Job::Receive { .. })) {
        Durability::Normal
    } else {
        Durability::Full
    }
}

/// Sets the connection's `synchronous` to `want` if it is not already.
fn set_sync(store: &Store, mode: &mut Durability, want: Durability) -> Result<(), StoreError> {
    if *mode != want {
        let value = match want {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        store.conn().pragma_update(None, "synchronous", value)?;
        *mode = want;
    }
    Ok(())
}

/// Syncs the WAL file to disk: every commit made so far becomes durable.
fn sync_wal(store: &Store) {
    let mut wal = store.db_path().as_os_str().to_owned();
    wal.push("-wal");
    match std::fs::File::open(&wal).and_then(|f| f.sync_data()) {
        Ok(()) => {}
        // no WAL file: nothing is waiting in one
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "syncing the WAL of received messages failed"),
    }
}

/// What a committed batch gives back: each job's answer, in order, and the wire form of every
/// public message it newly stored (for the tap).
type Committed = (Vec<Answer>, Vec<Vec<u8>>);

/// Runs the batch in one transaction and commits it.
///
/// First all jobs run straight in the transaction, and new messages are indexed for search in
/// one statement at the end (see [`super::search_index`]): FTS5 writes an index segment at every
/// savepoint and every statement that writes it, so a savepoint or a trigger per job would
/// write (and later merge) one segment per message. Jobs almost never fail; if one does, the
/// transaction is rolled back and the batch runs again with a savepoint per job, so the failing
/// job is undone alone and the others still commit.
fn commit_batch(store: &mut Store, batch: &[Job]) -> Result<Committed, StoreError> {
    let now = crate::now_ms();
    {
        let tx = store
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut shared = Shared::start(&tx, now)?;
        let mut answers = Vec::with_capacity(batch.len());
        for job in batch {
            let answer = apply(&tx, job, &mut shared)?;
            if !answer.is_ok() {
                break;
            }
            answers.push(answer);
        }
        if answers.len() == batch.len() {
            shared.unindexed.index(&tx)?;
            tx.commit()?;
            return Ok((answers, shared.public));
        }
        // dropping `tx` rolls the whole batch back
        tracing::debug!(
            jobs = batch.len(),
            failed = answers.len(),
            "a job failed: the batch runs again with a savepoint per job"
        );
    }
    let mut tx = store
        .conn_mut()
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut public = Vec::new();
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        let mut sp = tx.savepoint()?;
        // started anew in each savepoint: a rolled-back job's row ids are given out again
        let mut shared = Shared::start(&sp, now)?;
        let answer = apply(&sp, job, &mut shared)?;
        if answer.is_ok() {
            shared.unindexed.index(&sp)?;
            sp.commit()?;
            public.append(&mut shared.public);
        } else {
            sp.rollback()?;
        }
        answers.push(answer);
    }
    tx.commit()?;
    Ok((answers, public))
}

/// What the jobs run in one transaction (or savepoint) share.
struct Shared {
    /// The time they are stored at.
    now: u64,
    /// The messages they stored, for the search index before the commit.
    unindexed: Unindexed,
    /// The wire form of every public message they newly stored, for the tap.
    public: Vec<Vec<u8>>,
}

impl Shared {
    fn start(conn: &rusqlite::Connection, now: u64) -> Result<Self, StoreError> {
        Ok(Shared {
            now,
            unindexed: Unindexed::start(conn, Indexed::Messages)?,
            public: Vec::new(),
        })
    }
}

/// Does one job's work on `conn` (the batch's transaction or a savepoint in it). The job's
/// own failure is its answer; `Err` only for a `Stop` (never in a batch).
fn apply(
    conn: &rusqlite::Connection,
    job: &Job,
    shared: &mut Shared,
) -> Result<Answer, StoreError> {
    let now = shared.now;
    Ok(match job {
        Job::Post { post, limits, .. } => Answer::Post(Box::new(
            sign_own(conn, post, now, limits).and_then(|signed| {
                store_message_batched(conn, &signed, now, &mut shared.unindexed)?;
                if signed.message.audience == Audience::Public {
                    shared.public.push(signed.encode());
                }
                Ok(PostView::from_signed(&signed))
            }),
        )),
        Job::Receive { msg, .. } => Answer::Receive(receive(conn, msg, shared)),
        Job::Outbox {
            server,
            cursors,
            delivered,
            ..
        } => Answer::Outbox(super::outbox::store_cursors(
            conn, server, cursors, delivered,
        )),
        Job::Discover { batch, .. } => Answer::Discover(discover::apply_batch(conn, batch, now)),
        Job::Stop => return Err(StoreError::ShuttingDown),
    })
}

/// Stores a received message; the author's contiguous seq after it.
fn receive(
    conn: &rusqlite::Connection,
    msg: &SignedMessage,
    shared: &mut Shared,
) -> Result<Received, StoreError> {
    let fresh = store_message_batched(conn, msg, shared.now, &mut shared.unindexed)?;
    let contiguous: i64 = conn
        .prepare_cached("SELECT last_seq FROM authors WHERE address = ?1")?
        .query_row([msg.message.author.as_str()], |r| r.get(0))?;
    if fresh && msg.message.audience == Audience::Public && !msg.is_unsigned() {
        shared.public.push(msg.encode());
    }
    if let (true, Body::Delete { target }) = (fresh, &msg.message.body) {
        discover::delete(conn, &msg.message.author, *target)?;
    }
    Ok(Received {
        fresh,
        contiguous: contiguous as u64,
    })
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
