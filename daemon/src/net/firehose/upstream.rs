//! A node's TCP connection to its hub's relay port: a live relay session (every datagram) or a
//! NACK-only one (while on multicast). It dials, proves keys (the hub's must be
//! `firehose.hub_key`), sends `StreamOpen`, then passes datagrams and fetched messages to the
//! node task, and NACKs and fetches to the hub. Dropping the [`Upstream`] closes it.

use super::budget::Kind;
use super::session::{self, Fetch, Fetched, FrameReader, Nack, Open};
use super::tunnel::{self, TunnelOut, Tunnels};
use super::FirehoseError;
use crate::net::Net;
use crate::proto::link::{self as wire, Role};
use crate::proto::{FrameType, PublicKey};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// NACKs and fetches waiting to be written: the receiver emits at most a few at a time.
pub const NACK_QUEUE: usize = 16;
/// How long dialling the hub may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A live session that brings nothing for this long is dead: the hub sends a heartbeat or an
/// announcement at least every 5 s.
pub const LIVE_SILENCE: Duration = Duration::from_secs(20);
/// A NACK-only session is closed after this long without a NACK.
pub const NACK_IDLE: Duration = Duration::from_secs(60);
/// Pings keep a NAT mapping of a quiet session open.
pub const PING_EVERY: Duration = Duration::from_secs(30);
/// A session that carries links (`Open::links`) and hears nothing, not even a `Pong`, for
/// this long is dead.
pub const LINKS_SILENCE: Duration = Duration::from_secs(95);

/// What a connection tells the node task.
#[derive(Debug)]
pub enum FromHub {
    /// Connected and opened.
    Up {
        /// The connection's id.
        id: u64,
    },
    /// A datagram.
    Datagram {
        /// The connection's id.
        id: u64,
        /// Its bytes.
        bytes: Vec<u8>,
        /// True if sent again (NACK answer or resume replay).
        repair: bool,
    },
    /// Messages fetched by stream seq.
    Fetched {
        /// The connection's id.
        id: u64,
        /// The answer.
        fetched: Fetched,
    },
    /// Closed or failed.
    Down {
        /// The connection's id.
        id: u64,
    },
}

/// One connection to the hub.
pub struct Upstream {
    /// Its id.
    pub id: u64,
    /// True for a live relay session.
    pub live: bool,
    requests: mpsc::Sender<Request>,
    task: JoinHandle<()>,
}

/// What the node asks the hub over a connection.
#[derive(Debug)]
enum Request {
    Nack(Nack),
    Fetch(Fetch),
}

impl Upstream {
    /// Dials `hub` and opens the stream as `open` asks; events go to `events`. Links the hub
    /// carries (`open.links`) are piped to this node's link listener at `local`.
    pub fn open(
        net: Arc<Net>,
        hub: String,
        hub_key: PublicKey,
        open: Open,
        id: u64,
        events: mpsc::Sender<FromHub>,
        local: std::net::SocketAddr,
    ) -> Upstream {
        let (requests, request_rx) = mpsc::channel(NACK_QUEUE);
        let live = open.live;
        let task = tokio::spawn(async move {
            let conn = Conn {
                net: &net,
                hub: &hub,
                hub_key,
                id,
                events: &events,
                local,
            };
            if let Err(e) = run(conn, open, request_rx).await {
                tracing::info!(%hub, error = %e, live, "connection to the hub ended");
            }
            let _ = events.send(FromHub::Down { id }).await;
        });
        Upstream {
            id,
            live,
            requests,
            task,
        }
    }

    /// Queues a NACK; false if the queue is full or the connection gone (the receiver repeats).
    pub fn nack(&self, n: Nack) -> bool {
        self.requests.try_send(Request::Nack(n)).is_ok()
    }

    /// Queues a fetch; false if the queue is full or the connection gone.
    pub fn fetch(&self, f: Fetch) -> bool {
        self.requests.try_send(Request::Fetch(f)).is_ok()
    }

    /// True while the connection task runs.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Who a connection is for.
struct Conn<'a> {
    net: &'a Arc<Net>,
    hub: &'a str,
    hub_key: PublicKey,
    id: u64,
    events: &'a mpsc::Sender<FromHub>,
    local: std::net::SocketAddr,
}

