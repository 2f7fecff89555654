//! Messages the stream delivered: decoded as [`SignedMessage`], and then by author:
//!
//! - someone here follows the author: verified with the author's key learned by following, and
//!   stored through the writer (`Receive` jobs, one commit per run). The stream is authentic as
//!   a whole, but only the author's own signature makes a message worth storing in timelines.
//! - nobody here follows the author (counted `unfollowed`): when `firehose.discover_keep` is
//!   above 0, public posts and replies go to the discover window ([`crate::store::discover`]),
//!   vouched for by the hub's stream signature only; a delete removes its target there. The
//!   whole run is one `Discover` writer job (insert, deletes, prune: one commit, queued before
//!   the run's `Receive` jobs are awaited, so they share it). When the author's key happens to
//!   be known here (an earlier follow), the signature is checked too and a bad one refused.
//!   Posts of a user of this node never go there (they are stored already).
//! - the author's domain is blocked by the owner: dropped (counted `refused`).
//!
//! A followed author's message never enters the window. When a user starts following an
//! author, the author's earlier discover rows stay until they age out; listings hide those also
//! stored as messages.
//!
//! A stored message that leaves a gap in its author's seqs (something the stream skipped and
//! could not fetch, or history not yet backfilled) makes the node ask the author's node for
//! the missing range over a link, as a link delivery with a gap does.

use super::FirehoseCounters;
use crate::net::Net;
use crate::proto::{Address, Body, MessageId, PublicKey, SignedMessage};
use crate::store::blocked_domains::BlockedDomains;
use crate::store::discover::{DiscoverBatch, DiscoverPost};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Delivered messages waiting to be stored; past this the stream's messages are dropped (and
/// counted refused) rather than held: about a second of a busy firehose.
pub const STORE_QUEUE: usize = 256;
/// Most messages checked and committed together.
pub const STORE_BATCH: usize = 64;

/// Starts the storing task; returns where to send delivered message bytes. `discover_keep`
/// is the size of the discover window (0: keep no unfollowed posts).
pub fn spawn(net: Arc<Net>, discover_keep: usize) -> mpsc::Sender<Vec<u8>> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(STORE_QUEUE);
    tokio::spawn(async move {
        // A window made smaller (or 0) since the last run shrinks now, not at the next post.
        let trim = DiscoverBatch {
            keep: discover_keep,
            ..Default::default()
        };
        if let Err(e) = net.writer.discover(trim).await {
            tracing::warn!(error = %e, "firehose: trimming the discover window failed");
        }
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < STORE_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            if let Err(e) = store(&net, batch, discover_keep).await {
                tracing::warn!(error = %e, "firehose: storing delivered messages failed");
            }
        }
    });
    tx
}

/// What the node makes of a delivered message's author.
enum Author {
    /// Someone here follows them: verify with this key (`None`: not learned yet) and store.
    Followed(Option<PublicKey>),
    /// Nobody here follows them: the discover window; the key when one happens to be known.
    Unfollowed(Option<PublicKey>),
    /// A user of this node (not followed here): its messages are stored already.
    Local,
    /// Of a domain the owner blocked: dropped.
    Blocked,
}

fn classify(
    s: &mut Store,
    authors: Vec<Address>,
    domain: &str,
    discover: bool,
    blocked: &BlockedDomains,
) -> Result<HashMap<Address, Author>, StoreError> {
    let mut out = HashMap::new();
    for a in authors {
        let kind = if blocked.matches(a.domain()) {
            Author::Blocked
        } else if s.is_followed(&a)? {
            Author::Followed(s.author_key(&a)?)
        } else if a.domain() == domain {
            Author::Local
        } else if discover {
            Author::Unfollowed(s.author_key(&a)?)
        } else {
            Author::Unfollowed(None)
        };
        out.insert(a, kind);
    }
    Ok(out)
}

