//! Each user's RSA key for the fediverse: the key HTTP signatures are made with (Mastodon and
//! the servers before it verify RSA only), as PKCS#8 DER in `users.rsa_key`.
//!
//! Keys are made when first needed and kept: a 2048-bit key takes from a fraction of a second
//! (x86_64) to a few seconds (a router's core), so nodes make them in the background at start
//! ([`Store::users_without_rsa_key`]) and an actor asked for before that makes its own.
//! Two makers racing for one user both write only where no key is stored yet, then read the
//! one that was ([`Store::rsa_key`]), so a user never changes key.

use super::{Store, StoreError};
use rusqlite::{params, OptionalExtension};

/// Migration 15: the column of users' RSA keys (NULL until made).
pub const ACTOR_KEYS_MIGRATION: &str = "ALTER TABLE users ADD COLUMN rsa_key BLOB;";

impl Store {
    /// The user's RSA key (PKCS#8 DER), made with `make` and stored if there is none yet.
    pub fn rsa_key(
        &self,
        user_id: i64,
        make: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(k) = self.stored_rsa_key(user_id)? {
            return Ok(k);
        }
        let made = make().map_err(StoreError::Random)?;
        self.conn().execute(
            "UPDATE users SET rsa_key = ?2 WHERE id = ?1 AND rsa_key IS NULL",
            params![user_id, made],
        )?;
        self.stored_rsa_key(user_id)?
            .ok_or(StoreError::Corrupt("user without an RSA key"))
    }

    fn stored_rsa_key(&self, user_id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT rsa_key FROM users WHERE id = ?1", [user_id], |r| {
                r.get::<_, Option<Vec<u8>>>(0)
            })
            .optional()?
            .flatten())
    }

    /// When the user's account was made (ms since the epoch).
    pub fn user_created_ms(&self, user_id: i64) -> Result<u64, StoreError> {
        let ms: i64 = self.conn().query_row(
            "SELECT created_ms FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        Ok(ms.max(0) as u64)
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
    use crate::store::users::tests::store_with_node;
    use crate::store::Role;

    #[test]
    fn a_key_is_made_once_and_kept() {
        let (_d, mut s) = store_with_node();
        let u = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
        assert_eq!(s.users_without_rsa_key().unwrap(), vec![u.id]);
        let first = s.rsa_key(u.id, || Ok(vec![1, 2, 3])).unwrap();
        assert_eq!(first, vec![1, 2, 3]);
        let again = s
            .rsa_key(u.id, || panic!("a stored key is not made again"))
            .unwrap();
        assert_eq!(again, first);
        assert!(s.users_without_rsa_key().unwrap().is_empty());
        // a maker that lost the race reads the winner's key
        s.conn()
            .execute("UPDATE users SET rsa_key = NULL WHERE id = ?1", [u.id])
            .unwrap();
        let other = s.reopen().unwrap();
        let winner = other.rsa_key(u.id, || Ok(vec![9])).unwrap();
        let loser = s
            .rsa_key(u.id, || {
                // made while the winner already stored its key
                Ok(vec![7])
            })
            .unwrap();
        assert_eq!((winner, loser), (vec![9], vec![9]));
        assert!(
            s.rsa_key(u.id + 100, || Ok(vec![1])).is_err(),
            "no such user"
        );
    }
}
