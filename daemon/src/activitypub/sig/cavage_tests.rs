//! draft-cavage-12 appendix C vectors (the 1024-bit "Test" key), byte for byte.

use super::*;
use crate::activitypub::keys::Algorithm;

pub(super) const TEST_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----";

pub(super) const HEADERS: &[(&str, &str)] = &[
    ("Host", "example.com"),
    ("Date", "Sun, 05 Jan 2014 21:31:40 GMT"),
    ("Content-Type", "application/json"),
    (
        "Digest",
        "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    ),
    ("Content-Length", "18"),
];
pub(super) const BODY: &[u8] = br#"{"hello": "world"}"#;
/// The example's `Date`, in Unix seconds.
pub(super) const NOW: u64 = 1_388_957_500;

const C1: &str = r#"keyId="Test",algorithm="rsa-sha256",signature="SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=""#;
const C2: &str = r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date", signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=""#;
pub(super) const C3: &str = r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=""#;

pub(super) fn example<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "POST",
        scheme: "https",
        authority: "example.com",
        target: "/foo?param=value&pet=dog",
        headers,
        body: BODY,
    }
}

pub(super) fn test_key() -> PublicKey {
    PublicKey::from_pem(TEST_KEY_PEM)
        .unwrap()
        .allow_legacy_1024()
}

fn check(sig: &str, want: &str) {
    let parsed = CavageSignature::parse(sig).unwrap();
    let s = cavage_signing_string(&example(HEADERS), &parsed).unwrap();
    assert_eq!(s, want);
    test_key()
        .verify(Algorithm::RsaSha256, s.as_bytes(), &parsed.signature)
        .unwrap();
}

#[test]
fn appendix_c1_default_covers_date() {
    check(C1, "date: Sun, 05 Jan 2014 21:31:40 GMT");
}

#[test]
fn appendix_c2_basic() {
    check(
        C2,
        "(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT",
    );
    // verifies, but a POST must sign its digest (Mastodon's rule)
    let h: Vec<(&str, &str)> = HEADERS.iter().copied().chain([("Signature", C2)]).collect();
    assert_eq!(
        verify(&example(&h), NOW, |_| Some(test_key())),
        Err(SigError::NotCovered("the body digest"))
    );
}

#[test]
fn appendix_c3_all_headers_passes_the_whole_check() {
    check(
        C3,
        "(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT\ncontent-type: application/json\ndigest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\ncontent-length: 18",
    );
    let h: Vec<(&str, &str)> = HEADERS.iter().copied().chain([("Signature", C3)]).collect();
    let mut asked = String::new();
    let v = verify(&example(&h), NOW, |id| {
        asked = id.to_string();
        Some(test_key())
    })
    .unwrap();
    assert_eq!(asked, "Test");
    assert_eq!(
        v,
        Verified {
            key_id: "Test".into(),
            scheme: Scheme::Cavage
        }
    );
    // without the test-only allowance, a 1024-bit key is refused
    let strict = PublicKey::from_pem(TEST_KEY_PEM).unwrap();
    assert_eq!(
        verify(&example(&h), NOW, |_| Some(strict)),
        Err(SigError::BadSignature)
    );
}

#[test]
fn parse_reads_every_parameter_and_refuses_garbage() {
    let s = CavageSignature::parse(
        r#"keyId="https://a.test/u#k", algorithm="hs2019",created=1402170695, expires=1402170699,headers="(Request-Target) (created) Host",signature="AAAA""#,
    )
    .unwrap();
    assert_eq!(s.key_id, "https://a.test/u#k");
    assert_eq!(s.algorithm.as_deref(), Some("hs2019"));
    assert_eq!(s.created, Some(1_402_170_695));
    assert_eq!(s.expires, Some(1_402_170_699));
    assert_eq!(s.headers, ["(request-target)", "(created)", "host"]);
    assert_eq!(s.signature, [0, 0, 0]);
    for bad in [
        "",
        "keyId=\"a\"",
        "signature=\"AAAA\"",
        "keyId=\"a\",signature=\"!!\"",
        "keyId=\"a\",keyId=\"b\",signature=\"AAAA\"",
        "keyId=\"a\",signature=\"AAAA\",created=-1",
        "keyId=\"a\",signature=\"AAAA\",created=99999999999999",
        "keyId=\"a,signature=\"AAAA\"",
        "keyId=\"a\"x,signature=\"AAAA\"",
        "keyId=\"a\",signature=\"AAAA\",headers=\" \"",
    ] {
        assert!(CavageSignature::parse(bad).is_err(), "{bad}");
    }
}
