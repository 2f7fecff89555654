//! A relay-session client for tests and benches: dials a hub's relay port, proves a node key
//! with the link handshake and sends `StreamOpen`, as a node's upstream does; the connection
//! is then held (and read, or not) by the caller.

use msmd::net::firehose::session::{self, FrameReader, Open};
use msmd::proto::link::{self as wire, Role};
use msmd::proto::{FrameType, NodeKey};
use std::net::SocketAddr;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// An open relay session.
pub struct RelayClient {
    /// Frames from the hub.
    pub reader: FrameReader<OwnedReadHalf>,
    /// The write half (dropping it with the reader closes the session).
    pub writer: OwnedWriteHalf,
}

/// Opens a live relay session (no cursor) to the hub at `addr` as `domain` with `key`.
/// Fails if the hub refuses it (closes the connection: too many sessions).
pub async fn open_live(
    addr: SocketAddr,
    key: &NodeKey,
    domain: &str,
) -> Result<RelayClient, msmd::net::firehose::FirehoseError> {
    let stream = TcpStream::connect(addr).await?;
    let (r, mut writer) = stream.into_split();
    let mut reader = FrameReader::new(r);
    session::handshake(domain, key, Role::Dialer, &mut reader, &mut writer).await?;
    let open = Open::live(None);
    session::write_frame(&mut writer, FrameType::StreamOpen, &wire::encode(&open)).await?;
    Ok(RelayClient { reader, writer })
}

/// Reads `/proc/PID/status` field `field` (e.g. `VmRSS`), in kB; 0 if unknown.
pub fn status_kb(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
