//! A deterministic network on a virtual clock for the stream (test only), in the style of
//! quinn's `Pair::drive()`: one sender, several receivers, each with its own multicast link
//! (loss, duplication, reordering, delay, outages) and a reliable "TCP" path that carries NACKs
//! to the sender and repairs (and, when open, a relay session) back. Every random choice comes
//! from one seeded [`SplitMix64`], so a run is reproduced by its seed.

use super::packet::{Kind, Packet};
use super::path::{Action, PathSelector};
use super::rng::SplitMix64;
use super::sender::Sender;
use super::window::WindowLimits;
use super::{Cursor, Event, Receiver, ReceiverLimits};
use crate::proto::keys::NodeKey;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::ops::RangeInclusive;

/// How one multicast link mangles datagrams.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub loss: f64,
    pub dup: f64,
    pub reorder: f64,
    pub delay_ms: u64,
    /// Extra delay, up to this, of a reordered datagram.
    pub jitter_ms: u64,
}

impl Link {
    pub const CLEAN: Link = Link {
        loss: 0.0,
        dup: 0.0,
        reorder: 0.0,
        delay_ms: 20,
        jitter_ms: 0,
    };

    pub fn lossy(loss: f64) -> Link {
        Link {
            loss,
            ..Link::CLEAN
        }
    }
}

/// One receiving node and what it saw.
pub struct Node {
    pub rx: Receiver,
    pub link: Link,
    /// One-way delay of the node's TCP path to the sender.
    pub tcp_ms: u64,
    /// Multicast reaches the node only inside `[from, until)` (a late join, an outage).
    pub mcast_from: u64,
    pub mcast_until: u64,
    /// Multicast outages `[a, b)` on top of that.
    pub outages: Vec<(u64, u64)>,
    /// Events in order, NACKs left out (counted in `nacks`).
    pub log: Vec<(u64, Event)>,
    pub nacks: Vec<(u64, Vec<RangeInclusive<u64>>)>,
    /// Seqs whose multicast datagram was lost on the way to this node.
    pub lost: BTreeSet<u64>,
    /// Optional path selector; `relay_open`/`joined` mirror its actions.
    pub path: Option<PathSelector>,
    pub relay_open: bool,
    pub joined: bool,
}

enum Flight {
    /// A datagram for node `to`; `mcast` if by multicast, else by the reliable path.
    Datagram {
        to: usize,
        bytes: Vec<u8>,
        mcast: bool,
    },
    /// A NACK from node `from`.
    Nack {
        from: usize,
        epoch: u32,
        ranges: Vec<RangeInclusive<u64>>,
    },
    /// The relay session of node `to` is up: send the backlog from `cursor`.
    RelayUp { to: usize, cursor: Option<Cursor> },
}

/// The whole simulated network.
pub struct Net {
    pub now: u64,
    pub rng: SplitMix64,
    pub sender: Sender,
    pub nodes: Vec<Node>,
    /// Messages still to push: (time, bytes).
    pub workload: std::collections::VecDeque<(u64, Vec<u8>)>,
    /// Every pushed message by seq: (bytes, time first transmitted).
    pub sent: BTreeMap<u64, (Vec<u8>, Option<u64>)>,
    /// Multicast datagrams transmitted by the sender.
    pub transmitted: u64,
    /// Status datagrams (heartbeats, announcements) the sender multicast, while `capturing`:
    /// what anyone on the segment could record and send again.
    pub captured: Vec<Vec<u8>>,
    pub capturing: bool,
    flights: BinaryHeap<Reverse<(u64, u64)>>,
    pending: HashMap<u64, Flight>,
    order: u64,
}

pub fn stream_key() -> NodeKey {
    NodeKey::from_bytes(&[0x5a; 32]).unwrap_or_else(|_| unreachable!())
}

