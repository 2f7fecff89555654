//! A hub's HTTPS port: each TLS connection routed by the name its client asks for (SNI), down
//! the relay session of the node that proved that domain, without terminating TLS.
//!
//! The household behind carrier NAT keeps its certificate and key on its own router; the hub
//! reads only the `ClientHello`'s server name ([`super::sni`]), then carries the bytes both
//! ways through the tunnel a link would take ([`super::tunnel::carry_bytes`], opened as TLS so
//! the node pipes it into its own HTTPS listener). The fediverse, and the household's phones
//! away from home, reach `https://home.example/` through the hub, and the hub never holds
//! its certificate or sees its traffic. A name the hub does not carry is its own domain's
//! (piped to its own HTTPS listener) or nobody's (the connection is closed).
//!
//! Bounds: [`MAX_CONNECTIONS`] connections at once on the port (each read of a `ClientHello`
//! and each carried connection holds one), of which [`super::budget::MAX_PER_SOURCE`] per
//! client address; [`HELLO_TIMEOUT`] and one TLS record ([`super::sni::MAX_RECORD`], buffered
//! only as it arrives) to name the host; each carried domain's tunnels, of which at most
//! [`super::budget::MAX_TLS_TUNNELS`] TLS so that links keep the rest, and their queues
//! ([`super::tunnel`]); [`CARRIED_IDLE`] without a byte either way closes a carried connection.
//! The node's own HTTPS listener bounds the rest (its head and body deadlines, its connection
//! table).

use super::budget::{Kind, PerSource};
use super::sni::{server_name, Sni, MAX_RECORD, RECORD_HEADER};
use super::tunnel;
use super::FirehoseCounters;
use crate::net::{Net, NetError};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections the HTTPS port holds at once (reading a `ClientHello`, or carried).
pub const MAX_CONNECTIONS: usize = 512;
/// Time a client has to send its whole `ClientHello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// A carried connection with no byte either way for this long is closed. Longer than the
/// keep-alive of the clients that reuse connections (Mastodon's and Node's pools, browsers:
/// up to ~60 s) and equal to nginx's default `keepalive_timeout`, so a client closes an idle
/// connection before the hub does and never writes into one the hub is closing; only
/// connections nobody uses any more wait this long.
pub const CARRIED_IDLE: Duration = Duration::from_secs(75);
/// Most bytes read from a client at once while it names its host: the buffer grows with what
/// arrives, so a client that announces a long record and sends little costs little.
const HELLO_READ: usize = 2048;

/// A connection's slots: one of the port's, one of its address's (given back when dropped).
struct Held {
    _slot: OwnedSemaphorePermit,
    sources: Arc<Mutex<PerSource>>,
    ip: IpAddr,
}

impl Drop for Held {
    fn drop(&mut self) {
        lock(&self.sources).release(self.ip);
    }
}

fn lock(m: &Mutex<PerSource>) -> std::sync::MutexGuard<'_, PerSource> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes connections on `listener` until the process ends.
pub async fn listen(net: Arc<Net>, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let sources = Arc::new(Mutex::new(PerSource::default()));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "HTTPS routing: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            FirehoseCounters::bump(&net.firehose.tls_refused);
            tracing::debug!(%peer, "HTTPS routing: too many connections; closed");
            continue;
        };
        if !lock(&sources).take(peer.ip()) {
            FirehoseCounters::bump(&net.firehose.tls_refused);
            tracing::debug!(%peer, "HTTPS routing: too many connections from its address; closed");
            continue;
        }
        let permit = Held {
            _slot: slot,
            sources: sources.clone(),
            ip: peer.ip(),
        };
        let net = net.clone();
        tokio::spawn(async move {
            if let Err(e) = route(&net, stream, permit).await {
                FirehoseCounters::bump(&net.firehose.tls_refused);
                tracing::debug!(%peer, error = %e, "HTTPS routing: connection refused");
            }
        });
    }
}

/// Reads the `ClientHello`'s server name and carries the connection where it goes.
async fn route(net: &Arc<Net>, mut stream: TcpStream, permit: Held) -> Result<(), NetError> {
    let lost = |why: &str| NetError::LinkLost(format!("TLS client: {why}"));
    let mut first = Vec::new();
    let name = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            match server_name(&first) {
                Ok(Sni::Name(n)) => return Ok(n),
                Ok(Sni::NoName) => return Err(lost("no server name")),
                Err(e) => return Err(lost(&e.to_string())),
                Ok(Sni::NeedMore(n)) => {
                    let want = n.min(RECORD_HEADER + MAX_RECORD);
                    let at = first.len();
                    first.resize(want.min(at + HELLO_READ), 0);
                    let got = stream
                        .read(&mut first[at..])
                        .await
                        .map_err(|e| lost(&e.to_string()))?;
                    if got == 0 {
                        return Err(lost("closed before naming a host"));
                    }
                    first.truncate(at + got);
                }
            }
        }
    })
    .await
    .map_err(|_| lost("too slow to name a host"))??;
    if net.routes.carries(&name) {
        let (r, w) = stream.into_split();
        return tunnel::carry_bytes(net, &name, r, w, first, Kind::Tls, permit).await;
    }
    let own = net
        .https_local
        .get()
        .copied()
        .filter(|_| name == net.domain);
    let Some(own) = own else {
        return Err(NetError::Unreachable {
            domain: name,
            why: "not carried by this hub".into(),
        });
    };
    // the hub's own domain: its own HTTPS listener answers
    let _permit = permit;
    let mut upstream = TcpStream::connect(own).await?;
    upstream.write_all(&first).await?;
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
    Ok(())
}
