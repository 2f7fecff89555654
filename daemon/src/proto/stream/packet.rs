//! Firehose datagrams: a fixed header, a payload, and the stream key's signature over both.
//!
//! # Byte layout (version 2)
//!
//! ```text
//! offset  size   field
//! 0       1      version = 0x02
//! 1       1      kind: 1 Data, 2 Heartbeat, 3 Announce, 4 BigAnnounce
//! 2       8|32   stream key: its 8-byte id (SHA-256(key)[..8]); Announce carries the whole 32-byte key
//! +0      4      epoch, u32 big-endian (the sender's start; a restart takes a higher epoch)
//! +4      8      seq, u64 big-endian, at most MAX_SEQ = 2^62 (see below)
//! +12     n      payload
//! end-64  64     Ed25519 signature by the stream key over  b"msm-stream-v1\0" ++ bytes 0..end-64
//! ```
//!
//! Payloads, each filling the space to the signature exactly:
//!
//! ```text
//! Data         1.. entries, each u16 big-endian length (1..) ++ that many bytes (an opaque signed
//!              message); seq is the first entry's stream seq, entry i has seq + i
//! Heartbeat    oldest repairable seq, u64 BE ++ clock, u64 BE; seq is the newest seq sent
//!              (0: none yet); oldest <= newest + 1 (equal: the repair window is empty); clock is
//!              the sender's clock in ms, higher in every status datagram it multicasts
//! Announce     as Heartbeat, with the full key so a new listener can tell whose stream it is
//! BigAnnounce  u32 BE length ++ SHA-256 of a message too large for a datagram; seq is its seq;
//!              the receiver fetches it over TCP
//! ```
//!
//! Every field is fixed-width or exactly delimited, so there is one encoding per value:
//! [`Packet::unsigned_bytes`] re-emits exactly the signed bytes of any datagram that decodes.
//! The decoder looks at no more than [`MAX_DATAGRAM`] bytes and allocates nothing. The encoders
//! are in [`super::encode`].
//!
//! Version 2 added the clock to Heartbeat and Announce. In version 1 a heartbeat repeated while
//! nothing new was sent had the same bytes every time, so a captured one, multicast again by
//! anyone, passed for a live sender and held receivers on a dead multicast path. The clock makes
//! every status datagram distinct; [`super::fresh`] counts only forward ones as liveness.
//! Version 1 datagrams are refused as [`StreamError::UnknownVersion`] (hub and nodes run the
//! same release).

use super::encode::{push_entry, push_large, push_status, start};
use super::StreamError;
use crate::proto::keys::{PublicKey, SIGNATURE_LEN};
use sha2::{Digest, Sha256};

/// First byte of a version-2 datagram (version 1 had no clock in status datagrams).
pub const STREAM_VERSION: u8 = 2;
/// Domain separation: a stream signature can never pass for a message or link signature.
pub const SIGNING_CONTEXT: &[u8] = b"msm-stream-v1\0";
/// Largest datagram, header and signature included: fits the IPv6 minimum MTU (1280) with
/// IP/UDP headers and some tunnel overhead, so multicast never needs IP fragmentation.
pub const MAX_DATAGRAM: usize = 1200;
/// Length of a stream key id: 64 bits tell streams apart; the signature does the authenticating.
pub const KEY_ID_LEN: usize = 8;
/// Length of a full Ed25519 public key.
pub const KEY_LEN: usize = 32;
/// Header length with a key id (every kind but Announce).
pub const HEADER_LEN: usize = 2 + KEY_ID_LEN + 4 + 8;
/// Header length with a full key (Announce).
pub const ANNOUNCE_HEADER_LEN: usize = 2 + KEY_LEN + 4 + 8;
/// Room for entries in one Data datagram.
pub const MAX_DATA_PAYLOAD: usize = MAX_DATAGRAM - HEADER_LEN - SIGNATURE_LEN;
/// Bytes in front of each Data entry (its u16 length).
pub const ENTRY_PREFIX: usize = 2;
/// Largest message carried inline; anything larger goes by [`Kind::BigAnnounce`].
pub const MAX_ENTRY: usize = MAX_DATA_PAYLOAD - ENTRY_PREFIX;
/// Largest message the stream carries at all: one signed message at its highest text cap.
pub const MAX_LARGE_MESSAGE: usize = crate::proto::message::MAX_ENCODED_MESSAGE;
/// Highest seq a datagram may carry or report. A million messages a second would take over
/// 100,000 years to get there, and the headroom keeps every `seq + window` sum from overflowing.
pub const MAX_SEQ: u64 = 1 << 62;
/// Length of a BigAnnounce hash (SHA-256).
pub const HASH_LEN: usize = 32;
/// Length of a Heartbeat or Announce payload: oldest repairable seq and clock, u64 each.
pub const STATUS_PAYLOAD_LEN: usize = 16;

const OFF_VERSION: usize = 0;
const OFF_KIND: usize = 1;
const OFF_KEY: usize = 2;

