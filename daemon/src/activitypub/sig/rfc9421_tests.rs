//! RFC 9421 appendix B.2.6 (Ed25519, test-key-ed25519) byte for byte, and round trips.

use super::*;
use crate::activitypub::keys::Algorithm;
use base64ct::{Base64, Encoding};

/// test-key-ed25519, RFC 9421 B.1.4.
const ED25519_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----";
const ED25519_PRIVATE_PKCS8: &str =
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";

const B26_INPUT: &str = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
const B26_SIGNATURE: &str =
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
const B26_BASE: &str = r#""date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
const CREATED: u64 = 1_618_884_473;

const HEADERS: &[(&str, &str)] = &[
    ("Host", "example.com"),
    ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
    ("Content-Length", "18"),
    ("Signature-Input", B26_INPUT),
    ("Signature", B26_SIGNATURE),
];

fn b2_request<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "POST",
        scheme: "https",
        authority: "example.com",
        target: "/foo?param=Value&Pet=dog",
        headers,
        body: br#"{"hello": "world"}"#,
    }
}

fn b26_signature() -> Vec<u8> {
    Base64::decode_vec(&B26_SIGNATURE["sig-b26=:".len()..B26_SIGNATURE.len() - 1]).unwrap()
}

#[test]
fn b26_signature_base_is_byte_for_byte_and_verifies() {
    let inputs = parse_signature_input(B26_INPUT).unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].label, "sig-b26");
    assert_eq!(inputs[0].key_id.as_deref(), Some("test-key-ed25519"));
    assert_eq!(inputs[0].created, Some(CREATED));
    let base = signature_base(&b2_request(HEADERS), &inputs[0]).unwrap();
    assert_eq!(base, B26_BASE);
    let key = PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap();
    key.verify(Algorithm::Ed25519, base.as_bytes(), &b26_signature())
        .unwrap();
    // and the RFC's private key makes the RFC's signature (Ed25519 is deterministic)
    let pkcs8 = Base64::decode_vec(ED25519_PRIVATE_PKCS8).unwrap();
    let seed: [u8; 32] = pkcs8[pkcs8.len() - 32..].try_into().unwrap();
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    use ed25519_dalek::Signer;
    assert_eq!(
        signing.sign(base.as_bytes()).to_bytes().to_vec(),
        b26_signature()
    );
}

#[test]
fn b26_fails_mastodon_policy_for_a_post_without_a_signed_digest() {
    let key = PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap();
    assert_eq!(
        verify(&b2_request(HEADERS), CREATED, |_| Some(key)),
        Err(SigError::NotCovered("the body digest"))
    );
}

#[test]
fn b26_verifies_with_the_key_read_from_multibase() {
    let multibase = base58_multikey(&PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap());
    let key = PublicKey::from_multibase(&multibase).unwrap();
    key.verify(Algorithm::Ed25519, B26_BASE.as_bytes(), &b26_signature())
        .unwrap();
    // an altered component breaks it
    let altered = B26_BASE.replace("/foo", "/fop");
    assert_eq!(
        key.verify(Algorithm::Ed25519, altered.as_bytes(), &b26_signature()),
        Err(SigError::BadSignature)
    );
    // RSA algorithms do not fit an Ed25519 key
    assert_eq!(
        key.verify(Algorithm::RsaSha256, B26_BASE.as_bytes(), &b26_signature()),
        Err(SigError::UnsupportedAlgorithm)
    );
}

/// `z` + base58btc(0xed 0x01 ‖ key), written here independently of the decoder.
fn base58_multikey(key: &PublicKey) -> String {
    let pem = key.to_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let spki = Base64::decode_vec(&b64).unwrap();
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&spki[spki.len() - 32..]);
    // repeated division of the big-endian number by 58
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits = Vec::new();
    let mut num = bytes.clone();
    while num.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in num.iter_mut() {
            let cur = rem * 256 + u32::from(*b);
            *b = (cur / 58) as u8;
            rem = cur % 58;
        }
        digits.push(ALPHABET[rem as usize]);
    }
    digits.reverse();
    format!("z{}", String::from_utf8(digits).unwrap())
}