async fn store(net: &Arc<Net>, batch: Vec<Vec<u8>>, keep: usize) -> Result<(), StoreError> {
    let c = &net.firehose;
    let mut decoded = Vec::with_capacity(batch.len());
    for bytes in batch {
        match SignedMessage::decode(&bytes, &net.limits()) {
            Ok(m) => decoded.push(m),
            Err(e) => {
                FirehoseCounters::bump(&c.refused);
                tracing::debug!(error = %e, "firehose: malformed message");
            }
        }
    }
    let mut authors: Vec<Address> = decoded.iter().map(|m| m.message.author.clone()).collect();
    authors.sort();
    authors.dedup();
    let domain = net.domain.clone();
    let n = net.clone();
    let kinds = net
        .pool
        .run(move |s| classify(s, authors, &domain, keep > 0, &n.blocked_domains))
        .await?;
    let mut pending = Vec::new();
    let mut discover = DiscoverBatch {
        keep,
        ..Default::default()
    };
    for m in decoded {
        match kinds.get(&m.message.author) {
            Some(Author::Followed(Some(k))) if m.verify(k).is_ok() => {
                let (author, seq) = (m.message.author.clone(), m.message.seq);
                pending.push((author, seq, net.writer.queue_receive(m).await?));
            }
            Some(Author::Followed(Some(_))) => {
                FirehoseCounters::bump(&c.refused);
                tracing::info!(author = %m.message.author, "firehose: bad author signature");
            }
            Some(Author::Followed(None)) => FirehoseCounters::bump(&c.refused), // key not known yet
            Some(Author::Unfollowed(Some(k))) if m.verify(k).is_err() => {
                FirehoseCounters::bump(&c.refused);
                tracing::info!(author = %m.message.author, "firehose: bad author signature");
            }
            Some(Author::Unfollowed(key)) => {
                FirehoseCounters::bump(&c.unfollowed);
                if keep > 0 {
                    to_discover(&mut discover, &m, key.is_some());
                }
            }
            Some(Author::Local) | None => FirehoseCounters::bump(&c.unfollowed),
            Some(Author::Blocked) => FirehoseCounters::bump(&c.refused),
        }
    }
    let discovered = if discover.posts.is_empty() && discover.deletes.is_empty() {
        None
    } else {
        Some(net.writer.queue_discover(discover).await?)
    };
    let mut gaps: HashMap<Address, (u64, u64)> = HashMap::new();
    for (author, seq, rx) in pending {
        let r = rx.await.map_err(|_| StoreError::ShuttingDown)??;
        if r.fresh {
            FirehoseCounters::bump(&c.stored);
        }
        if r.contiguous + 1 < seq {
            let g = gaps.entry(author).or_insert((r.contiguous + 1, seq - 1));
            *g = (g.0.min(r.contiguous + 1), g.1.max(seq - 1));
        }
    }
    for (author, (from, to)) in gaps {
        ask_backfill(net.clone(), author, from, to);
    }
    if let Some(rx) = discovered {
        let fresh = rx.await.map_err(|_| StoreError::ShuttingDown)??;
        FirehoseCounters::add(&c.discovered, fresh);
    }
    Ok(())
}

/// Adds an unfollowed author's message to the discover batch: a public post or reply, or a
/// delete of one; anything else is not kept.
fn to_discover(batch: &mut DiscoverBatch, m: &SignedMessage, verified: bool) {
    if let Body::Delete { target } = m.message.body {
        batch.deletes.push(MessageId {
            author: m.message.author.clone(),
            seq: target,
        });
    } else if let Some(p) = DiscoverPost::from_signed(m, verified) {
        batch.posts.push(p);
    }
}

/// Asks `author`'s node for `from..=to` over a link, in the background (dialling may take a
/// while; the link dedups repeated asks).
fn ask_backfill(net: Arc<Net>, author: Address, from: u64, to: u64) {
    tokio::spawn(async move {
        let asked = match net.link_to(author.domain()).await {
            Ok(link) => crate::net::inbound::ask_backfill(&net, &link, &author, from, to).await,
            Err(e) => Err(e),
        };
        if let Err(e) = asked {
            tracing::info!(%author, from, to, error = %e, "firehose: gap backfill not asked");
        }
    });
}