impl Net {
    /// A network with a fresh sender (epoch 1) and `n` receivers on `link`.
    pub fn new(seed: u64, n: usize, link: Link, window: WindowLimits) -> Net {
        let nodes = (0..n)
            .map(|i| Node {
                rx: Receiver::new(
                    stream_key().public(),
                    ReceiverLimits::ROUTER,
                    seed ^ i as u64,
                ),
                link,
                tcp_ms: 30,
                mcast_from: 0,
                mcast_until: u64::MAX,
                outages: Vec::new(),
                log: Vec::new(),
                nacks: Vec::new(),
                lost: BTreeSet::new(),
                path: None,
                relay_open: false,
                joined: true,
            })
            .collect();
        Net {
            now: 0,
            rng: SplitMix64::new(seed),
            sender: Sender::new(stream_key(), 1, window),
            nodes,
            workload: Default::default(),
            sent: BTreeMap::new(),
            transmitted: 0,
            captured: Vec::new(),
            capturing: false,
            flights: BinaryHeap::new(),
            pending: HashMap::new(),
            order: 0,
        }
    }

    /// Schedules `count` messages every `every_ms` from `start`, sizes 20..=`max_len` bytes.
    pub fn add_workload(&mut self, start: u64, count: usize, every_ms: u64, max_len: usize) {
        for i in 0..count {
            let len = self.rng.between(20, max_len as u64) as usize;
            let mut m = format!("msg-{}-{i}:", start).into_bytes();
            m.resize(len.max(m.len()), b'.');
            self.workload.push_back((start + i as u64 * every_ms, m));
        }
    }

    /// Schedules one message at `at`.
    pub fn add_message(&mut self, at: u64, message: Vec<u8>) {
        let i = self.workload.partition_point(|w| w.0 <= at);
        self.workload.insert(i, (at, message));
    }

    /// The sender restarts with a new epoch and an empty window (messages already queued in the
    /// workload go to the new sender); returns the old sender's newest seq.
    pub fn restart_sender(&mut self, epoch: u32, window: WindowLimits) -> u64 {
        let old = std::mem::replace(&mut self.sender, Sender::new(stream_key(), epoch, window));
        self.sent.clear();
        old.newest()
    }

    fn send(&mut self, at: u64, f: Flight) {
        self.order += 1;
        self.flights.push(Reverse((at, self.order)));
        self.pending.insert(self.order, f);
    }

    /// Hands `bytes` to node `to` after `delay`, by the reliable path.
    pub fn inject(&mut self, to: usize, delay: u64, bytes: Vec<u8>) {
        self.send(
            self.now + delay,
            Flight::Datagram {
                to,
                bytes,
                mcast: false,
            },
        );
    }

    /// Multicasts `bytes` to node `to` after `delay`, as a host on its segment would: outages
    /// of the sender's path do not stop it, only the node's leaving the group.
    pub fn inject_multicast(&mut self, to: usize, delay: u64, bytes: Vec<u8>) {
        if self.nodes[to].joined {
            self.send(
                self.now + delay,
                Flight::Datagram {
                    to,
                    bytes,
                    mcast: true,
                },
            );
        }
    }

    fn next_time(&self) -> Option<u64> {
        let work = self.workload.front().map(|w| w.0);
        let flight = self.flights.peek().map(|Reverse((t, _))| *t);
        let nodes = self.nodes.iter().flat_map(|n| {
            [
                n.rx.poll_timeout(),
                n.path.as_ref().and_then(|p| p.poll_timeout()),
            ]
        });
        [work, flight, self.sender.poll_timeout()]
            .into_iter()
            .chain(nodes)
            .flatten()
            .min()
    }

    /// Runs until virtual time `until`.
    pub fn drive(&mut self, until: u64) {
        let mut steps = 0u64;
        while let Some(t) = self.next_time() {
            if t > until {
                break;
            }
            steps += 1;
            assert!(steps < 10_000_000, "simulation does not progress at {t}");
            self.now = self.now.max(t);
            self.step();
        }
        self.now = until;
    }

    fn step(&mut self) {
        let now = self.now;
        while self.workload.front().is_some_and(|w| w.0 <= now) {
            if let Some((_, m)) = self.workload.pop_front() {
                let seq = self.sender.push(now, &m).unwrap_or_else(|e| panic!("{e}"));
                self.sent.insert(seq, (m, None));
            }
        }
        while let Some(d) = self.sender.poll_transmit(now) {
            self.multicast(d.kind, d.bytes);
        }
        while self.flights.peek().is_some_and(|Reverse((t, _))| *t <= now) {
            if let Some(Reverse((_, id))) = self.flights.pop() {
                if let Some(f) = self.pending.remove(&id) {
                    self.arrive(f);
                }
            }
        }
        for i in 0..self.nodes.len() {
            let node = &mut self.nodes[i];
            if node.rx.poll_timeout().is_some_and(|t| t <= now) {
                node.rx.handle_timeout(now);
            }
            if let Some(p) = node.path.as_mut() {
                if p.poll_timeout().is_some_and(|t| t <= now) {
                    p.handle_timeout(now);
                }
            }
            self.drain(i);
        }
    }

