//! The stream sender: numbers messages, batches them into signed datagrams, keeps a repair
//! window, and sends heartbeats and announcements.
//!
//! Drive it like quinn: [`Sender::push`] messages, then call [`Sender::poll_transmit`] until it
//! returns `None` and sleep until [`Sender::poll_timeout`]. NACKs that arrive over TCP are
//! answered by [`Sender::repair_ranges`].
//!
//! Timing: a batch is sent when full or [`FLUSH_MS`] after its first message. After data, a
//! heartbeat follows at [`HEARTBEAT_MIN_MS`], doubling to [`HEARTBEAT_MAX_MS`], so a receiver
//! that lost the last datagram learns of it; any new data restarts the sequence. An announcement
//! with the full key goes out every [`ANNOUNCE_MS`], the first at the first poll.
//!
//! Every heartbeat and announcement `poll_transmit` returns carries the sender's clock, higher
//! than in the one before (`now`, or one more than the last if `now` did not move), so a
//! receiver tells a status repeated while nothing new is sent from a captured one sent again
//! (see [`super::fresh`]). Status datagrams answered over TCP (a NACK of a seq that is gone, the
//! first heartbeat of a relay session) repeat the clock of the newest one multicast.

use super::encode;
use super::packet::{self, KeyField, Kind, LargeRef, MAX_ENTRY, MAX_LARGE_MESSAGE};
use super::window::{RepairWindow, Sent, WindowLimits};
use super::StreamError;
use crate::proto::keys::{NodeKey, SIGNATURE_LEN};
use std::collections::VecDeque;
use std::ops::RangeInclusive;

/// How long a batch waits for more messages: short against human latency, long enough to
/// put a burst (a thread, a busy hub second) into one signature and one datagram.
pub const FLUSH_MS: u64 = 5;
/// First heartbeat after data: a few multicast inter-packet times, so tail loss shows quickly.
pub const HEARTBEAT_MIN_MS: u64 = 100;
/// Heartbeat interval cap while idle (PGM/NORM practice): 12 small datagrams a minute.
pub const HEARTBEAT_MAX_MS: u64 = 5_000;
/// Interval of announcements; a joiner gives up on multicast after three missed ones.
pub const ANNOUNCE_MS: u64 = 5_000;
/// Sealed datagrams waiting for `poll_transmit`: a driver that stops draining gets
/// [`StreamError::TransmitQueueFull`] instead of growing memory (64 × 1200 B = 75 KiB).
pub const MAX_TRANSMIT_QUEUE: usize = 64;
/// Most datagrams one NACK is answered with, so one request cannot make a hub send its whole
/// window at once; the receiver asks again for the rest after its repeat interval.
pub const MAX_REPAIR_DATAGRAMS: usize = 256;

/// A signed datagram ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// What it is.
    pub kind: Kind,
    /// Its bytes, at most [`packet::MAX_DATAGRAM`].
    pub bytes: Vec<u8>,
}

/// The answer to a NACK of one seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The datagram that carried the seq, exactly as first sent.
    Resend(Datagram),
    /// The seq left the window (or belongs to another epoch). The heartbeat tells the receiver
    /// the oldest repairable seq of the current epoch; it backfills what lies below.
    Gone {
        /// The oldest seq still repairable.
        oldest: u64,
        /// A signed heartbeat saying so, to send back.
        heartbeat: Datagram,
    },
}

struct Batch {
    first: u64,
    count: u64,
    buf: Vec<u8>,
    deadline: u64,
}

/// The sending end of one stream (one key, one epoch).
pub struct Sender {
    key: NodeKey,
    key_field: KeyField,
    epoch: u32,
    next_seq: u64,
    newest_sent: u64,
    batch: Option<Batch>,
    queue: VecDeque<Datagram>,
    window: RepairWindow,
    heartbeat_at: Option<u64>,
    heartbeat_gap: u64,
    announce_at: Option<u64>,
    /// The clock of the newest status datagram from `poll_transmit` (0: none yet).
    status_clock: u64,
}

