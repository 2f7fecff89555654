//! Messages the stream delivered: decoded as [`SignedMessage`], kept only for authors someone
//! here follows, verified with the author's key learned by following, and stored through the
//! writer (`Receive` jobs, one commit per run). The stream is authentic as a whole, but only
//! the author's own signature makes a message worth storing.
//!
//! A stored message that leaves a gap in its author's seqs (something the stream skipped and
//! could not fetch, or history not yet backfilled) makes the node ask the author's node for
//! the missing range over a link, as a link delivery with a gap does.

use super::FirehoseCounters;
use crate::net::Net;
use crate::proto::{Address, PublicKey, SignedMessage};
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Delivered messages waiting to be stored; past this the stream's messages are dropped (and
/// counted refused) rather than held: about a second of a busy firehose.
pub const STORE_QUEUE: usize = 256;
/// Most messages checked and committed together.
pub const STORE_BATCH: usize = 64;

/// Starts the storing task; returns where to send delivered message bytes.
pub fn spawn(net: Arc<Net>, _discover_keep: usize) -> mpsc::Sender<Vec<u8>> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(STORE_QUEUE);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < STORE_BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            if let Err(e) = store(&net, batch).await {
                tracing::warn!(error = %e, "firehose: storing delivered messages failed");
            }
        }
    });
    tx
}

async fn store(net: &Arc<Net>, batch: Vec<Vec<u8>>) -> Result<(), StoreError> {
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
    let keys = net
        .pool
        .run(
            move |s| -> Result<HashMap<Address, Option<PublicKey>>, StoreError> {
                let mut out = HashMap::new();
                for a in authors {
                    if s.is_followed(&a)? {
                        let k = s.author_key(&a)?;
                        out.insert(a, k);
                    }
                }
                Ok(out)
            },
        )
        .await?;
    let mut pending = Vec::new();
    for m in decoded {
        match keys.get(&m.message.author) {
            Some(Some(k)) if m.verify(k).is_ok() => {
                let (author, seq) = (m.message.author.clone(), m.message.seq);
                pending.push((author, seq, net.writer.queue_receive(m).await?));
            }
            Some(Some(_)) => {
                FirehoseCounters::bump(&c.refused);
                tracing::info!(author = %m.message.author, "firehose: bad author signature");
            }
            Some(None) => FirehoseCounters::bump(&c.refused), // followed, key not known yet
            None => FirehoseCounters::bump(&c.unfollowed),
        }
    }
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
    Ok(())
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
