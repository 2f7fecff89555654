//! A sans-IO WebSocket codec (RFC 6455), server side: the opening handshake's accept key,
//! a [`Decoder`] that turns the bytes a client sends into [`Message`]s, and encoders of the
//! frames a server sends. No socket, no clock: the streaming API
//! ([`super::mastodon::streaming`]) feeds it what it reads, and the fuzz target drives it
//! directly.
//!
//! Hostile input is normal. A client's frame must be masked (RFC 6455 §5.1), use no reserved
//! bit or opcode, and encode its length minimally; a control frame is final and at most
//! [`MAX_CONTROL`] bytes; a message (fragments reassembled) is at most [`MAX_MESSAGE`] bytes,
//! refused from its frame header before its payload is buffered; a text message is UTF-8. Any
//! breach is an error whose [`DecodeError::close_code`] (1002, 1007, 1009) the server sends
//! in its close frame; the decoder then takes nothing more. The decoder holds at most one
//! frame ([`MAX_FRAME`] bytes) and one message being reassembled ([`MAX_MESSAGE`]).

use base64ct::{Base64, Encoding};
use sha1::{Digest, Sha1};
use thiserror::Error;

/// The GUID RFC 6455 appends to the client's key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest message taken from a client, fragments reassembled (a subscribe request is ~100).
pub const MAX_MESSAGE: usize = 4096;
/// Largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL: usize = 125;
/// Longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
pub const MAX_HEADER: usize = 14;
/// Most bytes the decoder buffers: one frame.
pub const MAX_FRAME: usize = MAX_HEADER + MAX_MESSAGE;

/// Close code: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: the server is going away.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: a protocol error.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code: a text message that is not UTF-8.
pub const CLOSE_INVALID_DATA: u16 = 1007;
/// Close code: a message that breaks the server's policy (such as too many requests).
pub const CLOSE_POLICY: u16 = 1008;
/// Close code: a message too big to take.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A later fragment of a message.
    Continuation = 0,
    /// A text message (UTF-8).
    Text = 1,
    /// A binary message.
    Binary = 2,
    /// Closes the connection.
    Close = 8,
    /// Asks for a pong.
    Ping = 9,
    /// Answers a ping.
    Pong = 10,
}

impl Opcode {
    fn of(b: u8) -> Option<Opcode> {
        Some(match b {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// What a client sent: a whole message or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping, with its payload (to be echoed in the pong).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame, with its status code if it had one.
    Close(Option<u16>),
}

/// Why a client's bytes were refused.
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The frames break RFC 6455.
    #[error("WebSocket protocol error: {0}")]
    Protocol(&'static str),
    /// A text message is not UTF-8.
    #[error("WebSocket text message is not UTF-8")]
    NotUtf8,
    /// A message is over [`MAX_MESSAGE`].
    #[error("WebSocket message over {MAX_MESSAGE} bytes")]
    TooBig,
}

impl DecodeError {
    /// The close code to answer with.
    pub fn close_code(&self) -> u16 {
        match self {
            DecodeError::Protocol(_) => CLOSE_PROTOCOL,
            DecodeError::NotUtf8 => CLOSE_INVALID_DATA,
            DecodeError::TooBig => CLOSE_TOO_BIG,
        }
    }
}

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID.as_bytes());
    Base64::encode_string(&h.finalize())
}

/// Is `key` a valid `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1)?
pub fn valid_key(key: &str) -> bool {
    let key = key.trim();
    key.len() == 24 && Base64::decode_vec(key).is_ok_and(|k| k.len() == 16)
}

/// The state of a frame being read.
enum Step {
    /// This many more bytes are needed.
    Need(usize),
    /// The buffer holds a whole frame: header length and payload length.
    Frame(usize, usize),
}

/// Turns a client's bytes into messages, bounded (see the module's doc).
#[derive(Debug, Default)]
pub struct Decoder {
    /// The current frame, up to [`MAX_FRAME`] bytes.
    buf: Vec<u8>,
    /// The fragments of the message being reassembled, and its opcode.
    message: Vec<u8>,
    message_op: Option<Opcode>,
    /// The error that stopped decoding, returned again for any later input.
    failed: Option<DecodeError>,
    /// A close frame came: what follows is ignored.
    closed: bool,
}

impl Decoder {
    /// A decoder at the start of a connection.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes `input` (any amount, split anywhere); returns the messages it completes, in
    /// order. After an error, every call returns that error; after a close, nothing.
    pub fn push(&mut self, mut input: &[u8]) -> Result<Vec<Message>, DecodeError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mut out = Vec::new();
        while !self.closed {
            let step = match self.step() {
                Ok(s) => s,
                Err(e) => return Err(self.fail(e)),
            };
            match step {
                Step::Need(n) => {
                    if input.is_empty() {
                        break;
                    }
                    let take = n.min(input.len());
                    self.buf.extend_from_slice(&input[..take]);
                    input = &input[take..];
                }
                Step::Frame(header, len) => {
                    let m = self.frame(header, len);
                    self.buf.clear();
                    match m {
                        Ok(Some(m)) => {
                            self.closed = matches!(m, Message::Close(_));
                            out.push(m);
                        }
                        Ok(None) => {}
                        Err(e) => return Err(self.fail(e)),
                    }
                }
            }
        }
        Ok(out)
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.failed = Some(e);
        self.buf = Vec::new();
        self.message = Vec::new();
        e
    }

