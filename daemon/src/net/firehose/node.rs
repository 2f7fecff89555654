//! A node's end of the firehose: one [`Receiver`] of the hub's stream fed by whichever path
//! the [`PathSelector`] picks. Multicast when the WAN address is global (per `is_global` and
//! `firehose.global_prefixes`) and the hub's announcements arrive within
//! `firehose.announce_timeout_s`; otherwise a relay session to the hub, resumed at the
//! receiver's cursor. NACKs go over the relay session, or over a NACK-only connection to the
//! hub's relay port while on multicast. Both paths feed the one receiver, so a switch neither
//! loses nor repeats a message.
//!
//! Fetches by stream seq go over the same connection: a large message (`FetchLarge`, checked
//! against its announced length and hash) and a range the stream gave up on after NACKing it
//! for [`crate::proto::stream::event::GIVE_UP_MS`] (`Backfill`). The hub answers from its repair
//! window. Decision: a range the hub no longer holds (or that never came) is logged and counted
//! `lost`, not fetched by per-author link backfill: that needs (author, seq), and a stream seq
//! says neither. Instead [`deliver`] asks the author's node for the missing author seqs when
//! that author's next message is stored and shows the gap.

use super::iface::{self, Wan};
use super::session::{Fetch, Fetched, Nack, Open, MAX_FETCH_SEQS, MAX_PUBLISH_AUTHORS};
use super::upstream::{FromHub, Upstream};
use super::{deliver, socket, FirehoseCounters, PathShown};
use crate::net::Net;
use crate::proto::stream::{
    is_global, Action, Dropped, Event, Kind, LargeRef, Packet, PathSelector, PathState, Prefix,
    Receiver, ReceiverLimits, SkipReason, MAX_DATAGRAM,
};
use crate::proto::PublicKey;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Events from connections to the hub waiting for the node task: a burst of relayed
/// datagrams (a resume replay is at most 256).
pub const UPSTREAM_QUEUE: usize = 512;
/// Seqs being fetched from the hub at once (large messages and given-up ranges): a give-up
/// of 16 NACK ranges' worth; past it a given-up seq is counted lost at once.
pub const MAX_FETCHING: usize = 1024;
/// A fetch not answered within this is counted lost (the connection died, or the hub's queue
/// was full).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often unanswered fetches are checked.
const FETCH_SWEEP: Duration = Duration::from_secs(1);

/// What a node's firehose needs from the configuration.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The multicast group.
    pub group: SocketAddr,
    /// `firehose.interface` (empty: the WAN one).
    pub interface: String,
    /// The hub's relay address (empty: no relay).
    pub hub: String,
    /// The hub's stream key.
    pub hub_key: PublicKey,
    /// Prefixes treated as global.
    pub global_prefixes: Vec<Prefix>,
    /// Announcement timeout.
    pub announce_timeout: Duration,
    /// Fixed hold-down before multicast is tried again (`firehose.multicast_retry_s`);
    /// None: random, 3 to 10 min.
    pub multicast_retry: Option<Duration>,
    /// How long a gap is NACKed before it is fetched by seq (`firehose.give_up_ms`).
    pub give_up_ms: u64,
    /// Unfollowed public posts kept for the discover view (`firehose.discover_keep`).
    pub discover_keep: usize,
    /// Ask the hub to multicast this node's public posts (`firehose.publish`).
    pub publish: bool,
    /// Take links through the hub (`firehose.via_hub`).
    pub via_hub: bool,
    /// This node's own link listener, where links taken through the hub are piped.
    pub local_links: SocketAddr,
}

/// The first wait before the service connection is dialled again; it doubles per failure...
const SERVICE_RETRY_MIN: Duration = Duration::from_secs(1);
/// ...up to this.
const SERVICE_RETRY_MAX: Duration = Duration::from_secs(60);

/// A seq being fetched from the hub.
struct Fetching {
    /// Set for a large message: what the fetched body must match.
    large: Option<LargeRef>,
    /// When it was asked for (ms of the node's clock).
    asked_at: u64,
}

