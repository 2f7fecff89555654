//! The hub's relay listener: authenticated TCP sessions, at most `firehose.max_relay_sessions`
//! at once, each with a queue of [`RELAY_SESSION_QUEUE`] datagrams (shared bytes, so a
//! session's own cost is that many pointers, and only while they are queued). A
//! [`RelaySession`] is one task: it writes what the hub task queues for it and passes its
//! NACKs back. Idle, it holds no buffer (see [`crate::net::scratch`] and [`super::queue`]).

use super::hub::{Out, ToHub};
use super::queue::{queue, QueueReceiver};
use super::session::{self, Fetch, FrameReader, Nack, Open};
use super::tunnel::{self, TunnelOut, Tunnels};
use super::{FirehoseCounters, FirehoseError};
use crate::net::Net;
use crate::proto::link::{self as wire, Role};
use crate::proto::{FrameType, ProtoError};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

/// Datagrams queued for one session before it counts as too slow and is dropped: about a
/// second of a busy firehose, and the whole replay a resume may bring
/// ([`crate::proto::stream::sender::MAX_REPAIR_DATAGRAMS`]).
pub const RELAY_SESSION_QUEUE: usize = 512;
/// A write to a session may take this long before the session is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// One relay session, as the hub sees it.
pub struct RelaySession {
    /// The hub's id for it.
    pub id: u64,
    /// The node's address.
    pub peer: SocketAddr,
    /// The node's domain (from its proven Hello).
    pub domain: String,
}

/// Accepts relay sessions until the process ends.
pub async fn listen(
    net: Arc<Net>,
    listener: TcpListener,
    max_sessions: usize,
    to_hub: mpsc::Sender<ToHub>,
) {
    let slots = Arc::new(Semaphore::new(max_sessions));
    // u32 ids: no 64-bit atomics on MIPS; wrapping after 4 billion sessions is harmless
    let next_id = AtomicU32::new(1);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a relay session failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "relay session refused: too many sessions");
            continue;
        };
        let id = u64::from(next_id.fetch_add(1, Ordering::Relaxed));
        let (net, to_hub) = (net.clone(), to_hub.clone());
        tokio::spawn(async move {
            if let Err(e) = serve(&net, stream, peer, id, &to_hub).await {
                tracing::info!(%peer, session = id, error = %e, "relay session ended");
            }
            let _ = to_hub.send(ToHub::Unregister { id }).await;
            drop(permit);
        });
    }
}

async fn serve(
    net: &Arc<Net>,
    mut stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    to_hub: &mpsc::Sender<ToHub>,
) -> Result<(), FirehoseError> {
    let _ = stream.set_nodelay(true);
    // borrowed halves: one task holds both, so no shared allocation to split the socket
    let (r, mut w) = stream.split();
    let mut reader = FrameReader::new(r);
    // boxed: the opening's state (handshake, `Open`, checks) is freed once it is done, not
    // kept by the idle session
    let Opened {
        live: _live,
        mut carried,
        mut rx,
    } = Box::pin(open_session(net, &mut reader, &mut w, peer, id, to_hub)).await?;
    loop {
        tokio::select! {
            f = reader.next() => {
                let f = match f {
                    Ok(f) => f,
                    Err(e) => break Err(e),
                };
                match f.kind {
                    FrameType::StreamNack => {
                        let nack = Nack::decode(&f.payload)?;
                        // a full hub queue drops the NACK: the node repeats it
                        let _ = to_hub.try_send(ToHub::Nack { id, nack });
                    }
                    FrameType::StreamFetch => {
                        let fetch = Fetch::decode(&f.payload)?;
                        // a full hub queue drops it: the node counts the seqs as lost
                        let _ = to_hub.try_send(ToHub::Fetch { id, fetch });
                    }
                    FrameType::TunnelData | FrameType::TunnelClose if carried.is_some() => {
                        let tunnels = &carried.as_ref().expect("carried").tunnels;
                        let (tid, data) = tunnel::decode(f.kind, &f.payload)?;
                        // boxed: a tunnel's delivery state is not kept by every idle session
                        let open = f.kind == FrameType::TunnelData
                            && Box::pin(tunnel::deliver(tunnels, tid, data)).await;
                        if !open {
                            tunnels.lock().unwrap_or_else(|p| p.into_inner()).remove(tid);
                        }
                    }
                    FrameType::Ping => {
                        if let Some(c) = &carried {
                            let _ = c.tx.try_send(TunnelOut::Pong);
                        }
                    }
                    FrameType::Pong => {}
                    FrameType::Close => break Ok(()),
                    other => {
                        break Err(ProtoError::Malformed {
                            what: "relay session",
                            why: format!("unexpected {other:?} from the node"),
                        }
                        .into())
                    }
                }
            }
            // the write is awaited here, in the arm, never cancelled half-way by a read (and
            // boxed: its state is not kept while idle); a closed queue (the hub dropped the
            // session as slow) ends the session too
            out = rx.recv() => match out {
                Some(out) => {
                    let (kind, bytes) = frame_of(&out);
                    if let Err(e) = Box::pin(write_timed(net, id, &mut w, kind, &bytes)).await {
                        break Err(e);
                    }
                }
                None => break Err(FirehoseError::Closed("dropped by the hub (too slow)")),
            },
            Some(t) = tunnel_out(&mut carried) => {
                let (kind, payload) = t.encode();
                if let Err(e) = Box::pin(write_timed(net, id, &mut w, kind, &payload)).await {
                    break Err(e);
                }
            }
        }
    }
}

/// What an opened session keeps while it runs.
struct Opened {
    live: Option<LiveGauge>,
    carried: Option<Box<Carried>>,
    rx: QueueReceiver<Out>,
}

