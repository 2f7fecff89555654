//! The delivery machine on a virtual clock: authors post, servers subscribe (some with
//! followers-only access, one only addressed by mentions), posts address people on any server
//! (rows, owed whatever the cursor), the network drops frames and acks, links die, and either
//! side restarts. Whatever the seed, every server ends up with exactly
//! the posts it is owed, each stored once, and the durable cursors reach the authors' ends.

use super::{Entry, Input, Machine, Output, Status, Subscription};
use crate::proto::stream::SplitMix64;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

const AUTHORS: usize = 3;
const SERVERS: usize = 4;
/// The server nobody follows from: it gets only posts addressed to it (rows).
const ADDRESSED_ONLY: usize = 3;
const LOAD_LIMIT: usize = 16;

#[derive(Clone)]
struct Post {
    id: i64,
    author: usize,
    seq: u64,
    followers_only: bool,
    /// The server a person it addresses is on, and the delivery row.
    addressed: Option<(usize, i64)>,
}

/// The sending node's durable state.
#[derive(Default)]
struct Store {
    posts: Vec<Post>,
    last: [u64; AUTHORS],
    /// (server, author) → (subscribed since seq, durable cursor, may read followers-only).
    subs: HashMap<(usize, usize), (u64, u64, bool)>,
    /// Rows not yet acknowledged: row id → server.
    rows: BTreeMap<i64, usize>,
}

impl Store {
    /// Owed by the server's cursor.
    fn by_cursor(&self, server: usize, p: &Post) -> bool {
        self.subs
            .get(&(server, p.author))
            .is_some_and(|&(since, acked, fo)| {
                p.seq > since && p.seq > acked && (!p.followers_only || fo)
            })
    }

    /// Owed by a row.
    fn row_for(&self, server: usize, p: &Post) -> Option<i64> {
        p.addressed
            .filter(|(s, r)| *s == server && self.rows.contains_key(r))
            .map(|(_, r)| r)
    }

    fn owed(&self, server: usize, p: &Post) -> bool {
        self.by_cursor(server, p) || self.row_for(server, p).is_some()
    }

    /// What was ever owed (cursors aside): the set the server must end up with.
    fn ever_owed(&self, server: usize, p: &Post) -> bool {
        p.addressed.is_some_and(|(s, _)| s == server)
            || self
                .subs
                .get(&(server, p.author))
                .is_some_and(|&(since, _, fo)| p.seq > since && (!p.followers_only || fo))
    }

    /// As `Store::owed_to` reads it.
    fn load(&self, server: usize) -> Input {
        let mut subscriptions: Vec<Subscription> = (0..AUTHORS)
            .filter_map(|a| {
                self.subs
                    .get(&(server, a))
                    .map(|&(_, acked, _)| Subscription {
                        author: name(a),
                        acked,
                        covered: self.last[a],
                    })
            })
            .collect();
        let mut found: Vec<Entry> = Vec::new();
        for p in &self.posts {
            if self.by_cursor(server, p) {
                found.push(entry(p, None));
            }
            if let Some(r) = self.row_for(server, p) {
                found.push(entry(p, Some(r)));
            }
        }
        let complete = found.len() <= LOAD_LIMIT;
        if !complete {
            for e in &found[LOAD_LIMIT..] {
                if e.row.is_none() {
                    let s = subscriptions
                        .iter_mut()
                        .find(|s| s.author == e.author)
                        .unwrap();
                    s.covered = s.covered.min(e.seq - 1);
                }
            }
            found.truncate(LOAD_LIMIT);
        }
        Input::Loaded {
            subscriptions,
            entries: found,
            complete,
        }
    }
}

fn name(a: usize) -> Arc<str> {
    Arc::from(format!("a{a}@n.test"))
}

fn entry(p: &Post, row: Option<i64>) -> Entry {
    Entry {
        id: p.id,
        author: name(p.author),
        seq: p.seq,
        row,
    }
}

/// A frame or an ack on the wire.
enum Wire {
    Frame {
        server: usize,
        run: u64,
        author: Arc<str>,
        seq: u64,
    },
    Ack {
        server: usize,
        run: u64,
        author: Arc<str>,
        seq: u64,
        status: Status,
    },
}

struct Sim {
    rng: SplitMix64,
    now: u64,
    store: Store,
    /// A machine per server while a run is in progress, with its run number.
    machines: HashMap<usize, (u64, Machine)>,
    runs: u64,
    retry_at: [u64; SERVERS],
    attempts: [u32; SERVERS],
    wire: VecDeque<(u64, Wire)>,
    /// What each server stored, and how many times each was offered.
    received: Vec<BTreeSet<(Arc<str>, u64)>>,
    offered: u64,
    loss: u64,
}

