//! Node-to-node links: the handshake, the payload of each frame type, and keep-alive timing.
//!
//! # Handshake
//!
//! Right after the TCP connection opens, the dialler sends a `Hello` (protocol version, its
//! domain, its node key, 32 random bytes, and the domain it dialled); the listener reads it
//! before answering with its own, so a hub can carry a link for a domain it stands in for
//! (see `net::firehose::tunnel`). When a side holds both Hellos it sends `Auth`: an
//! Ed25519 signature by its node key over
//!
//! ```text
//! "msm-link-v1\0" ++ role ("dialer" | "listener") ++ dialer Hello payload ++ listener Hello payload
//! ```
//!
//! Each side checks the other's signature with the key in the other's Hello, so each proves it
//! holds that key, and the two fresh nonces make a transcript that cannot be replayed on another
//! connection. Whether the key is the right one for the claimed domain is decided outside the
//! handshake (a `TXT _msm.<domain>` pin, or the key seen when this node dialled that domain).
//!
//! # Payloads
//!
//! Every payload is postcard, like messages; `Message` frames carry a signed message's wire
//! form unchanged. Decoders refuse trailing bytes and oversize input.

use super::keys::{NodeKey, PublicKey, SIGNATURE_LEN};
use super::{Address, ProtoError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version spoken in Hello. 2 added the follow frames of [`super::follow`] (types 21..=24);
/// 3 the author key frames of [`super::conversation`] (types 25 and 26), and the version 2
/// messages (direct audience, notes, likes, edits: `super::message`) go only over links of
/// version 3; 4 the picture frames of [`super::media_wire`] (types 27..=29), sent only over
/// links of version 4. Every version 1 frame is unchanged. A listener answers a dialler's Hello with the lower of
/// the two versions, and a link speaks that one (a version 1 node refuses a version 2 Hello,
/// so a version 2 node dialling it fails the handshake: upgrade authors' nodes first).
pub const LINK_VERSION: u32 = 4;
/// Oldest version this node still speaks.
pub const MIN_LINK_VERSION: u32 = 1;
/// Context string of the handshake signature.
pub const AUTH_CONTEXT: &[u8] = b"msm-link-v1\0";
/// A side that has not sent anything for this long gets a Ping.
pub const PING_AFTER_MS: u64 = 30_000;
/// A link silent for this long is dead.
pub const DEAD_AFTER_MS: u64 = 90_000;
/// Largest control payload (everything but Message frames).
pub const MAX_CONTROL_PAYLOAD: usize = 4096;
/// Most messages one Backfill asks for; a longer gap takes several.
pub const MAX_BACKFILL: u64 = 256;

/// First frame of each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`LINK_VERSION`].
    pub version: u32,
    /// The domain this node serves.
    pub domain: String,
    /// The node key (32 bytes).
    pub key: Vec<u8>,
    /// 32 fresh random bytes.
    pub nonce: Vec<u8>,
    /// The domain the dialler wants (like TLS SNI), so that a hub can carry the link to a node
    /// behind carrier NAT whose SRV record names the hub; empty in a listener's Hello.
    pub to: String,
}

/// Which end of the TCP connection a side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opened the connection.
    Dialer,
    /// Accepted it.
    Listener,
}

/// What the receiver did with a delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckStatus {
    /// Stored now.
    Stored,
    /// Had it already.
    Duplicate,
    /// Nobody here follows the author: stop sending (the sender drops the subscription).
    Unwanted,
    /// Refused (bad signature, malformed, over a limit); the sender may retry later.
    Refused,
}

/// Answer to a Message frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The message's author.
    pub author: Address,
    /// The message's seq.
    pub seq: u64,
    /// What happened.
    pub status: AckStatus,
}

/// Subscribe the sending server to an author of the receiving node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The author, a user of the receiving node.
    pub author: Address,
    /// How many recent messages to send back right away.
    pub backfill: u32,
}

/// Answer to Subscribe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The author.
    pub author: Address,
    /// The author's current public key (32 bytes); empty if there is no such user.
    pub key: Vec<u8>,
    /// The author's newest seq.
    pub last_seq: u64,
}

/// Unsubscribe the sending server from an author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The author.
    pub author: Address,
}

/// Ask for an author's messages `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The author.
    pub author: Address,
    /// First seq wanted.
    pub from: u64,
    /// Last seq wanted (at most `from + MAX_BACKFILL - 1` is served).
    pub to: u64,
}

/// Why a side closes the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Close {
    /// Human-readable reason.
    pub reason: String,
}

/// Encodes a control payload.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).unwrap_or_default()
}

/// Decodes a control payload: bounded, no trailing bytes.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, ProtoError> {
    decode_borrowed(what, bytes)
}

/// [`decode`] for a value that borrows from the payload (no copy of its strings).
pub fn decode_borrowed<'a, T: Deserialize<'a>>(
    what: &'static str,
    bytes: &'a [u8],
) -> Result<T, ProtoError> {
    if bytes.len() > MAX_CONTROL_PAYLOAD {
        return Err(ProtoError::TooLarge {
            what,
            got: bytes.len(),
            max: MAX_CONTROL_PAYLOAD,
        });
    }
    let (v, rest) = postcard::take_from_bytes(bytes).map_err(|e| ProtoError::Malformed {
        what,
        why: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(ProtoError::Malformed {
            what,
            why: "trailing bytes".into(),
        });
    }
    Ok(v)
}

/// An [`Ack`] as the delivering side reads it: the author's address as it came, not parsed.
/// An ack only has to match a delivery this node sent, whose author is the canonical bytes it
/// sent, so there is nothing to canonicalise: an author that is not canonical matches nothing.
/// (An ack comes for every delivery; parsing its address, IDNA included, was a fair part of
/// the delivery path.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct AckView<'a> {
    /// The message's author, as sent.
    pub author: &'a str,
    /// The message's seq.
    pub seq: u64,
    /// What happened.
    pub status: AckStatus,
}

