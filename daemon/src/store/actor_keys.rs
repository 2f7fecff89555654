//! Each user's RSA key for the fediverse: the key HTTP signatures are made with (Mastodon and
//! the servers before it verify RSA only), as PKCS#8 DER in `users.rsa_key`, with its public
//! half as PEM in `users.rsa_public` (what the actor document publishes, read without touching
//! the private key).
//!
//! Keys are made when first needed and kept: a 2048-bit key takes from a fraction of a second
//! (x86_64) to a few seconds (a router's core), so nodes make them in the background at start
//! ([`Store::users_without_rsa_key`]) and an actor asked for before that makes its own (one at
//! a time: the caller holds a process-wide lock). Two makers racing for one user both write
//! only where no key is stored yet, then read the one that was, so a user never changes key.

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Migration 15: the columns of users' RSA keys (NULL until made).
pub const ACTOR_KEYS_MIGRATION: &str = "
    ALTER TABLE users ADD COLUMN rsa_key BLOB;
    ALTER TABLE users ADD COLUMN rsa_public TEXT;
";

/// A made key: the private key as PKCS#8 DER and the public key as SPKI PEM.
pub struct MadeKey {
    /// PKCS#8 DER.
    pub private_der: Vec<u8>,
    /// SPKI PEM.
    pub public_pem: String,
}

impl Store {
    /// The user's public RSA key (PEM), made with `make` and stored if there is none yet.
    pub fn rsa_public_key(
        &self,
        user_id: i64,
        make: impl FnOnce() -> Result<MadeKey, String>,
    ) -> Result<String, StoreError> {
        if let Some(k) = self.stored_rsa_public(user_id)? {
            return Ok(k);
        }
        let made = make().map_err(StoreError::Random)?;
        self.conn().execute(
            "UPDATE users SET rsa_key = ?2, rsa_public = ?3 WHERE id = ?1 AND rsa_key IS NULL",
            params![user_id, made.private_der, made.public_pem],
        )?;
        self.stored_rsa_public(user_id)?
            .ok_or(StoreError::Corrupt("user without an RSA key"))
    }

    /// The user's public RSA key (PEM), if it was made.
    pub fn stored_rsa_public(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT rsa_public FROM users WHERE id = ?1",
                [user_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// The users who have no RSA key yet.
    pub fn users_without_rsa_key(&self) -> Result<Vec<i64>, StoreError> {
        let mut st = self
            .conn()
            .prepare("SELECT id FROM users WHERE rsa_key IS NULL ORDER BY id")?;
        let ids = st
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::MadeKey;
    use crate::store::users::tests::store_with_node;
    use crate::store::Role;

    fn key(n: u8) -> Result<MadeKey, String> {
        Ok(MadeKey {
            private_der: vec![n; 3],
            public_pem: format!("pem {n}"),
        })
    }

    #[test]
    fn a_key_is_made_once_and_kept() {
        let (_d, mut s) = store_with_node();
        let u = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
        assert_eq!(s.users_without_rsa_key().unwrap(), vec![u.id]);
        assert_eq!(s.stored_rsa_public(u.id).unwrap(), None);
        assert_eq!(s.rsa_public_key(u.id, || key(1)).unwrap(), "pem 1");
        let again = s
            .rsa_public_key(u.id, || panic!("a stored key is not made again"))
            .unwrap();
        assert_eq!(again, "pem 1");
        assert!(s.users_without_rsa_key().unwrap().is_empty());
        // a maker that lost the race reads the winner's key
        s.conn()
            .execute(
                "UPDATE users SET rsa_key = NULL, rsa_public = NULL WHERE id = ?1",
                [u.id],
            )
            .unwrap();
        let other = s.reopen().unwrap();
        let winner = other.rsa_public_key(u.id, || key(9)).unwrap();
        let loser = s
            .rsa_public_key(u.id, || {
                // made while the winner stored its key: only written where none is
                s.conn()
                    .execute(
                        "UPDATE users SET rsa_key = x'09', rsa_public = 'pem 9' WHERE id = ?1",
                        [u.id],
                    )
                    .unwrap();
                key(7)
            })
            .unwrap();
        assert_eq!((winner.as_str(), loser.as_str()), ("pem 9", "pem 9"));
        assert!(
            s.rsa_public_key(u.id + 100, || key(1)).is_err(),
            "no such user"
        );
    }
}
