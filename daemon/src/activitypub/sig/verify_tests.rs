//! Every refusal of [`verify`], on requests signed by [`sign_post`] / [`sign_get`] and then
//! altered; and parsers fed arbitrary bytes never panic.

use super::*;
use crate::activitypub::keygen::test_key;
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;
const KEY_ID: &str = "https://msm.test/users/alice#main-key";
const BODY: &[u8] = br#"{"type":"Create"}"#;

fn out(method: &'static str, body: &'static [u8]) -> Outgoing<'static> {
    Outgoing {
        method,
        scheme: "https",
        authority: "peer.test",
        target: "/users/bob/inbox",
        content_type: "application/activity+json",
        body,
    }
}

/// The header lines of a request signed with draft-cavage, as the receiver sees them.
fn signed(method: &'static str) -> Vec<(String, String)> {
    let o = out(method, if method == "POST" { BODY } else { b"" });
    let extra = if method == "POST" {
        sign_post(test_key(0), KEY_ID, &o, NOW).unwrap()
    } else {
        sign_get(test_key(0), KEY_ID, &o, NOW).unwrap()
    };
    let mut h = vec![("Host".to_string(), "peer.test".to_string())];
    if method == "POST" {
        h.push(("Content-Type".into(), "application/activity+json".into()));
    }
    h.extend(extra.into_iter().map(|(n, v)| (n.to_string(), v)));
    h
}

/// Verifies `headers` as a request with `method` and `body`, at `now`, with alice's key.
fn check(
    method: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: u64,
) -> Result<Verified, SigError> {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = Request {
        method,
        scheme: "https",
        authority: "peer.test",
        target: "/users/bob/inbox",
        headers: &h,
        body,
    };
    verify(&req, now, |id| {
        (id == KEY_ID).then(|| test_key(0).public_key())
    })
}

fn set(headers: &mut [(String, String)], name: &str, value: &str) {
    for (n, v) in headers.iter_mut() {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_string();
        }
    }
}

