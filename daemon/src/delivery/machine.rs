//! One server's delivery: a sliding window over what is owed, cursors advanced by acks.
//!
//! Per author the machine knows the durable cursor (`acked`), how far it has looked at the
//! author's log (`covered`: every owed message up to it is in `slots` or acknowledged), and a
//! slot per owed message not yet covered by the durable cursor. Frames go out in message order,
//! at most [`Machine::WINDOW`] unacknowledged. A cursor moves to just before the first
//! unacknowledged slot (or to `covered`); the driver stores it. A refused delivery, an ack
//! overdue by [`Machine::ACK_TIMEOUT_MS`] or a dead link puts everything unacknowledged back and
//! ends the run with [`Output::Failed`]; the driver retries later with backoff, from the store.
//!
//! Nothing here touches a socket, a clock or a database: the driver feeds inputs and carries
//! out [`Output`]s, so "every post reaches every server once" is tested on a virtual clock
//! (`sim_tests`).

use foldhash::{HashMap, HashMapExt};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// How an ack answered a delivery (the link protocol's `AckStatus`, minus its wire form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored now.
    Stored,
    /// Held already.
    Duplicate,
    /// Nobody there follows the author any more.
    Unwanted,
    /// Refused; retry later.
    Refused,
}

/// A server's subscription to one author, as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The author's address.
    pub author: Arc<str>,
    /// The durable cursor: every owed seq up to it was acknowledged (or given up).
    pub acked: u64,
    /// How far the load looked at the author's log: every message owed up to this seq is in
    /// its entries (or at or below `acked`).
    pub covered: u64,
}

/// One message owed to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The message's row id (orders sends across authors).
    pub id: i64,
    /// Its author.
    pub author: Arc<str>,
    /// Its seq in the author's log.
    pub seq: u64,
    /// For a delivery kept as a row (addressed to a server that does not follow the author):
    /// the row's id, deleted once acknowledged.
    pub row: Option<i64>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// What the store owes the server.
    Loaded {
        /// Its subscriptions, with their durable cursors.
        subscriptions: Vec<Subscription>,
        /// The first owed messages, in message order.
        entries: Vec<Entry>,
        /// Nothing owed comes after `entries`.
        complete: bool,
    },
    /// A post just stored by a local author the server follows, or addressed to it
    /// (`entry.row` set).
    Live {
        /// The post.
        entry: Entry,
        /// The server may read it (else it only moves the machine's place in the log).
        owed: bool,
    },
    /// An ack.
    Ack {
        /// The acknowledged message's author.
        author: Arc<str>,
        /// Its seq.
        seq: u64,
        /// The answer.
        status: Status,
    },
    /// Posts were stored that the driver could not hand over: read the store again.
    Missed,
    /// The link is gone.
    LinkDown,
    /// The clock moved.
    Tick {
        /// Now, in ms.
        now_ms: u64,
    },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this message (the driver holds its bytes) and expect its ack.
    Send {
        /// Its row id.
        id: i64,
        /// Its author.
        author: Arc<str>,
        /// Its seq.
        seq: u64,
    },
    /// Store the cursor: everything owed of `author` up to `acked` is done.
    Cursor {
        /// The author.
        author: Arc<str>,
        /// The new durable cursor.
        acked: u64,
    },
    /// Delete the delivery row (acknowledged).
    DeleteRow {
        /// The row's id.
        row: i64,
    },
    /// The server no longer wants `author`: drop the subscription.
    Unsubscribe {
        /// The author.
        author: Arc<str>,
    },
    /// Read what is owed again (a post came that the machine cannot place).
    Load,
    /// The run failed; retry later, from the store.
    Failed {
        /// Consecutive failed runs, this one included.
        attempts: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Queued,
    InFlight { sent_ms: u64 },
    Acked,
}

#[derive(Debug, Default)]
struct Log {
    /// The durable cursor (None: an author the server does not follow; only rows).
    acked: Option<u64>,
    /// What the driver was last told to store.
    told: u64,
    /// Every owed message up to here is in `slots` or at or below `acked`.
    covered: u64,
    /// Owed messages past the cursor: their state and delivery row.
    slots: BTreeMap<u64, (Slot, Option<i64>)>,
    /// Deliveries kept as rows that no cursor slot carries: their state and row, whatever
    /// the cursor says (a direct message to a server that follows the author for its public
    /// posts stays owed when the cursor passes it).
    rows: BTreeMap<u64, (Slot, i64)>,
}

impl Log {
    /// The state of `seq`'s delivery, cursor slot or row.
    fn slot_mut(&mut self, seq: u64) -> Option<&mut Slot> {
        match self.slots.get_mut(&seq) {
            Some((s, _)) => Some(s),
            None => self.rows.get_mut(&seq).map(|(s, _)| s),
        }
    }

    fn late(&self, now_ms: u64) -> bool {
        let late = |s: &Slot| {
            matches!(s, Slot::InFlight { sent_ms }
                if sent_ms.saturating_add(Machine::ACK_TIMEOUT_MS) <= now_ms)
        };
        self.slots.values().any(|(s, _)| late(s)) || self.rows.values().any(|(s, _)| late(s))
    }
}