async fn run(
    conn: Conn<'_>,
    open: Open,
    mut requests: mpsc::Receiver<Request>,
) -> Result<(), FirehoseError> {
    let Conn {
        net,
        hub,
        hub_key,
        id,
        events,
        local,
    } = conn;
    let addr = tokio::net::lookup_host(hub)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| FirehoseError::HubAddress(hub.to_string()))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| FirehoseError::Closed("connect timed out"))??;
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut reader = FrameReader::new(r);
    let (live, links) = (open.live, open.links);
    tokio::time::timeout(session::HANDSHAKE_TIMEOUT, async {
        let (_, key) =
            session::handshake(&net.domain, net.key(), Role::Dialer, &mut reader, &mut w).await?;
        if key != hub_key {
            return Err(FirehoseError::WrongHubKey {
                got: key.to_text(),
                expected: hub_key.to_text(),
            });
        }
        session::write_frame(&mut w, FrameType::StreamOpen, &wire::encode(&open)).await
    })
    .await
    .map_err(|_| FirehoseError::Closed("handshake timed out"))??;
    tracing::info!(%hub, live, "connected to the hub");
    events
        .send(FromHub::Up { id })
        .await
        .map_err(|_| FirehoseError::Closed("node task stopped"))?;
    let mut last_rx = tokio::time::Instant::now();
    let mut last_nack = last_rx;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let tunnels = Tunnels::default();
    let (tunnel_tx, mut tunnel_rx) = mpsc::channel(tunnel::SESSION_TUNNEL_QUEUE);
    loop {
        let deadline = match (live, links) {
            (true, _) => last_rx + LIVE_SILENCE,
            (false, true) => last_rx + LINKS_SILENCE,
            (false, false) => last_nack + NACK_IDLE,
        };
        tokio::select! {
            f = reader.next() => {
                let f = f?;
                last_rx = tokio::time::Instant::now();
                let repair = match f.kind {
                    FrameType::TunnelOpen if links => {
                        let (tid, kind) = tunnel::decode(f.kind, &f.payload)?;
                        // a TLS connection routed by SNI goes to this node's HTTPS listener
                        let (to, kind) = if kind == [tunnel::TUNNEL_TLS] {
                            (net.https_local.get().copied(), Kind::Tls)
                        } else {
                            (Some(local), Kind::Link)
                        };
                        let taken = to.is_some_and(|to| tunnel::take(net, to, tid, kind, &tunnels, &tunnel_tx));
                        if !taken {
                            let (kind, p) = TunnelOut::Close(tid).encode();
                            session::write_frame(&mut w, kind, &p).await?;
                        }
                        continue;
                    }
                    FrameType::TunnelData | FrameType::TunnelClose if links => {
                        let (tid, data) = tunnel::decode(f.kind, &f.payload)?;
                        let open = f.kind == FrameType::TunnelData
                            && tunnel::deliver(&tunnels, tid, data).await;
                        if !open {
                            tunnels.lock().unwrap_or_else(|p| p.into_inner()).remove(tid);
                        }
                        continue;
                    }
                    FrameType::StreamData => false,
                    FrameType::StreamRepair => true,
                    FrameType::StreamFetched => {
                        let fetched = Fetched::decode(&f.payload)?;
                        events
                            .send(FromHub::Fetched { id, fetched })
                            .await
                            .map_err(|_| FirehoseError::Closed("node task stopped"))?;
                        continue;
                    }
                    FrameType::Close => return Err(FirehoseError::Closed("hub closed")),
                    _ => continue,
                };
                events
                    .send(FromHub::Datagram { id, bytes: f.payload, repair })
                    .await
                    .map_err(|_| FirehoseError::Closed("node task stopped"))?;
            }
            r = requests.recv() => {
                let Some(r) = r else { return Ok(()) };
                last_nack = tokio::time::Instant::now();
                let (kind, payload) = match r {
                    Request::Nack(n) => (FrameType::StreamNack, wire::encode(&n)),
                    Request::Fetch(f) => (FrameType::StreamFetch, wire::encode(&f)),
                };
                session::write_frame(&mut w, kind, &payload).await?;
            }
            Some(t) = tunnel_rx.recv() => {
                let (kind, payload) = t.encode();
                session::write_frame(&mut w, kind, &payload).await?;
            }
            _ = ping.tick() => session::write_frame(&mut w, FrameType::Ping, &[]).await?,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(FirehoseError::Closed(if live { "hub silent" } else { "idle" }));
            }
        }
    }
}