#[test]
fn signed_post_and_get_verify_like_mastodon_makes_them() {
    let post = signed("POST");
    let sig = &post.iter().find(|(n, _)| n == "Signature").unwrap().1;
    assert!(sig.starts_with(&format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature=""#
    )), "{sig}");
    assert_eq!(
        check("POST", &post, BODY, NOW),
        Ok(Verified {
            key_id: KEY_ID.into(),
            scheme: Scheme::Cavage
        })
    );
    let get = signed("GET");
    assert!(get
        .iter()
        .any(|(n, v)| n == "Signature" && v.contains(r#"headers="(request-target) host date""#)));
    assert!(check("GET", &get, b"", NOW).is_ok());
}

#[test]
fn key_id_is_read_without_verifying() {
    let h = signed("POST");
    let pairs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = Request {
        method: "POST",
        scheme: "https",
        authority: "peer.test",
        target: "/users/bob/inbox",
        headers: &pairs,
        body: BODY,
    };
    assert_eq!(key_id(&req).as_deref(), Ok(KEY_ID));
    let g = sign_rfc9421(test_key(0), KEY_ID, &out("GET", b""), NOW).unwrap();
    let pairs: Vec<(&str, &str)> = g.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(
        key_id(&Request {
            headers: &pairs,
            ..req
        })
        .as_deref(),
        Ok(KEY_ID)
    );
    assert_eq!(
        key_id(&Request {
            headers: &[],
            ..req
        }),
        Err(SigError::Unsigned)
    );
    let bad = [
        ("Signature-Input", r#"sig1=("@method");created=1"#),
        ("Signature", "sig1=:AAAA:"),
    ];
    assert_eq!(
        key_id(&Request {
            headers: &bad,
            ..req
        }),
        Err(SigError::Malformed("keyid"))
    );
}

#[test]
fn tampered_body_is_a_digest_mismatch() {
    assert_eq!(
        check("POST", &signed("POST"), br#"{"type":"Delete"}"#, NOW),
        Err(SigError::BadDigest)
    );
}

#[test]
fn date_window_is_12_hours_back_and_1_hour_ahead() {
    let post = signed("POST");
    assert!(check("POST", &post, BODY, NOW + policy::MAX_AGE_SECS).is_ok());
    assert_eq!(
        check("POST", &post, BODY, NOW + policy::MAX_AGE_SECS + 1),
        Err(SigError::Stale)
    );
    assert!(check("POST", &post, BODY, NOW - policy::MAX_FUTURE_SKEW_SECS).is_ok());
    assert_eq!(
        check("POST", &post, BODY, NOW - policy::MAX_FUTURE_SKEW_SECS - 1),
        Err(SigError::FromFuture)
    );
}

#[test]
fn unsigned_and_unknown_or_wrong_keys() {
    let mut post = signed("POST");
    post.retain(|(n, _)| n != "Signature");
    assert_eq!(check("POST", &post, BODY, NOW), Err(SigError::Unsigned));
    let mut post = signed("POST");
    let other = post
        .iter()
        .find(|(n, _)| n == "Signature")
        .unwrap()
        .1
        .replace(KEY_ID, "https://x.test/k");
    set(&mut post, "Signature", &other);
    assert_eq!(check("POST", &post, BODY, NOW), Err(SigError::UnknownKey));
    // the right key id, but the key of someone else
    let post = signed("POST");
    let h: Vec<(&str, &str)> = post.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let req = Request {
        method: "POST",
        scheme: "https",
        authority: "peer.test",
        target: "/users/bob/inbox",
        headers: &h,
        body: BODY,
    };
    assert_eq!(
        verify(&req, NOW, |_| Some(test_key(1).public_key())),
        Err(SigError::BadSignature)
    );
}

#[test]
fn a_changed_signed_header_breaks_the_signature() {
    let mut post = signed("POST");
    set(&mut post, "Content-Type", "application/json");
    assert_eq!(check("POST", &post, BODY, NOW), Err(SigError::BadSignature));
    let mut post = signed("POST");
    let later = date::format(NOW + 1);
    set(&mut post, "Date", &later);
    assert_eq!(check("POST", &post, BODY, NOW), Err(SigError::BadSignature));
    // a covered header that is gone
    let mut post = signed("POST");
    post.retain(|(n, _)| n != "Content-Type");
    assert_eq!(
        check("POST", &post, BODY, NOW),
        Err(SigError::MissingHeader("content-type".into()))
    );
}

/// A `Signature` header covering `headers` (the signature bytes are never reached).
fn cavage_header(headers: &str, extra: &str) -> String {
    format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{headers}",signature="AAAA"{extra}"#
    )
}

#[test]
fn required_components_must_be_covered() {
    let cases = [
        (
            "POST",
            "(request-target) host date",
            SigError::NotCovered("the body digest"),
        ),
        (
            "POST",
            "(request-target) host digest",
            SigError::NotCovered("date or (created)"),
        ),
        (
            "POST",
            "host date",
            SigError::NotCovered("(request-target) or digest"),
        ),
        ("GET", "(request-target) date", SigError::NotCovered("host")),
    ];
    for (method, covered, want) in cases {
        let mut h = signed(method);
        set(&mut h, "Signature", &cavage_header(covered, ""));
        let body = if method == "POST" { BODY } else { b"" };
        assert_eq!(
            check(method, &h, body, NOW),
            Err(want),
            "{method} {covered}"
        );
    }
    // a POST with no digest header at all
    let mut h = signed("POST");
    h.retain(|(n, _)| n != "Digest");
    assert_eq!(check("POST", &h, BODY, NOW), Err(SigError::MissingDigest));
}

#[test]
fn created_and_expires_are_honoured() {
    let mut h = signed("POST");
    let covered = "(request-target) (created) (expires) host digest";
    set(
        &mut h,
        "Signature",
        &cavage_header(covered, &format!(",created={NOW},expires={}", NOW + 10)),
    );
    // everything but the signature bytes passes: the crypto check is what refuses it
    assert_eq!(
        check("POST", &h, BODY, NOW + 5),
        Err(SigError::BadSignature)
    );
    assert_eq!(check("POST", &h, BODY, NOW + 11), Err(SigError::Expired));
    assert_eq!(
        check("POST", &h, BODY, NOW - 3601),
        Err(SigError::FromFuture)
    );
    set(
        &mut h,
        "Signature",
        &cavage_header(covered, &format!(",expires={}", NOW + 10)),
    );
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::Malformed("created"))
    );
}

#[test]
fn malformed_and_oversized_inputs_are_refused() {
    for (value, want) in [
        (
            "garbage".to_string(),
            SigError::Malformed("Signature header"),
        ),
        (r#"keyId="a""#.into(), SigError::Malformed("signature")),
        (
            format!(
                r#"keyId="{}",signature="AAAA""#,
                "k".repeat(MAX_KEY_ID_LEN + 1)
            ),
            SigError::TooLarge("keyId"),
        ),
        (
            "k".repeat(MAX_SIGNATURE_HEADER_LEN + 1),
            SigError::TooLarge("Signature header"),
        ),
        (
            cavage_header(&["date"; MAX_COVERED + 1].join(" "), ""),
            SigError::TooLarge("covered headers"),
        ),
        (
            format!(
                r#"keyId="a",signature="{}""#,
                "A".repeat(MAX_SIGNATURE_LEN * 2)
            ),
            SigError::TooLarge("signature"),
        ),
        (
            cavage_header("(request-target) host date digest (foo)", ""),
            SigError::UnsupportedComponent,
        ),
        (
            cavage_header(
                "(request-target) host date digest",
                ",algorithm=\"hmac-sha256\"",
            ),
            SigError::Malformed("Signature header"),
        ),
    ] {
        let mut h = signed("POST");
        set(&mut h, "Signature", &value);
        assert_eq!(check("POST", &h, BODY, NOW), Err(want), "{value:.80}");
    }
    // an unknown algorithm
    let mut h = signed("POST");
    let alg = h
        .iter()
        .find(|(n, _)| n == "Signature")
        .unwrap()
        .1
        .replace("rsa-sha256", "dsa-sha1");
    set(&mut h, "Signature", &alg);
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::UnsupportedAlgorithm)
    );
    // a bad date
    let mut h = signed("POST");
    set(&mut h, "Date", "yesterday");
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::Malformed("date"))
    );
    // a line break in a value would forge a line of the signing string
    let mut h = signed("POST");
    set(&mut h, "Content-Type", "application/json\ndate: x");
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::Malformed("header value"))
    );
    // too many header lines
    let mut h = signed("POST");
    h.extend((0..MAX_HEADERS).map(|i| (format!("X-{i}"), "v".to_string())));
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::TooLarge("header count"))
    );
    let mut h = signed("POST");
    h.push(("X-Big".into(), "v".repeat(MAX_HEADER_LEN + 1)));
    assert_eq!(
        check("POST", &h, BODY, NOW),
        Err(SigError::TooLarge("header"))
    );
}

