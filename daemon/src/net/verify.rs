//! Subscribers that must prove their domain. Anyone can open a link with a fresh key and claim
//! any domain; a subscription from such an unverified link would make the outbox owe that
//! domain every post, retried for days. So it is answered (the author's key and public history
//! are public anyway) but kept only once this node has dialled the claimed domain through DNS
//! and met the same key as the link that subscribed. The key check is end to end, so a node
//! behind a hub (whose SRV names the hub, which carries the link to it) verifies the same way.
//!
//! Until then the subscription waits in a small set ([`PendingSubscribers`]): at most
//! [`MAX_PENDING_SERVERS`] servers, [`MAX_PENDING_AUTHORS`] authors each, for at most
//! [`VERIFY_WINDOW`]. A domain that does not exist or names no node, or whose node proves
//! another key, serves another domain or refuses the handshake, is dropped at once; an unreachable one is tried again every [`VERIFY_RETRY`].

use super::backfill::serve_range;
use super::link::Link;
use super::{Counters, Net, NetError};
use crate::discover::DiscoverError;
use crate::proto::link as wire;
use crate::proto::{Address, FrameType, PublicKey};
use crate::store::federation::Subscribing;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Servers whose subscriptions wait for verification at once: 32. Each costs a dial (a link
/// slot from the dialled reserve while it runs) and a few hundred bytes here.
pub const MAX_PENDING_SERVERS: usize = 32;
/// Authors one waiting server may subscribe to (a household's people).
pub const MAX_PENDING_AUTHORS: usize = 16;
/// How long a server that cannot be reached is tried before its subscriptions are dropped
/// (its node retries the subscription later with backoff).
pub const VERIFY_WINDOW: Duration = Duration::from_secs(300);
/// Pause between two dials of a server that could not be reached.
pub const VERIFY_RETRY: Duration = Duration::from_secs(30);

/// What a subscription waiting for verification needs later.
#[derive(Debug, Clone)]
struct Waiting {
    key: PublicKey,
    /// Each author and the newest seq the answer told.
    authors: Vec<(Address, u64)>,
}

/// The outcome of adding a subscription to the waiting set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// First for this server: the caller starts its verification.
    New,
    /// Joined a verification under way (or already waiting).
    Joined,
    /// Refused: the set is full, or another key waits for this server.
    Refused,
}

/// Subscriptions waiting for their server's verification (bounded, see the module doc).
#[derive(Debug, Default)]
pub struct PendingSubscribers {
    by_server: Mutex<HashMap<String, Waiting>>,
}

impl PendingSubscribers {
    /// Adds `author` for `server`, whose link proved `key`; `last_seq` is what the answer told.
    pub fn add(&self, server: &str, key: &PublicKey, author: &Address, last_seq: u64) -> Queued {
        let mut map = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = map.get_mut(server) {
            if &w.key != key {
                return Queued::Refused;
            }
            if w.authors.iter().any(|(a, _)| a == author) {
                return Queued::Joined;
            }
            if w.authors.len() >= MAX_PENDING_AUTHORS {
                return Queued::Refused;
            }
            w.authors.push((author.clone(), last_seq));
            return Queued::Joined;
        }
        if map.len() >= MAX_PENDING_SERVERS {
            return Queued::Refused;
        }
        let w = Waiting {
            key: *key,
            authors: vec![(author.clone(), last_seq)],
        };
        map.insert(server.to_string(), w);
        Queued::New
    }

    fn key(&self, server: &str) -> Option<PublicKey> {
        let map = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        map.get(server).map(|w| w.key)
    }

    fn take(&self, server: &str) -> Option<Waiting> {
        let mut map = self.by_server.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(server)
    }