struct Node {
    net: Arc<Net>,
    s: NodeSettings,
    wan: Option<Wan>,
    rx: Receiver,
    path: PathSelector,
    mcast: Option<UdpSocket>,
    relay: Option<Upstream>,
    nack_only: Option<Upstream>,
    /// The connection that asks the hub to publish this node's authors and carries links for
    /// it (`publish`, `via_hub`).
    service: Option<Upstream>,
    /// When to dial the service connection again (ms of the node's clock).
    service_retry: Option<u64>,
    /// Its failures in a row.
    service_failures: u32,
    /// True once it was up (a publish request got through).
    service_was_up: bool,
    /// The authors to publish.
    publish: Vec<crate::proto::Address>,
    /// The hub's address, the source of an SSM group's datagrams.
    source: Option<std::net::Ipv4Addr>,
    next_id: u64,
    events: mpsc::Sender<FromHub>,
    store: mpsc::Sender<Vec<u8>>,
    start: Instant,
    fetching: BTreeMap<(u32, u64), Fetching>,
    next_sweep: u64,
}

/// Runs the node's firehose until the process ends.
pub async fn run(net: Arc<Net>, s: NodeSettings) {
    let wan = match iface::wan(&s.interface) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "firehose: no WAN interface; relay only");
            None
        }
    };
    let global = wan
        .as_ref()
        .is_some_and(|w| w.addrs.iter().any(|a| is_global(*a, &s.global_prefixes)));
    tracing::info!(interface = ?wan.as_ref().map(|w| &w.name), global, "firehose: WAN address classified");
    let mut seed = [0u8; 8];
    let _ = getrandom::getrandom(&mut seed);
    let seed = u64::from_le_bytes(seed);
    let timeout = s.announce_timeout.as_millis() as u64;
    let (events, mut from_hub) = mpsc::channel(UPSTREAM_QUEUE);
    let mut path = PathSelector::new(seed ^ 0x9e37_79b9).with_timeouts(timeout, timeout);
    if let Some(h) = s.multicast_retry {
        path = path.with_hold_down(h.as_millis() as u64);
    }
    let mut node = Node {
        store: deliver::spawn(net.clone(), s.discover_keep),
        rx: Receiver::new(
            s.hub_key,
            ReceiverLimits {
                give_up_ms: s.give_up_ms,
                ..ReceiverLimits::ROUTER
            },
            seed,
        ),
        path,
        net,
        s,
        wan,
        mcast: None,
        relay: None,
        nack_only: None,
        service: None,
        service_retry: None,
        service_failures: 0,
        service_was_up: false,
        publish: Vec::new(),
        source: None,
        next_id: 1,
        events,
        start: Instant::now(),
        fetching: BTreeMap::new(),
        next_sweep: 0,
    };
    let now = node.now();
    node.path.wan_address_is_global(now, global);
    if node.s.publish {
        node.publish = local_authors(&node.net).await;
    }
    if socket::is_ssm_v4(node.s.group.ip()) {
        node.source = hub_source(&node.s.hub).await;
        tracing::info!(group = %node.s.group, source = ?node.source, "firehose: source-specific group");
    }
    if node.s.publish || node.s.via_hub {
        node.service_retry = Some(now);
    }
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        node.act().await;
        let sweep = (!node.fetching.is_empty()).then_some(node.next_sweep);
        let wake = [
            node.rx.poll_timeout(),
            node.path.poll_timeout(),
            sweep,
            node.service_retry,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| node.start + Duration::from_millis(t));
        tokio::select! {
            r = recv(&node.mcast, &mut buf) => match r {
                Ok(n) => {
                    let bytes = buf[..n].to_vec();
                    node.datagram(&bytes, true);
                }
                Err(e) => tracing::debug!(error = %e, "firehose: multicast receive failed"),
            },
            e = from_hub.recv() => match e {
                Some(e) => node.handle_hub(e),
                None => return,
            },
            _ = sleep_until(wake) => {
                let now = node.now();
                node.rx.handle_timeout(now);
                node.path.handle_timeout(now);
                node.sweep_fetches(now);
                node.service_due(now);
            }
        }
    }
}

/// The IPv4 address `firehose.hub` resolves to: where an SSM group's datagrams come from.
async fn hub_source(hub: &str) -> Option<std::net::Ipv4Addr> {
    let addrs = tokio::net::lookup_host(hub).await.ok()?;
    addrs.into_iter().find_map(|a| match a.ip() {
        std::net::IpAddr::V4(v4) => Some(v4),
        std::net::IpAddr::V6(_) => None,
    })
}

