//! HTTP signatures, sans-IO: a [`Request`] view and `now` in, a verdict out. Both schemes
//! ActivityPub servers use are read: draft-cavage-12 (`Signature: keyId=…,headers=…`, what
//! Mastodon signs with) and RFC 9421 (`Signature-Input` + `Signature`). Verification applies
//! the policy Mastodon applies (see [`policy`]); signing makes what Mastodon sends.
//!
//! An inbox calls [`verify`] with a closure that maps the key id to the actor's key;
//! an outgoing request is signed by [`sign_post`] / [`sign_get`] (draft-cavage) or
//! [`sign_rfc9421`].

mod cavage;
pub mod date;
pub mod digest;
pub mod policy;
mod rfc9421;
mod structured;

pub use cavage::{cavage_signing_string, sign_get, sign_post, CavageSignature};
pub use rfc9421::{parse_signature_input, sign_rfc9421, signature_base, SignatureInput};

use super::keys::PublicKey;
use super::SigError;

/// Most header lines a request may carry into verification.
pub const MAX_HEADERS: usize = 100;
/// Longest header value looked at (an RFC 9421 `Signature` of one RSA-8192 signature is ~1.4 KB).
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// Longest `Signature` / `Signature-Input` header accepted.
pub const MAX_SIGNATURE_HEADER_LEN: usize = 4 * 1024;
/// Longest request target (path and query).
pub const MAX_TARGET_LEN: usize = 2 * 1024;
/// Most components one signature may cover (Mastodon covers 5; room for more).
pub const MAX_COVERED: usize = 16;
/// Longest key id (an actor URL with a fragment).
pub const MAX_KEY_ID_LEN: usize = 512;
/// Most labelled signatures read from one RFC 9421 `Signature-Input`.
pub const MAX_LABELS: usize = 4;
/// Longest decoded signature (RSA-8192 signs 1024 bytes).
pub const MAX_SIGNATURE_LEN: usize = 1024;

/// The parts of an HTTP request that signatures cover; the caller fills it from its server.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The method, as sent (`POST`).
    pub method: &'a str,
    /// `https` or `http`: what the client used (RFC 9421 `@target-uri`, `@scheme`).
    pub scheme: &'a str,
    /// The host and port as the client named it (`Host`, `:authority`).
    pub authority: &'a str,
    /// Path and query, as on the request line (`/users/alice/inbox`).
    pub target: &'a str,
    /// Header lines, names in any case, in the order received.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body (empty for a GET).
    pub body: &'a [u8],
}

impl Request<'_> {
    /// Refuses a request over the limits before anything parses it.
    pub fn check_bounds(&self) -> Result<(), SigError> {
        if self.headers.len() > MAX_HEADERS {
            return Err(SigError::TooLarge("header count"));
        }
        if self.target.len() > MAX_TARGET_LEN || self.authority.len() > MAX_TARGET_LEN {
            return Err(SigError::TooLarge("request target"));
        }
        if self
            .headers
            .iter()
            .any(|(n, v)| v.len() > MAX_HEADER_LEN || n.len() > MAX_HEADER_LEN)
        {
            return Err(SigError::TooLarge("header"));
        }
        Ok(())
    }

    /// The value of header `name` (any case): its lines joined by `", "`, each trimmed; `None`
    /// when absent. A value with a line break is refused (it would forge lines of the base).
    pub fn header(&self, name: &str) -> Result<Option<String>, SigError> {
        let mut out: Option<String> = None;
        for (n, v) in self.headers {
            if !n.eq_ignore_ascii_case(name) {
                continue;
            }
            if v.contains(['\r', '\n']) {
                return Err(SigError::Malformed("header value"));
            }
            let v = v.trim_matches([' ', '\t']);
            match &mut out {
                Some(s) => {
                    s.push_str(", ");
                    s.push_str(v);
                }
                None => out = Some(v.to_string()),
            }
        }
        Ok(out)
    }
}

/// Which scheme a verified signature used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12.
    Cavage,
    /// RFC 9421 HTTP Message Signatures.
    Rfc9421,
}

/// A signature that verified and passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key id it named (the caller checks it belongs to the activity's actor).
    pub key_id: String,
    /// The scheme it used.
    pub scheme: Scheme,
}

/// Verifies the request's signature: bounds, parse, policy (what must be covered, dates,
/// body digest), then the key `key_for(key_id)` returns, then the signature itself.
/// `now` is Unix seconds.
pub fn verify<F>(req: &Request<'_>, now: u64, key_for: F) -> Result<Verified, SigError>
where
    F: FnOnce(&str) -> Option<PublicKey>,
{
    req.check_bounds()?;
    if let Some(input) = req.header("signature-input")? {
        let signature = req.header("signature")?.ok_or(SigError::Unsigned)?;
        rfc9421::verify(req, &input, &signature, now, key_for)
    } else if let Some(signature) = req.header("signature")? {
        cavage::verify(req, &signature, now, key_for)
    } else {
        Err(SigError::Unsigned)
    }
}

/// The key id the request's signature names, without verifying anything: an inbox that must
/// fetch the key first (an actor document) asks this, then calls [`verify`] with the key.
pub fn key_id(req: &Request<'_>) -> Result<String, SigError> {
    req.check_bounds()?;
    if let Some(input) = req.header("signature-input")? {
        let signature = req.header("signature")?.ok_or(SigError::Unsigned)?;
        let (chosen, _) = rfc9421::chosen(&input, &signature)?;
        chosen.key_id.ok_or(SigError::Malformed("keyid"))
    } else if let Some(signature) = req.header("signature")? {
        Ok(CavageSignature::parse(&signature)?.key_id)
    } else {
        Err(SigError::Unsigned)
    }
}

/// An outgoing request to sign; `Host` is `authority`, the caller sends it and `content_type`.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// `https` or `http` (RFC 9421 `@target-uri`).
    pub scheme: &'a str,
    /// Host and port of the server.
    pub authority: &'a str,
    /// Path and query.
    pub target: &'a str,
    /// The `Content-Type` the caller sends with a POST (`application/activity+json`).
    pub content_type: &'a str,
    /// The body (empty for a GET).
    pub body: &'a [u8],
}

#[cfg(test)]
#[path = "cavage_tests.rs"]
mod cavage_tests;
#[cfg(test)]
#[path = "rfc9421_tests.rs"]
mod rfc9421_tests;
#[cfg(test)]
#[path = "verify_tests.rs"]
mod verify_tests;