impl Sim {
    fn new(seed: u64, loss: u64) -> Self {
        let mut store = Store::default();
        let mut rng = SplitMix64::new(seed);
        for s in 0..SERVERS {
            if s == ADDRESSED_ONLY {
                continue;
            }
            for a in 0..AUTHORS {
                if rng.between(0, 3) > 0 {
                    store.subs.insert((s, a), (0, 0, rng.between(0, 1) == 1));
                }
            }
        }
        Sim {
            rng,
            now: 0,
            store,
            machines: HashMap::new(),
            runs: 0,
            retry_at: [0; SERVERS],
            attempts: [0; SERVERS],
            wire: VecDeque::new(),
            received: vec![BTreeSet::new(); SERVERS],
            offered: 0,
            loss,
        }
    }

    fn lost(&mut self) -> bool {
        self.rng.between(0, 99) < self.loss
    }

    fn post(&mut self) {
        let author = self.rng.between(0, AUTHORS as u64 - 1) as usize;
        self.store.last[author] += 1;
        let id = self.store.posts.len() as i64 + 1;
        let mut p = Post {
            id,
            author,
            seq: self.store.last[author],
            followers_only: self.rng.between(0, 3) == 0,
            addressed: None,
        };
        if self.rng.between(0, 4) == 0 {
            let to = self.rng.between(0, SERVERS as u64 - 1) as usize;
            let row = 1_000_000 + id;
            p.addressed = Some((to, row));
            self.store.rows.insert(row, to);
        }
        self.store.posts.push(p.clone());
        // the dispatcher hands it to the runs in progress: a subscriber's copy, and the row's
        for s in 0..SERVERS {
            let Some((_, m)) = self.machines.get_mut(&s) else {
                continue;
            };
            if self
                .store
                .subs
                .get(&(s, author))
                .is_some_and(|sub| sub.1 < p.seq)
            {
                let owed = self.store.by_cursor(s, &p);
                m.handle(Input::Live {
                    entry: entry(&p, None),
                    owed,
                });
            }
            if let Some(r) = self.store.row_for(s, &p) {
                m.handle(Input::Live {
                    entry: entry(&p, Some(r)),
                    owed: true,
                });
            }
        }
    }

    /// Starts runs for servers owed something and due.
    fn scan(&mut self) {
        for s in 0..SERVERS {
            if self.machines.contains_key(&s) || self.retry_at[s] > self.now {
                continue;
            }
            if self.store.posts.iter().any(|p| self.store.owed(s, p)) {
                self.runs += 1;
                self.machines
                    .insert(s, (self.runs, Machine::new(self.attempts[s], self.now)));
            }
        }
    }

    /// Carries out every machine's outputs.
    fn drive(&mut self) {
        let servers: Vec<usize> = self.machines.keys().copied().collect();
        for s in servers {
            while let Some((run, m)) = self.machines.get_mut(&s) {
                let run = *run;
                let Some(out) = m.poll() else {
                    m.flush();
                    if let Some(o) = m.poll() {
                        self.apply(s, run, o);
                        continue;
                    }
                    if m.is_done() {
                        self.machines.remove(&s);
                        self.attempts[s] = 0;
                    }
                    break;
                };
                self.apply(s, run, out);
            }
        }
    }

    fn apply(&mut self, s: usize, run: u64, out: Output) {
        match out {
            Output::Load => {
                let input = self.store.load(s);
                self.machines.get_mut(&s).unwrap().1.handle(input);
            }
            Output::Send { author, seq, .. } => {
                let at = self.now + self.rng.between(1, 40);
                self.wire.push_back((
                    at,
                    Wire::Frame {
                        server: s,
                        run,
                        author,
                        seq,
                    },
                ));
            }
            Output::Cursor { author, acked } => {
                let a = (0..AUTHORS).find(|a| name(*a) == author).unwrap();
                let sub = self.store.subs.get_mut(&(s, a)).unwrap();
                sub.1 = sub.1.max(acked);
            }
            Output::DeleteRow { row } => {
                self.store.rows.remove(&row);
            }
            Output::Unsubscribe { .. } => panic!("nobody unsubscribes here"),
            Output::Failed { attempts } => {
                self.machines.remove(&s);
                self.attempts[s] = attempts;
                self.retry_at[s] = self.now + 100 * (1 << attempts.min(6));
            }
        }
    }

