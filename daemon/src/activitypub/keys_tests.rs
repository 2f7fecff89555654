use super::*;
use crate::activitypub::sig::{verify, Request, Scheme};

/// The draft-cavage test key (1024-bit RSA), SPKI PEM.
const SPKI_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----";

#[test]
fn pkcs1_pem_reads_as_the_same_key_as_spki() {
    let spki = pem_body(SPKI_PEM, "PUBLIC KEY").unwrap().unwrap();
    // SEQUENCE, AlgorithmIdentifier (15 bytes), BIT STRING header and its zero byte: 22 bytes
    let pkcs1_pem = pem_encode("RSA PUBLIC KEY", &spki[22..]);
    assert!(pkcs1_pem.starts_with("-----BEGIN RSA PUBLIC KEY-----\nMIGJAoGBAMIUQ0bDffIaKHL3"));
    let a = PublicKey::from_pem(SPKI_PEM).unwrap();
    let b = PublicKey::from_pem(&pkcs1_pem).unwrap();
    assert_eq!(a, b);
    assert!(a.is_rsa());
    // written back as SPKI, byte for byte what the RFC shows (modulo line breaks)
    let again: String = a.to_pem().split_whitespace().collect();
    let want: String = SPKI_PEM.split_whitespace().collect();
    assert_eq!(again, want);
}

#[test]
fn bad_pem_and_der_are_refused() {
    let ec_spki = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWAO+Y/BP3c7Aq6LKY7f4+Y3o3c8N5J4w9jzYgx3bU5dWhRn/3dJ+QV6+/TnBt5OqHuCjLXxGE7WH+6qjr6eS2A==
-----END PUBLIC KEY-----";
    for bad in [
        "",
        "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3\n",
        "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----",
        ec_spki,
    ] {
        assert!(matches!(PublicKey::from_pem(bad), Err(SigError::BadKey(_))), "{bad}");
    }
    let huge = format!("-----BEGIN PUBLIC KEY-----\n{}", "A".repeat(MAX_PEM_LEN));
    assert_eq!(
        PublicKey::from_pem(&huge),
        Err(SigError::TooLarge("PEM key"))
    );
    // DER with a length longer than the input, or not in its shortest form
    for der in [
        &[0x30, 0x05, 0x02][..],
        &[0x30, 0x81, 0x01, 0x00],
        &[0x30, 0x82, 0x00, 0x81],
        &[0x30, 0x84, 0, 0, 0, 1],
    ] {
        assert!(PublicKey::from_spki_der(der).is_err(), "{der:02x?}");
        assert!(PublicKey::from_pkcs1_der(der).is_err(), "{der:02x?}");
    }
    assert!(RsaSigningKey::from_pkcs8(b"not a key").is_err());
}

/// hs2019 means RSA-SHA256 with an RSA key (GoToSocial) and Ed25519 with an Ed25519 key.
#[test]
fn hs2019_follows_the_key() {
    use base64ct::{Base64, Encoding};
    use ed25519_dalek::Signer;
    let now = 1_800_000_000;
    let date = crate::activitypub::sig::date::format(now);
    let string = format!("(request-target): get /users/alice\nhost: msm.test\ndate: {date}");
    let ed = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let ed_public = PublicKey::ed25519(ed.verifying_key().as_bytes()).unwrap();
    let rsa = crate::activitypub::keygen::test_key(0);
    let ed_sig = Base64::encode_string(&ed.sign(string.as_bytes()).to_bytes());
    let rsa_sig = Base64::encode_string(&rsa.sign_sha256(string.as_bytes()).unwrap());
    let header = |alg: &str, sig: &str| {
        format!(
            r#"keyId="k",algorithm="{alg}",headers="(request-target) host date",signature="{sig}""#
        )
    };
    let run = |sig_header: String, key: PublicKey| {
        let h = [
            ("Host", "msm.test"),
            ("Date", date.as_str()),
            ("Signature", sig_header.as_str()),
        ];
        let req = Request {
            method: "GET",
            scheme: "https",
            authority: "msm.test",
            target: "/users/alice",
            headers: &h,
            body: b"",
        };
        verify(&req, now, |_| Some(key)).map(|v| v.scheme)
    };
    assert_eq!(
        run(header("hs2019", &ed_sig), ed_public.clone()),
        Ok(Scheme::Cavage)
    );
    assert_eq!(
        run(header("hs2019", &rsa_sig), rsa.public_key()),
        Ok(Scheme::Cavage)
    );
    assert_eq!(
        run(header("rsa-sha256", &rsa_sig), rsa.public_key()),
        Ok(Scheme::Cavage)
    );
    assert_eq!(
        run(header("ed25519", &ed_sig), ed_public.clone()),
        Ok(Scheme::Cavage)
    );
    // the algorithm must fit the key
    assert_eq!(
        run(header("rsa-sha256", &ed_sig), ed_public.clone()),
        Err(SigError::UnsupportedAlgorithm)
    );
    assert_eq!(
        run(header("ed25519", &rsa_sig), rsa.public_key()),
        Err(SigError::UnsupportedAlgorithm)
    );
    // one key's signature under the other's hs2019
    assert_eq!(
        run(header("hs2019", &ed_sig), rsa.public_key()),
        Err(SigError::BadSignature)
    );
}
