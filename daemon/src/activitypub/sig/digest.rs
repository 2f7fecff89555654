//! Body digests: `Digest: SHA-256=<b64>` (RFC 3230, with draft-cavage) and
//! `Content-Digest: sha-256=:<b64>:` (RFC 9530, with RFC 9421), made and checked.

use base64ct::{Base64, Encoding};
use sha2::{Digest as _, Sha256, Sha512};

use super::structured::{self, Bare, Member};
use crate::activitypub::SigError;

/// Most digest entries read from one header.
pub const MAX_DIGESTS: usize = 4;

/// `SHA-256=<b64>` of `body`, the value of a `Digest` header.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", Base64::encode_string(&Sha256::digest(body)))
}

/// `sha-256=:<b64>:` of `body`, the value of a `Content-Digest` header.
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", Base64::encode_string(&Sha256::digest(body)))
}

/// The body's digest under a named algorithm, if we know it.
fn compute(alg: &str, body: &[u8]) -> Option<Vec<u8>> {
    if alg.eq_ignore_ascii_case("sha-256") {
        Some(Sha256::digest(body).to_vec())
    } else if alg.eq_ignore_ascii_case("sha-512") {
        Some(Sha512::digest(body).to_vec())
    } else {
        None
    }
}

/// Checks a `Digest` header: every entry with a known algorithm matches, and one at least does.
pub fn check_digest(value: &str, body: &[u8]) -> Result<(), SigError> {
    let mut matched = false;
    for (i, entry) in value.split(',').enumerate() {
        if i >= MAX_DIGESTS {
            return Err(SigError::TooLarge("Digest"));
        }
        let (alg, b64) = entry
            .trim()
            .split_once('=')
            .ok_or(SigError::Malformed("Digest"))?;
        if let Some(want) = compute(alg, body) {
            let got = Base64::decode_vec(b64).map_err(|_| SigError::Malformed("Digest"))?;
            if got != want {
                return Err(SigError::BadDigest);
            }
            matched = true;
        }
    }
    matched.then_some(()).ok_or(SigError::BadDigest)
}

/// Checks a `Content-Digest` header (a structured dictionary of byte sequences) the same way.
pub fn check_content_digest(value: &str, body: &[u8]) -> Result<(), SigError> {
    let dict = structured::parse_dictionary(value, MAX_DIGESTS, 0)
        .map_err(|_| SigError::Malformed("Content-Digest"))?;
    let mut matched = false;
    for (alg, member) in &dict {
        let Some(want) = compute(alg, body) else {
            continue;
        };
        match member {
            Member::Item(Bare::Bytes(got), _) if *got == want => matched = true,
            Member::Item(Bare::Bytes(_), _) => return Err(SigError::BadDigest),
            _ => return Err(SigError::Malformed("Content-Digest")),
        }
    }
    matched.then_some(()).ok_or(SigError::BadDigest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"hello": "world"}"#;

    #[test]
    fn known_digests_of_the_rfc_example_body() {
        // draft-cavage appendix C and RFC 9530 / RFC 9421 B.2 values for this body
        assert_eq!(
            digest_header(BODY),
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
        );
        check_digest("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", BODY).unwrap();
        check_content_digest(
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            BODY,
        )
        .unwrap();
        check_content_digest(&content_digest_header(BODY), BODY).unwrap();
    }

    #[test]
    fn tampered_unknown_and_malformed_digests_are_refused() {
        let tampered = br#"{"hello": "World"}"#;
        assert_eq!(
            check_digest(&digest_header(BODY), tampered),
            Err(SigError::BadDigest)
        );
        assert_eq!(
            check_content_digest(&content_digest_header(BODY), tampered),
            Err(SigError::BadDigest)
        );
        assert_eq!(check_digest("MD5=abcd", BODY), Err(SigError::BadDigest));
        assert_eq!(
            check_content_digest("md5=:AAAA:", BODY),
            Err(SigError::BadDigest)
        );
        assert!(matches!(
            check_digest("SHA-256", BODY),
            Err(SigError::Malformed(_))
        ));
        assert!(matches!(
            check_digest("SHA-256=!!", BODY),
            Err(SigError::Malformed(_))
        ));
        assert!(matches!(
            check_content_digest("sha-256=abc", BODY),
            Err(SigError::Malformed(_))
        ));
        assert!(matches!(
            check_digest("a=1,b=2,c=3,d=4,e=5", BODY),
            Err(SigError::TooLarge(_))
        ));
    }
}