    fn deliver_wire(&mut self) {
        let mut later = VecDeque::new();
        while let Some((at, w)) = self.wire.pop_front() {
            if at > self.now {
                later.push_back((at, w));
                continue;
            }
            if self.lost() {
                continue;
            }
            match w {
                Wire::Frame {
                    server,
                    run,
                    author,
                    seq,
                } => {
                    self.offered += 1;
                    let fresh = self.received[server].insert((author.clone(), seq));
                    let status = if fresh {
                        Status::Stored
                    } else {
                        Status::Duplicate
                    };
                    let at = self.now + self.rng.between(1, 40);
                    later.push_back((
                        at,
                        Wire::Ack {
                            server,
                            run,
                            author,
                            seq,
                            status,
                        },
                    ));
                }
                Wire::Ack {
                    server,
                    run,
                    author,
                    seq,
                    status,
                } => {
                    if let Some((r, m)) = self.machines.get_mut(&server) {
                        if *r == run {
                            m.handle(Input::Ack {
                                author,
                                seq,
                                status,
                            });
                        }
                    }
                }
            }
        }
        self.wire = later;
    }

    fn step(&mut self, posting: bool) {
        self.now += 10;
        if posting && self.rng.between(0, 2) == 0 {
            self.post();
        }
        match self.rng.between(0, 999) {
            // the sender restarts: runs and what was on the wire are gone, cursors not flushed
            // are lost; the durable store stays
            0 if posting => {
                self.machines.clear();
                self.wire.clear();
            }
            // a receiver restarts (or a link dies): its link's frames and acks are gone
            1 | 2 if posting => {
                let s = self.rng.between(0, SERVERS as u64 - 1) as usize;
                self.wire.retain(|(_, w)| match w {
                    Wire::Frame { server, .. } | Wire::Ack { server, .. } => *server != s,
                });
                if let Some((_, m)) = self.machines.get_mut(&s) {
                    m.handle(Input::LinkDown);
                }
            }
            _ => {}
        }
        if self.now.is_multiple_of(100) {
            self.scan();
        }
        self.drive();
        self.deliver_wire();
        let now = self.now;
        for (_, m) in self.machines.values_mut() {
            m.handle(Input::Tick { now_ms: now });
        }
        self.drive();
    }
}

fn run(seed: u64, loss: u64) {
    let mut sim = Sim::new(seed, loss);
    for _ in 0..3_000 {
        sim.step(true);
    }
    // the network heals; everything owed drains
    sim.loss = 0;
    for _ in 0..20_000 {
        sim.step(false);
        if sim.now.is_multiple_of(1_000)
            && sim.machines.is_empty()
            && sim.wire.is_empty()
            && (0..SERVERS).all(|s| !sim.store.posts.iter().any(|p| sim.store.owed(s, p)))
        {
            break;
        }
    }
    for s in 0..SERVERS {
        let want: BTreeSet<(Arc<str>, u64)> = sim
            .store
            .posts
            .iter()
            .filter(|p| sim.store.ever_owed(s, p))
            .map(|p| (name(p.author), p.seq))
            .collect();
        assert_eq!(
            sim.received[s], want,
            "seed {seed}: server {s} got what it is owed"
        );
        for a in 0..AUTHORS {
            if let Some(&(_, acked, _)) = sim.store.subs.get(&(s, a)) {
                let last_owed = sim
                    .store
                    .posts
                    .iter()
                    .filter(|p| p.author == a && sim.store.ever_owed(s, p))
                    .map(|p| p.seq)
                    .max()
                    .unwrap_or(0);
                assert!(acked >= last_owed, "seed {seed}: cursor {s}/{a} at the end");
            }
        }
    }
    assert!(
        sim.store.rows.is_empty(),
        "seed {seed}: every row acknowledged"
    );
    let stored: usize = sim.received.iter().map(|r| r.len()).sum();
    assert!(
        stored > 100,
        "seed {seed}: the run delivered something ({stored})"
    );
    // resends are bounded: lost frames and acks, restarts; not a storm
    assert!(
        sim.offered <= 3 * stored as u64 + 2_000,
        "seed {seed}: {} offered for {stored} stored",
        sim.offered
    );
}

#[test]
fn every_post_reaches_every_server_once_without_loss() {
    for seed in 0..4 {
        run(seed, 0);
    }
}

#[test]
fn every_post_reaches_every_server_once_under_loss_and_restarts() {
    for seed in 100..112 {
        run(seed, 5);
    }
    for seed in 200..204 {
        run(seed, 30);
    }
}
