//! A node's end of the firehose: one [`Receiver`] of the hub's stream fed by whichever path
//! the [`PathSelector`] picks. Multicast when the WAN address is global (per `is_global` and
//! `firehose.global_prefixes`) and the hub's announcements arrive within
//! `firehose.announce_timeout_s`; otherwise a relay session to the hub, resumed at the
//! receiver's cursor. NACKs go over the relay session, or over a NACK-only connection to the
//! hub's relay port while on multicast. Both paths feed the one receiver, so a switch neither
//! loses nor repeats a message.

use super::iface::{self, Wan};
use super::session::{Nack, Open};
use super::upstream::{FromHub, Upstream};
use super::{deliver, socket, FirehoseCounters, PathShown};
use crate::net::Net;
use crate::proto::stream::{
    is_global, Action, Dropped, Event, Kind, Packet, PathSelector, PathState, Prefix, Receiver,
    ReceiverLimits, MAX_DATAGRAM,
};
use crate::proto::PublicKey;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Events from connections to the hub waiting for the node task: a burst of relayed
/// datagrams (a resume replay is at most 256).
pub const UPSTREAM_QUEUE: usize = 512;

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
    next_id: u64,
    events: mpsc::Sender<FromHub>,
    store: mpsc::Sender<Vec<u8>>,
    start: Instant,
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
    let mut node = Node {
        store: deliver::spawn(net.clone()),
        rx: Receiver::new(s.hub_key, ReceiverLimits::ROUTER, seed),
        path: PathSelector::new(seed ^ 0x9e37_79b9).with_timeouts(timeout, timeout),
        net,
        s,
        wan,
        mcast: None,
        relay: None,
        nack_only: None,
        next_id: 1,
        events,
        start: Instant::now(),
    };
    let now = node.now();
    node.path.wan_address_is_global(now, global);
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        node.act();
        let wake = [node.rx.poll_timeout(), node.path.poll_timeout()]
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
            }
        }
    }
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

    fn datagram(&mut self, bytes: &[u8], mcast: bool) {
        let c = &self.net.firehose;
        FirehoseCounters::bump(&c.datagrams_received);
        FirehoseCounters::add(&c.bytes_received, bytes.len());
        if mcast {
            FirehoseCounters::bump(&c.multicast_received);
        }
        let now = self.now();
        match self.rx.handle_datagram(now, bytes) {
            Ok(Kind::Announce | Kind::Heartbeat) if mcast => {
                if let Ok(p) = Packet::decode(bytes) {
                    self.path.announce_seen(now, p.seq);
                }
            }
            Ok(_) => {}
            Err(Dropped::Forged) => FirehoseCounters::bump(&c.forged_dropped),
            Err(Dropped::Duplicate) => FirehoseCounters::bump(&c.duplicates),
            Err(d) => tracing::debug!(?d, "firehose: datagram dropped"),
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
            FromHub::Up { .. } => {}
            FromHub::Datagram { id, bytes, repair } => {
                let known = is_relay(id) || self.nack_only.as_ref().is_some_and(|r| r.id == id);
                if known {
                    if repair {
                        FirehoseCounters::bump(&self.net.firehose.repairs);
                    }
                    self.datagram(&bytes, false);
                }
            }
            FromHub::Down { id } if is_relay(id) => {
                self.relay = None;
                self.path.relay_lost(now);
            }
            FromHub::Down { id } => {
                if self.nack_only.as_ref().is_some_and(|r| r.id == id) {
                    self.nack_only = None;
                }
            }
        }
    }

    /// Takes the receiver's events and the selector's actions, and carries them out.
    fn act(&mut self) {
        while let Some(e) = self.rx.poll_event() {
            self.event(e);
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

    fn event(&mut self, e: Event) {
        let c = &self.net.firehose;
        match e {
            Event::Started { epoch, after } => {
                tracing::info!(epoch, after, "firehose: following the hub's stream");
            }
            Event::Deliver { message, .. } => {
                FirehoseCounters::bump(&c.delivered);
                if self.store.try_send(message).is_err() {
                    FirehoseCounters::bump(&c.refused);
                    tracing::warn!("firehose: store queue full; a message is left to backfill");
                }
            }
            Event::Nack { epoch, ranges } => {
                FirehoseCounters::bump(&c.nacks_sent);
                self.nack(Nack::new(epoch, &ranges));
            }
            Event::Backfill { range, reason, .. } => {
                FirehoseCounters::bump(&c.backfills);
                tracing::warn!(
                    ?range,
                    ?reason,
                    "firehose: gave up on a range (left to link backfill)"
                );
            }
            Event::FetchLarge { seq, .. } => {
                FirehoseCounters::bump(&c.backfills);
                tracing::warn!(
                    seq,
                    "firehose: large message not fetched (left to link backfill)"
                );
            }
        }
    }

    fn nack(&mut self, n: Nack) {
        if let Some(r) = self.relay.as_ref().filter(|r| r.is_running()) {
            r.nack(n);
            return;
        }
        if self.s.hub.is_empty() {
            return;
        }
        if !self.nack_only.as_ref().is_some_and(|r| r.is_running()) {
            self.nack_only = Some(self.open(Open {
                live: false,
                cursor: None,
            }));
        }
        if let Some(r) = &self.nack_only {
            r.nack(n);
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
        )
    }

    fn action(&mut self, a: Action) {
        tracing::info!(?a, "firehose: path action");
        match a {
            Action::JoinMulticast => {
                let joined = self.wan.as_ref().map(|w| socket::receiver(self.s.group, w));
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
                let open = Open {
                    live: true,
                    cursor: resume_cursor.map(|c| (c.epoch, c.next)),
                };
                self.relay = Some(self.open(open));
            }
            Action::CloseRelay => self.relay = None,
        }
    }
}