impl<'a> AckView<'a> {
    /// Decodes an Ack payload (bounded, no trailing bytes, UTF-8 checked).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ProtoError> {
        decode_borrowed("ack", bytes)
    }
}

impl Hello {
    /// A Hello for this node with a fresh nonce.
    pub fn new(domain: &str, key: &NodeKey, nonce: [u8; 32]) -> Self {
        Hello {
            version: LINK_VERSION,
            domain: domain.to_string(),
            key: key.public().to_bytes().to_vec(),
            nonce: nonce.to_vec(),
            to: String::new(),
        }
    }

    /// This Hello, addressed to the node of `domain` (a dialler's).
    pub fn to(mut self, domain: &str) -> Self {
        self.to = domain.to_string();
        self
    }

    /// Decodes and checks a peer's Hello: version, domain syntax, key, nonce length.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let h: Hello = decode("hello", bytes)?;
        if !(MIN_LINK_VERSION..=LINK_VERSION).contains(&h.version) {
            return Err(ProtoError::Malformed {
                what: "hello",
                why: format!("unsupported version {}", h.version),
            });
        }
        let domain = super::address::canonical_domain(&h.domain)?;
        if domain != h.domain {
            return Err(ProtoError::NotCanonical("hello domain"));
        }
        if !h.to.is_empty() && super::address::canonical_domain(&h.to)? != h.to {
            return Err(ProtoError::NotCanonical("hello to"));
        }
        PublicKey::from_bytes(&h.key)?;
        if h.nonce.len() != 32 {
            return Err(ProtoError::Malformed {
                what: "hello",
                why: "nonce is not 32 bytes".into(),
            });
        }
        Ok(h)
    }

    /// The key in the Hello (checked by [`Hello::decode`]).
    pub fn public_key(&self) -> Result<PublicKey, ProtoError> {
        PublicKey::from_bytes(&self.key)
    }
}

fn transcript(signer: Role, dialer_hello: &[u8], listener_hello: &[u8]) -> Vec<u8> {
    let mut t = AUTH_CONTEXT.to_vec();
    t.extend_from_slice(match signer {
        Role::Dialer => b"dialer",
        Role::Listener => b"listener",
    });
    t.extend_from_slice(dialer_hello);
    t.extend_from_slice(listener_hello);
    t
}

/// The Auth payload a side sends: its signature over the transcript.
pub fn auth(key: &NodeKey, me: Role, dialer_hello: &[u8], listener_hello: &[u8]) -> Vec<u8> {
    key.sign(&transcript(me, dialer_hello, listener_hello))
        .to_vec()
}

/// Checks the peer's Auth payload against the key in its Hello.
pub fn verify_auth(
    peer_key: &PublicKey,
    peer: Role,
    dialer_hello: &[u8],
    listener_hello: &[u8],
    payload: &[u8],
) -> Result<(), ProtoError> {
    let sig: [u8; SIGNATURE_LEN] = payload.try_into().map_err(|_| ProtoError::Malformed {
        what: "auth",
        why: "not a 64-byte signature".into(),
    })?;
    peer_key.verify(&transcript(peer, dialer_hello, listener_hello), &sig)
}

/// Keep-alive bookkeeping of one link (times in ms, passed in).
#[derive(Debug, Clone, Copy)]
pub struct KeepAlive {
    last_rx: u64,
    last_tx: u64,
}

/// What a link should do now for keep-alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAliveAction {
    /// Nothing to do until [`KeepAlive::next_deadline`].
    Wait,
    /// Send a Ping.
    Ping,
    /// Close: the peer has been silent for [`DEAD_AFTER_MS`].
    Dead,
}

impl KeepAlive {
    /// A link that just opened.
    pub fn new(now: u64) -> Self {
        KeepAlive {
            last_rx: now,
            last_tx: now,
        }
    }
    /// Something arrived.
    pub fn received(&mut self, now: u64) {
        self.last_rx = now;
    }
    /// Something was sent.
    pub fn sent(&mut self, now: u64) {
        self.last_tx = now;
    }
    /// What to do at `now`.
    pub fn poll(&self, now: u64) -> KeepAliveAction {
        if now.saturating_sub(self.last_rx) >= DEAD_AFTER_MS {
            KeepAliveAction::Dead
        } else if now.saturating_sub(self.last_tx) >= PING_AFTER_MS
            && now.saturating_sub(self.last_rx) >= PING_AFTER_MS
        {
            KeepAliveAction::Ping
        } else {
            KeepAliveAction::Wait
        }
    }
    /// When [`KeepAlive::poll`] may next change its answer.
    pub fn next_deadline(&self) -> u64 {
        (self.last_rx + DEAD_AFTER_MS).min(self.last_tx.max(self.last_rx) + PING_AFTER_MS)
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
