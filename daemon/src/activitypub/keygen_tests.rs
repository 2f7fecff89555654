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

#[test]
fn the_sieve_holds_the_odd_primes_below_its_bound() {
    let p = small_primes();
    assert_eq!(&p[..6], &[3, 5, 7, 11, 13, 17]);
    assert_eq!(p.last(), Some(&2039), "the largest prime below 2048");
    assert_eq!(p.len(), 308, "pi(2048) = 309, less the prime 2");
    for &q in &p {
        assert!((2..q).take_while(|d| d * d <= q).all(|d| q % d != 0), "{q}");
    }
}

#[test]
fn miller_rabin_takes_primes_and_refuses_pseudoprimes() {
    let mut rng = HashRng::new(&[3; 32]);
    let mersenne = |e: u32| U1024::ONE.shl_vartime(e).wrapping_sub(&U1024::ONE);
    for e in [127, 521, 607] {
        assert!(probably_prime(&mersenne(e), &mut rng), "2^{e}-1 is prime");
    }
    // Carmichael numbers, strong pseudoprimes to base 2 (2047, 3277, 4033) and to bases 2, 3,
    // 5 and 7 (3215031751): each fools a fixed-base test, none fools random bases.
    for n in [
        561u64, 41041, 825265, 321197185, 2047, 3277, 4033, 3215031751,
    ] {
        assert!(!probably_prime(&U1024::from_u64(n), &mut rng), "{n}");
    }
    assert!(!probably_prime(
        &mersenne(521).wrapping_mul(&U1024::from_u32(3)),
        &mut rng
    ));
    assert!(
        !probably_prime(&mersenne(67), &mut rng),
        "2^67-1 = 193707721 × 761838257287"
    );
}

#[test]
fn the_search_agrees_with_an_independent_bpsw_test() {
    use crypto_primes::{is_prime, Flavor};
    let mut rng = HashRng::new(&[9; 32]);
    // Odd numbers around a random start: mostly composites, a few primes.
    let mut bytes = [0u8; 128];
    rng.fill(&mut bytes);
    bytes[0] |= 0x80;
    bytes[127] |= 1;
    let start = U1024::from_be_slice(&bytes);
    // Those with a small factor are skipped (both tests call them composite at once).
    let small = small_primes();
    let (mut tested, mut primes) = (0, 0);
    for i in 0..4000u32 {
        let c = start.wrapping_add(&U1024::from_u32(2 * i));
        if small.iter().any(|&p| {
            let p = NonZero::new(Limb::from_u32(p)).unwrap();
            c.rem_limb(p).0 == 0
        }) {
            continue;
        }
        let ours = probably_prime(&c, &mut rng);
        assert_eq!(ours, is_prime(Flavor::Any, &c), "{c}");
        tested += 1;
        primes += usize::from(ours);
    }
    assert!(tested > 300, "{tested}");
    assert!(
        primes >= 2,
        "about one in 355 odd numbers here is prime: {primes}"
    );
    for seed in 0..3u8 {
        let p = random_prime_1024(&mut HashRng::new(&[seed; 32])).unwrap();
        assert!(is_prime(Flavor::Any, &p));
        assert_eq!(p.bit_width(), 1024);
        assert!(bool::from(p.bit(1022)), "two top bits set");
    }
}