    fn multicast(&mut self, kind: Kind, bytes: Vec<u8>) {
        self.transmitted += 1;
        // status datagrams carry no seqs: an empty range
        let seqs = match Packet::decode(&bytes) {
            Ok(p) if matches!(kind, Kind::Data | Kind::BigAnnounce) => p.seq..p.last_seq() + 1,
            _ => 0..0,
        };
        if self.capturing && matches!(kind, Kind::Heartbeat | Kind::Announce) {
            self.captured.push(bytes.clone());
        }
        for s in seqs.clone() {
            if let Some(e) = self.sent.get_mut(&s) {
                e.1.get_or_insert(self.now);
            }
        }
        for to in 0..self.nodes.len() {
            if self.nodes[to].relay_open {
                let at = self.now + self.nodes[to].tcp_ms;
                self.send(
                    at,
                    Flight::Datagram {
                        to,
                        bytes: bytes.clone(),
                        mcast: false,
                    },
                );
            }
            let n = &self.nodes[to];
            let now = self.now;
            let reachable = n.joined
                && now >= n.mcast_from
                && now < n.mcast_until
                && !n.outages.iter().any(|(a, b)| (*a..*b).contains(&now));
            let link = n.link;
            if !reachable || self.rng.chance(link.loss) {
                self.nodes[to].lost.extend(seqs.clone());
                continue;
            }
            let copies = 1 + usize::from(self.rng.chance(link.dup));
            for _ in 0..copies {
                let extra = if self.rng.chance(link.reorder) {
                    self.rng.between(1, link.jitter_ms)
                } else {
                    0
                };
                let at = now + link.delay_ms + extra;
                self.send(
                    at,
                    Flight::Datagram {
                        to,
                        bytes: bytes.clone(),
                        mcast: true,
                    },
                );
            }
        }
    }

    fn arrive(&mut self, f: Flight) {
        let now = self.now;
        match f {
            Flight::Datagram { to, bytes, mcast } => {
                let n = &mut self.nodes[to];
                let res = if mcast {
                    n.rx.handle_multicast(now, &bytes)
                } else {
                    n.rx.handle_datagram(now, &bytes)
                };
                // only what comes by multicast tells the path selector that multicast works
                let status = matches!(res, Ok(Kind::Announce | Kind::Heartbeat));
                if let (true, true, Some(p)) = (status, mcast, n.path.as_mut()) {
                    if let Ok(pkt) = Packet::decode(&bytes) {
                        p.announce_seen(now, pkt.seq);
                    }
                }
                self.drain(to);
            }
            Flight::Nack {
                from,
                epoch,
                ranges,
            } => {
                let at = now + self.nodes[from].tcp_ms;
                for d in self.sender.repair_ranges(epoch, &ranges) {
                    self.send(
                        at,
                        Flight::Datagram {
                            to: from,
                            bytes: d.bytes,
                            mcast: false,
                        },
                    );
                }
            }
            Flight::RelayUp { to, cursor } => {
                if let Some(p) = self.nodes[to].path.as_mut() {
                    p.relay_connected(now);
                }
                self.nodes[to].relay_open = true;
                // the hub replays its window from the cursor (nothing without one: live from now)
                if let Some(c) = cursor {
                    let at = now + self.nodes[to].tcp_ms;
                    let newest = self.sender.newest().max(c.next);
                    for d in self.sender.repair_ranges(c.epoch, &[c.next..=newest]) {
                        self.send(
                            at,
                            Flight::Datagram {
                                to,
                                bytes: d.bytes,
                                mcast: false,
                            },
                        );
                    }
                }
                self.drain(to);
            }
        }
    }

