use super::*;
use crate::activitypub::keys::{Algorithm, RsaSigningKey};

#[test]
fn generated_key_signs_and_verifies_with_ring() {
    let der = generate_rsa_2048_from_seed(&[7; 32]).unwrap();
    let key = RsaSigningKey::from_pkcs8(&der).expect("ring reads the PKCS#8 we wrote");
    let public = key.public_key();
    let sig = key.sign_sha256(b"hello").unwrap();
    assert_eq!(sig.len(), 256, "a 2048-bit modulus signs 256 bytes");
    public.verify(Algorithm::RsaSha256, b"hello", &sig).unwrap();
    assert_eq!(
        public.verify(Algorithm::RsaSha256, b"hellO", &sig),
        Err(SigError::BadSignature)
    );
    // modulus 2048 bits, e = 65537, read back from the public key's DER
    let pem = public.to_pem();
    let again = crate::activitypub::keys::PublicKey::from_pem(&pem).unwrap();
    assert_eq!(again, public);
    let pkcs1 = rsa_public_der(&pem);
    let (body, _) = der::read(&pkcs1, der::SEQUENCE).unwrap();
    let (n, rest) = der::read(body, der::INTEGER).unwrap();
    let (e, _) = der::read(rest, der::INTEGER).unwrap();
    assert_eq!(n.len(), 257, "2048 bits plus the sign byte");
    assert_eq!(n[0], 0);
    assert!(n[1] & 0x80 != 0);
    assert_eq!(e, &[0x01, 0x00, 0x01]);
}

#[test]
fn seeds_make_different_keys() {
    let a = generate_rsa_2048_from_seed(&[1; 32]).unwrap();
    let b = generate_rsa_2048_from_seed(&[2; 32]).unwrap();
    assert_ne!(a, b);
    assert_eq!(a, generate_rsa_2048_from_seed(&[1; 32]).unwrap());
}

/// The PKCS#1 DER inside an SPKI PEM.
fn rsa_public_der(pem: &str) -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let spki = Base64::decode_vec(&b64).unwrap();
    let (body, _) = der::read(&spki, der::SEQUENCE).unwrap();
    let (_, rest) = der::read(body, der::SEQUENCE).unwrap();
    let (bits, _) = der::read(rest, der::BIT_STRING).unwrap();
    bits[1..].to_vec()
}
