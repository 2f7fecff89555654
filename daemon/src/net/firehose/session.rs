//! The relay session's wire, shared by hub and node.
//!
//! A relay session is a TCP connection to the hub's `relay_listen` port carrying the frames of
//! [`crate::proto::frame`]. It opens with the link handshake of [`crate::proto::link`] (`Hello`
//! and `Auth` both ways: each side proves its node key), then:
//!
//! - node → hub: one `StreamOpen` ([`Open`]: live or NACK-only, resume cursor), then
//!   `StreamNack` frames ([`Nack`]), `StreamFetch` frames ([`Fetch`]: messages by stream seq)
//!   and `Ping`s that keep a NAT mapping open;
//! - hub → node: `StreamData` (live datagrams, exactly as multicast carries them),
//!   `StreamRepair` (datagrams sent again: NACK answers and the replay from the cursor) and
//!   `StreamFetched` ([`Fetched`]: the fetched messages the hub still holds).

use super::FirehoseError;
use crate::net::scratch;
use crate::proto::frame::{FrameDecoder, OwnedFrame};
use crate::proto::link::{self as wire, Hello, Role};
use crate::proto::stream::Cursor;
use crate::proto::{FrameType, NodeKey, ProtoError, PublicKey};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// The whole handshake and the `StreamOpen` must arrive within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most ranges one NACK frame may carry (the receiver emits at most
/// [`crate::proto::stream::event::MAX_NACK_RANGES`]).
pub const MAX_NACK_RANGES: usize = crate::proto::stream::event::MAX_NACK_RANGES;

/// Most authors one `StreamOpen` may ask the hub to publish: a household's users, and well
/// under the control payload cap ([`wire::MAX_CONTROL_PAYLOAD`]).
pub const MAX_PUBLISH_AUTHORS: usize = 32;

/// `StreamOpen`: what the node wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// True: a live session (every datagram). False: NACK answers only (the node is on multicast).
    pub live: bool,
    /// Resume here: (epoch, next seq wanted). None: start live now.
    pub cursor: Option<(u32, u64)>,
    /// True: carry links for the node's domain over this session (`firehose.via_hub`: nobody
    /// can dial the node; its SRV record names the hub).
    pub links: bool,
    /// Authors of the node's domain whose public posts the hub should multicast
    /// (`firehose.publish`): the hub follows them like any other server. At most
    /// [`MAX_PUBLISH_AUTHORS`].
    pub publish: Vec<crate::proto::Address>,
}

impl Open {
    /// A live session resumed at `cursor` (None: from now).
    pub fn live(cursor: Option<Cursor>) -> Self {
        Open {
            live: true,
            cursor: cursor.map(|c| (c.epoch, c.next)),
            links: false,
            publish: Vec::new(),
        }
    }

    /// A session for NACKs and fetches only.
    pub fn nack_only() -> Self {
        Open {
            live: false,
            ..Open::live(None)
        }
    }

    /// Decodes and checks an open: bounded publish list.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let o: Open = wire::decode("stream open", bytes)?;
        if o.publish.len() > MAX_PUBLISH_AUTHORS {
            return Err(ProtoError::Malformed {
                what: "stream open",
                why: format!("more than {MAX_PUBLISH_AUTHORS} authors to publish"),
            });
        }
        Ok(o)
    }

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

/// Most seqs one `StreamFetch` may ask for: a give-up range is fetched in pieces this big.
pub const MAX_FETCH_SEQS: u64 = 64;
/// Most message bytes in one `StreamFetched` frame: well under the frame cap
/// ([`frame::MAX_FRAME_LEN`]) with room for the encoding; a larger answer is split.
pub const MAX_FETCHED_BYTES: usize = 64 * 1024;

/// `StreamFetch`: the messages of `epoch` at stream seqs `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetch {
    /// The epoch.
    pub epoch: u32,
    /// First seq wanted.
    pub first: u64,
    /// Last seq wanted (at most [`MAX_FETCH_SEQS`] from `first`).
    pub last: u64,
}

impl Fetch {
    /// Decodes and checks a fetch: not reversed, at most [`MAX_FETCH_SEQS`] seqs.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let f: Fetch = wire::decode("stream fetch", bytes)?;
        if f.first > f.last || f.last - f.first >= MAX_FETCH_SEQS {
            return Err(ProtoError::Malformed {
                what: "stream fetch",
                why: "reversed, or too many seqs".into(),
            });
        }
        Ok(f)
    }
}

/// `StreamFetched`: the answer to a [`Fetch`] for `first..=last` (or a piece of it): the
/// messages the hub still holds; a seq of the range not listed is not held any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    /// The epoch.
    pub epoch: u32,
    /// First seq this answer covers.
    pub first: u64,
    /// Last seq this answer covers.
    pub last: u64,
    /// (stream seq, message bytes), seqs within `first..=last`, ascending.
    pub messages: Vec<(u64, Vec<u8>)>,
}