/// One server's delivery.
#[derive(Debug)]
pub struct Machine {
    logs: HashMap<Arc<str>, Log>,
    /// Queued messages in message order: id → (author, seq).
    queue: BTreeMap<i64, (Arc<str>, u64)>,
    /// In flight: (author, seq) → id, for requeueing.
    inflight: HashMap<(Arc<str>, u64), i64>,
    attempts: u32,
    now_ms: u64,
    loading: bool,
    /// Read the store again once the queue has drained (a post could not be placed, or the
    /// last read did not hold everything owed).
    stale: bool,
    /// Read it again once nothing is in flight either (the last read brought nothing new: what
    /// it held was in flight).
    stale_idle: bool,
    failed: bool,
    /// A delivery was refused: nothing more is sent, and the run fails once the acks of what
    /// is in flight are in (each recorded, so what the server took is not sent again).
    failing: bool,
    dirty: bool,
    out: VecDeque<Output>,
}

impl Machine {
    /// Unacknowledged deliveries at once.
    pub const WINDOW: usize = 64;
    /// How long a delivery may wait for its ack.
    pub const ACK_TIMEOUT_MS: u64 = 30_000;
    /// Most messages queued behind the window; past that, posts are left in the store and read
    /// when the queue has drained.
    pub const MAX_QUEUED: usize = 2 * Self::WINDOW;

    /// A run after `attempts` failed ones; it starts by asking for a [`Output::Load`].
    pub fn new(attempts: u32, now_ms: u64) -> Self {
        let mut m = Self {
            logs: HashMap::new(),
            queue: BTreeMap::new(),
            inflight: HashMap::new(),
            attempts,
            now_ms,
            loading: true,
            stale: false,
            stale_idle: false,
            failed: false,
            failing: false,
            dirty: false,
            out: VecDeque::new(),
        };
        m.out.push_back(Output::Load);
        m
    }

    /// Takes one input.
    pub fn handle(&mut self, input: Input) {
        if self.failed {
            return;
        }
        match input {
            Input::Loaded {
                subscriptions,
                entries,
                complete,
            } => self.loaded(subscriptions, entries, complete),
            Input::Live { entry, owed } => self.live(entry, owed),
            Input::Ack {
                author,
                seq,
                status,
            } => self.ack(author, seq, status),
            Input::Missed => self.want_load(),
            Input::LinkDown => self.fail(),
            Input::Tick { now_ms } => {
                self.now_ms = self.now_ms.max(now_ms);
                let now_ms = self.now_ms;
                if self.logs.values().any(|l| l.late(now_ms)) {
                    self.fail();
                }
            }
        }
        self.fill();
    }

