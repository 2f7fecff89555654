//! The one error type of the ActivityPub signature layer: each refusal is its own variant so
//! that an inbox can count them.

/// Why a signature was refused, or a key could not be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    /// The request carries no `Signature` (or `Signature-Input`) header.
    #[error("request is not signed")]
    Unsigned,
    /// An input is over one of the named limits in [`crate::activitypub::sig`].
    #[error("{0} is over its limit")]
    TooLarge(&'static str),
    /// A signature header, a covered value or a date does not parse.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The algorithm is not one we verify, or does not fit the key.
    #[error("unsupported signature algorithm")]
    UnsupportedAlgorithm,
    /// A covered component we do not build (a derived component or a component parameter).
    #[error("unsupported covered component")]
    UnsupportedComponent,
    /// A covered header is absent from the request.
    #[error("covered header {0} is absent")]
    MissingHeader(String),
    /// The signature does not cover what the policy requires.
    #[error("signature does not cover {0}")]
    NotCovered(&'static str),
    /// A POST has no `Digest` / `Content-Digest` header.
    #[error("request body has no digest")]
    MissingDigest,
    /// The body does not match its digest, or the digest uses no algorithm we know.
    #[error("body does not match its digest")]
    BadDigest,
    /// `Date` or `created` is older than the accepted window.
    #[error("signature is too old")]
    Stale,
    /// `Date` or `created` is further in the future than the clock skew allows.
    #[error("signature is dated in the future")]
    FromFuture,
    /// The signature's `expires` has passed.
    #[error("signature has expired")]
    Expired,
    /// No key is known under the signature's key id.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify with the key.
    #[error("signature does not verify")]
    BadSignature,
    /// A public or private key does not parse, or is of a kind or size we do not use.
    #[error("bad key: {0}")]
    BadKey(&'static str),
    /// Signing failed (the key refused the operation).
    #[error("signing failed")]
    Signing,
    /// Making a key failed (no randomness from the system).
    #[error("key generation failed")]
    KeyGeneration,
}
