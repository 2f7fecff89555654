//! Passwords, one-time passwords and session tokens.
//!
//! Passwords are hashed with argon2id, `m = 12 MiB, t = 3, p = 1` (OWASP's recommended
//! low-memory setting, equivalent in cost to its 19 MiB / t = 2 one). A router has ~128 MB shared
//! with everything else, so at most one hash runs at a time ([`HASH_LOCK`]): log-in bursts queue
//! instead of multiplying memory. The parameters are stored in each PHC hash string, so they can
//! change later without breaking existing passwords.
//!
//! Session tokens are 32 random bytes (hex, 64 characters); the store keeps only their SHA-256,
//! so a copy of the database does not give anyone a session.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// One password hash at a time: each takes [`ARGON2_M_KIB`] of memory.
static HASH_LOCK: Mutex<()> = Mutex::new(());

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

fn argon2() -> Argon2<'static> {
    // The constants above are valid parameters; Params::new only fails for out-of-range values.
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
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
    let salt = SaltString::encode_b64(&salt).map_err(|_| IdentityError::Random)?;
    let _one_at_a_time = HASH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| IdentityError::BadHash)
}

/// True if `password` matches the PHC string `hash`. Over-long input never matches.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, IdentityError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    let parsed = PasswordHash::new(hash).map_err(|_| IdentityError::BadHash)?;
    let _one_at_a_time = HASH_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    Ok(argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
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

#[cfg(test)]
mod tests {
    use super::*;

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