impl Sender {
    /// A sender for `key`'s stream. `epoch` must be higher than any earlier run's (Unix seconds
    /// at start do), so receivers tell a restart from a replay.
    pub fn new(key: NodeKey, epoch: u32, limits: WindowLimits) -> Self {
        let key_field = KeyField::Id(packet::key_id(&key.public()));
        Sender {
            key,
            key_field,
            epoch,
            next_seq: 1,
            newest_sent: 0,
            batch: None,
            queue: VecDeque::new(),
            window: RepairWindow::new(limits),
            heartbeat_at: None,
            heartbeat_gap: HEARTBEAT_MIN_MS,
            announce_at: None,
            status_clock: 0,
        }
    }

    /// The epoch.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The newest seq sent (batched messages not yet flushed excluded).
    pub fn newest(&self) -> u64 {
        self.newest_sent
    }

    /// The oldest seq still repairable (`newest + 1` if none).
    pub fn oldest(&self) -> u64 {
        self.window.oldest().unwrap_or(self.newest_sent + 1)
    }

    /// Queues one message (a signed message's wire form) and returns its stream seq.
    pub fn push(&mut self, now: u64, message: &[u8]) -> Result<u64, StreamError> {
        if message.is_empty() {
            return Err(StreamError::EmptyMessage);
        }
        if message.len() > MAX_LARGE_MESSAGE {
            return Err(StreamError::MessageTooLarge {
                got: message.len(),
                max: MAX_LARGE_MESSAGE,
            });
        }
        // A push seals at most two datagrams: the batch before it and a BigAnnounce.
        if self.queue.len() + 2 > MAX_TRANSMIT_QUEUE {
            return Err(StreamError::TransmitQueueFull);
        }
        let seq = self.next_seq;
        if message.len() > MAX_ENTRY {
            self.flush(now);
            let large = LargeRef::of(message);
            let bytes = encode::encode_big(&self.key, self.epoch, seq, &large);
            self.next_seq += 1;
            self.sealed(
                now,
                seq,
                seq,
                bytes,
                Kind::BigAnnounce,
                Some(message.to_vec()),
            );
            return Ok(seq);
        }
        let room = packet::MAX_DATAGRAM - SIGNATURE_LEN;
        if self
            .batch
            .as_ref()
            .is_some_and(|b| b.buf.len() + packet::ENTRY_PREFIX + message.len() > room)
        {
            self.flush(now);
        }
        let (key_field, epoch) = (self.key_field, self.epoch);
        let batch = self.batch.get_or_insert_with(|| Batch {
            first: seq,
            count: 0,
            buf: encode::start(Kind::Data, key_field, epoch, seq),
            deadline: now.saturating_add(FLUSH_MS),
        });
        encode::push_entry(&mut batch.buf, message);
        batch.count += 1;
        self.next_seq += 1;
        // Full when not even a one-byte entry fits any more.
        if batch.buf.len() + packet::ENTRY_PREFIX + 1 > room {
            self.flush(now);
        }
        Ok(seq)
    }

    /// The next datagram to send now, if any: due data first, then heartbeat, then announcement.
    pub fn poll_transmit(&mut self, now: u64) -> Option<Datagram> {
        if self.batch.as_ref().is_some_and(|b| b.deadline <= now) {
            self.flush(now);
        }
        if let Some(d) = self.queue.pop_front() {
            return Some(d);
        }
        if self.heartbeat_at.is_some_and(|t| t <= now) {
            self.heartbeat_gap = (self.heartbeat_gap * 2).min(HEARTBEAT_MAX_MS);
            self.heartbeat_at = Some(now.saturating_add(self.heartbeat_gap));
            self.tick(now);
            return Some(self.status(false));
        }
        if self.announce_at.is_none_or(|t| t <= now) {
            self.announce_at = Some(now.saturating_add(ANNOUNCE_MS));
            self.tick(now);
            return Some(self.status(true));
        }
        None
    }

    /// When `poll_transmit` next has something, if nothing is queued now.
    pub fn poll_timeout(&self) -> Option<u64> {
        let batch = self.batch.as_ref().map(|b| b.deadline);
        let announce = Some(self.announce_at.unwrap_or(0));
        [batch, self.heartbeat_at, announce]
            .into_iter()
            .flatten()
            .min()
    }