/// What a datagram is. Numbers are part of the wire format and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// One or more messages.
    Data = 1,
    /// Newest and oldest repairable seq, sent after the last data so tail loss shows.
    Heartbeat = 2,
    /// Periodic announcement with the full stream key.
    Announce = 3,
    /// A message too large for a datagram: its seq, length and hash.
    BigAnnounce = 4,
}

impl Kind {
    /// The kind with this number, if any.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Data,
            2 => Kind::Heartbeat,
            3 => Kind::Announce,
            4 => Kind::BigAnnounce,
            _ => return None,
        })
    }

    fn header_len(self) -> usize {
        match self {
            Kind::Announce => ANNOUNCE_HEADER_LEN,
            _ => HEADER_LEN,
        }
    }
}

/// The stream key as a datagram names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    /// The 8-byte key id.
    Id([u8; KEY_ID_LEN]),
    /// The whole public key (Announce).
    Full([u8; KEY_LEN]),
}

/// A message announced by [`Kind::BigAnnounce`]: enough to fetch it and check what was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LargeRef {
    /// Its length in bytes.
    pub len: u32,
    /// SHA-256 of its bytes.
    pub hash: [u8; HASH_LEN],
}

impl LargeRef {
    /// The reference to `bytes`.
    pub fn of(bytes: &[u8]) -> LargeRef {
        LargeRef {
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            hash: Sha256::digest(bytes).into(),
        }
    }

    /// True if `bytes` are the announced message (check a fetched body with this).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        *self == LargeRef::of(bytes)
    }
}

/// The entries of a Data datagram, already checked; iterating cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    count: u64,
}

impl<'a> Entries<'a> {
    /// How many entries.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + Clone + 'a {
        let mut rest = self.bytes;
        std::iter::from_fn(move || {
            let (len, tail) = split_entry_len(rest)?;
            let (entry, tail) = tail.split_at_checked(len)?;
            rest = tail;
            Some(entry)
        })
    }
}

/// What a datagram carries, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// Messages with consecutive seqs from the header's seq.
    Data(Entries<'a>),
    /// Oldest repairable seq; the header's seq is the newest.
    Heartbeat {
        /// Lowest seq the sender can still resend.
        oldest: u64,
        /// The sender's clock (ms): higher in each status datagram it multicasts.
        clock: u64,
    },
    /// As Heartbeat.
    Announce {
        /// Lowest seq the sender can still resend.
        oldest: u64,
        /// The sender's clock (ms): higher in each status datagram it multicasts.
        clock: u64,
    },
    /// A large message at the header's seq.
    BigAnnounce(LargeRef),
}

/// A decoded datagram. Decoding checks the layout only; call [`Packet::verify`] before trusting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Whose stream it claims to be.
    pub key: KeyField,
    /// The sender's epoch.
    pub epoch: u32,
    /// First (Data), only (BigAnnounce) or newest (Heartbeat, Announce) seq.
    pub seq: u64,
    /// The payload.
    pub payload: Payload<'a>,
    signed: &'a [u8],
    signature: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Decodes and checks the layout of one datagram; never panics, allocates nothing.
    pub fn decode(bytes: &'a [u8]) -> Result<Packet<'a>, StreamError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(StreamError::DatagramTooLarge {
                got: bytes.len(),
                max: MAX_DATAGRAM,
            });
        }
        let (Some(&version), Some(&kind_byte)) = (bytes.get(OFF_VERSION), bytes.get(OFF_KIND))
        else {
            return Err(StreamError::Truncated("header"));
        };
        if version != STREAM_VERSION {
            return Err(StreamError::UnknownVersion(version));
        }
        let kind = Kind::from_u8(kind_byte).ok_or(StreamError::UnknownKind(kind_byte))?;
        let header_len = kind.header_len();
        if bytes.len() < header_len + SIGNATURE_LEN {
            return Err(StreamError::Truncated("header or signature"));
        }
        let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let (header, payload) = signed.split_at(header_len);
        let key_len = header_len - OFF_KEY - 12;
        let key_bytes = &header[OFF_KEY..OFF_KEY + key_len];
        let key = match kind {
            Kind::Announce => KeyField::Full(to_array(key_bytes)),
            _ => KeyField::Id(to_array(key_bytes)),
        };
        let epoch = u32::from_be_bytes(to_array(&header[OFF_KEY + key_len..OFF_KEY + key_len + 4]));
        let seq = u64::from_be_bytes(to_array(&header[OFF_KEY + key_len + 4..]));
        if seq > MAX_SEQ {
            return Err(StreamError::Malformed("seq above MAX_SEQ"));
        }
        let payload = decode_payload(kind, seq, payload)?;
        Ok(Packet {
            key,
            epoch,
            seq,
            payload,
            signed,
            signature,
        })
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        match self.payload {
            Payload::Data(_) => Kind::Data,
            Payload::Heartbeat { .. } => Kind::Heartbeat,
            Payload::Announce { .. } => Kind::Announce,
            Payload::BigAnnounce(_) => Kind::BigAnnounce,
        }
    }

    /// The highest seq the datagram carries or reports.
    pub fn last_seq(&self) -> u64 {
        match self.payload {
            // decode checked that this does not overflow and that count >= 1
            Payload::Data(e) => self.seq.saturating_add(e.count - 1),
            _ => self.seq,
        }
    }

    /// True if the datagram names `key` (by id or in full).
    pub fn is_for(&self, key: &PublicKey) -> bool {
        match self.key {
            KeyField::Id(id) => id == key_id(key),
            KeyField::Full(k) => k == key.to_bytes(),
        }
    }

    /// Checks the signature with the stream key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), StreamError> {
        let sig: [u8; SIGNATURE_LEN] = to_array(self.signature);
        key.verify(&signing_input(self.signed), &sig)
            .map_err(|_| StreamError::BadSignature)
    }

    /// The signed bytes (everything but the signature), as received.
    pub fn signed_bytes(&self) -> &'a [u8] {
        self.signed
    }

    /// The signed bytes re-emitted from the decoded fields; equal to [`Packet::signed_bytes`]
    /// for every datagram that decodes (the encoding is canonical).
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        let mut out = start(self.kind(), self.key, self.epoch, self.seq);
        match self.payload {
            Payload::Data(e) => {
                for entry in e.iter() {
                    push_entry(&mut out, entry);
                }
            }
            Payload::Heartbeat { oldest, clock } | Payload::Announce { oldest, clock } => {
                push_status(&mut out, oldest, clock)
            }
            Payload::BigAnnounce(r) => push_large(&mut out, &r),
        }
        out
    }
}

