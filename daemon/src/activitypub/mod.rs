//! ActivityPub, the parts that need no I/O: HTTP signatures (draft-cavage-12 and RFC 9421, built
//! and checked as pure functions of a request view and `now`) and the keys they use.
//!
//! - [`sig`]: the request view, signing strings and signature bases, verification with the
//!   policy Mastodon applies, and signing of outgoing GETs and POSTs.
//! - [`keys`]: RSA and Ed25519 public keys from `publicKeyPem` / `publicKeyMultibase`, RSA
//!   signing keys (PKCS#8).
//! - [`keygen`]: one 2048-bit RSA key per user, as PKCS#8 DER.
//! - [`SigError`]: the one error type of this layer.

mod der;
mod error;
pub mod keygen;
pub mod keys;
pub mod sig;

pub use error::SigError;
