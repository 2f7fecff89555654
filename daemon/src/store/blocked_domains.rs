//! The owner's blocked domains: the `domain_blocks` table and what blocking changes (see
//! [`super::relations`] for what is hidden), and the same set in memory, [`BlockedDomains`]:
//! the network layer asks on every link handshake, every received message and every firehose
//! post, so it must not ask the database.
//!
//! The set mirrors the table: loaded at start and reloaded after each change, never holding
//! more than [`MAX_DOMAIN_BLOCKS`] entries. A domain is blocked when it, or any domain it is a
//! subdomain of, is in the set.

use super::{Store, StoreError};
use crate::proto::address::canonical_domain;
use rusqlite::params;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

/// Domains the owner may block: the in-memory set at this bound is ~250 KB of a router's RAM
/// at the longest domains, and a few tens of KB for real ones.
pub const MAX_DOMAIN_BLOCKS: usize = 4096;

/// SQL: the domain `d` (an expression) is the blocked domain `b` or one of its subdomains.
fn within(d: &str, b: &str) -> String {
    format!("({d} = {b} OR substr({d}, -length({b}) - 1) = '.' || {b})")
}

/// SQL: the domain of the address expression `a`.
fn domain_of(a: &str) -> String {
    format!("substr({a}, instr({a}, '@') + 1)")
}

/// A blocked domain, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainBlockView {
    /// The domain (IDNA ASCII); its subdomains are blocked too.
    pub domain: String,
    /// When (unix ms).
    pub created_ms: u64,
}

impl Store {
    /// The owner blocks `domain` (canonicalised; an error if it is not a host name, or is
    /// this node's own). False if it was blocked already. See the module doc for what goes.
    pub fn block_domain(&mut self, domain: &str, now_ms: u64) -> Result<bool, StoreError> {
        let domain = canonical_domain(domain)?;
        let own = self.node_info()?.domain;
        if own == domain || own.ends_with(&format!(".{domain}")) {
            return Err(StoreError::BadDomainBlock(format!(
                "{domain} is this node's own domain"
            )));
        }
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n: i64 = tx.query_row("SELECT count(*) FROM domain_blocks", [], |r| r.get(0))?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO domain_blocks(domain, created_ms) VALUES (?1, ?2)",
            params![domain, now_ms as i64],
        )? > 0;
        if !added {
            return Ok(false);
        }
        if n as usize >= MAX_DOMAIN_BLOCKS {
            return Err(StoreError::Full {
                what: "blocked domains",
                max: MAX_DOMAIN_BLOCKS as i64,
            });
        }
        let addr_in = within(&domain_of("address"), "?1");
        tx.execute(
            &format!(
                "UPDATE authors SET domain_blocked = 1 WHERE local_user IS NULL AND {addr_in}"
            ),
            [&domain],
        )?;
        for sql in [
            format!("DELETE FROM follows WHERE {addr_in}"),
            format!(
                "DELETE FROM subscriptions WHERE {}",
                within(&domain_of("author"), "?1")
            ),
            format!(
                "DELETE FROM streamed WHERE {}",
                within(&domain_of("author"), "?1")
            ),
            format!(
                "DELETE FROM discover WHERE {}",
                within(&domain_of("author"), "?1")
            ),
            format!("DELETE FROM outbox WHERE {}", within("server", "?1")),
            format!("DELETE FROM subscribers WHERE {}", within("server", "?1")),
        ] {
            tx.execute(&sql, [&domain])?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// The owner unblocks `domain`; false if it was not blocked. Its authors' stored posts
    /// show again unless another blocked domain covers them; nothing deleted comes back.
    pub fn unblock_domain(&mut self, domain: &str) -> Result<bool, StoreError> {
        let domain = canonical_domain(domain)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if tx.execute("DELETE FROM domain_blocks WHERE domain = ?1", [&domain])? == 0 {
            return Ok(false);
        }
        let d = domain_of("address");
        tx.execute(
            &format!(
                "UPDATE authors SET domain_blocked = EXISTS(SELECT 1 FROM domain_blocks b WHERE {})
                 WHERE domain_blocked = 1 AND {}",
                within(&d, "b.domain"),
                within(&d, "?1")
            ),
            [&domain],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The blocked domains, alphabetically (at most [`MAX_DOMAIN_BLOCKS`]).
    pub fn domain_blocks(&self) -> Result<Vec<DomainBlockView>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT domain, created_ms FROM domain_blocks ORDER BY domain LIMIT ?1")?;
        let rows = stmt.query_map([MAX_DOMAIN_BLOCKS as i64], |r| {
            Ok(DomainBlockView {
                domain: r.get(0)?,
                created_ms: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The blocked domains; shared by the network and web sides.
#[derive(Debug, Default)]
pub struct BlockedDomains {
    set: RwLock<HashSet<String>>,
    /// Fast path: no lock taken while nothing is blocked (the usual case).
    any: AtomicBool,
}

impl BlockedDomains {
    /// Replaces the set with what the store holds.
    pub fn reload(&self, store: &Store) -> Result<(), StoreError> {
        let domains: HashSet<String> = store
            .domain_blocks()?
            .into_iter()
            .take(MAX_DOMAIN_BLOCKS)
            .map(|b| b.domain)
            .collect();
        let any = !domains.is_empty();
        *self.set.write().unwrap_or_else(|p| p.into_inner()) = domains;
        self.any.store(any, Ordering::Relaxed);
        Ok(())
    }

    /// True if `domain` (lower case, as addresses and link peers carry it) or a parent domain
    /// of it is blocked.
    pub fn matches(&self, domain: &str) -> bool {
        if !self.any.load(Ordering::Relaxed) {
            return false;
        }
        let set = self.set.read().unwrap_or_else(|p| p.into_inner());
        let mut rest = domain;
        loop {
            if set.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }

    /// Number of blocked domains.
    pub fn len(&self) -> usize {
        self.set.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is blocked.
    pub fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Relaxed)
    }
}
