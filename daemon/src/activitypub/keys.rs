//! Keys of HTTP signatures: public keys as actors publish them (`publicKeyPem`, SPKI or PKCS#1
//! PEM; `publicKeyMultibase`, FEP-521a Ed25519) and our RSA signing keys (PKCS#8, with ring).

use base64ct::{Base64, Encoding};
use ring::signature::{self as rs, KeyPair as _};

use super::der;
use super::SigError;

/// Longest PEM text accepted (an 8192-bit RSA public key is under 1.5 KB of PEM).
pub const MAX_PEM_LEN: usize = 16 * 1024;
/// Longest `publicKeyMultibase` accepted (an Ed25519 key is 48 characters).
pub const MAX_MULTIBASE_LEN: usize = 64;

/// Multicodec prefix of an Ed25519 public key in `publicKeyMultibase`.
const MULTICODEC_ED25519: [u8; 2] = [0xed, 0x01];

/// Signature algorithms this layer verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `hs2019` with RSA, `rsa-v1_5-sha256`).
    RsaSha256,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (`rsa-sha512`, as GoToSocial can send).
    RsaSha512,
    /// RSASSA-PSS with SHA-512 (`rsa-pss-sha512`).
    RsaPssSha512,
    /// Ed25519 (`ed25519`, `hs2019` with an Ed25519 key).
    Ed25519,
}

/// A public key that checks signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// PKCS#1 RSAPublicKey DER; `legacy_1024` lets tests use the 1024-bit draft-cavage key.
    Rsa {
        pkcs1: Vec<u8>,
        legacy_1024: bool,
    },
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::Rsa { pkcs1, .. } => write!(f, "PublicKey(RSA, {} bytes)", pkcs1.len()),
            Kind::Ed25519(k) => write!(f, "PublicKey(Ed25519, {:02x?})", k.as_bytes()),
        }
    }
}

impl PublicKey {
    /// Reads a PEM public key: SPKI (`BEGIN PUBLIC KEY`, RSA or Ed25519) or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`, which some servers publish).
    pub fn from_pem(pem: &str) -> Result<Self, SigError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(SigError::TooLarge("PEM key"));
        }
        if let Some(der) = pem_body(pem, "PUBLIC KEY")? {
            return Self::from_spki_der(&der);
        }
        match pem_body(pem, "RSA PUBLIC KEY")? {
            Some(der) => Self::from_pkcs1_der(&der),
            None => Err(SigError::BadKey("no PEM public key")),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo of an RSA or Ed25519 key.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, SigError> {
        let (body, rest) = der::read(spki, der::SEQUENCE)?;
        if !rest.is_empty() {
            return Err(SigError::BadKey("DER"));
        }
        let (alg, rest) = der::read(body, der::SEQUENCE)?;
        let (bits, end) = der::read(rest, der::BIT_STRING)?;
        if !end.is_empty() {
            return Err(SigError::BadKey("DER"));
        }
        let (oid, _params) = der::read(alg, der::OID)?;
        let key = match bits.split_first() {
            Some((0, key)) => key,
            _ => return Err(SigError::BadKey("DER")),
        };
        match oid {
            der::OID_RSA_ENCRYPTION => Self::from_pkcs1_der(key),
            der::OID_ED25519 => {
                let bytes: &[u8; 32] = key.try_into().map_err(|_| SigError::BadKey("Ed25519"))?;
                Self::ed25519(bytes)
            }
            _ => Err(SigError::BadKey("neither RSA nor Ed25519")),
        }
    }

    /// Reads a DER PKCS#1 RSAPublicKey (`SEQUENCE { n, e }`).
    pub fn from_pkcs1_der(pkcs1: &[u8]) -> Result<Self, SigError> {
        let (body, rest) = der::read(pkcs1, der::SEQUENCE)?;
        let (_n, after_n) = der::read(body, der::INTEGER)?;
        let (_e, end) = der::read(after_n, der::INTEGER)?;
        if !rest.is_empty() || !end.is_empty() {
            return Err(SigError::BadKey("DER"));
        }
        Ok(PublicKey(Kind::Rsa {
            pkcs1: pkcs1.to_vec(),
            legacy_1024: false,
        }))
    }

    /// Reads a FEP-521a `publicKeyMultibase`: `z` + base58btc of `0xed 0x01` + 32 key bytes.
    pub fn from_multibase(text: &str) -> Result<Self, SigError> {
        if text.len() > MAX_MULTIBASE_LEN {
            return Err(SigError::TooLarge("multibase key"));
        }
        let b58 = text
            .strip_prefix('z')
            .ok_or(SigError::BadKey("not base58btc"))?;
        let bytes = base58_decode(b58).ok_or(SigError::BadKey("base58"))?;
        match bytes.split_at_checked(2) {
            Some((prefix, key)) if prefix == MULTICODEC_ED25519 => {
                Self::ed25519(key.try_into().map_err(|_| SigError::BadKey("Ed25519"))?)
            }
            _ => Err(SigError::BadKey("not an Ed25519 multikey")),
        }
    }

    /// An Ed25519 public key from its 32 bytes.
    pub fn ed25519(bytes: &[u8; 32]) -> Result<Self, SigError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(|k| PublicKey(Kind::Ed25519(k)))
            .map_err(|_| SigError::BadKey("Ed25519"))
    }

    /// Whether this is an RSA key (`hs2019` and an absent `alg` then mean RSA-SHA256).
    pub fn is_rsa(&self) -> bool {
        matches!(self.0, Kind::Rsa { .. })
    }

    /// The key as SPKI PEM (`BEGIN PUBLIC KEY`), as an actor's `publicKeyPem` carries it.
    pub fn to_pem(&self) -> String {
        let mut spki_body = Vec::new();
        match &self.0 {
            Kind::Rsa { pkcs1, .. } => {
                der::rsa_algorithm_identifier(&mut spki_body);
                let mut bits = vec![0];
                bits.extend_from_slice(pkcs1);
                der::write(&mut spki_body, der::BIT_STRING, &bits);
            }
            Kind::Ed25519(k) => {
                let mut alg = Vec::new();
                der::write(&mut alg, der::OID, der::OID_ED25519);
                der::write(&mut spki_body, der::SEQUENCE, &alg);
                let mut bits = vec![0];
                bits.extend_from_slice(k.as_bytes());
                der::write(&mut spki_body, der::BIT_STRING, &bits);
            }
        }
        let mut spki = Vec::new();
        der::write(&mut spki, der::SEQUENCE, &spki_body);
        pem_encode("PUBLIC KEY", &spki)
    }

    /// Whether `signature` over `message` verifies with this key under `alg`; an algorithm that
    /// does not fit the key is [`SigError::UnsupportedAlgorithm`].
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), SigError> {
        match (&self.0, alg) {
            (Kind::Ed25519(k), Algorithm::Ed25519) => {
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| SigError::BadSignature)?;
                k.verify_strict(message, &sig)
                    .map_err(|_| SigError::BadSignature)
            }
            (Kind::Rsa { pkcs1, legacy_1024 }, _) => {
                let params: &dyn rs::VerificationAlgorithm = match alg {
                    Algorithm::RsaSha256 if *legacy_1024 => {
                        &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                    }
                    Algorithm::RsaSha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RsaSha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::RsaPssSha512 => &rs::RSA_PSS_2048_8192_SHA512,
                    Algorithm::Ed25519 => return Err(SigError::UnsupportedAlgorithm),
                };
                rs::UnparsedPublicKey::new(params, pkcs1)
                    .verify(message, signature)
                    .map_err(|_| SigError::BadSignature)
            }
            (Kind::Ed25519(_), _) => Err(SigError::UnsupportedAlgorithm),
        }
    }

    /// Test only: accept the 1024-bit RSA key of draft-cavage's test vectors.
    #[cfg(test)]
    pub(crate) fn allow_legacy_1024(mut self) -> Self {
        if let Kind::Rsa { legacy_1024, .. } = &mut self.0 {
            *legacy_1024 = true;
        }
        self
    }
}