    /// Takes node `i`'s events and path actions.
    fn drain(&mut self, i: usize) {
        let now = self.now;
        while let Some(e) = self.nodes[i].rx.poll_event() {
            match e {
                Event::Nack { epoch, ranges } => {
                    self.nodes[i].nacks.push((now, ranges.clone()));
                    let at = now + self.nodes[i].tcp_ms;
                    self.send(
                        at,
                        Flight::Nack {
                            from: i,
                            epoch,
                            ranges,
                        },
                    );
                }
                Event::FetchLarge { seq, large, .. } => {
                    // the driver fetches the body over TCP and checks it against the reference
                    // (a body already out of the window would be backfilled by author instead)
                    if let Some(body) = self.sender.large(seq) {
                        assert!(large.matches(body), "node {i}: large {seq} does not match");
                    }
                    self.nodes[i].log.push((now, e));
                }
                e => self.nodes[i].log.push((now, e)),
            }
        }
        let cursor = self.nodes[i].rx.cursor();
        let Some(p) = self.nodes[i].path.as_mut() else {
            return;
        };
        if let Some(c) = cursor {
            p.set_cursor(c);
        }
        let mut actions = Vec::new();
        while let Some(a) = p.poll_action() {
            actions.push(a);
        }
        for a in actions {
            let n = &mut self.nodes[i];
            match a {
                Action::JoinMulticast => n.joined = true,
                Action::LeaveMulticast => n.joined = false,
                Action::CloseRelay => n.relay_open = false,
                Action::OpenRelay { resume_cursor } => {
                    let at = now + 2 * n.tcp_ms; // connection set-up
                    self.send(
                        at,
                        Flight::RelayUp {
                            to: i,
                            cursor: resume_cursor,
                        },
                    );
                }
            }
        }
    }

    /// Checks node `i`'s log: Deliver seqs strictly increasing with the bytes sent, every seq
    /// from its join point to `upto` delivered or inside exactly one Backfill range, never both.
    /// Returns the backfilled ranges.
    pub fn check_exactly_once(&self, i: usize, upto: u64) -> Vec<RangeInclusive<u64>> {
        let mut covered = BTreeSet::new();
        let mut last = 0;
        let mut start = None;
        let mut backfills = Vec::new();
        for (_, e) in &self.nodes[i].log {
            match e {
                Event::Started { after, .. } => {
                    assert!(
                        start.is_none(),
                        "node {i}: restarted without an epoch change"
                    );
                    start = Some(after + 1);
                }
                Event::Deliver { seq, message } => {
                    assert!(*seq > last, "node {i}: seq {seq} after {last}");
                    last = *seq;
                    assert_eq!(
                        Some(message),
                        self.sent.get(seq).map(|s| &s.0),
                        "node {i} seq {seq}"
                    );
                    assert!(covered.insert(*seq), "node {i}: seq {seq} twice");
                }
                Event::FetchLarge { seq, .. } => {
                    assert!(*seq > last);
                    last = *seq;
                    assert!(covered.insert(*seq));
                }
                Event::Backfill { range, .. } => {
                    assert!(
                        *range.start() > last,
                        "node {i}: backfill {range:?} after {last}"
                    );
                    last = *range.end();
                    for s in range.clone() {
                        assert!(covered.insert(s), "node {i}: seq {s} backfilled twice");
                    }
                    backfills.push(range.clone());
                }
                Event::Nack { .. } => {}
            }
        }
        let start = start.unwrap_or(1);
        let want: BTreeSet<u64> = (start..=upto).collect();
        let got: BTreeSet<u64> = covered.range(start..=upto).copied().collect();
        assert_eq!(
            got.len(),
            want.len(),
            "node {i}: missing {:?}",
            want.difference(&got).take(10).collect::<Vec<_>>()
        );
        backfills
    }

    /// Delays (virtual ms) from first transmission to delivery of the seqs node `i` lost on
    /// multicast, sorted.
    pub fn repair_delays(&self, i: usize) -> Vec<u64> {
        let mut out: Vec<u64> = self.nodes[i]
            .log
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Deliver { seq, .. } if self.nodes[i].lost.contains(seq) => {
                    let sent = self.sent.get(seq).and_then(|s| s.1)?;
                    Some(t - sent)
                }
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Messages delivered to node `i`.
    pub fn delivered(&self, i: usize) -> usize {
        self.nodes[i]
            .log
            .iter()
            .filter(|(_, e)| matches!(e, Event::Deliver { .. }))
            .count()
    }
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() - 1) * p / 100]
}