    /// The answer to a NACK of `seq` in `epoch`; `None` if the seq was never sent.
    pub fn repair(&self, epoch: u32, seq: u64) -> Option<Repair> {
        if epoch == self.epoch && (seq == 0 || seq > self.newest_sent) {
            return None;
        }
        match self.window.find(seq).filter(|_| epoch == self.epoch) {
            Some(s) => Some(Repair::Resend(Datagram {
                kind: if s.large.is_some() {
                    Kind::BigAnnounce
                } else {
                    Kind::Data
                },
                bytes: s.datagram.clone(),
            })),
            None => Some(Repair::Gone {
                oldest: self.oldest(),
                heartbeat: self.status(false),
            }),
        }
    }

    /// Datagrams answering a NACK of `ranges` in `epoch`, in seq order, each at most once,
    /// at most [`MAX_REPAIR_DATAGRAMS`]; a heartbeat first if part of it is gone.
    pub fn repair_ranges(&self, epoch: u32, ranges: &[RangeInclusive<u64>]) -> Vec<Datagram> {
        let mut out = Vec::new();
        let mut gone_said = false;
        let mut next = 0u64; // seqs below this are already answered
        for r in ranges {
            let mut seq = (*r.start()).max(next);
            while seq <= *r.end() && out.len() < MAX_REPAIR_DATAGRAMS {
                match self.repair(epoch, seq) {
                    None => break,
                    Some(Repair::Resend(d)) => {
                        let last = self.window.find(seq).map_or(seq, |s| s.last);
                        out.push(d);
                        seq = last + 1;
                    }
                    Some(Repair::Gone { oldest, heartbeat }) => {
                        if !gone_said {
                            out.push(heartbeat);
                            gone_said = true;
                        }
                        if epoch != self.epoch || oldest <= seq {
                            return out;
                        }
                        seq = oldest;
                    }
                }
                next = seq;
            }
        }
        out
    }

    /// A heartbeat of the current state (newest and oldest repairable seq), for a receiver
    /// that joins now, such as a new relay session without a cursor.
    pub fn heartbeat(&self) -> Datagram {
        self.status(false)
    }

    /// The body of the large message at `seq`, while it is in the repair window.
    pub fn large(&self, seq: u64) -> Option<&[u8]> {
        self.window.find(seq)?.large.as_deref()
    }

    /// The message at `seq` of `epoch` (inline or large), while it is in the repair window:
    /// the answer to a fetch by stream seq.
    pub fn message(&self, epoch: u32, seq: u64) -> Option<Vec<u8>> {
        if epoch != self.epoch {
            return None;
        }
        let sent = self.window.find(seq)?;
        if let Some(large) = &sent.large {
            return Some(large.clone());
        }
        let index = usize::try_from(seq - sent.first).ok()?;
        match packet::Packet::decode(&sent.datagram).ok()?.payload {
            packet::Payload::Data(entries) => entries.iter().nth(index).map(<[u8]>::to_vec),
            _ => None,
        }
    }

    /// Moves the status clock to `now`, or one past its last value if `now` is not later.
    fn tick(&mut self, now: u64) {
        self.status_clock = now.max(self.status_clock.saturating_add(1));
    }

    fn status(&self, announce: bool) -> Datagram {
        Datagram {
            kind: if announce {
                Kind::Announce
            } else {
                Kind::Heartbeat
            },
            bytes: encode::encode_status(
                &self.key,
                announce,
                self.epoch,
                self.newest_sent,
                self.oldest(),
                self.status_clock,
            ),
        }
    }

    fn flush(&mut self, now: u64) {
        if let Some(b) = self.batch.take() {
            let bytes = encode::seal(&self.key, b.buf);
            self.sealed(now, b.first, b.first + b.count - 1, bytes, Kind::Data, None);
        }
    }

    fn sealed(
        &mut self,
        now: u64,
        first: u64,
        last: u64,
        bytes: Vec<u8>,
        kind: Kind,
        large: Option<Vec<u8>>,
    ) {
        self.window.push(Sent {
            first,
            last,
            datagram: bytes.clone(),
            large,
        });
        self.queue.push_back(Datagram { kind, bytes });
        self.newest_sent = last;
        self.heartbeat_gap = HEARTBEAT_MIN_MS;
        self.heartbeat_at = Some(now.saturating_add(HEARTBEAT_MIN_MS));
    }
}

#[cfg(test)]
#[path = "sender_tests.rs"]
mod tests;
