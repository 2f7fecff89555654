//! Links carried through a hub for nodes that nobody can dial (carrier NAT).
//!
//! Such a node sets `firehose.via_hub`; its domain's SRV record names the hub's link port and
//! its TXT record pins the node's own key. It keeps a relay session open with `links` set in
//! its [`Open`](super::session::Open). A dialler sends its `Hello` first, naming the domain it
//! dialled (`Hello::to`); the hub's link listener sees a domain it carries and, instead of
//! answering, hands the connection to that domain's session: `TunnelOpen`, then the bytes both
//! ways as `TunnelData`, then `TunnelClose`. The node pipes each tunnel into its own link
//! listener on loopback, so the handshake runs end to end: the dialler checks the node's key
//! against the DNS pin, and the hub can neither read nor forge what the link carries.
//!
//! Decisions:
//! - The hub stores nothing for the node. While the node's session is down, a dialler's link
//!   fails and its outbox keeps the deliveries and retries them (store-and-forward at the
//!   sender, which already holds every post durably), so a post is never lost and the hub's
//!   flash is spared a second copy.
//! - The hub carries a domain only for a session whose proven node key is the key the
//!   domain's DNS TXT record pins. Without a pin the hub cannot tell the domain's node from a
//!   node that merely claims the domain (it cannot dial it: the SRV names the hub itself).
//!
//! Bounds: [`MAX_TUNNELS`] tunnels per session, of which at most
//! [`super::budget::MAX_TLS_TUNNELS`] TLS connections ([`super::budget::Table`]);
//! [`TUNNEL_QUEUE`] chunks of at most [`TUNNEL_CHUNK`] bytes queued per tunnel and direction
//! (256 KiB), and [`SESSION_TUNNEL_QUEUE`] frames towards the session for all its tunnels; a
//! tunnel whose queue stays full for [`TUNNEL_STALL`] is closed (the link above it fails, and
//! its sender retries). A carried TLS connection with no byte either way for
//! [`super::sni_route::CARRIED_IDLE`] is closed.

use super::budget::{Kind, Table};
use super::FirehoseError;
use crate::net::{write_frame, Net, NetError};
use crate::proto::frame::{self, OwnedFrame};
use crate::proto::{link as wire, FrameType, ProtoError, PublicKey};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

pub use super::budget::MAX_TUNNELS;
/// Most bytes of one `TunnelData` frame.
pub const TUNNEL_CHUNK: usize = 16 * 1024;
/// Chunks queued per tunnel and direction.
pub const TUNNEL_QUEUE: usize = 16;
/// Tunnel frames queued towards one session (all its tunnels together).
pub const SESSION_TUNNEL_QUEUE: usize = 64;
/// A tunnel whose queue stays full this long is closed.
pub const TUNNEL_STALL: Duration = Duration::from_secs(10);

/// The byte after a `TunnelOpen`'s id that makes it a TLS connection for the node's HTTPS
/// listener (routed by SNI), not a link for its link listener.
pub const TUNNEL_TLS: u8 = 1;

/// A tunnel frame for the session's writer.
#[derive(Debug)]
pub enum TunnelOut {
    /// `TunnelOpen`.
    Open(u32),
    /// `TunnelOpen` of a TLS connection (the id, then [`TUNNEL_TLS`]).
    OpenTls(u32),
    /// `TunnelData`.
    Data(u32, Vec<u8>),
    /// `TunnelClose`.
    Close(u32),
    /// A `Pong` to the node's `Ping` (hub; rides the same queue), so that a node whose
    /// session carries only links can tell a dead hub from a quiet one.
    Pong,
}

impl TunnelOut {
    /// The frame type and payload.
    pub fn encode(&self) -> (FrameType, Vec<u8>) {
        match self {
            TunnelOut::Open(id) => (FrameType::TunnelOpen, id.to_be_bytes().to_vec()),
            TunnelOut::OpenTls(id) => {
                let mut p = id.to_be_bytes().to_vec();
                p.push(TUNNEL_TLS);
                (FrameType::TunnelOpen, p)
            }
            TunnelOut::Close(id) => (FrameType::TunnelClose, id.to_be_bytes().to_vec()),
            TunnelOut::Pong => (FrameType::Pong, Vec::new()),
            TunnelOut::Data(id, bytes) => {
                let mut p = Vec::with_capacity(4 + bytes.len());
                p.extend_from_slice(&id.to_be_bytes());
                p.extend_from_slice(bytes);
                (FrameType::TunnelData, p)
            }
        }
    }
}

