//! Ed25519 keys: the node's key, each user's key, and their text form.
//!
//! Text form of a public key: `ed25519:` followed by the 32 key bytes in standard base64 with
//! padding (44 characters). The same form goes into `TXT _msm.<domain>` records and JSON documents.
//! Secret keys never leave the store in text form.

use super::ProtoError;
use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::fmt;

/// Prefix of a public key's text form.
pub const KEY_TEXT_PREFIX: &str = "ed25519:";
/// Length of an Ed25519 signature, in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// A secret Ed25519 key (a node's or a user's). Zeroed on drop.
pub struct NodeKey(SigningKey);

/// A public Ed25519 key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut())?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The key from its 32 secret bytes (as stored).
    pub fn from_bytes(secret: &[u8]) -> Result<Self, ProtoError> {
        let seed: [u8; 32] = secret
            .try_into()
            .map_err(|_| ProtoError::BadKey("a secret key is 32 bytes"))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The 32 secret bytes, for the store.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `data`.
    pub fn sign(&self, data: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(data).to_bytes()
    }
}

impl PublicKey {
    /// The key from its 32 bytes; refuses points that are not valid keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtoError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ProtoError::BadKey("a public key is 32 bytes"))?;
        VerifyingKey::from_bytes(&arr)
            .map(Self)
            .map_err(|_| ProtoError::BadKey("not a valid Ed25519 point"))
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses the text form `ed25519:<base64>`.
    pub fn from_text(text: &str) -> Result<Self, ProtoError> {
        let b64 = text
            .strip_prefix(KEY_TEXT_PREFIX)
            .ok_or(ProtoError::BadKey("expected ed25519:<base64>"))?;
        let mut buf = [0u8; 32];
        let bytes = Base64::decode(b64, &mut buf).map_err(|_| ProtoError::BadKey("bad base64"))?;
        Self::from_bytes(bytes)
    }

    /// The text form `ed25519:<base64>`.
    pub fn to_text(&self) -> String {
        format!(
            "{KEY_TEXT_PREFIX}{}",
            Base64::encode_string(&self.to_bytes())
        )
    }

    /// Verifies `signature` over `data`, rejecting weak keys and malleable signatures.
    pub fn verify(&self, data: &[u8], signature: &[u8; SIGNATURE_LEN]) -> Result<(), ProtoError> {
        let sig = Signature::from_bytes(signature);
        self.0
            .verify_strict(data, &sig)
            .map_err(|_| ProtoError::BadSignature)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_rejects_garbage() {
        let k = NodeKey::from_bytes(&[7u8; 32]).unwrap();
        let text = k.public().to_text();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 44,
            "{text}"
        );
        assert_eq!(PublicKey::from_text(&text).unwrap(), k.public());
        for bad in ["", "ed25519:", "rsa:AAAA", "ed25519:!!!!", "ed25519:AAAA"] {
            assert!(PublicKey::from_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signatures_verify_only_unaltered() {
        let k = NodeKey::generate().unwrap();
        let sig = k.sign(b"hello");
        k.public().verify(b"hello", &sig).unwrap();
        assert_eq!(
            k.public().verify(b"hellp", &sig),
            Err(ProtoError::BadSignature)
        );
        let mut bad = sig;
        bad[0] ^= 1;
        assert_eq!(
            k.public().verify(b"hello", &bad),
            Err(ProtoError::BadSignature)
        );
        let other = NodeKey::generate().unwrap();
        assert_eq!(
            other.public().verify(b"hello", &sig),
            Err(ProtoError::BadSignature)
        );
    }
}
