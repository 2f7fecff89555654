//! Hub mode: one [`Sender`] keyed by the hub's node key. Every public message the writer
//! stores is pushed; each datagram goes to the multicast group and to every live relay
//! session; NACKs and fetches by stream seq from sessions are answered from the repair window.
//!
//! One task owns the sender; sessions talk to it through [`ToHub`] messages and receive
//! datagrams through their own bounded queue. A session whose queue is full is dropped: a
//! slow reader must not hold the hub's memory, and it resumes by cursor.

use super::iface;
use super::queue::QueueSender;
use super::relay;
use super::session::{Fetch, Fetched, Nack, Open};
use super::{socket, FirehoseCounters, FirehoseError, PathShown};
use crate::net::Net;
use crate::proto::stream::{Datagram, Sender, WindowLimits};
use crate::proto::NodeKey;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Messages from relay sessions to the hub task that may wait: a few per session.
pub const HUB_INPUT_QUEUE: usize = 1024;

/// What a hub needs from the configuration.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// The multicast group.
    pub group: SocketAddr,
    /// `firehose.interface` (empty: the WAN one).
    pub interface: String,
    /// Multicast TTL.
    pub ttl: u32,
    /// Where relay sessions come in.
    pub relay_listen: SocketAddr,
    /// Most relay sessions.
    pub max_sessions: usize,
    /// Where TLS connections for carried domains come in, routed by SNI (`None`: nowhere).
    pub tls_listen: Option<SocketAddr>,
}

/// A datagram for one session.
#[derive(Debug, Clone)]
pub enum Out {
    /// A live datagram (`StreamData`).
    Data(Arc<[u8]>),
    /// A datagram sent again (`StreamRepair`).
    Repair(Arc<[u8]>),
    /// Fetched messages (`StreamFetched`).
    Fetched(Arc<Fetched>),
}

/// What a relay session tells the hub task.
#[derive(Debug)]
pub enum ToHub {
    /// A session opened.
    Register {
        /// Its id.
        id: u64,
        /// What it asked for.
        open: Open,
        /// Its datagram queue.
        tx: QueueSender<Out>,
    },
    /// It closed.
    Unregister {
        /// Its id.
        id: u64,
    },
    /// It asks for seqs again.
    Nack {
        /// Its id.
        id: u64,
        /// What.
        nack: Nack,
    },
    /// It fetches messages by stream seq.
    Fetch {
        /// Its id.
        id: u64,
        /// What.
        fetch: Fetch,
    },
}

struct Session {
    live: bool,
    tx: QueueSender<Out>,
}

/// Binds the relay listener and starts the hub task; returns the relay address bound.
pub async fn start(
    net: Arc<Net>,
    settings: HubSettings,
    tap: mpsc::Receiver<Vec<u8>>,
) -> Result<SocketAddr, FirehoseError> {
    let key = NodeKey::from_bytes(net.key().to_bytes().as_slice())?;
    let listener = tokio::net::TcpListener::bind(settings.relay_listen).await?;
    let bound = listener.local_addr()?;
    if let Some(at) = settings.tls_listen {
        let tls = tokio::net::TcpListener::bind(at).await?;
        tracing::info!(addr = %tls.local_addr()?, "routing HTTPS by server name");
        tokio::spawn(super::sni_route::listen(net.clone(), tls));
    }
    let (to_hub, from_sessions) = mpsc::channel(HUB_INPUT_QUEUE);
    tokio::spawn(relay::listen(
        net.clone(),
        listener,
        settings.max_sessions,
        to_hub,
    ));
    let udp = match iface::wan(&settings.interface)
        .and_then(|w| socket::sender(settings.group, &w, settings.ttl).map(|s| (w, s)))
    {
        Ok((w, s)) => {
            tracing::info!(group = %settings.group, interface = %w.name, "firehose multicasting");
            Some(s)
        }
        Err(e) => {
            tracing::warn!(error = %e, "firehose: no multicast (relay sessions only)");
            None
        }
    };
    net.firehose.set_path(PathShown::Hub);
    let epoch = (crate::now_ms() / 1000) as u32;
    let sender = Sender::new(key, epoch, WindowLimits::HUB);
    tokio::spawn(run(net, sender, udp, settings.group, tap, from_sessions));
    Ok(bound)
}

struct Hub {
    net: Arc<Net>,
    sender: Sender,
    udp: Option<UdpSocket>,
    group: SocketAddr,
    sessions: HashMap<u64, Session>,
    start: Instant,
}

