//! Frames on node-to-node TCP links.
//!
//! ```text
//! offset  size  field
//! 0       4     length L, u32 big-endian: bytes after this field (type + payload), 1..=MAX_FRAME_LEN
//! 4       1     frame type (see FrameType)
//! 5       L-1   payload
//! ```
//!
//! [`check`] looks only at the five header bytes, so a reader can refuse an oversize or unknown
//! frame before it reads or allocates the rest. An incomplete frame is `Ok(None)` ("need more
//! bytes"), never an error. [`FrameDecoder`] buffers a stream of bytes with a hard bound.

use super::ProtoError;

/// Bytes before the payload: the length field and the type byte.
pub const HEADER_LEN: usize = 5;
/// Largest value of the length field. A frame holds at most one message
/// ([`super::message::MAX_ENCODED_MESSAGE`], about 68 KiB) plus a little framing, and a router
/// can afford this much per link while reading one frame.
pub const MAX_FRAME_LEN: usize = 128 * 1024;

/// What a frame carries. Numbers are part of the wire format and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameType {
    /// Opening of a link: protocol version, node name, a challenge for the other side.
    Hello = 1,
    /// Proof of the node key: the other side's challenge, signed.
    Auth = 2,
    /// Keep-alive request.
    Ping = 3,
    /// Keep-alive answer.
    Pong = 4,
    /// One signed message.
    Message = 5,
    /// The receiver has stored messages up to an id.
    Ack = 6,
    /// Subscribe this server to an author.
    Subscribe = 7,
    /// Unsubscribe this server from an author.
    Unsubscribe = 8,
    /// Ask for a range of an author's messages.
    Backfill = 9,
    /// A link-level error, sent before closing.
    Close = 10,
    /// Answer to Subscribe: the author's key and newest seq.
    Subscribed = 11,
    /// Relay session, node to hub: open the firehose (live or NACK-only) at a resume cursor.
    StreamOpen = 12,
    /// Relay session, hub to node: one live firehose datagram, exactly as multicast carries it.
    StreamData = 13,
    /// Relay session, hub to node: a firehose datagram sent again (NACK answer or resume).
    StreamRepair = 14,
    /// Relay session, node to hub: firehose seqs missing, to be sent again.
    StreamNack = 15,
    /// Relay session, node to hub: firehose messages wanted by stream seq (a large message,
    /// or a range the stream gave up on).
    StreamFetch = 16,
    /// Relay session, hub to node: the messages of a `StreamFetch` that the hub still holds.
    StreamFetched = 17,
    /// Relay session, hub to node: a link for the node's domain came in at the hub; the
    /// tunnel's bytes follow as `TunnelData`.
    TunnelOpen = 18,
    /// Relay session, both ways: bytes of a tunnelled link.
    TunnelData = 19,
    /// Relay session, both ways: a tunnelled link ended.
    TunnelClose = 20,
    /// Link version 2: a person of the sending node asks to follow an author (`proto::follow`).
    FollowRequest = 21,
    /// Link version 2: the author's node says where a follow request stands.
    FollowAnswer = 22,
    /// Link version 2: a person of the sending node stops following an author.
    FollowUndo = 23,
    /// Link version 2: after a backfill, the author's seqs not sent are not for the receiver.
    Withheld = 24,
    /// Link version 3: asks the peer for the key of one of its authors (`proto::conversation`).
    AuthorKeyQuery = 25,
    /// Link version 3: an author's key, from the author's own node.
    AuthorKey = 26,
    /// Link version 4: asks for a chunk of a picture's bytes (`proto::media_wire`).
    MediaGet = 27,
    /// Link version 4: a chunk of a picture's bytes.
    MediaPart = 28,
    /// Link version 4: the node will not give the picture asked for.
    MediaMissing = 29,
}

impl FrameType {
    /// The type for a type byte, if this version knows it.
    pub fn from_u8(b: u8) -> Option<Self> {
        use FrameType::*;
        Some(match b {
            1 => Hello,
            2 => Auth,
            3 => Ping,
            4 => Pong,
            5 => Message,
            6 => Ack,
            7 => Subscribe,
            8 => Unsubscribe,
            9 => Backfill,
            10 => Close,
            11 => Subscribed,
            12 => StreamOpen,
            13 => StreamData,
            14 => StreamRepair,
            15 => StreamNack,
            16 => StreamFetch,
            17 => StreamFetched,
            18 => TunnelOpen,
            19 => TunnelData,
            20 => TunnelClose,
            21 => FollowRequest,
            22 => FollowAnswer,
            23 => FollowUndo,
            24 => Withheld,
            25 => AuthorKeyQuery,
            26 => AuthorKey,
            27 => MediaGet,
            28 => MediaPart,
            29 => MediaMissing,
            _ => return None,
        })
    }
}

