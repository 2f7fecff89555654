//! Building signed stream datagrams (the layout is documented in [`super::packet`]).
//!
//! The sender builds Data datagrams incrementally (`start`, `push_entry`, `seal`); the
//! `encode_*` functions build whole datagrams, for status messages and for tests.

use super::packet::{
    key_id, signing_input, KeyField, Kind, LargeRef, Packet, MAX_DATAGRAM, STREAM_VERSION,
};
use super::StreamError;
use crate::proto::keys::{NodeKey, SIGNATURE_LEN};

/// Starts a datagram: the header, ready for a payload.
pub(crate) fn start(kind: Kind, key: KeyField, epoch: u32, seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_DATAGRAM);
    out.push(STREAM_VERSION);
    out.push(kind as u8);
    match key {
        KeyField::Id(id) => out.extend_from_slice(&id),
        KeyField::Full(k) => out.extend_from_slice(&k),
    }
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// Appends one Data entry; the caller keeps `entry` within 1..=[`MAX_ENTRY`] bytes.
pub(crate) fn push_entry(out: &mut Vec<u8>, entry: &[u8]) {
    let len = u16::try_from(entry.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(entry);
}

/// Appends a status payload: oldest repairable seq and the sender's clock.
pub(crate) fn push_status(out: &mut Vec<u8>, oldest: u64, clock: u64) {
    out.extend_from_slice(&oldest.to_be_bytes());
    out.extend_from_slice(&clock.to_be_bytes());
}

pub(crate) fn push_large(out: &mut Vec<u8>, r: &LargeRef) {
    out.extend_from_slice(&r.len.to_be_bytes());
    out.extend_from_slice(&r.hash);
}

/// Appends the stream key's signature, completing the datagram.
pub(crate) fn seal(key: &NodeKey, mut datagram: Vec<u8>) -> Vec<u8> {
    let sig = key.sign(&signing_input(&datagram));
    datagram.extend_from_slice(&sig);
    datagram
}

/// A signed Heartbeat (or, with `announce`, an Announce) of `newest` and `oldest`, sent when
/// the sender's clock read `clock` (ms).
pub fn encode_status(
    key: &NodeKey,
    announce: bool,
    epoch: u32,
    newest: u64,
    oldest: u64,
    clock: u64,
) -> Vec<u8> {
    let public = key.public();
    let (kind, field) = if announce {
        (Kind::Announce, KeyField::Full(public.to_bytes()))
    } else {
        (Kind::Heartbeat, KeyField::Id(key_id(&public)))
    };
    let mut out = start(kind, field, epoch, newest);
    push_status(&mut out, oldest, clock);
    seal(key, out)
}

/// A signed BigAnnounce of `large` at `seq`.
pub fn encode_big(key: &NodeKey, epoch: u32, seq: u64, large: &LargeRef) -> Vec<u8> {
    let mut out = start(
        Kind::BigAnnounce,
        KeyField::Id(key_id(&key.public())),
        epoch,
        seq,
    );
    push_large(&mut out, large);
    seal(key, out)
}

/// A signed Data datagram of `entries` from `seq`; refuses what the format cannot carry.
pub fn encode_data(
    key: &NodeKey,
    epoch: u32,
    seq: u64,
    entries: &[&[u8]],
) -> Result<Vec<u8>, StreamError> {
    let mut out = start(Kind::Data, KeyField::Id(key_id(&key.public())), epoch, seq);
    for e in entries {
        if e.is_empty() {
            return Err(StreamError::EmptyMessage);
        }
        push_entry(&mut out, e);
    }
    if out.len() + SIGNATURE_LEN > MAX_DATAGRAM {
        return Err(StreamError::DatagramTooLarge {
            got: out.len() + SIGNATURE_LEN,
            max: MAX_DATAGRAM,
        });
    }
    let sealed = seal(key, out);
    Packet::decode(&sealed)?;
    Ok(sealed)
}