/// Splits a tunnel frame's payload into its id and data (empty for open and close), checking
/// that open and close carry nothing else and that data is not oversized.
pub fn decode(kind: FrameType, payload: &[u8]) -> Result<(u32, &[u8]), ProtoError> {
    let bad = |why: &str| ProtoError::Malformed {
        what: "tunnel frame",
        why: why.into(),
    };
    if payload.len() < 4 {
        return Err(bad("shorter than its id"));
    }
    let (id, rest) = payload.split_at(4);
    let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    match kind {
        FrameType::TunnelData if rest.is_empty() || rest.len() > TUNNEL_CHUNK => {
            Err(bad("empty or oversized data"))
        }
        FrameType::TunnelData => Ok((id, rest)),
        FrameType::TunnelOpen | FrameType::TunnelClose if rest.is_empty() => Ok((id, rest)),
        FrameType::TunnelOpen if rest == [TUNNEL_TLS] => Ok((id, rest)),
        _ => Err(bad("not a tunnel frame, or trailing bytes")),
    }
}

/// Where each open tunnel's bytes go: its id → the queue of the task writing them out.
pub type Tunnels = Arc<Mutex<Table<mpsc::Sender<Vec<u8>>>>>;

/// One carried domain: the session carrying it.
#[derive(Clone)]
struct Route {
    session: u64,
    to_node: mpsc::Sender<TunnelOut>,
    tunnels: Tunnels,
    next_id: Arc<AtomicU32>,
}

/// A hub's table of the domains it carries links for.
#[derive(Default)]
pub struct Routes {
    map: Mutex<HashMap<String, Route>>,
}

impl Routes {
    /// Carries `domain` over session `session` from now on (replacing an older session of it).
    pub fn add(
        &self,
        domain: &str,
        session: u64,
        to_node: mpsc::Sender<TunnelOut>,
        tunnels: Tunnels,
    ) {
        let route = Route {
            session,
            to_node,
            tunnels,
            next_id: Arc::new(AtomicU32::new(1)),
        };
        self.lock().insert(domain.to_string(), route);
    }

    /// Stops carrying `domain` if session `session` still carries it.
    pub fn remove(&self, domain: &str, session: u64) {
        let mut map = self.lock();
        if map.get(domain).is_some_and(|r| r.session == session) {
            map.remove(domain);
        }
    }

    /// Number of domains carried.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True if no domain is carried.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `domain`'s session has no room for a tunnel of `kind`.
    pub fn full(&self, domain: &str, kind: Kind) -> bool {
        self.get(domain).is_some_and(|r| {
            r.tunnels
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .admits(kind)
                .is_err()
        })
    }

    /// Whether `domain` is carried.
    pub fn carries(&self, domain: &str) -> bool {
        self.lock().contains_key(domain)
    }

