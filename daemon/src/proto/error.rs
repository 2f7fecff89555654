//! The protocol layer's error type: one enum, a variant per way input can be wrong.

use thiserror::Error;

/// Why a piece of protocol input was refused. Nothing that returns this has changed any state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// An address is not of the form `user@domain`.
    #[error("address {0:?} is not of the form user@domain")]
    AddressForm(String),
    /// The user part of an address breaks the character or length rules.
    #[error("user name {name:?} is invalid: {why}")]
    UserName {
        /// The offending user part.
        name: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// The domain part of an address is not a valid (IDNA) host name.
    #[error("domain {domain:?} is invalid: {why}")]
    Domain {
        /// The offending domain part.
        domain: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// A value decoded fine but is not in its one canonical encoding.
    #[error("{0} is not in canonical form")]
    NotCanonical(&'static str),
    /// Bytes could not be decoded as the named type.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong.
        why: String,
    },
    /// An input is larger than the limit named.
    #[error("{what} is {got} bytes, over the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A message breaks a rule about its fields.
    #[error("invalid message: {0}")]
    InvalidMessage(&'static str),
    /// A signature does not verify against the author's key.
    #[error("bad signature")]
    BadSignature,
    /// A key is not a valid Ed25519 key or not in its text form.
    #[error("bad key: {0}")]
    BadKey(&'static str),
    /// A frame carries a type number this version does not know.
    #[error("unknown frame type {0}")]
    UnknownFrameType(u8),
    /// A frame's length prefix is zero, which no frame can have.
    #[error("empty frame")]
    EmptyFrame,
}