    /// Servers waiting now.
    pub fn len(&self) -> usize {
        self.by_server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// True if none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A Subscribe on a link that did not prove its domain: answered, its public history served,
/// and the subscription kept only after [`verify`] (unless the waiting set is full).
pub async fn on_unverified_subscribe(
    net: &Arc<Net>,
    link: &Arc<Link>,
    sub: wire::Subscribe,
) -> Result<(), NetError> {
    let a = sub.author.clone();
    let Some((key, last_seq)) = net.pool.run(move |s| s.local_author(&a)).await? else {
        let none = wire::Subscribed {
            author: sub.author,
            key: Vec::new(),
            last_seq: 0,
        };
        return link.send(FrameType::Subscribed, wire::encode(&none)).await;
    };
    let server = link.peer_domain.as_str();
    let queued = if server == net.domain {
        Queued::Refused
    } else {
        net.pending_subscribers
            .add(server, &link.peer_key, &sub.author, last_seq)
    };
    if queued == Queued::Refused {
        // No answer: a real follower's node times out and tries again later.
        Counters::bump(&net.counters.subscribers_refused);
        tracing::info!(%server, author = %sub.author, "unverified subscription refused: too many wait for verification");
        return Ok(());
    }
    if queued == Queued::New {
        tokio::spawn(verifying(net.clone(), server.to_string()));
    }
    tracing::info!(%server, author = %sub.author, "subscription waits until the server's domain is verified");
    let yes = wire::Subscribed {
        author: sub.author.clone(),
        key: key.to_bytes().to_vec(),
        last_seq,
    };
    link.send(FrameType::Subscribed, wire::encode(&yes)).await?;
    let n = u64::from(sub.backfill).min(wire::MAX_BACKFILL);
    if n > 0 && last_seq > 0 {
        let from = last_seq.saturating_sub(n - 1).max(1);
        serve_range(net, link, &sub.author, from, last_seq).await?;
    }
    Ok(())
}

/// [`verify`] as a boxed future: a link's handler starts it, and it dials a link whose handler
/// may start another, so its type must be named rather than inferred.
fn verifying(
    net: Arc<Net>,
    server: String,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move { verify(&net, &server).await })
}

/// Dials `server` back and keeps its waiting subscriptions if its node proves the key the
/// subscribing link proved; drops them otherwise.
async fn verify(net: &Arc<Net>, server: &str) {
    let Some(key) = net.pending_subscribers.key(server) else {
        return;
    };
    let until = tokio::time::Instant::now() + VERIFY_WINDOW;
    let outcome = loop {
        match net.link_to(server).await {
            Ok(l) if l.peer_key == key => break Ok(l),
            Ok(l) => {
                break Err(format!(
                    "its node proves key {}, not the subscriber's",
                    l.peer_key.to_text()
                ))
            }
            Err(
                e @ (NetError::Discover(DiscoverError::NoSuchDomain(_))
                | NetError::Discover(DiscoverError::NoNode(_))
                | NetError::KeyMismatch { .. }
                | NetError::WrongDomain { .. }
                | NetError::Proto(_)),
            ) => break Err(e.to_string()),
            Err(e) if tokio::time::Instant::now() + VERIFY_RETRY < until => {
                tracing::debug!(%server, error = %e, "verifying a subscriber: will retry");
                tokio::time::sleep(VERIFY_RETRY).await;
            }
            Err(e) => break Err(e.to_string()),
        }
    };
    let Some(waiting) = net.pending_subscribers.take(server) else {
        return;
    };
    let link = match outcome {
        Ok(l) => l,
        Err(why) => {
            for (author, _) in &waiting.authors {
                Counters::bump(&net.counters.subscribers_refused);
                tracing::info!(%server, %author, %why, "subscription dropped: the server's domain is not verified");
            }
            return;
        }
    };
    for (author, answered) in waiting.authors {
        if let Err(e) = keep(net, &link, &author, answered).await {
            tracing::info!(%server, %author, error = %e, "keeping a verified subscription failed");
        }
    }
}

/// Keeps a verified subscription and sends what was posted since its answer told `answered`.
async fn keep(
    net: &Arc<Net>,
    link: &Arc<Link>,
    author: &Address,
    answered: u64,
) -> Result<(), NetError> {
    let (a, server, max) = (
        author.clone(),
        link.peer_domain.clone(),
        net.settings.max_subscribers,
    );
    let kept = net
        .pool
        .run(move |s| s.add_subscriber_within(&a, &server, crate::now_ms(), max))
        .await?;
    match kept {
        Subscribing::Kept(_, last) => {
            Counters::bump(&net.counters.subscribers_verified);
            tracing::info!(server = %link.peer_domain, %author, "subscriber added (domain verified)");
            if last > answered {
                serve_range(net, link, author, answered + 1, last).await?;
            }
        }
        Subscribing::Full => {
            Counters::bump(&net.counters.subscribers_refused);
            tracing::warn!(server = %link.peer_domain, %author, "subscription refused: subscriber cap reached");
        }
        Subscribing::NoSuchUser => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeKey;

    fn key(b: u8) -> PublicKey {
        NodeKey::from_bytes(&[b; 32]).unwrap().public()
    }

    #[test]
    fn the_waiting_set_is_bounded_and_keyed() {
        let p = PendingSubscribers::default();
        let alice = Address::parse("alice@a.test").unwrap();
        assert_eq!(p.add("x.test", &key(1), &alice, 3), Queued::New);
        assert_eq!(p.add("x.test", &key(1), &alice, 3), Queued::Joined);
        assert_eq!(
            p.add("x.test", &key(2), &alice, 3),
            Queued::Refused,
            "another key for a waiting server"
        );
        for i in 1..MAX_PENDING_AUTHORS {
            let a = Address::parse(&format!("u{i}@a.test")).unwrap();
            assert_eq!(p.add("x.test", &key(1), &a, 0), Queued::Joined);
        }
        let more = Address::parse("more@a.test").unwrap();
        assert_eq!(p.add("x.test", &key(1), &more, 0), Queued::Refused);
        for i in 1..MAX_PENDING_SERVERS {
            assert_eq!(
                p.add(&format!("s{i}.test"), &key(1), &alice, 0),
                Queued::New
            );
        }
        assert_eq!(p.add("full.test", &key(1), &alice, 0), Queued::Refused);
        assert_eq!(p.len(), MAX_PENDING_SERVERS);
        assert_eq!(p.take("x.test").unwrap().authors.len(), MAX_PENDING_AUTHORS);
        assert_eq!(p.add("full.test", &key(1), &alice, 0), Queued::New);
    }
}