    /// The next thing to do, if any. Cursor updates come out only from [`Machine::flush`].
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Emits a [`Output::Cursor`] for every author whose cursor moved since the last flush
    /// (the driver calls it once per batch of acks: one store update per author per batch).
    pub fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        for (author, log) in &mut self.logs {
            let Some(acked) = log.acked else { continue };
            if acked > log.told {
                log.told = acked;
                self.out.push_back(Output::Cursor {
                    author: author.clone(),
                    acked,
                });
            }
        }
    }

    /// True if `author`'s `seq` is queued or in flight (the driver keeps its bytes until then).
    pub fn holds(&self, author: &str, seq: u64) -> bool {
        self.logs.get(author).is_some_and(|l| {
            l.slots.get(&seq).is_some_and(|(s, _)| *s != Slot::Acked) || l.rows.contains_key(&seq)
        })
    }

    /// Deliveries sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Messages waiting to be sent.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// True when the run is over: it failed, or nothing is owed, sent or being read.
    pub fn is_done(&self) -> bool {
        self.failed
            || (self.queue.is_empty()
                && self.inflight.is_empty()
                && !self.loading
                && !self.stale
                && !self.stale_idle)
    }

    fn loaded(&mut self, subs: Vec<Subscription>, entries: Vec<Entry>, complete: bool) {
        self.loading = false;
        let queued = self.queue.len();
        for s in subs {
            let log = self.logs.entry(s.author).or_default();
            let acked = log.acked.unwrap_or(0).max(s.acked);
            log.acked = Some(acked);
            log.told = log.told.max(s.acked);
            log.covered = log.covered.max(acked).max(s.covered);
            log.slots = log.slots.split_off(&(acked + 1));
        }
        for e in entries {
            self.add(e);
        }
        if !complete {
            // more is owed than one read holds: read again once these are out (once nothing
            // is in flight, if this read brought nothing new)
            if self.queue.len() > queued {
                self.stale = true;
            } else {
                self.stale_idle = true;
            }
        }
        self.advance_all();
    }

    fn live(&mut self, e: Entry, owed: bool) {
        if e.row.is_some() {
            if self.queue.len() >= Self::MAX_QUEUED {
                self.want_load();
            } else {
                self.add(e);
            }
            return;
        }
        let Some(log) = self.logs.get_mut(&e.author).filter(|l| l.acked.is_some()) else {
            self.want_load();
            return;
        };
        if e.seq <= log.covered {
            return;
        }
        if e.seq != log.covered + 1
            || self.loading
            || self.stale
            || self.queue.len() >= Self::MAX_QUEUED
        {
            // a gap, a read under way, or a server that takes less than is posted: the store
            // has it (the queue stays bounded)
            self.want_load();
            return;
        }
        log.covered = e.seq;
        if owed {
            self.add(e);
        } else {
            let a = e.author.clone();
            self.advance(&a);
        }
    }

    fn want_load(&mut self) {
        self.stale = true;
    }

    /// Queues an owed message unless it is known, or (by cursor) acknowledged.
    fn add(&mut self, e: Entry) {
        let log = self.logs.entry(e.author.clone()).or_default();
        if let Some(row) = e.row {
            if let Some(slot) = log.slots.get_mut(&e.seq) {
                // the cursor carries it too: its ack deletes the row
                slot.1 = Some(row);
                if slot.0 == Slot::Acked {
                    self.out.push_back(Output::DeleteRow { row });
                }
                return;
            }
            if log.rows.contains_key(&e.seq) {
                return;
            }
            log.rows.insert(e.seq, (Slot::Queued, row));
        } else {
            if log.acked.is_some_and(|a| e.seq <= a)
                || log.slots.contains_key(&e.seq)
                || log.rows.contains_key(&e.seq)
            {
                return; // acknowledged, known, or going as a row
            }
            log.slots.insert(e.seq, (Slot::Queued, None));
        }
        self.queue.insert(e.id, (e.author, e.seq));
    }

    fn ack(&mut self, author: Arc<str>, seq: u64, status: Status) {
        if self.inflight.remove(&(author.clone(), seq)).is_none() {
            return; // not in flight on this run (a late or repeated ack)
        }
        if status == Status::Refused {
            if let Some(slot) = self.logs.get_mut(&author).and_then(|l| l.slot_mut(seq)) {
                *slot = Slot::Queued;
            }
            self.failing = true;
            if self.inflight.is_empty() {
                self.fail();
            }
            return;
        }
        if !self.failing {
            self.attempts = 0;
        }
        if status == Status::Unwanted {
            self.out.push_back(Output::Unsubscribe {
                author: author.clone(),
            });
        }
        let Some(log) = self.logs.get_mut(&author) else {
            return;
        };
        let row = if let Some(slot) = log.slots.get_mut(&seq) {
            slot.0 = Slot::Acked;
            slot.1
        } else {
            log.rows.remove(&seq).map(|(_, row)| row)
        };
        if let Some(row) = row {
            self.out.push_back(Output::DeleteRow { row });
        }
        self.advance(&author);
        if self.failing && self.inflight.is_empty() {
            self.fail();
        }
    }

    /// Moves `author`'s cursor to just before its first unacknowledged slot, or to `covered`.
    fn advance(&mut self, author: &Arc<str>) {
        let Some(log) = self.logs.get_mut(author) else {
            return;
        };
        let Some(acked) = log.acked else { return };
        let to = log
            .slots
            .iter()
            .find(|(_, (s, _))| *s != Slot::Acked)
            .map_or(log.covered, |(seq, _)| seq - 1);
        if to > acked {
            log.acked = Some(to);
            log.slots = log.slots.split_off(&(to + 1));
            self.dirty = true;
        }
    }

    fn advance_all(&mut self) {
        let authors: Vec<Arc<str>> = self.logs.keys().cloned().collect();
        for a in authors {
            self.advance(&a);
        }
    }

    fn fail(&mut self) {
        if self.failed {
            return;
        }
        self.failed = true;
        self.attempts = self.attempts.saturating_add(1);
        self.queue.clear();
        self.inflight.clear();
        self.out
            .retain(|o| !matches!(o, Output::Send { .. } | Output::Load));
        self.dirty = true;
        self.flush();
        self.out.push_back(Output::Failed {
            attempts: self.attempts,
        });
    }

    /// Sends queued messages while the window has room; asks for a load when the queue ran
    /// dry and a post could not be placed.
    fn fill(&mut self) {
        if self.failed || self.failing || self.loading {
            return;
        }
        while self.inflight.len() < Self::WINDOW {
            let Some((id, (author, seq))) = self.queue.pop_first() else {
                break;
            };
            let Some(slot) = self.logs.get_mut(&author).and_then(|l| l.slot_mut(seq)) else {
                continue;
            };
            *slot = Slot::InFlight {
                sent_ms: self.now_ms,
            };
            self.inflight.insert((author.clone(), seq), id);
            self.out.push_back(Output::Send { id, author, seq });
        }
        let idle = self.queue.is_empty() && self.inflight.is_empty();
        if (self.stale && self.queue.is_empty() && self.inflight.len() < Self::WINDOW / 2)
            || (self.stale_idle && idle)
        {
            self.stale = false;
            self.stale_idle = false;
            self.loading = true;
            // what was acknowledged is stored before the store is read again
            self.dirty = true;
            self.flush();
            self.out.push_back(Output::Load);
        }
    }
}