/// A parsed frame borrowing its payload from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// What the frame carries.
    pub kind: FrameType,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Cheap check of the start of `buf`: `Ok(Some(total))` when a whole frame of `total` bytes is
/// there, `Ok(None)` when more bytes are needed, an error when the header is already bad.
pub fn check(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
    let Some(len_bytes) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
    if len == 0 {
        return Err(ProtoError::EmptyFrame);
    }
    if len > MAX_FRAME_LEN {
        return Err(ProtoError::TooLarge {
            what: "frame",
            got: len,
            max: MAX_FRAME_LEN,
        });
    }
    if let Some(&t) = buf.get(4) {
        FrameType::from_u8(t).ok_or(ProtoError::UnknownFrameType(t))?;
    }
    let total = 4 + len;
    Ok((buf.len() >= total).then_some(total))
}

/// Parses one frame from the start of `buf`: the frame and the bytes it took, or `Ok(None)`.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, ProtoError> {
    let Some(total) = check(buf)? else {
        return Ok(None);
    };
    let kind = FrameType::from_u8(buf[4]).ok_or(ProtoError::UnknownFrameType(buf[4]))?;
    Ok(Some((
        Frame {
            kind,
            payload: &buf[HEADER_LEN..total],
        },
        total,
    )))
}

/// Appends a frame to `out`; refuses a payload that would exceed [`MAX_FRAME_LEN`].
pub fn encode(kind: FrameType, payload: &[u8], out: &mut Vec<u8>) -> Result<(), ProtoError> {
    let len = payload.len() + 1;
    if len > MAX_FRAME_LEN {
        return Err(ProtoError::TooLarge {
            what: "frame",
            got: len,
            max: MAX_FRAME_LEN,
        });
    }
    out.reserve(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(payload);
    Ok(())
}

/// Collects bytes from a stream and hands out whole frames. Holds at most one frame's worth
/// (`HEADER_LEN + MAX_FRAME_LEN` bytes) plus what one `push` brings; a bad header poisons the
/// decoder (the link must be closed: framing is lost). Its buffer is freed whenever the last
/// whole frame in it is taken, so an idle link holds no buffer.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    /// Boxed: set once, just before the link closes; a pointer keeps every idle reader small.
    failed: Option<Box<ProtoError>>,
}

/// A frame that owns its payload, as [`FrameDecoder`] hands them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// What the frame carries.
    pub kind: FrameType,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes the decoder may take now without going over its bound; a reader should
    /// read at most this many.
    pub fn room(&self) -> usize {
        (HEADER_LEN + MAX_FRAME_LEN).saturating_sub(self.buf.len() - self.start)
    }

    /// Adds bytes read from the link. Refuses more than [`FrameDecoder::room`] allows.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ProtoError> {
        if bytes.len() > self.room() {
            return Err(ProtoError::TooLarge {
                what: "frame buffer",
                got: self.buf.len() - self.start + bytes.len(),
                max: HEADER_LEN + MAX_FRAME_LEN,
            });
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// True when no bytes wait in the decoder (no partial or unread frame).
    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.start
    }

    /// Bytes held that are not handed out yet (part of a frame, or whole frames).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Bytes the buffer holds room for (0 when nothing is pending: no allocation).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<OwnedFrame>, ProtoError> {
        if let Some(e) = &self.failed {
            return Err(ProtoError::clone(e));
        }
        match parse(&self.buf[self.start..]) {
            Ok(Some((f, used))) => {
                let frame = OwnedFrame {
                    kind: f.kind,
                    payload: f.payload.to_vec(),
                };
                self.start += used;
                if self.start == self.buf.len() {
                    // drained: free the buffer (an idle link holds none)
                    self.buf = Vec::new();
                    self.start = 0;
                }
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = Some(Box::new(e.clone()));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
