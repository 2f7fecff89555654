//! The hub's relay listener: authenticated TCP sessions, at most `firehose.max_relay_sessions`
//! at once, each with a queue of [`RELAY_SESSION_QUEUE`] datagrams (shared bytes, so a
//! session's own cost is that many pointers). A [`RelaySession`] writes what the hub task
//! queues for it and passes its NACKs back.

use super::hub::{Out, ToHub};
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
use tokio::net::tcp::OwnedWriteHalf;
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
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    to_hub: &mpsc::Sender<ToHub>,
) -> Result<(), FirehoseError> {
    let _ = stream.set_nodelay(true);
    let (r, mut w) = stream.into_split();
    let mut reader = FrameReader::new(r);
    let opened = tokio::time::timeout(session::HANDSHAKE_TIMEOUT, async {
        let (hello, key) =
            session::handshake(&net.domain, net.key(), Role::Listener, &mut reader, &mut w).await?;
        let f = session::expect(&mut reader, FrameType::StreamOpen).await?;
        let open = Open::decode(&f.payload)?;
        Ok::<_, FirehoseError>((hello, key, open))
    })
    .await
    .map_err(|_| FirehoseError::Closed("handshake timed out"))??;
    let (hello, key, open) = opened;
    let s = RelaySession {
        id,
        peer,
        domain: hello.domain,
    };
    tracing::info!(peer = %s.peer, domain = %s.domain, session = s.id, live = open.live, cursor = ?open.cursor, "relay session open");
    FirehoseCounters::bump(&net.firehose.relay_opened);
    let _live = open.live.then(|| LiveGauge::up(net));
    let tunnels = Tunnels::default();
    let (tunnel_tx, tunnel_rx) = mpsc::channel(tunnel::SESSION_TUNNEL_QUEUE);
    let _carried = if open.links {
        if let Err(e) = tunnel::check_carried(net, &s.domain, &key).await {
            tracing::warn!(domain = %s.domain, session = id, error = %e, "relay session refused");
            let reason = wire::encode(&wire::Close {
                reason: e.to_string(),
            });
            let _ = session::write_frame(&mut w, FrameType::Close, &reason).await;
            return Err(e);
        }
        Some(Carried::up(net, &s, tunnel_tx.clone(), tunnels.clone()))
    } else {
        None
    };
    if !open.publish.is_empty() {
        super::publish::spawn(net.clone(), s.domain.clone(), key, open.publish.clone());
    }
    let (tx, rx) = mpsc::channel(RELAY_SESSION_QUEUE);
    to_hub
        .send(ToHub::Register { id, open, tx })
        .await
        .map_err(|_| FirehoseError::Closed("hub stopped"))?;
    let mut writer = tokio::spawn(write_loop(w, rx, tunnel_rx));
    let result = loop {
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
                    FrameType::TunnelData | FrameType::TunnelClose => {
                        let (tid, data) = tunnel::decode(f.kind, &f.payload)?;
                        let open = f.kind == FrameType::TunnelData
                            && tunnel::deliver(&tunnels, tid, data).await;
                        if !open {
                            tunnels.lock().unwrap_or_else(|p| p.into_inner()).remove(&tid);
                        }
                    }
                    FrameType::Ping => {
                        let _ = tunnel_tx.try_send(TunnelOut::Pong);
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
            _ = &mut writer => break Err(FirehoseError::Closed("writer ended (slow or gone)")),
        }
    };
    writer.abort();
    result
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

/// Carries the session's domain in [`crate::net::Net::routes`] while it lives, counted in
/// `carried_domains`.
struct Carried {
    net: Arc<Net>,
    domain: String,
    id: u64,
    tunnels: Tunnels,
}

impl Carried {
    fn up(net: &Arc<Net>, s: &RelaySession, q: mpsc::Sender<TunnelOut>, tunnels: Tunnels) -> Self {
        net.routes.add(&s.domain, s.id, q, tunnels.clone());
        FirehoseCounters::bump(&net.firehose.carried_domains);
        tracing::info!(domain = %s.domain, session = s.id, "carrying links for the domain");
        Carried {
            net: net.clone(),
            domain: s.domain.clone(),
            id: s.id,
            tunnels,
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

/// Writes queued datagrams and tunnel frames until the datagram queue is dropped (the hub
/// dropped the session) or a write fails or stalls.
async fn write_loop(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Out>,
    mut tunnel_rx: mpsc::Receiver<TunnelOut>,
) {
    loop {
        let out = tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(out) => out,
                None => return,
            },
            Some(t) = tunnel_rx.recv() => {
                let (kind, payload) = t.encode();
                match tokio::time::timeout(WRITE_TIMEOUT, session::write_frame(&mut w, kind, &payload)).await {
                    Ok(Ok(())) => continue,
                    _ => return,
                }
            }
        };
        let fetched;
        let (kind, bytes): (_, &[u8]) = match &out {
            Out::Data(b) => (FrameType::StreamData, b),
            Out::Repair(b) => (FrameType::StreamRepair, b),
            Out::Fetched(f) => {
                fetched = wire::encode(f.as_ref());
                (FrameType::StreamFetched, &fetched)
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT, session::write_frame(&mut w, kind, bytes)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