/// The session's opening: the handshake, the node's `Open`, the checks of a session that
/// carries links, and the registration with the hub.
async fn open_session(
    net: &Arc<Net>,
    reader: &mut FrameReader<ReadHalf<'_>>,
    w: &mut WriteHalf<'_>,
    peer: SocketAddr,
    id: u64,
    to_hub: &mpsc::Sender<ToHub>,
) -> Result<Opened, FirehoseError> {
    let handshake = tokio::time::timeout(session::HANDSHAKE_TIMEOUT, async {
        let (hello, key) =
            session::handshake(&net.domain, net.key(), Role::Listener, reader, w).await?;
        let f = session::expect(reader, FrameType::StreamOpen).await?;
        let open = Open::decode(&f.payload)?;
        Ok::<_, FirehoseError>((hello.domain, key, open))
    });
    let (domain, key, open) = handshake
        .await
        .map_err(|_| FirehoseError::Closed("handshake timed out"))??;
    if net.blocked_domains.matches(&domain) {
        tracing::info!(%peer, %domain, "relay session of a blocked domain refused");
        let reason = wire::encode(&wire::Close {
            reason: format!("{domain} is blocked on this node"),
        });
        let _ = session::write_frame(w, FrameType::Close, &reason).await;
        return Err(FirehoseError::Closed("the domain is blocked on this node"));
    }
    let s = RelaySession { id, peer, domain };
    tracing::info!(peer = %s.peer, domain = %s.domain, session = s.id, live = open.live, cursor = ?open.cursor, "relay session open");
    FirehoseCounters::bump(&net.firehose.relay_opened);
    let live = open.live.then(|| LiveGauge::up(net));
    // only a session that carries links has tunnel state (an idle relay session stays small)
    let mut carried = None;
    if open.links {
        if let Err(e) = tunnel::check_carried(net, &s.domain, &key).await {
            tracing::warn!(domain = %s.domain, session = id, error = %e, "relay session refused");
            let reason = wire::encode(&wire::Close {
                reason: e.to_string(),
            });
            let _ = session::write_frame(w, FrameType::Close, &reason).await;
            return Err(e);
        }
        carried = Some(Box::new(Carried::up(net, &s)));
    }
    if !open.publish.is_empty() {
        super::publish::spawn(net.clone(), s.domain.clone(), key, open.publish.clone());
    }
    let (tx, rx) = queue(RELAY_SESSION_QUEUE);
    to_hub
        .send(ToHub::Register { id, open, tx })
        .await
        .map_err(|_| FirehoseError::Closed("hub stopped"))?;
    Ok(Opened { live, carried, rx })
}

/// Counts a live session in `relay_sessions` while it lives (NACK-only ones are not counted).
struct LiveGauge(Arc<Net>);

impl LiveGauge {
    fn up(net: &Arc<Net>) -> Self {
        FirehoseCounters::bump(&net.firehose.relay_sessions);
        LiveGauge(net.clone())
    }
}

impl Drop for LiveGauge {
    fn drop(&mut self) {
        self.0
            .firehose
            .relay_sessions
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Tunnel frames queued for a session that carries links, whatever its tunnels send.
async fn tunnel_out(carried: &mut Option<Box<Carried>>) -> Option<TunnelOut> {
    match carried {
        Some(c) => c.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A session's domain carried in [`crate::net::Net::routes`] while it lives (counted in
/// `carried_domains`), with its tunnels and their queue of frames to the node.
struct Carried {
    net: Arc<Net>,
    domain: String,
    id: u64,
    tunnels: Tunnels,
    tx: mpsc::Sender<TunnelOut>,
    rx: mpsc::Receiver<TunnelOut>,
}

impl Carried {
    fn up(net: &Arc<Net>, s: &RelaySession) -> Self {
        let tunnels = Tunnels::default();
        let (tx, rx) = mpsc::channel(tunnel::SESSION_TUNNEL_QUEUE);
        net.routes.add(&s.domain, s.id, tx.clone(), tunnels.clone());
        FirehoseCounters::bump(&net.firehose.carried_domains);
        tracing::info!(domain = %s.domain, session = s.id, "carrying links for the domain");
        Carried {
            net: net.clone(),
            domain: s.domain.clone(),
            id: s.id,
            tunnels,
            tx,
            rx,
        }
    }
}

impl Drop for Carried {
    fn drop(&mut self) {
        self.net.routes.remove(&self.domain, self.id);
        // dropping the queues ends the carried links' writers
        self.tunnels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.net
            .firehose
            .carried_domains
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The frame that carries `out`.
fn frame_of(out: &Out) -> (FrameType, std::borrow::Cow<'_, [u8]>) {
    match out {
        Out::Data(b) => (FrameType::StreamData, b.as_ref().into()),
        Out::Repair(b) => (FrameType::StreamRepair, b.as_ref().into()),
        Out::Fetched(f) => (FrameType::StreamFetched, wire::encode(f.as_ref()).into()),
    }
}

/// Writes one frame to session `id`. A write that stalls for [`WRITE_TIMEOUT`] means a node
/// too slow for the stream, like a full queue: counted in `relay_slow_dropped`, and the
/// session ends (the node resumes by cursor).
async fn write_timed<W: AsyncWrite + Unpin>(
    net: &Net,
    id: u64,
    w: &mut W,
    kind: FrameType,
    bytes: &[u8],
) -> Result<(), FirehoseError> {
    match tokio::time::timeout(WRITE_TIMEOUT, session::write_frame(w, kind, bytes)).await {
        Ok(r) => r,
        Err(_) => {
            FirehoseCounters::bump(&net.firehose.relay_slow_dropped);
            tracing::info!(
                session = id,
                "relay session too slow (write stalled): dropped"
            );
            Err(FirehoseError::Closed("write stalled (too slow)"))
        }
    }
}