async fn run(
    net: Arc<Net>,
    sender: Sender,
    udp: Option<UdpSocket>,
    group: SocketAddr,
    mut tap: mpsc::Receiver<Vec<u8>>,
    mut from_sessions: mpsc::Receiver<ToHub>,
) {
    let mut hub = Hub {
        net,
        sender,
        udp,
        group,
        sessions: HashMap::new(),
        start: Instant::now(),
    };
    loop {
        hub.transmit().await;
        let wake = hub
            .sender
            .poll_timeout()
            .map(|t| hub.start + std::time::Duration::from_millis(t));
        tokio::select! {
            m = tap.recv() => match m {
                Some(wire) => hub.push(&wire),
                None => return,
            },
            s = from_sessions.recv() => match s {
                Some(s) => hub.handle_session(s),
                None => return,
            },
            _ = sleep_until(wake) => {}
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

impl Hub {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn push(&mut self, wire: &[u8]) {
        match self.sender.push(self.now(), wire) {
            Ok(seq) => {
                FirehoseCounters::bump(&self.net.firehose.pushed);
                tracing::debug!(seq, "firehose: pushed");
            }
            Err(e) => tracing::warn!(error = %e, "firehose: message not streamed"),
        }
    }

    /// Sends every datagram that is due: multicast, then every live session.
    async fn transmit(&mut self) {
        let now = self.now();
        while let Some(d) = self.sender.poll_transmit(now) {
            self.send(d).await;
        }
    }

    async fn send(&mut self, d: Datagram) {
        let c = &self.net.firehose;
        if let Some(udp) = &self.udp {
            match udp.send_to(&d.bytes, self.group).await {
                Ok(n) => {
                    FirehoseCounters::bump(&c.datagrams_sent);
                    FirehoseCounters::add(&c.bytes_sent, n);
                }
                Err(e) => tracing::debug!(error = %e, "firehose: multicast send failed"),
            }
        }
        let bytes: Arc<[u8]> = d.bytes.into();
        let mut slow = Vec::new();
        for (id, s) in self.sessions.iter().filter(|(_, s)| s.live) {
            if s.tx.try_send(Out::Data(bytes.clone())).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            // dropping the queue ends the session; the node reopens it at its cursor
            self.sessions.remove(&id);
            FirehoseCounters::bump(&c.relay_slow_dropped);
            tracing::info!(session = id, "relay session too slow: dropped");
        }
    }

    fn handle_session(&mut self, m: ToHub) {
        match m {
            ToHub::Register { id, open, tx } => {
                if let Some(c) = open.cursor() {
                    let newest = self.sender.newest().max(c.next);
                    let replay = self.sender.repair_ranges(c.epoch, &[c.next..=newest]);
                    self.repair(&tx, replay);
                } else if open.live {
                    let _ = tx.try_send(Out::Repair(self.sender.heartbeat().bytes.into()));
                }
                self.sessions.insert(
                    id,
                    Session {
                        live: open.live,
                        tx,
                    },
                );
            }
            ToHub::Unregister { id } => {
                self.sessions.remove(&id);
            }
            ToHub::Nack { id, nack } => {
                let answer = self.sender.repair_ranges(nack.epoch, &nack.ranges());
                if let Some(tx) = self.sessions.get(&id).map(|s| s.tx.clone()) {
                    self.repair(&tx, answer);
                }
            }
            ToHub::Fetch { id, fetch } => self.fetch(id, fetch),
        }
    }

    fn fetch(&self, id: u64, fetch: Fetch) {
        let Some(tx) = self.sessions.get(&id).map(|s| s.tx.clone()) else {
            return;
        };
        for answer in Fetched::answer(fetch, |seq| self.sender.message(fetch.epoch, seq)) {
            FirehoseCounters::add(&self.net.firehose.fetched, answer.messages.len());
            if tx.try_send(Out::Fetched(Arc::new(answer))).is_err() {
                return; // the node counts what is not answered as lost
            }
        }
    }

    fn repair(&self, tx: &QueueSender<Out>, datagrams: Vec<Datagram>) {
        for d in datagrams {
            if tx.try_send(Out::Repair(d.bytes.into())).is_err() {
                return; // the receiver asks again after its repeat interval
            }
            FirehoseCounters::bump(&self.net.firehose.repairs);
        }
    }
}
