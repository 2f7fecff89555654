//! The stream layer's error type: decoding a datagram, or a sender refusing a message.

use thiserror::Error;

/// Why a datagram or a message was refused. Nothing that returns this has changed any state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The datagram is longer than [`super::packet::MAX_DATAGRAM`].
    #[error("datagram is {got} bytes, over the limit of {max}")]
    DatagramTooLarge {
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The datagram ends before the named part.
    #[error("datagram truncated in {0}")]
    Truncated(&'static str),
    /// The version byte is not one this code speaks.
    #[error("unknown stream version {0}")]
    UnknownVersion(u8),
    /// The kind byte is not a known kind.
    #[error("unknown datagram kind {0}")]
    UnknownKind(u8),
    /// The fields decode but break a rule of the format (so the encoding is not canonical).
    #[error("malformed datagram: {0}")]
    Malformed(&'static str),
    /// The signature does not verify against the stream key.
    #[error("bad stream signature")]
    BadSignature,
    /// A message pushed to the sender is empty; no stream entry is empty.
    #[error("empty message")]
    EmptyMessage,
    /// A message pushed to the sender is over [`super::packet::MAX_LARGE_MESSAGE`].
    #[error("message is {got} bytes, over the limit of {max}")]
    MessageTooLarge {
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The sender's transmit queue is full: drain it with `poll_transmit` first.
    #[error("transmit queue full")]
    TransmitQueueFull,
    /// A network prefix in the configuration is not `address/length`.
    #[error("bad prefix {0:?}")]
    BadPrefix(String),
}