/// This node's users' addresses (at most [`MAX_PUBLISH_AUTHORS`]).
async fn local_authors(net: &Arc<Net>) -> Vec<crate::proto::Address> {
    let domain = net.domain.clone();
    let users = net.pool.run(|s| s.list_users()).await.unwrap_or_default();
    if users.len() > MAX_PUBLISH_AUTHORS {
        tracing::warn!(
            users = users.len(),
            max = MAX_PUBLISH_AUTHORS,
            "firehose.publish: only the first users are published"
        );
    }
    users
        .iter()
        .filter_map(|u| crate::proto::Address::parse(&format!("{}@{domain}", u.name)).ok())
        .take(MAX_PUBLISH_AUTHORS)
        .collect()
}

async fn recv(s: &Option<UdpSocket>, buf: &mut [u8]) -> std::io::Result<usize> {
    match s {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

impl Node {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Hands a datagram to the receiver; true if it brought new data.
    fn datagram(&mut self, bytes: &[u8], mcast: bool) -> bool {
        let c = &self.net.firehose;
        FirehoseCounters::bump(&c.datagrams_received);
        FirehoseCounters::add(&c.bytes_received, bytes.len());
        if mcast {
            FirehoseCounters::bump(&c.multicast_received);
        }
        let now = self.now();
        let handled = if mcast {
            self.rx.handle_multicast(now, bytes)
        } else {
            self.rx.handle_datagram(now, bytes)
        };
        match handled {
            // by multicast, `Ok` for a status means it was news: multicast is alive
            Ok(Kind::Announce | Kind::Heartbeat) if mcast => {
                if let Ok(p) = Packet::decode(bytes) {
                    self.path.announce_seen(now, p.seq);
                }
                false
            }
            Ok(k) => matches!(k, Kind::Data | Kind::BigAnnounce),
            Err(Dropped::Forged) => {
                FirehoseCounters::bump(&c.forged_dropped);
                false
            }
            Err(Dropped::Duplicate) => {
                FirehoseCounters::bump(&c.duplicates);
                false
            }
            Err(Dropped::Replay | Dropped::StaleEpoch) => {
                FirehoseCounters::bump(&c.replays_dropped);
                false
            }
            Err(Dropped::Foreign) => {
                FirehoseCounters::bump(&c.foreign_dropped);
                false
            }
            Err(d @ Dropped::Malformed(_)) => {
                FirehoseCounters::bump(&c.malformed_dropped);
                tracing::debug!(?d, "firehose: datagram dropped");
                false
            }
            Err(d) => {
                tracing::debug!(?d, "firehose: datagram dropped");
                false
            }
        }
    }

    fn handle_hub(&mut self, e: FromHub) {
        let now = self.now();
        let is_relay = |id| self.relay.as_ref().is_some_and(|r| r.id == id);
        match e {
            FromHub::Up { id } if is_relay(id) => {
                self.path.relay_connected(now);
                let c = &self.net.firehose;
                FirehoseCounters::bump(&c.relay_opened);
                if c.relay_after_ms.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                    c.relay_after_ms
                        .store(now.max(1) as usize, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::info!(after_ms = now, "firehose: relay session up");
            }
            FromHub::Up { id } if self.is_service(id) => {
                self.service_failures = 0;
                self.service_was_up = true;
                tracing::info!(
                    links = self.s.via_hub,
                    publish = self.publish.len(),
                    "firehose: service connection to the hub up"
                );
            }
            FromHub::Up { .. } => {}
            FromHub::Datagram { id, bytes, repair } => {
                let known = is_relay(id) || self.nack_only.as_ref().is_some_and(|r| r.id == id);
                if known {
                    if repair {
                        FirehoseCounters::bump(&self.net.firehose.repairs);
                    }
                    if self.datagram(&bytes, false) && repair {
                        if let Ok(p) = Packet::decode(&bytes) {
                            tracing::debug!(
                                first = p.seq,
                                last = p.last_seq(),
                                "firehose: repaired seqs"
                            );
                        }
                    }
                }
            }
            FromHub::Fetched { id, fetched } => {
                let known = is_relay(id) || self.nack_only.as_ref().is_some_and(|r| r.id == id);
                if known {
                    self.fetched(fetched);
                }
            }
            FromHub::Down { id } if is_relay(id) => {
                self.relay = None;
                self.path.relay_lost(now);
            }
            FromHub::Down { id } if self.is_service(id) => {
                self.service = None;
                // links need the connection always; a publish request only until it got through
                if self.s.via_hub || !self.service_was_up {
                    let wait = SERVICE_RETRY_MIN
                        .saturating_mul(1 << self.service_failures.min(6))
                        .min(SERVICE_RETRY_MAX);
                    self.service_retry = Some(now + wait.as_millis() as u64);
                }
                self.service_failures = self.service_failures.saturating_add(1);
            }
            FromHub::Down { id } => {
                if self.nack_only.as_ref().is_some_and(|r| r.id == id) {
                    self.nack_only = None;
                }
            }
        }
    }

    /// Takes the receiver's events and the selector's actions, and carries them out.
    async fn act(&mut self) {
        while let Some(e) = self.rx.poll_event() {
            self.event(e).await;
        }
        if let Some(c) = self.rx.cursor() {
            self.path.set_cursor(c);
        }
        while let Some(a) = self.path.poll_action() {
            self.action(a);
        }
        self.net.firehose.set_path(match self.path.state() {
            PathState::Undecided => PathShown::None,
            PathState::TryingMulticast => PathShown::Trying,
            PathState::Multicast => PathShown::Multicast,
            PathState::Relay => PathShown::Relay,
        });
    }

    async fn event(&mut self, e: Event) {
        let c = &self.net.firehose;
        match e {
            Event::Started { epoch, after } => {
                tracing::info!(epoch, after, "firehose: following the hub's stream");
            }
            Event::Deliver { message, .. } => {
                FirehoseCounters::bump(&c.delivered);
                // waits while the store is busy: the relay session and the hub's queue for it
                // hold the rest (back-pressure), and multicast loss meanwhile is NACKed later
                if self.store.send(message).await.is_err() {
                    FirehoseCounters::bump(&self.net.firehose.refused);
                    tracing::warn!("firehose: the store task stopped; a message is not stored");
                }
            }
            Event::Nack { epoch, ranges } => {
                FirehoseCounters::bump(&c.nacks_sent);
                self.nack(Nack::new(epoch, &ranges));
            }
            Event::Backfill {
                epoch,
                range,
                reason,
            } => {
                FirehoseCounters::bump(&c.backfills);
                let n = (range.end() - range.start() + 1) as usize;
                if reason != SkipReason::Timeout {
                    // out of the hub's window, or of an epoch the hub has left
                    FirehoseCounters::add(&c.lost, n);
                    tracing::warn!(
                        ?range,
                        ?reason,
                        "firehose: gave up on a range the hub no longer holds (lost to the stream)"
                    );
                    return;
                }
                tracing::info!(
                    ?range,
                    "firehose: gave up NACKing a range; fetching it by seq"
                );
                let mut first = *range.start();
                while first <= *range.end() {
                    let last = (first + MAX_FETCH_SEQS - 1).min(*range.end());
                    self.fetch(epoch, first, last, None);
                    first = last + 1;
                }
            }
            Event::FetchLarge { epoch, seq, large } => {
                tracing::debug!(seq, len = large.len, "firehose: fetching a large message");
                self.fetch(epoch, seq, seq, Some(large));
            }
        }
    }

    /// Asks the hub for `first..=last` (at most [`MAX_FETCH_SEQS`]) of `epoch`.
    fn fetch(&mut self, epoch: u32, first: u64, last: u64, large: Option<LargeRef>) {
        let now = self.now();
        let mut asked = 0;
        for seq in first..=last {
            if self.fetching.len() >= MAX_FETCHING {
                break;
            }
            self.fetching.insert(
                (epoch, seq),
                Fetching {
                    large,
                    asked_at: now,
                },
            );
            asked += 1;
        }
        let unasked = (last - first + 1) as usize - asked;
        if unasked > 0 {
            FirehoseCounters::add(&self.net.firehose.lost, unasked);
            tracing::warn!(
                first,
                last,
                unasked,
                "firehose: too many fetches at once; seqs lost"
            );
        }
        if asked > 0 {
            let f = Fetch {
                epoch,
                first,
                last: first + asked as u64 - 1,
            };
            if let Some(u) = self.upstream() {
                u.fetch(f); // not queued: the sweep counts it lost
            }
        }
    }

    /// Takes fetched messages: those asked for (and, if large, matching their reference) go
    /// to the store; asked-for seqs not in the answer are counted lost.
    fn fetched(&mut self, f: Fetched) {
        let c = &self.net.firehose;
        let mut messages = f.messages.into_iter().peekable();
        for seq in f.first..=f.last {
            let m = match messages.peek() {
                Some((s, _)) if *s == seq => messages.next().map(|(_, m)| m),
                _ => None,
            };
            let Some(w) = self.fetching.remove(&(f.epoch, seq)) else {
                continue; // not asked for, or already counted lost
            };
            match m {
                Some(m) if w.large.is_none_or(|l| l.matches(&m)) => {
                    FirehoseCounters::bump(&c.fetched);
                    if self.store.try_send(m).is_err() {
                        FirehoseCounters::bump(&c.refused);
                        tracing::warn!("firehose: store queue full; a fetched message is dropped");
                    }
                }
                Some(_) => {
                    FirehoseCounters::bump(&c.lost);
                    tracing::warn!(
                        seq,
                        "firehose: fetched message does not match its announcement"
                    );
                }
                None => {
                    FirehoseCounters::bump(&c.lost);
                    tracing::warn!(
                        seq,
                        "firehose: the hub no longer holds a fetched seq; lost to the stream"
                    );
                }
            }
        }
    }

    /// Counts fetches unanswered for [`FETCH_TIMEOUT`] as lost.
    fn sweep_fetches(&mut self, now: u64) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + FETCH_SWEEP.as_millis() as u64;
        let timeout = FETCH_TIMEOUT.as_millis() as u64;
        let before = self.fetching.len();
        self.fetching.retain(|_, w| now < w.asked_at + timeout);
        let expired = before - self.fetching.len();
        if expired > 0 {
            FirehoseCounters::add(&self.net.firehose.lost, expired);
            tracing::warn!(expired, "firehose: fetches unanswered; seqs lost");
        }
    }

    fn nack(&mut self, n: Nack) {
        if let Some(u) = self.upstream() {
            u.nack(n);
        }
    }

    /// The connection NACKs and fetches go over: the live relay session, else a NACK-only one
    /// (opened if needed); None without `firehose.hub`.
    fn upstream(&mut self) -> Option<&Upstream> {
        if self.relay.as_ref().is_some_and(|r| r.is_running()) {
            return self.relay.as_ref();
        }
        if self.s.hub.is_empty() {
            return None;
        }
        if !self.nack_only.as_ref().is_some_and(|r| r.is_running()) {
            self.nack_only = Some(self.open(Open::nack_only()));
        }
        self.nack_only.as_ref()
    }

    fn is_service(&self, id: u64) -> bool {
        self.service.as_ref().is_some_and(|r| r.id == id)
    }

    /// Dials the service connection when its time has come.
    fn service_due(&mut self, now: u64) {
        if self.service_retry.is_some_and(|t| t <= now) {
            self.service_retry = None;
            let open = Open {
                links: self.s.via_hub,
                publish: self.publish.clone(),
                ..Open::nack_only()
            };
            self.service = Some(self.open(open));
        }
    }

    fn open(&mut self, open: Open) -> Upstream {
        let id = self.next_id;
        self.next_id += 1;
        Upstream::open(
            self.net.clone(),
            self.s.hub.clone(),
            self.s.hub_key,
            open,
            id,
            self.events.clone(),
            self.s.local_links,
        )
    }

    fn action(&mut self, a: Action) {
        tracing::info!(?a, "firehose: path action");
        match a {
            Action::JoinMulticast => {
                let joined = self
                    .wan
                    .as_ref()
                    .map(|w| socket::receiver(self.s.group, w, self.source));
                match joined {
                    Some(Ok(s)) => self.mcast = Some(s),
                    Some(Err(e)) => tracing::warn!(error = %e, "firehose: cannot join the group"),
                    None => {}
                }
            }
            Action::LeaveMulticast => self.mcast = None,
            Action::OpenRelay { resume_cursor } => {
                if self.s.hub.is_empty() {
                    tracing::warn!("firehose: multicast does not work and firehose.hub is empty");
                    return;
                }
                self.relay = Some(self.open(Open::live(resume_cursor)));
            }
            Action::CloseRelay => self.relay = None,
        }
    }
}
