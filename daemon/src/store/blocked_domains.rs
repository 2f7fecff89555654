//! The owner's blocked domains, in memory: the network layer asks on every link handshake,
//! every received message and every firehose post, so it must not ask the database.
//!
//! The set mirrors the `domain_blocks` table ([`super::relations`]): loaded at start and
//! reloaded after each change, never holding more than [`super::relations::MAX_DOMAIN_BLOCKS`]
//! entries. A domain is blocked when it, or any domain it is a subdomain of, is in the set.

use super::relations::MAX_DOMAIN_BLOCKS;
use super::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

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