    fn get(&self, domain: &str) -> Option<Route> {
        self.lock().get(domain).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Route>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks that `key` is the key DNS pins for `domain`: only then may a session carry it.
pub async fn check_carried(net: &Net, domain: &str, key: &PublicKey) -> Result<(), FirehoseError> {
    let record = net
        .discovery
        .find(domain)
        .await
        .map_err(|e| FirehoseError::NotCarried(domain.to_string(), e.to_string()))?;
    match record.pinned_key {
        Some(k) if &k == key => Ok(()),
        Some(k) => Err(FirehoseError::NotCarried(
            domain.to_string(),
            format!(
                "DNS pins {}, the session proved {}",
                k.to_text(),
                key.to_text()
            ),
        )),
        None => Err(FirehoseError::NotCarried(
            domain.to_string(),
            "its DNS has no TXT key pin".into(),
        )),
    }
}

/// Hub side: carries an accepted link whose Hello (`hello`, already read) names `domain`,
/// down that domain's session, until either end closes. `permit` is the link slot it holds.
pub async fn carry<R, W>(
    net: &Arc<Net>,
    domain: &str,
    r: R,
    mut w: W,
    hello: OwnedFrame,
    permit: OwnedSemaphorePermit,
) -> Result<(), NetError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let refuse = |why: String| wire::encode(&wire::Close { reason: why });
    if net.routes.get(domain).is_none() {
        let why =
            format!("this node does not serve {domain}, and {domain} is not connected through it");
        let _: Result<(), NetError> = write_frame(&mut w, FrameType::Close, &refuse(why)).await;
        return Err(NetError::Unreachable {
            domain: domain.into(),
            why: "not connected to this hub".into(),
        });
    }
    if net.routes.full(domain, Kind::Link) {
        let why = format!("too many links to {domain} at once");
        let _: Result<(), NetError> = write_frame(&mut w, FrameType::Close, &refuse(why)).await;
        return Err(NetError::TooManyLinks);
    }
    let mut first = Vec::with_capacity(frame::HEADER_LEN + hello.payload.len());
    frame::encode(FrameType::Hello, &hello.payload, &mut first)?;
    carry_bytes(net, domain, r, w, first, Kind::Link, permit).await
}

/// Hub side: carries an accepted TCP connection down `domain`'s session, its first bytes
/// `first` already read; [`Kind::Tls`] opens it at the node's HTTPS listener (routed by SNI)
/// instead of its link listener, and closes it once idle for
/// [`super::sni_route::CARRIED_IDLE`]. `permit` is the connection's slot (a guard of any
/// kind), held until it ends.
pub async fn carry_bytes<R, W>(
    net: &Arc<Net>,
    domain: &str,
    mut r: R,
    w: W,
    first: Vec<u8>,
    kind: Kind,
    permit: impl Send,
) -> Result<(), NetError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let _permit = permit;
    let Some(route) = net.routes.get(domain) else {
        return Err(NetError::Unreachable {
            domain: domain.into(),
            why: "not connected to this hub".into(),
        });
    };
    let (tx, rx) = mpsc::channel(TUNNEL_QUEUE);
    let id = {
        let mut tunnels = route.tunnels.lock().unwrap_or_else(|p| p.into_inner());
        let id = route.next_id.fetch_add(1, Ordering::Relaxed);
        tunnels.open(id, kind, tx).map(|()| id)
    };
    let id = match id {
        Ok(id) => id,
        Err(why) => {
            tracing::debug!(%domain, %why, "tunnel refused");
            return Err(NetError::TooManyLinks);
        }
    };
    super::FirehoseCounters::bump(&net.firehose.tunnels);
    let idle = (kind == Kind::Tls).then_some(super::sni_route::CARRIED_IDLE);
    let open = if kind == Kind::Tls {
        tracing::info!(%domain, tunnel = id, "carrying a TLS connection through the relay session");
        TunnelOut::OpenTls(id)
    } else {
        tracing::info!(%domain, tunnel = id, "carrying a link through the relay session");
        TunnelOut::Open(id)
    };
    let mut opened = send(&route.to_node, open).await;
    // a ClientHello may be a whole TLS record, more than one frame carries
    for piece in first.chunks(TUNNEL_CHUNK) {
        opened = opened && send(&route.to_node, TunnelOut::Data(id, piece.to_vec())).await;
    }
    // not kept while the connection lasts
    drop(first);
    if opened {
        pipe(
            &mut r,
            w,
            rx,
            |bytes| TunnelOut::Data(id, bytes),
            &route.to_node,
            idle,
        )
        .await;
    }
    route
        .tunnels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(id);
    net.firehose.tunnels.fetch_sub(1, Ordering::Relaxed);
    let _ = send(&route.to_node, TunnelOut::Close(id)).await;
    Ok(())
}

