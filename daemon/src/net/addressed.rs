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
/// Authors of one domain whose keys are asked for per [`KEY_QUERY_INTERVAL_MS`]: a domain
/// that invents authors cannot fill the table of [`KeyQueries`].
pub const MAX_KEY_QUERIES_PER_DOMAIN: usize = 16;
/// Authors whose keys were asked for, remembered at once (about 64 bytes each).
pub const MAX_KEY_QUERIES: usize = 1024;
/// Shortest time between two queries of one author's key.
pub const KEY_QUERY_INTERVAL_MS: u64 = super::refresh::KEY_REFRESH_INTERVAL_MS;

/// When each unfollowed author's key was last asked for: at most once per author per
/// interval, and at most [`MAX_KEY_QUERIES_PER_DOMAIN`] authors of a domain. Apart from the
/// key refreshes of followed authors, so strangers cannot hold those up.
#[derive(Debug, Default)]
pub struct KeyQueries {
    last: HashMap<String, u64>,
}

impl KeyQueries {
    /// True if `author`'s key may be asked for now (and notes it).
    pub fn try_start(&mut self, author: &Address, now_ms: u64) -> bool {
        let recent = |t: &u64| now_ms.saturating_sub(*t) < KEY_QUERY_INTERVAL_MS;
        self.last.retain(|_, t| recent(t));
        if self.last.contains_key(author.as_str()) || self.last.len() >= MAX_KEY_QUERIES {
            return false;
        }
        let suffix = format!("@{}", author.domain());
        if self.last.keys().filter(|k| k.ends_with(&suffix)).count() >= MAX_KEY_QUERIES_PER_DOMAIN {
            return false;
        }
        self.last.insert(author.to_string(), now_ms);
        true
    }
}

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

/// Asks `author`'s node for the author's key (see [`KeyQueries`]), in the background; the
/// outbox there retries the message, which then verifies. Only for a message that came from
/// a link of the author's own domain: the author's node delivers what it addresses itself.
pub fn ask_key_later(net: &Arc<Net>, link: &Link, author: &Address) {
    if link.peer_domain != author.domain() {
        return;
    }
    let due = net
        .key_queries
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .try_start(author, crate::now_ms());
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
            key: key
                .as_ref()
                .map(|(k, _)| k.to_bytes().to_vec())
                .unwrap_or_default(),
            last_seq: key.map_or(0, |(_, seq)| seq),
        };
        return link.send(FrameType::AuthorKey, wire::encode(&answer)).await;
    }
    let k: AuthorKey = wire::decode("author key", &f.payload)?;
    if !link.verified || k.author.domain() != link.peer_domain || k.key.is_empty() {
        return Ok(());
    }
    let key = PublicKey::from_bytes(&k.key)?;
    let a = k.author.clone();
    net.pool.run(move |s| s.learn_author_key(&a, &key)).await?;
    // a profile preview waits for this answer: ask for the author's recent posts
    let range = net
        .previews
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .wants_range(&k.author, k.last_seq);
    if let Some((from, to)) = range {
        let b = wire::Backfill {
            author: k.author,
            from,
            to,
        };
        link.send(FrameType::Backfill, wire::encode(&b)).await?;
    }
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
    fn key_queries_are_once_per_author_and_bounded_per_domain() {
        let mut q = KeyQueries::default();
        assert!(q.try_start(&a("x@b.test"), 0));
        assert!(!q.try_start(&a("x@b.test"), 1), "once per interval");
        for i in 1..MAX_KEY_QUERIES_PER_DOMAIN {
            assert!(q.try_start(&a(&format!("u{i}@spam.test")), 2));
        }
        assert!(q.try_start(&a("u0@spam.test"), 2));
        assert!(
            !q.try_start(&a("one-more@spam.test"), 3),
            "the domain's share is used"
        );
        assert!(q.try_start(&a("y@b.test"), 3), "other domains still ask");
        assert!(
            q.try_start(&a("x@b.test"), KEY_QUERY_INTERVAL_MS),
            "a new interval"
        );
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