fn decode_payload(kind: Kind, seq: u64, p: &[u8]) -> Result<Payload<'_>, StreamError> {
    match kind {
        Kind::Data => {
            if seq == 0 {
                return Err(StreamError::Malformed("data seqs count from 1"));
            }
            let count = count_entries(p)?;
            if seq + (count - 1) > MAX_SEQ {
                return Err(StreamError::Malformed("seq above MAX_SEQ"));
            }
            Ok(Payload::Data(Entries { bytes: p, count }))
        }
        Kind::Heartbeat | Kind::Announce => {
            if p.len() != STATUS_PAYLOAD_LEN {
                return Err(StreamError::Malformed("heartbeat payload is 16 bytes"));
            }
            let oldest = u64::from_be_bytes(to_array(&p[..8]));
            let clock = u64::from_be_bytes(to_array(&p[8..]));
            if oldest == 0 || oldest - 1 > seq {
                return Err(StreamError::Malformed("oldest must be in 1..=newest+1"));
            }
            Ok(if kind == Kind::Heartbeat {
                Payload::Heartbeat { oldest, clock }
            } else {
                Payload::Announce { oldest, clock }
            })
        }
        Kind::BigAnnounce => {
            if seq == 0 {
                return Err(StreamError::Malformed("data seqs count from 1"));
            }
            if p.len() != 4 + HASH_LEN {
                return Err(StreamError::Malformed("big announce payload is 36 bytes"));
            }
            let len = u32::from_be_bytes(to_array(&p[..4]));
            if (len as usize) <= MAX_ENTRY || len as usize > MAX_LARGE_MESSAGE {
                return Err(StreamError::Malformed(
                    "big announce length not in MAX_ENTRY+1..=MAX_LARGE_MESSAGE",
                ));
            }
            Ok(Payload::BigAnnounce(LargeRef {
                len,
                hash: to_array(&p[4..]),
            }))
        }
    }
}

fn split_entry_len(p: &[u8]) -> Option<(usize, &[u8])> {
    match p {
        [a, b, rest @ ..] => Some((u16::from_be_bytes([*a, *b]) as usize, rest)),
        _ => None,
    }
}

fn count_entries(mut p: &[u8]) -> Result<u64, StreamError> {
    let mut count = 0u64;
    while !p.is_empty() {
        let (len, rest) = split_entry_len(p).ok_or(StreamError::Truncated("entry length"))?;
        if len == 0 {
            return Err(StreamError::Malformed("empty entry"));
        }
        p = rest
            .get(len..)
            .ok_or(StreamError::Truncated("entry bytes"))?;
        count += 1;
    }
    if count == 0 {
        return Err(StreamError::Malformed("data without entries"));
    }
    Ok(count)
}

/// Copies a slice whose length the caller has already checked into an array.
fn to_array<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&s[..N]);
    a
}

/// What the stream key signs: the context, then the datagram up to the signature.
pub(crate) fn signing_input(signed: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(SIGNING_CONTEXT.len() + signed.len());
    v.extend_from_slice(SIGNING_CONTEXT);
    v.extend_from_slice(signed);
    v
}

/// The 8-byte id of a stream key.
pub fn key_id(key: &PublicKey) -> [u8; KEY_ID_LEN] {
    to_array(&Sha256::digest(key.to_bytes()))
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
