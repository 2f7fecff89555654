//! RSA key generation: one 2048-bit key per user, made once at account creation, kept as
//! PKCS#8 DER. ring signs and verifies RSA but cannot make keys, so the primes are found here
//! (random odd candidates sieved by the small primes, then Miller-Rabin in Montgomery form
//! with `crypto-bigint`) and the rest of the key (n, d, CRT values) is computed with
//! `crypto-bigint` and written out by hand. A prime-search crate would bring a 49 KB table of
//! reciprocals into the router binary for a search that runs once per account.

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Limb, NonZero, Odd, U1024, U2048};
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

/// Candidates are first divided by the odd primes below this bound (there are 308): nine in
/// ten random odd numbers fall there, before any modular exponentiation.
const SIEVE_PRIMES_BELOW: u32 = 2048;
/// A search walks up from one random odd start in steps of 2 at most this many times before it
/// draws a new start (primes near 2^1024 are ~710 apart on average).
const SEARCH_STEPS: u32 = 1 << 14;
/// Miller-Rabin rounds with random bases, after one with base 2. For random 1024-bit
/// candidates 4 rounds already put the error below 2^-100 (Damgård, Landrock and Pomerance;
/// FIPS 186-5 table B.1 asks 4 for primes of a 2048-bit key).
const RANDOM_ROUNDS: usize = 5;

/// A random 1024-bit prime with its two top bits set (so that p·q has exactly 2048 bits).
fn random_prime_1024(rng: &mut HashRng) -> Result<U1024, SigError> {
    let small = small_primes();
    loop {
        let mut bytes = [0u8; 128];
        rng.fill(&mut bytes);
        bytes[0] |= 0xC0;
        bytes[127] |= 1;
        let start = U1024::from_be_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        // Residues of the start by each small prime, advanced as the search walks.
        let residues = small
            .iter()
            .map(|&p| {
                let p = Option::<NonZero<Limb>>::from(NonZero::new(Limb::from_u32(p)))
                    .ok_or(SigError::KeyGeneration)?;
                Ok(start.rem_limb(p).0 as u32)
            })
            .collect::<Result<Vec<u32>, SigError>>()?;
        for step in 0..SEARCH_STEPS {
            let delta = 2 * step;
            if small
                .iter()
                .zip(&residues)
                .any(|(&p, &r)| (r + delta % p) % p == 0)
            {
                continue;
            }
            let c = start.wrapping_add(&U1024::from_u32(delta));
            if c.bit_width() != 1024 {
                break;
            }
            if probably_prime(&c, rng) {
                return Ok(c);
            }
        }
    }
}

/// The odd primes below [`SIEVE_PRIMES_BELOW`], by the sieve of Eratosthenes.
fn small_primes() -> Vec<u32> {
    let n = SIEVE_PRIMES_BELOW as usize;
    let mut composite = vec![false; n];
    let mut out = Vec::with_capacity(320);
    for i in 3..n {
        if !composite[i] && i % 2 == 1 {
            out.push(i as u32);
            let mut j = i * i;
            while j < n {
                composite[j] = true;
                j += i;
            }
        }
    }
    out
}

/// Miller-Rabin on an odd `n` > 3: base 2, then [`RANDOM_ROUNDS`] random bases in [2, n−2].
/// Exponentiations are constant-time (the candidate is a secret prime factor).
fn probably_prime(n: &U1024, rng: &mut HashRng) -> bool {
    let Some(odd) = Option::<Odd<U1024>>::from(Odd::new(*n)) else {
        return false;
    };
    let n_minus_1 = n.wrapping_sub(&U1024::ONE);
    let Some(span) =
        Option::<NonZero<U1024>>::from(NonZero::new(n.wrapping_sub(&U1024::from_u32(3))))
    else {
        return false;
    };
    let s = n_minus_1.trailing_zeros();
    let d = n_minus_1.shr_vartime(s);
    let params = FixedMontyParams::new_vartime(odd);
    let one = FixedMontyForm::one(&params);
    let minus_one = FixedMontyForm::new(&n_minus_1, &params);
    let witness = |a: &U1024| {
        let mut x = FixedMontyForm::new(a, &params).pow(&d);
        if x == one || x == minus_one {
            return true;
        }
        for _ in 1..s {
            x = x.square();
            if x == minus_one {
                return true;
            }
            if x == one {
                return false;
            }
        }
        false
    };
    if !witness(&U1024::from_u32(2)) {
        return false;
    }
    (0..RANDOM_ROUNDS).all(|_| {
        let mut bytes = [0u8; 128];
        rng.fill(&mut bytes);
        let a = U1024::from_be_slice(&bytes)
            .rem(&span)
            .wrapping_add(&U1024::from_u32(2));
        witness(&a)
    })
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
/// block counter.
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

impl HashRng {
    /// Fills `dst` with the next bytes of the stream.
    fn fill(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.seed)
                .chain_update(self.counter.to_le_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

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