/// An RSA private key that signs outgoing requests (RSASSA-PKCS1-v1_5 SHA-256).
pub struct RsaSigningKey(rs::RsaKeyPair);

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaSigningKey(..)")
    }
}

impl RsaSigningKey {
    /// Reads a PKCS#8 DER RSA private key (2048 to 4096 bits), as [`super::keygen`] makes.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SigError> {
        rs::RsaKeyPair::from_pkcs8(der)
            .map(RsaSigningKey)
            .map_err(|_| SigError::BadKey("RSA PKCS#8"))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(Kind::Rsa {
            pkcs1: self.0.public_key().as_ref().to_vec(),
            legacy_1024: false,
        })
    }

    /// Signs `message` with RSASSA-PKCS1-v1_5 SHA-256.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, SigError> {
        let mut sig = vec![0; self.0.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        self.0
            .sign(&rs::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| SigError::Signing)?;
        Ok(sig)
    }
}

/// The DER inside `-----BEGIN {label}-----` … `-----END {label}-----`, if that block is there.
fn pem_body(pem: &str, label: &str) -> Result<Option<Vec<u8>>, SigError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(start) = pem.find(&begin) else {
        return Ok(None);
    };
    let body = &pem[start + begin.len()..];
    let stop = body.find(&end).ok_or(SigError::BadKey("PEM end"))?;
    let b64: String = body[..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Base64::decode_vec(&b64)
        .map(Some)
        .map_err(|_| SigError::BadKey("PEM base64"))
}

/// PEM text of `der` under `label`, 64 characters a line.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The Bitcoin base58 alphabet (base58btc).
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// An Ed25519 public key as a FEP-521a `publicKeyMultibase`: `z` + base58btc of `0xed 0x01`
/// and the 32 key bytes (what [`PublicKey::from_multibase`] reads).
pub fn ed25519_multibase(key: &[u8; 32]) -> String {
    let mut raw = MULTICODEC_ED25519.to_vec();
    raw.extend_from_slice(key);
    format!("z{}", base58_encode(&raw))
}

/// Bitcoin base58 encoding.
fn base58_encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian, base 58
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n(b'1', zeros)
        .chain(digits.iter().rev().map(|&d| ALPHABET[usize::from(d)]))
        .map(char::from)
        .collect()
}

/// Bitcoin base58 decoding (input already bounded by [`MAX_MULTIBASE_LEN`]).
fn base58_decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes: Vec<u8> = Vec::new(); // little-endian
    for c in text.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    bytes.extend(std::iter::repeat_n(0, zeros));
    bytes.reverse();
    Some(bytes)
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