impl Fetched {
    /// The answers to `f`: as few frames as keep each under [`MAX_FETCHED_BYTES`];
    /// `message(seq)` looks a message up.
    pub fn answer(f: Fetch, mut message: impl FnMut(u64) -> Option<Vec<u8>>) -> Vec<Fetched> {
        let mut out = Vec::new();
        let mut cur = Fetched {
            epoch: f.epoch,
            first: f.first,
            last: f.first,
            messages: Vec::new(),
        };
        let mut bytes = 0;
        for seq in f.first..=f.last {
            let m = message(seq);
            let len = m.as_ref().map_or(0, Vec::len);
            if bytes + len > MAX_FETCHED_BYTES && !cur.messages.is_empty() {
                let next = Fetched {
                    epoch: f.epoch,
                    first: seq,
                    last: seq,
                    messages: Vec::new(),
                };
                out.push(std::mem::replace(&mut cur, next));
                bytes = 0;
            }
            bytes += len;
            cur.last = seq;
            if let Some(m) = m {
                cur.messages.push((seq, m));
            }
        }
        out.push(cur);
        out
    }

    /// Decodes and checks an answer: range not reversed and bounded, seqs inside it.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        // carries messages, so larger than a control payload: bounded by the frame cap only
        let (f, rest): (Fetched, _) =
            postcard::take_from_bytes(bytes).map_err(|e| ProtoError::Malformed {
                what: "stream fetched",
                why: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(ProtoError::Malformed {
                what: "stream fetched",
                why: "trailing bytes".into(),
            });
        }
        let bad = f.first > f.last
            || f.last - f.first >= MAX_FETCH_SEQS
            || f.messages
                .iter()
                .any(|(s, _)| !(f.first..=f.last).contains(s));
        if bad {
            return Err(ProtoError::Malformed {
                what: "stream fetched",
                why: "reversed or oversized range, or a seq outside it".into(),
            });
        }
        Ok(f)
    }
}

/// Reads whole frames from a stream. Holds no read buffer: reads go through the thread's
/// scratch buffer ([`crate::net::scratch`]) into the decoder, which holds bytes only while a
/// frame is in progress.
pub struct FrameReader<R> {
    r: R,
    dec: FrameDecoder,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `r`.
    pub fn new(r: R) -> Self {
        FrameReader {
            r,
            dec: FrameDecoder::new(),
        }
    }

    /// The next whole frame. Cancel-safe: bytes are only taken once a read completes.
    pub async fn next(&mut self) -> Result<OwnedFrame, FirehoseError> {
        loop {
            if let Some(f) = self.dec.next_frame()? {
                return Ok(f);
            }
            if scratch::read_into(&mut self.r, &mut self.dec).await? == 0 {
                return Err(FirehoseError::Closed("end of stream"));
            }
        }
    }
}

/// Writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    w: &mut W,
    kind: FrameType,
    payload: &[u8],
) -> Result<(), FirehoseError> {
    crate::net::write_frame(w, kind, payload).await
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

    #[test]
    fn fetch_answers_split_by_size_and_bad_ones_are_refused() {
        let f = Fetch {
            epoch: 3,
            first: 10,
            last: 10 + MAX_FETCH_SEQS - 1,
        };
        assert_eq!(Fetch::decode(&wire::encode(&f)).unwrap(), f);
        let too_many = Fetch {
            last: f.last + 1,
            ..f
        };
        assert!(Fetch::decode(&wire::encode(&too_many)).is_err());
        // every other seq held, 5000 bytes each: 32 × 5000 B does not fit one frame
        let answers = Fetched::answer(f, |s| (s % 2 == 0).then(|| vec![1u8; 5000]));
        assert!(answers.len() > 1);
        assert_eq!(answers[0].first, 10);
        assert_eq!(answers.last().unwrap().last, f.last);
        for w in answers.windows(2) {
            assert_eq!(w[0].last + 1, w[1].first, "pieces cover the range");
        }
        let held: usize = answers.iter().map(|a| a.messages.len()).sum();
        assert_eq!(held, 32);
        for a in &answers {
            let enc = wire::encode(a);
            assert!(enc.len() < crate::proto::frame::MAX_FRAME_LEN);
            assert_eq!(&Fetched::decode(&enc).unwrap(), a);
        }
        let outside = Fetched {
            epoch: 3,
            first: 1,
            last: 2,
            messages: vec![(5, vec![1])],
        };
        assert!(Fetched::decode(&wire::encode(&outside)).is_err());
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