/// Node side: takes tunnel `id` of `kind` the hub opened: pipes it into this node's own
/// listener at `local` (its link listener, where the ordinary handshake runs, or its HTTPS
/// listener). False if the tunnel budget refuses it (as the hub's would).
pub fn take(
    net: &Arc<Net>,
    local: std::net::SocketAddr,
    id: u32,
    kind: Kind,
    tunnels: &Tunnels,
    to_hub: &mpsc::Sender<TunnelOut>,
) -> bool {
    let (tx, rx) = mpsc::channel(TUNNEL_QUEUE);
    let opened = tunnels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .open(id, kind, tx);
    if let Err(why) = opened {
        tracing::debug!(tunnel = id, %why, "tunnel from the hub refused");
        return false;
    }
    super::FirehoseCounters::bump(&net.firehose.tunnels);
    let (tunnels, to_hub, net) = (tunnels.clone(), to_hub.clone(), net.clone());
    tokio::spawn(async move {
        match tokio::net::TcpStream::connect(local).await {
            Ok(s) => {
                tracing::info!(tunnel = id, "taking a link through the hub");
                let (mut r, w) = s.into_split();
                pipe(&mut r, w, rx, |b| TunnelOut::Data(id, b), &to_hub, None).await;
            }
            Err(e) => {
                tracing::warn!(%local, error = %e, "cannot reach this node's own link listener")
            }
        }
        tunnels.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        net.firehose.tunnels.fetch_sub(1, Ordering::Relaxed);
        let _ = send(&to_hub, TunnelOut::Close(id)).await;
    });
    true
}

/// Queues `out`, waiting at most [`TUNNEL_STALL`]; false if the queue stayed full or closed.
pub async fn send(q: &mpsc::Sender<TunnelOut>, out: TunnelOut) -> bool {
    matches!(
        tokio::time::timeout(TUNNEL_STALL, q.send(out)).await,
        Ok(Ok(()))
    )
}

/// Hands bytes from the session to a tunnel's writer; false if the tunnel is gone or stalled
/// (the caller closes it).
pub async fn deliver(tunnels: &Tunnels, id: u32, bytes: &[u8]) -> bool {
    let q = tunnels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(id)
        .cloned();
    match q {
        Some(q) => matches!(
            tokio::time::timeout(TUNNEL_STALL, q.send(bytes.to_vec())).await,
            Ok(Ok(()))
        ),
        None => false,
    }
}

