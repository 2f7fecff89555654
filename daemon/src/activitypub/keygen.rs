//! RSA key generation: one 2048-bit key per user, made once at account creation, kept as
//! PKCS#8 DER. ring signs and verifies RSA but cannot make keys, so the primes come from
//! `crypto-primes` (sieve, Miller-Rabin base 2 and a strong Lucas test) and the rest of the
//! key (n, d, CRT values) is computed with `crypto-bigint` and written out by hand.

use crypto_bigint::{NonZero, Odd, U1024, U2048};
use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
use crypto_primes::{is_prime, sieve_and_find, Flavor};
use sha2::{Digest, Sha256};

use super::der;
use super::SigError;

/// Size of a user's RSA modulus in bits (what Mastodon makes; 2048 is ring's minimum).
pub const RSA_BITS: u32 = 2048;
/// The public exponent, F4 (the only one ring accepts for signing keys made elsewhere).
pub const RSA_EXPONENT: u32 = 65537;

/// A new 2048-bit RSA private key as PKCS#8 DER, seeded from the system's randomness.
pub fn generate_rsa_2048() -> Result<Vec<u8>, SigError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|_| SigError::KeyGeneration)?;
    let key = generate_rsa_2048_from_seed(&seed);
    zeroize::Zeroize::zeroize(&mut seed);
    key
}

/// The key that `seed` determines (tests use fixed seeds; keys must use [`generate_rsa_2048`]).
pub fn generate_rsa_2048_from_seed(seed: &[u8; 32]) -> Result<Vec<u8>, SigError> {
    let mut rng = HashRng::new(seed);
    let e = U2048::from_u32(RSA_EXPONENT);
    loop {
        let p = random_prime_1024(&mut rng)?;
        let q = random_prime_1024(&mut rng)?;
        if p == q {
            continue;
        }
        let (p, q) = if p > q { (p, q) } else { (q, p) };
        let (p1, q1) = (p.wrapping_sub(&U1024::ONE), q.wrapping_sub(&U1024::ONE));
        let (lo, hi) = p.widening_mul(&q);
        let n: U2048 = lo.concat(&hi);
        let (lo, hi) = p1.widening_mul(&q1);
        let phi: U2048 = lo.concat(&hi);
        let Some(phi) = Option::<NonZero<U2048>>::from(NonZero::new(phi)) else {
            continue;
        };
        // e must be invertible mod φ(n); when it is not, draw new primes.
        let Some(d) = Option::<U2048>::from(e.invert_mod(&phi)) else {
            continue;
        };
        let dp = reduce(&d, &p1)?;
        let dq = reduce(&d, &q1)?;
        let odd_p = Option::<Odd<U1024>>::from(Odd::new(p)).ok_or(SigError::KeyGeneration)?;
        let qinv =
            Option::<U1024>::from(q.invert_odd_mod(&odd_p)).ok_or(SigError::KeyGeneration)?;
        if n.bit_width() != RSA_BITS {
            continue;
        }
        return Ok(pkcs8(&[
            &n.to_be_bytes(),
            &e.to_be_bytes(),
            &d.to_be_bytes(),
            &p.to_be_bytes(),
            &q.to_be_bytes(),
            &dp.to_be_bytes(),
            &dq.to_be_bytes(),
            &qinv.to_be_bytes(),
        ]));
    }
}

/// A random 1024-bit prime with its two top bits set (so that p·q has exactly 2048 bits).
fn random_prime_1024(rng: &mut HashRng) -> Result<U1024, SigError> {
    let sieve = SmallFactorsSieveFactory::<U1024>::new(Flavor::Any, RSA_BITS / 2, SetBits::TwoMsb)
        .map_err(|_| SigError::KeyGeneration)?;
    sieve_and_find(rng, sieve, |_, c| is_prime(Flavor::Any, c))
        .ok()
        .flatten()
        .ok_or(SigError::KeyGeneration)
}

/// `d mod m` for a 1024-bit `m`.
fn reduce(d: &U2048, m: &U1024) -> Result<U1024, SigError> {
    let m = Option::<NonZero<U2048>>::from(NonZero::new(m.resize::<{ U2048::LIMBS }>()))
        .ok_or(SigError::KeyGeneration)?;
    Ok(d.rem(&m).resize())
}

/// PKCS#8 PrivateKeyInfo around a PKCS#1 RSAPrivateKey of the given big-endian integers
/// (n, e, d, p, q, dP, dQ, qInv).
fn pkcs8(ints: &[&[u8]; 8]) -> Vec<u8> {
    let mut rsa_body = Vec::with_capacity(1200);
    der::write_uint(&mut rsa_body, &[0]); // version two-prime
    for i in ints {
        der::write_uint(&mut rsa_body, i);
    }
    let mut rsa = Vec::with_capacity(1210);
    der::write(&mut rsa, der::SEQUENCE, &rsa_body);
    let mut info = Vec::with_capacity(1240);
    der::write_uint(&mut info, &[0]);
    der::rsa_algorithm_identifier(&mut info);
    der::write(&mut info, der::OCTET_STRING, &rsa);
    zeroize::Zeroize::zeroize(&mut rsa_body);
    zeroize::Zeroize::zeroize(&mut rsa);
    let mut out = Vec::with_capacity(1250);
    der::write(&mut out, der::SEQUENCE, &info);
    zeroize::Zeroize::zeroize(&mut info);
    out
}

/// A deterministic random bit generator for the prime search: SHA-256 of a 32-byte seed and a
/// block counter. Infallible once seeded, as `crypto-primes` wants.
struct HashRng {
    seed: [u8; 32],
    counter: u64,
}

impl HashRng {
    fn new(seed: &[u8; 32]) -> Self {
        HashRng {
            seed: *seed,
            counter: 0,
        }
    }
}

impl Drop for HashRng {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.seed);
    }
}

impl rand_core::TryRng for HashRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.seed)
                .chain_update(self.counter.to_le_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for HashRng {}

/// Test only: one RSA key made once per test binary (making one takes a while in debug builds).
#[cfg(test)]
pub(crate) fn test_key(which: u8) -> &'static super::keys::RsaSigningKey {
    use std::sync::OnceLock;
    static KEYS: [OnceLock<super::keys::RsaSigningKey>; 2] = [OnceLock::new(), OnceLock::new()];
    KEYS[usize::from(which % 2)].get_or_init(|| {
        let der = generate_rsa_2048_from_seed(&[which % 2 + 40; 32]).expect("key");
        super::keys::RsaSigningKey::from_pkcs8(&der).expect("PKCS#8")
    })
}

#[cfg(test)]
#[path = "keygen_tests.rs"]
mod tests;