    /// What the buffer holds: how much more is needed, or a whole frame (its header checked).
    fn step(&self) -> Result<Step, DecodeError> {
        let b = &self.buf;
        if b.len() < 2 {
            return Ok(Step::Need(2 - b.len()));
        }
        if b[0] & 0x70 != 0 {
            return Err(DecodeError::Protocol("reserved bit set"));
        }
        let op = Opcode::of(b[0] & 0x0F).ok_or(DecodeError::Protocol("reserved opcode"))?;
        let fin = b[0] & 0x80 != 0;
        if b[1] & 0x80 == 0 {
            return Err(DecodeError::Protocol("client frame not masked"));
        }
        let short = (b[1] & 0x7F) as usize;
        let ext = match short {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header = 2 + ext + 4;
        if b.len() < 2 + ext {
            return Ok(Step::Need(2 + ext - b.len()));
        }
        let len = match ext {
            0 => short as u64,
            2 => u16::from_be_bytes([b[2], b[3]]) as u64,
            _ => u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]),
        };
        if (ext == 2 && len < 126) || (ext == 8 && len <= u16::MAX as u64) {
            return Err(DecodeError::Protocol("length not minimally encoded"));
        }
        if ext == 8 && len >> 63 != 0 {
            return Err(DecodeError::Protocol("length over 2^63"));
        }
        if op.is_control() {
            if !fin {
                return Err(DecodeError::Protocol("fragmented control frame"));
            }
            if len > MAX_CONTROL as u64 {
                return Err(DecodeError::Protocol("control frame over 125 bytes"));
            }
        } else {
            match (op, self.message_op) {
                (Opcode::Continuation, None) => {
                    return Err(DecodeError::Protocol("continuation without a message"))
                }
                (Opcode::Text | Opcode::Binary, Some(_)) => {
                    return Err(DecodeError::Protocol("new message inside a fragmented one"))
                }
                _ => {}
            }
            if len > (MAX_MESSAGE - self.message.len()) as u64 {
                return Err(DecodeError::TooBig);
            }
        }
        let len = len as usize; // at most MAX_MESSAGE here
        let whole = header + len;
        Ok(if b.len() < whole {
            Step::Need(whole - b.len())
        } else {
            Step::Frame(header, len)
        })
    }

    /// Handles the whole frame in the buffer (its header checked by [`Decoder::step`]).
    fn frame(&mut self, header: usize, len: usize) -> Result<Option<Message>, DecodeError> {
        let fin = self.buf[0] & 0x80 != 0;
        let op = Opcode::of(self.buf[0] & 0x0F).ok_or(DecodeError::Protocol("reserved opcode"))?;
        let mask = [
            self.buf[header - 4],
            self.buf[header - 3],
            self.buf[header - 2],
            self.buf[header - 1],
        ];
        let payload = &mut self.buf[header..header + len];
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        let payload = &self.buf[header..header + len];
        match op {
            Opcode::Ping => Ok(Some(Message::Ping(payload.to_vec()))),
            Opcode::Pong => Ok(Some(Message::Pong(payload.to_vec()))),
            Opcode::Close => close_of(payload).map(Some),
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if op != Opcode::Continuation {
                    self.message_op = Some(op);
                }
                self.message.extend_from_slice(payload);
                if !fin {
                    return Ok(None);
                }
                let data = std::mem::take(&mut self.message);
                match self.message_op.take() {
                    Some(Opcode::Text) => String::from_utf8(data)
                        .map(|s| Some(Message::Text(s)))
                        .map_err(|_| DecodeError::NotUtf8),
                    _ => Ok(Some(Message::Binary(data))),
                }
            }
        }
    }
}

/// The message of a close frame's payload: none, or a valid code and a UTF-8 reason.
fn close_of(payload: &[u8]) -> Result<Message, DecodeError> {
    match payload {
        [] => Ok(Message::Close(None)),
        [_] => Err(DecodeError::Protocol("close payload of one byte")),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            let valid = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            if !valid {
                return Err(DecodeError::Protocol("invalid close code"));
            }
            std::str::from_utf8(reason).map_err(|_| DecodeError::NotUtf8)?;
            Ok(Message::Close(Some(code)))
        }
    }
}

/// A final, unmasked frame as a server sends it.
pub fn encode(op: Opcode, payload: &[u8]) -> Vec<u8> {
    frame_bytes(op, true, payload, None)
}

/// A text frame.
pub fn text(s: &str) -> Vec<u8> {
    encode(Opcode::Text, s.as_bytes())
}

/// A close frame with `code` (no reason).
pub fn close(code: u16) -> Vec<u8> {
    encode(Opcode::Close, &code.to_be_bytes())
}

/// A frame as a client sends it, masked with `mask` (for tests and the fuzz target).
pub fn encode_masked(op: Opcode, fin: bool, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    frame_bytes(op, fin, payload, Some(mask))
}

fn frame_bytes(op: Opcode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + MAX_HEADER);
    out.push(if fin { 0x80 } else { 0 } | op as u8);
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= u16::MAX as usize => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
    }
    out
}

#[cfg(test)]
#[path = "websocket_tests.rs"]
mod tests;