#[test]
fn multibase_key_starts_like_fep_521a_and_refuses_garbage() {
    let mb = base58_multikey(&PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap());
    assert!(mb.starts_with("z6Mk"), "{mb}");
    assert_eq!(
        PublicKey::from_multibase(&mb).unwrap(),
        PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap()
    );
    for bad in ["", "z", "m6Mk", "z0OIl", "z6MkrJVnaZ", &"z".repeat(65)] {
        assert!(PublicKey::from_multibase(bad).is_err(), "{bad}");
    }
}

#[test]
fn rsa_round_trip_post_and_get() {
    let key = crate::activitypub::keygen::test_key(0);
    let now = 1_800_000_000;
    for method in ["POST", "GET"] {
        let body: &[u8] = if method == "POST" {
            b"{\"type\":\"Follow\"}"
        } else {
            b""
        };
        let out = Outgoing {
            method,
            scheme: "https",
            authority: "peer.test",
            target: "/users/bob/inbox",
            content_type: "application/activity+json",
            body,
        };
        let signed = sign_rfc9421(key, "https://msm.test/users/alice#main-key", &out, now).unwrap();
        let mut h: Vec<(&str, &str)> = signed.iter().map(|(n, v)| (*n, v.as_str())).collect();
        h.push(("Host", "peer.test"));
        let req = Request {
            method,
            scheme: "https",
            authority: "peer.test",
            target: "/users/bob/inbox",
            headers: &h,
            body,
        };
        let v = verify(&req, now + 5, |id| {
            assert_eq!(id, "https://msm.test/users/alice#main-key");
            Some(key.public_key())
        })
        .unwrap();
        assert_eq!(v.scheme, Scheme::Rfc9421);
        let input = h.iter().find(|(n, _)| *n == "Signature-Input").unwrap().1;
        assert!(
            input.starts_with(r#"sig1=("@method" "@target-uri" "@authority" "date""#),
            "{input}"
        );
        assert!(input.ends_with(r#";created=1800000000;keyid="https://msm.test/users/alice#main-key";alg="rsa-v1_5-sha256""#), "{input}");
        // another key: the signature does not verify
        let other = crate::activitypub::keygen::test_key(1).public_key();
        assert_eq!(
            verify(&req, now, |_| Some(other)),
            Err(SigError::BadSignature)
        );
        // another target: the base changes
        let moved = Request {
            target: "/users/carol/inbox",
            ..req
        };
        assert_eq!(
            verify(&moved, now, |_| Some(key.public_key())),
            Err(SigError::BadSignature)
        );
    }
}

#[test]
fn signature_input_refusals() {
    for (bad, want) in [
        (r#"s=("@method");created=1;keyid="k""#.to_string(), None),
        (
            r#"s="@method""#.into(),
            Some(SigError::Malformed("Signature-Input")),
        ),
        (
            r#"s=(@method)"#.into(),
            Some(SigError::Malformed("structured field")),
        ),
        (
            r#"s=(method)"#.into(),
            Some(SigError::Malformed("covered component")),
        ),
        (
            r#"s=("@METHOD")"#.into(),
            Some(SigError::Malformed("covered component")),
        ),
        (
            r#"s=("a" "a")"#.into(),
            Some(SigError::Malformed("covered component")),
        ),
        (
            r#"s=("@signature-params")"#.into(),
            Some(SigError::Malformed("covered component")),
        ),
        (
            r#"s=("@query-param";name="x")"#.into(),
            Some(SigError::UnsupportedComponent),
        ),
        (
            r#"s=();created="1""#.into(),
            Some(SigError::Malformed("signature parameter")),
        ),
        (
            r#"s=();keyid=1"#.into(),
            Some(SigError::Malformed("signature parameter")),
        ),
        (
            format!(r#"s=();keyid="{}""#, "k".repeat(MAX_KEY_ID_LEN + 1)),
            Some(SigError::TooLarge("keyid")),
        ),
        (
            format!(
                "s=({})",
                (0..=MAX_COVERED)
                    .map(|i| format!("\"h{i}\""))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Some(SigError::TooLarge("covered components")),
        ),
        (
            "a=(),b=(),c=(),d=(),e=()".into(),
            Some(SigError::TooLarge("structured field members")),
        ),
        (
            "x".repeat(MAX_SIGNATURE_HEADER_LEN + 1),
            Some(SigError::TooLarge("Signature-Input")),
        ),
        (
            r#"s=(),"#.into(),
            Some(SigError::Malformed("structured field")),
        ),
        (
            r#"s=("a"),s=("b")"#.into(),
            Some(SigError::Malformed("structured field")),
        ),
    ] {
        let got = parse_signature_input(&bad);
        match want {
            None => assert!(got.is_ok(), "{bad}: {got:?}"),
            Some(w) => assert_eq!(got.err(), Some(w), "{bad}"),
        }
    }
}

#[test]
fn the_multikey_msm_publishes_is_the_one_fep_521a_readers_compute() {
    let key = PublicKey::from_pem(ED25519_PUBLIC_PEM).unwrap();
    let pem = key.to_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let spki = Base64::decode_vec(&b64).unwrap();
    let raw: [u8; 32] = spki[spki.len() - 32..].try_into().unwrap();
    let published = crate::activitypub::keys::ed25519_multibase(&raw);
    assert_eq!(published, base58_multikey(&key), "two encoders agree");
    assert_eq!(PublicKey::from_multibase(&published).unwrap(), key);
}

/// A POST of `{}` to `https://msm.test/inbox` signed (RFC 9421) by `key` as `key_id` at
/// `now`, its headers passed through `edit` before the request is read.
fn signed_post(
    key: &crate::activitypub::keys::RsaSigningKey,
    key_id: &str,
    now: u64,
    edit: impl FnOnce(&mut Vec<(&'static str, String)>),
) -> Vec<(&'static str, String)> {
    let out = Outgoing {
        method: "POST",
        scheme: "https",
        authority: "msm.test",
        target: "/inbox",
        content_type: "application/activity+json",
        body: b"{}",
    };
    let mut h: Vec<(&'static str, String)> = sign_rfc9421(key, key_id, &out, now)
        .unwrap()
        .into_iter()
        .collect();
    edit(&mut h);
    h.push(("Host", "msm.test".into()));
    h
}

/// The request of [`signed_post`]'s headers.
fn inbox_request<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "POST",
        scheme: "https",
        authority: "msm.test",
        target: "/inbox",
        headers,
        body: b"{}",
    }
}

#[test]
fn the_key_id_fetched_is_the_key_id_of_the_signature_checked() {
    // Evil signs as "victim" (sig1) and puts an input naming its own key first (sig0, with no
    // signature value): an inbox that fetched the key of sig0 would verify sig1 with evil's
    // key and take the request as victim's.
    let evil = crate::activitypub::keygen::test_key(1);
    let now = 1_800_000_000;
    let h = signed_post(evil, "https://victim.test/bob#main-key", now, |h| {
        for (name, value) in h.iter_mut() {
            if *name == "Signature-Input" {
                *value = format!(
                    "sig0=(\"@method\");created={now};keyid=\"https://evil.test/a#main-key\", {value}"
                );
            }
        }
    });
    let headers: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let req = inbox_request(&headers);
    assert_eq!(
        crate::activitypub::sig::key_id(&req).unwrap(),
        "https://victim.test/bob#main-key",
        "the key id of the signature that has a value"
    );
    // with the key key_id names (victim's), evil's signature fails
    let victim = crate::activitypub::keygen::test_key(0).public_key();
    assert_eq!(
        verify(&req, now, |id| (id == "https://victim.test/bob#main-key")
            .then_some(victim)),
        Err(SigError::BadSignature)
    );
}

#[test]
fn a_signature_without_base64_padding_verifies() {
    let key = crate::activitypub::keygen::test_key(0);
    let now = 1_800_000_000;
    let h = signed_post(key, "https://a.test/u#k", now, |h| {
        let sig = h.iter_mut().find(|(n, _)| *n == "Signature").unwrap();
        assert!(
            sig.1.ends_with("=:"),
            "a 256-byte signature is padded: {}",
            sig.1
        );
        sig.1 = sig.1.replace('=', "").replacen("sig1", "sig1=", 1);
    });
    let headers: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
    verify(&inbox_request(&headers), now, |_| Some(key.public_key())).unwrap();
}
