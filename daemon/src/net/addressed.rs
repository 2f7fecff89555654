//! Messages addressed to this node by authors nobody here follows: mentions of local people,
//! replies to, reposts and likes of their posts (see `proto::conversation`). This is the spam
//! path, so each author and each domain has a budget per hour ([`AddressedBudget`], sans-IO),
//! and the author's key is asked for at most once per author per
//! [`super::refresh::KEY_REFRESH_INTERVAL`], over a link this node dialled to the author's
//! domain (so the answer is from that domain).

use super::link::Link;
use super::{Net, NetError};
use crate::proto::conversation::{AuthorKey, AuthorKeyQuery};
use crate::proto::frame::OwnedFrame;
use crate::proto::link as wire;
use crate::proto::{Address, FrameType, PublicKey};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Messages one author nobody here follows may address to this node per hour: a lively
/// conversation fits, a flood does not.
pub const MAX_PER_AUTHOR_PER_HOUR: u32 = 30;
/// Messages from one domain's authors nobody here follows, per hour (a wildcard domain
/// inventing authors stops here).
pub const MAX_PER_DOMAIN_PER_HOUR: u32 = 120;
/// Authors and domains counted at once (about 80 bytes each, so 160 KiB at most); when full,
/// old windows are forgotten, and if none is old, new senders wait for the next hour.
pub const MAX_TRACKED: usize = 2048;
/// The window of the budgets.
pub const WINDOW_MS: u64 = 60 * 60 * 1000;
/// Longest wait for the author's node when asking for a key.
pub const KEY_QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Hourly budgets of authors and domains (keys: an address, or a domain).
#[derive(Debug, Default)]
pub struct AddressedBudget {
    used: HashMap<String, (u64, u32)>,
}

impl AddressedBudget {
    /// Takes one message of `author` from its author's and its domain's budgets, if both
    /// have room at `now_ms`; takes nothing otherwise.
    pub fn try_take(&mut self, author: &Address, now_ms: u64) -> bool {
        let keys = [
            (author.as_str(), MAX_PER_AUTHOR_PER_HOUR),
            (author.domain(), MAX_PER_DOMAIN_PER_HOUR),
        ];
        let fresh = |t: &(u64, u32)| now_ms.saturating_sub(t.0) < WINDOW_MS;
        if self.used.len() + 2 > MAX_TRACKED {
            self.used.retain(|_, t| fresh(t));
        }
        for (k, max) in keys {
            match self.used.get(k) {
                Some(t) if fresh(t) && t.1 >= max => return false,
                None if self.used.len() >= MAX_TRACKED => return false,
                _ => {}
            }
        }
        for (k, _) in keys {
            let e = self.used.entry(k.to_string()).or_insert((now_ms, 0));
            if !fresh(e) {
                *e = (now_ms, 0);
            }
            e.1 += 1;
        }
        true
    }
}

/// Asks `author`'s node for the author's key (once per author per refresh interval), in
/// the background; the outbox there retries the message, which then verifies.
pub fn ask_key_later(net: &Arc<Net>, author: &Address) {
    let due = net
        .key_refresh
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .try_start(author.as_str(), crate::now_ms());
    if !due {
        return;
    }
    let (n, a) = (net.clone(), author.clone());
    tokio::spawn(async move {
        let asked = tokio::time::timeout(KEY_QUERY_TIMEOUT, async {
            let link = n.link_to(a.domain()).await?;
            if link.version < 3 {
                return Ok(());
            }
            let q = AuthorKeyQuery { author: a.clone() };
            link.send(FrameType::AuthorKeyQuery, wire::encode(&q)).await
        })
        .await;
        if !matches!(asked, Ok(Ok(()))) {
            tracing::debug!(author = %a, "could not ask for the author's key");
        }
    });
}

/// Handles AuthorKeyQuery (answered for local authors) and AuthorKey (kept from a link that
/// proved the author's domain).
pub async fn handle(net: &Arc<Net>, link: &Arc<Link>, f: OwnedFrame) -> Result<(), NetError> {
    if f.kind == FrameType::AuthorKeyQuery {
        let q: AuthorKeyQuery = wire::decode("author key query", &f.payload)?;
        let a = q.author.clone();
        let key = net.pool.run(move |s| s.local_author(&a)).await?;
        let answer = AuthorKey {
            author: q.author,
            key: key.map(|(k, _)| k.to_bytes().to_vec()).unwrap_or_default(),
        };
        return link.send(FrameType::AuthorKey, wire::encode(&answer)).await;
    }
    let k: AuthorKey = wire::decode("author key", &f.payload)?;
    if !link.verified || k.author.domain() != link.peer_domain || k.key.is_empty() {
        return Ok(());
    }
    let key = PublicKey::from_bytes(&k.key)?;
    let a = k.author;
    net.pool.run(move |s| s.learn_author_key(&a, &key)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn an_author_gets_its_hourly_budget_then_nothing_until_the_next_hour() {
        let mut b = AddressedBudget::default();
        for _ in 0..MAX_PER_AUTHOR_PER_HOUR {
            assert!(b.try_take(&a("x@spam.test"), 0));
        }
        assert!(!b.try_take(&a("x@spam.test"), 1));
        assert!(
            b.try_take(&a("y@spam.test"), 1),
            "another author of the domain"
        );
        assert!(b.try_take(&a("x@spam.test"), WINDOW_MS), "a new hour");
    }

    #[test]
    fn a_domain_inventing_authors_is_bounded() {
        let mut b = AddressedBudget::default();
        let taken = (0..1000)
            .filter(|i| b.try_take(&a(&format!("u{i}@spam.test")), 0))
            .count();
        assert_eq!(taken, MAX_PER_DOMAIN_PER_HOUR as usize);
        assert!(b.try_take(&a("u@other.test"), 0), "other domains are apart");
    }

    #[test]
    fn the_table_is_bounded() {
        let mut b = AddressedBudget::default();
        for i in 0..MAX_TRACKED {
            b.try_take(&a(&format!("u@d{i}.test")), 0);
        }
        assert!(b.used.len() <= MAX_TRACKED);
        assert!(!b.try_take(&a("late@late.test"), 1), "full of this hour's");
        assert!(
            b.try_take(&a("late@late.test"), WINDOW_MS),
            "old windows go"
        );
        assert!(b.used.len() <= MAX_TRACKED);
    }
}
