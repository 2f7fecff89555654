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
//! and each carried connection holds one), [`HELLO_TIMEOUT`] and one TLS record
//! ([`super::sni::MAX_RECORD`]) to name the host, and each carried domain's tunnels and
//! queues ([`super::tunnel::MAX_TUNNELS`]); the node's own HTTPS listener bounds the rest
//! (its head and body deadlines, its connection table).

use super::sni::{server_name, Sni, MAX_RECORD, RECORD_HEADER};
use super::tunnel;
use crate::net::{Net, NetError};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections the HTTPS port holds at once (reading a `ClientHello`, or carried).
pub const MAX_CONNECTIONS: usize = 512;
/// Time a client has to send its whole `ClientHello`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// Takes connections on `listener` until the process ends.
pub async fn listen(net: Arc<Net>, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "HTTPS routing: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "HTTPS routing: too many connections; closed");
            continue;
        };
        let net = net.clone();
        tokio::spawn(async move {
            if let Err(e) = route(&net, stream, permit).await {
                tracing::debug!(%peer, error = %e, "HTTPS routing: connection refused");
            }
        });
    }
}

/// Reads the `ClientHello`'s server name and carries the connection where it goes.
async fn route(
    net: &Arc<Net>,
    mut stream: TcpStream,
    permit: OwnedSemaphorePermit,
) -> Result<(), NetError> {
    let lost = |why: &str| NetError::LinkLost(format!("TLS client: {why}"));
    let mut first = Vec::with_capacity(1024);
    let name = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            match server_name(&first) {
                Ok(Sni::Name(n)) => return Ok(n),
                Ok(Sni::NoName) => return Err(lost("no server name")),
                Err(e) => return Err(lost(&e.to_string())),
                Ok(Sni::NeedMore(n)) => {
                    let want = n.min(RECORD_HEADER + MAX_RECORD);
                    let at = first.len();
                    first.resize(want, 0);
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
        return tunnel::carry_bytes(net, &name, r, w, first, true, permit).await;
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