/// How often [`pipe`] looks whether its writer ended or the connection went idle.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// Copies `r` into the session (as `wrap` makes frames of it) and what `rx` brings into `w`,
/// until either side ends or stalls, or, given `idle`, no byte went either way for that long.
pub async fn pipe<R, W>(
    r: &mut R,
    mut w: W,
    mut rx: mpsc::Receiver<Vec<u8>>,
    wrap: impl Fn(Vec<u8>) -> TunnelOut,
    to_session: &mpsc::Sender<TunnelOut>,
    idle: Option<Duration>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // milliseconds from `start` to the last byte either way, modulo 2^32 (32-bit MIPS has no
    // 64-bit atomics): differences taken wrapping are right for any quiet under 49 days
    let start = tokio::time::Instant::now();
    let last = Arc::new(AtomicU32::new(0));
    let since = move || start.elapsed().as_millis() as u32;
    let (last_w, since_w) = (last.clone(), since);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            match tokio::time::timeout(TUNNEL_STALL, w.write_all(&bytes)).await {
                Ok(Ok(())) => last_w.store(since_w(), Ordering::Relaxed),
                _ => return,
            }
        }
        let _ = w.shutdown().await;
    });
    let mut buf = vec![0u8; TUNNEL_CHUNK];
    let reading = async {
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    last.store(since(), Ordering::Relaxed);
                    if !send(to_session, wrap(buf[..n].to_vec())).await {
                        return;
                    }
                }
            }
        }
    };
    let watch = async {
        while !writer.is_finished() {
            tokio::time::sleep(WATCH_EVERY).await;
            // read `last` before the clock: a byte noted after the clock was read would look
            // ~49 days old (and a result that large is taken as none, in any case)
            let seen = last.load(Ordering::Relaxed);
            let quiet = since().wrapping_sub(seen);
            let quiet = Duration::from_millis(if quiet > u32::MAX / 2 {
                0
            } else {
                quiet.into()
            });
            if idle.is_some_and(|idle| quiet >= idle) {
                tracing::debug!(?quiet, "carried connection idle: closed");
                return;
            }
        }
    };
    tokio::select! {
        _ = reading => {}
        _ = watch => {}
    }
    writer.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_frames_round_trip_and_bad_ones_are_refused() {
        for out in [
            TunnelOut::Open(7),
            TunnelOut::Close(u32::MAX),
            TunnelOut::Data(3, vec![1, 2, 3]),
            TunnelOut::OpenTls(9),
        ] {
            let (kind, p) = out.encode();
            let (id, data) = decode(kind, &p).unwrap();
            match out {
                TunnelOut::Open(i) | TunnelOut::Close(i) => assert_eq!((id, data), (i, &[][..])),
                TunnelOut::OpenTls(i) => assert_eq!((id, data), (i, &[TUNNEL_TLS][..])),
                TunnelOut::Data(i, b) => assert_eq!((id, data), (i, &b[..])),
                TunnelOut::Pong => unreachable!(),
            }
        }
        assert!(decode(FrameType::TunnelOpen, &[0, 0, 1]).is_err(), "short");
        assert!(
            decode(FrameType::TunnelClose, &[0, 0, 0, 1, 9]).is_err(),
            "trailing"
        );
        assert!(
            decode(FrameType::TunnelData, &[0, 0, 0, 1]).is_err(),
            "empty data"
        );
        let big = TunnelOut::Data(1, vec![0; TUNNEL_CHUNK + 1]).encode().1;
        assert!(decode(FrameType::TunnelData, &big).is_err(), "oversized");
        assert!(decode(FrameType::Ping, &[0, 0, 0, 1]).is_err());
        assert!(
            decode(FrameType::TunnelOpen, &[0, 0, 0, 1, 2]).is_err(),
            "an unknown kind"
        );
        assert!(
            decode(FrameType::TunnelClose, &[0, 0, 0, 1, TUNNEL_TLS]).is_err(),
            "only an open has a kind"
        );
    }

    /// A pipe over an in-memory connection whose far end `client` stays open and silent
    /// unless the test writes; returns when [`pipe`] returns.
    async fn piped(
        idle: Option<Duration>,
        talk_every: Option<Duration>,
        run_for: Duration,
    ) -> Option<Duration> {
        let (mut client, ours) = tokio::io::duplex(1024);
        let (mut r, w) = tokio::io::split(ours);
        let (_to_writer, rx) = mpsc::channel(TUNNEL_QUEUE);
        let (to_session, mut from_pipe) = mpsc::channel(SESSION_TUNNEL_QUEUE);
        let t0 = tokio::time::Instant::now();
        let talker = async {
            loop {
                match talk_every {
                    Some(every) => {
                        tokio::time::sleep(every).await;
                        let _ = client.write_all(b"x").await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        let drain = async { while from_pipe.recv().await.is_some() {} };
        let piping = pipe(&mut r, w, rx, |b| TunnelOut::Data(1, b), &to_session, idle);
        tokio::select! {
            _ = piping => Some(t0.elapsed()),
            _ = talker => None,
            _ = drain => None,
            _ = tokio::time::sleep(run_for) => None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_carried_connection_is_closed_and_a_busy_one_is_not() {
        let idle = Duration::from_millis(400);
        let closed = piped(Some(idle), None, Duration::from_secs(3)).await;
        assert!(
            closed.is_some_and(|t| t >= idle && t < idle + 4 * WATCH_EVERY),
            "{closed:?}"
        );
        // bytes every 100 ms keep it open past several idle periods
        let busy = piped(
            Some(idle),
            Some(Duration::from_millis(100)),
            Duration::from_millis(1500),
        )
        .await;
        assert_eq!(busy, None);
        // a link has no idle limit
        assert_eq!(piped(None, None, Duration::from_millis(1500)).await, None);
    }
}
