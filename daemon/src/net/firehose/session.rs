//! The relay session's wire, shared by hub and node.
//!
//! A relay session is a TCP connection to the hub's `relay_listen` port carrying the frames of
//! [`crate::proto::frame`]. It opens with the link handshake of [`crate::proto::link`] (`Hello`
//! and `Auth` both ways: each side proves its node key), then:
//!
//! - node → hub: one `StreamOpen` ([`Open`]: live or NACK-only, resume cursor), then
//!   `StreamNack` frames ([`Nack`]) and `Ping`s that keep a NAT mapping open;
//! - hub → node: `StreamData` (live datagrams, exactly as multicast carries them) and
//!   `StreamRepair` (datagrams sent again: NACK answers and the replay from the cursor).

use super::FirehoseError;
use crate::proto::frame::{self, FrameDecoder, OwnedFrame};
use crate::proto::link::{self as wire, Hello, Role};
use crate::proto::stream::Cursor;
use crate::proto::{FrameType, NodeKey, ProtoError, PublicKey};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The whole handshake and the `StreamOpen` must arrive within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4 * 1024;
/// Most ranges one NACK frame may carry (the receiver emits at most
/// [`crate::proto::stream::event::MAX_NACK_RANGES`]).
pub const MAX_NACK_RANGES: usize = crate::proto::stream::event::MAX_NACK_RANGES;

/// `StreamOpen`: what the node wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// True: a live session (every datagram). False: NACK answers only (the node is on multicast).
    pub live: bool,
    /// Resume here: (epoch, next seq wanted). None: start live now.
    pub cursor: Option<(u32, u64)>,
}

impl Open {
    /// The cursor as the stream core has it.
    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor.map(|(epoch, next)| Cursor { epoch, next })
    }
}

/// `StreamNack`: seqs of `epoch` to send again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nack {
    /// The epoch.
    pub epoch: u32,
    /// Missing ranges as (first, last), oldest first.
    pub ranges: Vec<(u64, u64)>,
}

impl Nack {
    /// A NACK of `ranges`.
    pub fn new(epoch: u32, ranges: &[RangeInclusive<u64>]) -> Self {
        Nack {
            epoch,
            ranges: ranges
                .iter()
                .take(MAX_NACK_RANGES)
                .map(|r| (*r.start(), *r.end()))
                .collect(),
        }
    }

    /// Decodes and checks a NACK: bounded, ranges not reversed.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let n: Nack = wire::decode("stream nack", bytes)?;
        if n.ranges.len() > MAX_NACK_RANGES || n.ranges.iter().any(|(a, b)| a > b) {
            return Err(ProtoError::Malformed {
                what: "stream nack",
                why: "too many or reversed ranges".into(),
            });
        }
        Ok(n)
    }

    /// The ranges as the stream core has them.
    pub fn ranges(&self) -> Vec<RangeInclusive<u64>> {
        self.ranges.iter().map(|(a, b)| *a..=*b).collect()
    }
}

/// Reads whole frames from a stream with one bounded buffer.
pub struct FrameReader<R> {
    r: R,
    dec: FrameDecoder,
    buf: Box<[u8; READ_CHUNK]>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `r`.
    pub fn new(r: R) -> Self {
        FrameReader {
            r,
            dec: FrameDecoder::new(),
            buf: Box::new([0u8; READ_CHUNK]),
        }
    }

    /// The next whole frame. Cancel-safe: bytes are only taken once a read completes.
    pub async fn next(&mut self) -> Result<OwnedFrame, FirehoseError> {
        loop {
            if let Some(f) = self.dec.next_frame()? {
                return Ok(f);
            }
            let room = self.dec.room().min(READ_CHUNK);
            let n = self.r.read(&mut self.buf[..room]).await?;
            if n == 0 {
                return Err(FirehoseError::Closed("end of stream"));
            }
            self.dec.push(&self.buf[..n])?;
        }
    }
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: FrameType,
    payload: &[u8],
) -> Result<(), FirehoseError> {
    let mut out = Vec::with_capacity(payload.len() + frame::HEADER_LEN);
    frame::encode(kind, payload, &mut out)?;
    w.write_all(&out).await?;
    Ok(())
}

/// Runs the link handshake as `role`; returns the peer's Hello and proved key.
pub async fn handshake<R, W>(
    domain: &str,
    key: &NodeKey,
    role: Role,
    reader: &mut FrameReader<R>,
    w: &mut W,
) -> Result<(Hello, PublicKey), FirehoseError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut nonce = [0u8; 32];
    getrandom::getrandom(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mine = wire::encode(&Hello::new(domain, key, nonce));
    write_frame(w, FrameType::Hello, &mine).await?;
    let f = expect(reader, FrameType::Hello).await?;
    let peer = Hello::decode(&f.payload)?;
    let peer_key = peer.public_key()?;
    let (dialer, listener) = match role {
        Role::Dialer => (&mine, &f.payload),
        Role::Listener => (&f.payload, &mine),
    };
    write_frame(w, FrameType::Auth, &wire::auth(key, role, dialer, listener)).await?;
    let a = expect(reader, FrameType::Auth).await?;
    let peer_role = match role {
        Role::Dialer => Role::Listener,
        Role::Listener => Role::Dialer,
    };
    wire::verify_auth(&peer_key, peer_role, dialer, listener, &a.payload)?;
    Ok((peer, peer_key))
}

/// The next frame, which must be of `kind`.
pub async fn expect<R: AsyncRead + Unpin>(
    reader: &mut FrameReader<R>,
    kind: FrameType,
) -> Result<OwnedFrame, FirehoseError> {
    let f = reader.next().await?;
    if f.kind != kind {
        return Err(ProtoError::Malformed {
            what: "relay session",
            why: format!("expected {kind:?}, got {:?}", f.kind),
        }
        .into());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nack_round_trips_and_bad_ones_are_refused() {
        let n = Nack::new(7, &[1..=3, 9..=9]);
        let back = Nack::decode(&wire::encode(&n)).unwrap();
        assert_eq!(back.ranges(), vec![1..=3, 9..=9]);
        let reversed = Nack {
            epoch: 1,
            ranges: vec![(5, 2)],
        };
        assert!(Nack::decode(&wire::encode(&reversed)).is_err());
        let many = Nack {
            epoch: 1,
            ranges: vec![(1, 1); MAX_NACK_RANGES + 1],
        };
        assert!(Nack::decode(&wire::encode(&many)).is_err());
        assert!(Nack::decode(b"\xff\xff\xff").is_err());
    }

    #[tokio::test]
    async fn handshake_proves_both_keys() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (ar, mut aw) = tokio::io::split(a);
        let (br, mut bw) = tokio::io::split(b);
        let (ka, kb) = (NodeKey::generate().unwrap(), NodeKey::generate().unwrap());
        let (pa, pb) = (ka.public(), kb.public());
        let dial = async move {
            let mut r = FrameReader::new(ar);
            handshake("a.test", &ka, Role::Dialer, &mut r, &mut aw).await
        };
        let listen = async move {
            let mut r = FrameReader::new(br);
            handshake("b.test", &kb, Role::Listener, &mut r, &mut bw).await
        };
        let (x, y) = tokio::join!(dial, listen);
        assert_eq!(x.unwrap().1, pb);
        assert_eq!(y.unwrap().1, pa);
    }
}