#[test]
fn rfc9421_refusals() {
    let o = out("POST", BODY);
    let signed = sign_rfc9421(test_key(0), KEY_ID, &o, NOW).unwrap();
    let mut h: Vec<(String, String)> = signed
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    h.push(("Host".into(), "peer.test".into()));
    assert!(check("POST", &h, BODY, NOW).is_ok());
    assert_eq!(check("POST", &h, b"{}", NOW), Err(SigError::BadDigest));
    assert_eq!(
        check("POST", &h, BODY, NOW + policy::MAX_AGE_SECS + 1),
        Err(SigError::Stale)
    );
    let input = |s: &str| {
        let mut h = h.clone();
        set(&mut h, "Signature-Input", s);
        h
    };
    for (value, want) in [
        (
            format!(r#"sig1=("@target-uri" "content-digest");created={NOW};keyid="{KEY_ID}""#),
            SigError::NotCovered("@method"),
        ),
        (
            format!(r#"sig1=("@method" "content-digest");created={NOW};keyid="{KEY_ID}""#),
            SigError::NotCovered("@target-uri"),
        ),
        (
            format!(r#"sig1=("@method" "@target-uri" "content-digest");keyid="{KEY_ID}""#),
            SigError::NotCovered("created or date"),
        ),
        (
            format!(r#"sig1=("@method" "@target-uri");created={NOW};keyid="{KEY_ID}""#),
            SigError::NotCovered("the body digest"),
        ),
        (
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest");created={NOW};expires={};keyid="{KEY_ID}""#,
                NOW - 1
            ),
            SigError::Expired,
        ),
        (
            format!(r#"sig1=("@method" "@target-uri" "content-digest");created={NOW}"#),
            SigError::Malformed("keyid"),
        ),
        (
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest");created={NOW};keyid="{KEY_ID}";alg="hmac-sha256""#
            ),
            SigError::UnsupportedAlgorithm,
        ),
        (
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest" "@status");created={NOW};keyid="{KEY_ID}""#
            ),
            SigError::UnsupportedComponent,
        ),
        (
            format!(
                r#"other=("@method" "@target-uri" "content-digest");created={NOW};keyid="{KEY_ID}""#
            ),
            SigError::Malformed("Signature"),
        ),
        (
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest" "x-absent");created={NOW};keyid="{KEY_ID}""#
            ),
            SigError::MissingHeader("x-absent".into()),
        ),
        (
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest");created={NOW};keyid="{KEY_ID}""#
            ),
            SigError::BadSignature,
        ),
    ] {
        assert_eq!(
            check("POST", &input(&value), BODY, NOW),
            Err(want),
            "{value}"
        );
    }
    // a GET must cover the authority
    let g = sign_rfc9421(test_key(0), KEY_ID, &out("GET", b""), NOW).unwrap();
    let mut h: Vec<(String, String)> = g.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    assert!(check("GET", &h, b"", NOW).is_ok());
    set(
        &mut h,
        "Signature-Input",
        &format!(r#"sig1=("@method" "@path" "date");created={NOW};keyid="{KEY_ID}""#),
    );
    assert_eq!(
        check("GET", &h, b"", NOW),
        Err(SigError::NotCovered("@authority"))
    );
    // Signature-Input without Signature
    h.retain(|(n, _)| n != "Signature");
    assert_eq!(check("GET", &h, b"", NOW), Err(SigError::Unsigned));
}

proptest! {
    #[test]
    fn parsers_never_panic(s in ".{0,300}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let lossy = String::from_utf8_lossy(&raw);
        for v in [s.as_str(), &lossy] {
            let _ = CavageSignature::parse(v);
            let _ = parse_signature_input(v);
            let _ = digest::check_digest(v, b"x");
            let _ = digest::check_content_digest(v, b"x");
            let _ = date::parse(v);
            let _ = crate::activitypub::keys::PublicKey::from_pem(v);
            let _ = crate::activitypub::keys::PublicKey::from_multibase(v);
            let h = [("Signature", v), ("Signature-Input", v), ("Date", v), ("Digest", v), ("Host", v)];
            for hs in [&h[..], &h[1..]] {
                let req = Request { method: "POST", scheme: "https", authority: v, target: v, headers: hs, body: raw.as_slice() };
                let _ = verify(&req, NOW, |_| Some(test_key(0).public_key()));
            }
        }
        let _ = crate::activitypub::keys::PublicKey::from_spki_der(&raw);
        let _ = crate::activitypub::keys::PublicKey::from_pkcs1_der(&raw);
    }

    #[test]
    fn structured_signature_input_near_misses_never_panic(
        parts in proptest::collection::vec(prop_oneof![
            Just("sig1="), Just("("), Just(")"), Just("\"@method\""), Just(" "), Just(";"),
            Just("created="), Just("123"), Just("-"), Just(":"), Just("AAAA"), Just(","), Just("?1"),
            Just("keyid="), Just("\"k\""), Just("\\"), Just("*"), Just("tok/en"),
        ], 0..40)
    ) {
        let v: String = parts.concat();
        let _ = parse_signature_input(&v);
        let _ = digest::check_content_digest(&v, b"x");
    }
}
