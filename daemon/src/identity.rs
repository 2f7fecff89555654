//! Passwords, one-time passwords and session tokens.
//!
//! Passwords are hashed with argon2id, `m = 12 MiB, t = 3, p = 1` (OWASP's recommended
//! low-memory setting, equivalent in cost to its 19 MiB / t = 2 one). A router has ~128 MB shared
//! with everything else, so at most one hash runs at a time, in one block of memory
//! ([`HASH_MEMORY`]): a flood of log-ins queues and costs that one block at a time. The block is
//! zeroed after each use and given back (large blocks go straight back to the kernel: musl does
//! so, and `main` sets glibc's mmap threshold so it does too), so a node that checked a password
//! once does not hold 12 MiB ever after. The parameters
//! are stored in each PHC hash string, so they can change later without breaking existing
//! passwords; a stored hash asking for more than [`MAX_ARGON2_M_KIB`] is refused as unreadable.
//!
//! Session tokens are 32 random bytes (hex, 64 characters); the store keeps only their SHA-256,
//! so a copy of the database does not give anyone a session.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use thiserror::Error;

/// Argon2 memory cost in KiB.
pub const ARGON2_M_KIB: u32 = 12 * 1024;
/// Argon2 passes.
pub const ARGON2_T: u32 = 3;
/// Argon2 lanes.
pub const ARGON2_P: u32 = 1;
/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password accepted, in bytes (argon2 hashes anything, but bounded input is cheaper).
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Characters of a generated one-time password (base32 without look-alikes, ~80 bits).
pub const ONE_TIME_PASSWORD_LEN: usize = 16;

/// Largest memory cost a stored hash may ask for: a hash from a future or hand-edited database
/// must not make a log-in allocate without bound.
pub const MAX_ARGON2_M_KIB: u32 = 64 * 1024;
/// Length of a computed hash, in bytes (argon2's default).
pub const HASH_LEN: usize = 32;

/// One password hash at a time, in this block of memory (grown to [`ARGON2_M_KIB`] for a hash,
/// zeroed and given back after it).
static HASH_MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// What can go wrong with identities.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The password is shorter than [`MIN_PASSWORD_LEN`].
    #[error("password is too short (at least {MIN_PASSWORD_LEN} characters)")]
    PasswordTooShort,
    /// The password is longer than [`MAX_PASSWORD_LEN`].
    #[error("password is too long (at most {MAX_PASSWORD_LEN} bytes)")]
    PasswordTooLong,
    /// The stored hash is not a valid PHC string.
    #[error("stored password hash is unreadable")]
    BadHash,
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
}

fn params() -> Params {
    // The constants above are valid parameters; Params::new only fails for out-of-range values.
    Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default()
}

/// Computes argon2 of `password` and `salt` into `out`, in the shared block of memory.
fn hash_into(
    hasher: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), IdentityError> {
    if params.m_cost() > MAX_ARGON2_M_KIB {
        return Err(IdentityError::BadHash);
    }
    let mut memory = HASH_MEMORY.lock().unwrap_or_else(|p| p.into_inner());
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let result = hasher.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]);
    // Nothing derived from a password stays behind, and the memory goes back.
    memory.iter_mut().for_each(|b| *b = Block::new());
    *memory = Vec::new();
    result.map_err(|_| IdentityError::BadHash)
}

/// Checks a new password against the length rules.
pub fn check_new_password(password: &str) -> Result<(), IdentityError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(IdentityError::PasswordTooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(IdentityError::PasswordTooLong);
    }
    Ok(())
}

/// Hashes a password (after [`check_new_password`]) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, IdentityError> {
    check_new_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|_| IdentityError::Random)?;
    let phc_salt = Salt::new(&salt).map_err(|_| IdentityError::Random)?;
    let params = params();
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; HASH_LEN];
    hash_into(&hasher, &params, password.as_bytes(), &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| IdentityError::BadHash)?,
        salt: Some(phc_salt),
        hash: Some(Output::new(&out).map_err(|_| IdentityError::BadHash)?),
    };
    Ok(phc.to_string())
}

