//! Backfills served a page at a time: a Subscribe's recent history and a Backfill's gap are
//! read [`BACKFILL_PAGE_BYTES`] at a time and queued on the link, whose byte-bounded queue
//! ([`super::link::SEND_QUEUE_BYTES`]) makes the next page wait for the peer to read. So a
//! backfill costs a link at most one page and one queue, whatever its length, and a peer that
//! does not read is dropped after [`super::link::SEND_TIMEOUT`] instead of holding it.
//!
//! For a subscribed server, what the outbox still owes it is made due now and left to the
//! outbox, unless its delivery is in flight on this link: the peer saw a later seq on this
//! ordered link, so that delivery was lost, and the backfill's copy answers its ack (see
//! [`crate::store::federation::guarded`]). No message goes out by both paths.

use super::link::Link;
use super::{Counters, Net, NetError};
use crate::proto::link::MAX_BACKFILL;
use crate::proto::{Address, FrameType};
use std::sync::Arc;

/// Bytes of messages read from the store at once for one backfill: 16 KiB, a few dozen
/// typical posts, or one long post (a page holds at least one message).
pub const BACKFILL_PAGE_BYTES: usize = 16 * 1024;

/// Sends `author`'s messages `from..=to` (at most [`MAX_BACKFILL`] seqs) to `link`'s node,
/// page by page; followers-only ones only to a verified server with an accepted follower.
pub async fn serve_range(
    net: &Arc<Net>,
    link: &Arc<Link>,
    author: &Address,
    from: u64,
    to: u64,
) -> Result<(), NetError> {
    let to = to.min(from.saturating_add(MAX_BACKFILL - 1));
    let server = link.peer_domain.clone();
    // Followers-only messages go only to a verified server with an accepted follower (the
    // others hear afterwards that they were withheld).
    let (subscribed, followers_too) = if link.verified {
        let (a, s) = (author.clone(), server.clone());
        net.pool
            .run(move |st| {
                Ok((
                    st.is_subscriber(&a, &s)?,
                    st.may_read_followers_only(&a, &s)?,
                ))
            })
            .await?
    } else {
        (false, false)
    };
    let owed_to = subscribed.then_some(server);
    if let Some(s) = &owed_to {
        // what the outbox owes goes out from it, now
        net.kick_outbox(s);
    }
    let mut next = Some(from);
    while let Some(from) = next {
        let (a, o) = (author.clone(), owed_to.clone());
        let page = net
            .pool
            .run(move |st| {
                st.backfill_page(
                    &a,
                    o.as_deref(),
                    from,
                    to,
                    BACKFILL_PAGE_BYTES,
                    followers_too,
                )
            })
            .await?;
        for m in page.messages {
            if m.owed && !link.awaits_ack(author.as_str(), m.seq) {
                continue; // the outbox sends it
            }
            Counters::bump(&net.counters.backfill_served);
            link.send(FrameType::Message, m.wire).await?;
        }
        next = page.next;
    }
    super::follow::after_range(link, author, from, to, followers_too).await
}
