//! Accounts: names, roles, password hashes, key pairs, log-in sessions.
//!
//! Each user is also an author (`authors.local_user`), keyed by its address. Removing a user
//! keeps the author row and its messages (other servers hold copies signed by that key), so the
//! name stays reserved: a new account under the same name would need the old key.

use super::{Store, StoreError};
use crate::proto::address::canonical_user;
use crate::proto::{Address, NodeKey, PublicKey};
use rusqlite::{params, OptionalExtension, Row};

/// Largest number of accounts on one node; a household node needs a handful, an ISP hub hosts
/// its customers' households on their own nodes.
pub const MAX_USERS: i64 = 10_000;
/// Largest number of live sessions per user; the oldest goes when a new one would pass it.
pub const MAX_SESSIONS_PER_USER: i64 = 32;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Administers the node: adds and removes users.
    Owner,
    /// Posts and follows.
    Member,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "owner" => Ok(Role::Owner),
            "member" => Ok(Role::Member),
            _ => Err(StoreError::Corrupt("role")),
        }
    }
}

/// An account on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// The user part of the address.
    pub name: String,
    /// `name@domain`.
    pub address: Address,
    /// What the user may do.
    pub role: Role,
    /// Logged in with a one-time password that must be replaced before anything else.
    pub must_change_password: bool,
    /// The user's public key, which signs their messages.
    pub public_key: PublicKey,
}

const USER_COLUMNS: &str = "u.id, u.name, a.address, u.role, u.must_change_password, a.public_key";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, bool, Vec<u8>)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_user(raw: (i64, String, String, String, bool, Vec<u8>)) -> Result<User, StoreError> {
    let (id, name, address, role, must_change_password, key) = raw;
    Ok(User {
        id,
        name,
        address: Address::parse(&address).map_err(|_| StoreError::Corrupt("address"))?,
        role: Role::parse(&role)?,
        must_change_password,
        public_key: PublicKey::from_bytes(&key).map_err(|_| StoreError::Corrupt("public key"))?,
    })
}

impl Store {
    /// Adds an account with a fresh key pair. `password_hash` comes from
    /// [`crate::identity::hash_password`].
    pub fn add_user(
        &mut self,
        name: &str,
        role: Role,
        password_hash: &str,
        must_change_password: bool,
        now_ms: u64,
    ) -> Result<User, StoreError> {
        let name = canonical_user(name)?;
        let domain = self.node_info()?.domain;
        let address = Address::new(&name, &domain)?;
        let key = NodeKey::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let count: i64 = tx.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        if count >= MAX_USERS {
            return Err(StoreError::Full {
                what: "users",
                max: MAX_USERS,
            });
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)
                 OR EXISTS(SELECT 1 FROM authors WHERE address = ?2)",
            params![name, address.as_str()],
            |r| r.get(0),
        )?;
        if taken {
            return Err(StoreError::NameTaken(name));
        }
        tx.execute(
            "INSERT INTO users(name, role, password_hash, must_change_password, secret_key, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, role.as_str(), password_hash, must_change_password, &key.to_bytes()[..], now_ms as i64],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO authors(address, public_key, local_user) VALUES (?1, ?2, ?3)",
            params![address.as_str(), &key.public().to_bytes()[..], id],
        )?;
        tx.commit()?;
        self.user_by_name(&name)?
            .ok_or(StoreError::NoSuchUser(name))
    }

    /// All accounts, by name.
    pub fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN authors a ON a.local_user = u.id ORDER BY u.name"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map([], user_from_row)?;
        rows.map(|r| to_user(r?)).collect()
    }

    /// The account of that name (any case), if any.
    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let Ok(name) = canonical_user(name) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN authors a ON a.local_user = u.id WHERE u.name = ?1"
        );
        let raw = self
            .conn()
            .query_row(&sql, [name], user_from_row)
            .optional()?;
        raw.map(to_user).transpose()
    }

    /// The account's stored password hash.
    pub fn password_hash(&self, user_id: i64) -> Result<String, StoreError> {
        Ok(self.conn().query_row(
            "SELECT password_hash FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )?)
    }

    /// The account's secret key, for signing its messages.
    pub fn user_key(&self, user_id: i64) -> Result<NodeKey, StoreError> {
        let raw: Vec<u8> = self.conn().query_row(
            "SELECT secret_key FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        NodeKey::from_bytes(&raw).map_err(|_| StoreError::Corrupt("secret key"))
    }

    /// Replaces a password hash and ends the account's sessions and its apps' tokens (a new
    /// password locks out whoever knew the old one, and whatever they authorised with it).
    pub fn set_password(
        &mut self,
        name: &str,
        password_hash: &str,
        must_change_password: bool,
    ) -> Result<(), StoreError> {
        let user = self
            .user_by_name(name)?
            .ok_or_else(|| StoreError::NoSuchUser(name.to_string()))?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE users SET password_hash = ?1, must_change_password = ?2 WHERE id = ?3",
            params![password_hash, must_change_password, user.id],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        tx.execute("DELETE FROM oauth_tokens WHERE user_id = ?1", [user.id])?;
        tx.commit()?;
        Ok(())
    }

    /// Removes an account, its sessions, timeline and follows; keeps its messages and reserves
    /// its name. Refuses to remove the last owner.
    pub fn remove_user(&mut self, name: &str) -> Result<(), StoreError> {
        let user = self
            .user_by_name(name)?
            .ok_or_else(|| StoreError::NoSuchUser(name.to_string()))?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if user.role == Role::Owner {
            let owners: i64 =
                tx.query_row("SELECT count(*) FROM users WHERE role = 'owner'", [], |r| {
                    r.get(0)
                })?;
            if owners <= 1 {
                return Err(StoreError::LastOwner(user.name));
            }
        }
        tx.execute("DELETE FROM users WHERE id = ?1", [user.id])?;
        tx.commit()?;
        Ok(())
    }

    /// Records a log-in session; drops the user's oldest beyond [`MAX_SESSIONS_PER_USER`] and
    /// any expired ones.
    pub fn create_session(
        &mut self,
        user_id: i64,
        token_hash: &[u8; 32],
        now_ms: u64,
        expires_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_ms <= ?1",
            [now_ms as i64],
        )?;
        tx.execute(
            "INSERT INTO sessions(token_hash, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![&token_hash[..], user_id, now_ms as i64, expires_ms as i64],
        )?;
        tx.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND token_hash NOT IN
               (SELECT token_hash FROM sessions WHERE user_id = ?1 ORDER BY created_ms DESC LIMIT ?2)",
            params![user_id, MAX_SESSIONS_PER_USER],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The user a live session belongs to.
    pub fn session_user(
        &self,
        token_hash: &[u8; 32],
        now_ms: u64,
    ) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
             JOIN authors a ON a.local_user = u.id WHERE s.token_hash = ?1 AND s.expires_ms > ?2"
        );
        let raw = self
            .conn()
            .query_row(&sql, params![&token_hash[..], now_ms as i64], user_from_row)
            .optional()?;
        raw.map(to_user).transpose()
    }

    /// Ends a session (log-out). Ending an unknown session is not an error.
    pub fn delete_session(&mut self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [&token_hash[..]],
        )?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
pub(crate) mod tests;