/// True if `password` matches the PHC string `hash`. Over-long input never matches.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, IdentityError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    fn bad<E>(_: E) -> IdentityError {
        IdentityError::BadHash
    }
    let parsed = PasswordHash::new(hash).map_err(bad)?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(bad)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(bad)?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(bad)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(IdentityError::BadHash);
    };
    let mut out = [0u8; 64];
    let out = out
        .get_mut(..expected.len())
        .ok_or(IdentityError::BadHash)?;
    let hasher = Argon2::new(algorithm, version, params.clone());
    hash_into(&hasher, &params, password.as_bytes(), salt.as_ref(), out)?;
    // Output's equality is constant-time.
    Ok(Output::new(out).map_err(bad)? == expected)
}

/// A random one-time password for a first log-in.
pub fn one_time_password() -> Result<String, IdentityError> {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
    let mut raw = [0u8; ONE_TIME_PASSWORD_LEN];
    getrandom::getrandom(&mut raw).map_err(|_| IdentityError::Random)?;
    Ok(raw
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect())
}

/// A fresh session token: what the client holds, and the hash the store keeps.
pub fn new_session_token() -> Result<(String, [u8; 32]), IdentityError> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|_| IdentityError::Random)?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The hash under which a session token is stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// HMAC-SHA-256 of `msg` under `key` (RFC 2104; a key over 64 bytes is hashed first).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(k.map(|b| b ^ 0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(k.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Are `a` and `b` equal, in time independent of where they differ? (Lengths are not secret.)
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2's message under a 32-byte key (checked with openssl:
        // `printf 'what do ya want for nothing?' | openssl dgst -sha256 -mac HMAC
        //  -macopt hexkey:0102...20`)
        let key: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "4d9d653fcd05f91cd858a20d50c74b604fe38f2cac49d9b0a7099584cf4fb35a"
        );
    }

    #[test]
    fn hash_verifies_and_records_parameters() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h).unwrap());
        assert!(!verify_password("correct horsf", &h).unwrap());
        assert_eq!(
            verify_password("x", "not a hash"),
            Err(IdentityError::BadHash)
        );
        assert!(!verify_password(&"x".repeat(MAX_PASSWORD_LEN + 1), &h).unwrap());
    }

    /// A hash stored by an earlier msmd, or made elsewhere: the PHC string of the reference
    /// implementation (libargon2, through Python's argon2-cffi: `PasswordHasher(time_cost=3,
    /// memory_cost=12288, parallelism=1, hash_len=32).hash("correct horse",
    /// salt=b"0123456789abcdef")`).
    const REFERENCE_HASH: &str = "$argon2id$v=19$m=12288,t=3,p=1$MDEyMzQ1Njc4OWFiY2RlZg$W2CvwLK2LDlk3BoCN5Nmrigs/uLQ3VdCUrYzjKQtTqo";

    #[test]
    fn a_hash_of_the_reference_implementation_verifies() {
        assert!(verify_password("correct horse", REFERENCE_HASH).unwrap());
        assert!(!verify_password("correct horsf", REFERENCE_HASH).unwrap());
        // the same hash made here is the same string
        let ours = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let mut out = [0u8; HASH_LEN];
        hash_into(
            &ours,
            &params(),
            b"correct horse",
            b"0123456789abcdef",
            &mut out,
        )
        .unwrap();
        assert!(REFERENCE_HASH.ends_with(Output::new(&out).unwrap().to_string().as_str()));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = b"0123456789abcdef";
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password_with_salt(b"correct horse", salt)
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse", &old).unwrap());
        assert!(!verify_password("correct horsf", &old).unwrap());
        // A hash with other (smaller) parameters verifies too; no block is kept after a hash.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 1, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"correct horse", salt)
        .unwrap()
        .to_string();
        assert!(verify_password("correct horse", &small).unwrap());
        assert_eq!(HASH_MEMORY.lock().unwrap().capacity(), 0);
        // A stored hash that asks for more memory than allowed is unreadable, not allocated.
        let huge = small.replace("m=4096", "m=1048576");
        assert_eq!(
            verify_password("correct horse", &huge),
            Err(IdentityError::BadHash)
        );
    }

    #[test]
    fn password_rules() {
        assert_eq!(hash_password("short"), Err(IdentityError::PasswordTooShort));
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)),
            Err(IdentityError::PasswordTooLong)
        );
    }

    #[test]
    fn tokens_and_one_time_passwords_are_random() {
        let (a, ha) = new_session_token().unwrap();
        let (b, _) = new_session_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), ha);
        let p = one_time_password().unwrap();
        assert_eq!(p.len(), ONE_TIME_PASSWORD_LEN);
        assert_ne!(p, one_time_password().unwrap());
        check_new_password(&p).unwrap();
    }
}
