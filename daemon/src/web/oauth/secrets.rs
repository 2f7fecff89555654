//! The OAuth secrets and proofs (sans-IO but for the random source): tokens, codes, client
//! ids and secrets as 32 random bytes in base64url (43 characters, like Mastodon's, so
//! [`super::is_app_token`] tells them from msm sessions), PKCE S256 (RFC 7636), and HMAC-SHA256
//! (RFC 2104) for the authorize form's CSRF proof ([`super::page`]).

pub use crate::identity::{ct_eq, hmac_sha256};
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};

/// Shortest and longest PKCE `code_verifier` (RFC 7636 section 4.1).
pub const VERIFIER_LEN: std::ops::RangeInclusive<usize> = 43..=128;
/// Length of an S256 `code_challenge` (base64url of a SHA-256, unpadded).
pub const CHALLENGE_LEN: usize = 43;

/// 32 random bytes as 43 characters of base64url.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw)?;
    Ok(Base64UrlUnpadded::encode_string(&raw))
}

/// Is `c` shaped like an S256 challenge?
pub fn is_challenge(c: &str) -> bool {
    c.len() == CHALLENGE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Does `verifier` prove `challenge` (S256: base64url(SHA-256(verifier)) == challenge)?
/// A verifier of the wrong length or alphabet proves nothing.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = VERIFIER_LEN.contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let digest = Sha256::digest(verifier.as_bytes());
    ct_eq(
        Base64UrlUnpadded::encode_string(&digest).as_bytes(),
        challenge.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_with_rfc_7636s_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_challenge(challenge));
        assert!(pkce_s256_matches(verifier, challenge));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!pkce_s256_matches(challenge, challenge));
        assert!(
            !pkce_s256_matches("short", challenge),
            "too short a verifier"
        );
        assert!(!pkce_s256_matches(&"a".repeat(129), challenge));
        assert!(!is_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"));
    }

    #[test]
    fn hmac_with_rfc_4231s_examples() {
        let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_43_characters_of_base64url() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(super::super::is_app_token(&a));
        assert_ne!(a, b);
        assert!(
            !super::super::is_app_token(&"ab".repeat(32)),
            "an msm session"
        );
    }
}
