//! What a node does with each frame after the handshake. Frames of one link are handled in
//! order, so a Subscribed answer is stored before the backfilled messages behind it.

use super::backfill::serve_range;
use super::link::Link;
use super::{Counters, Net, NetError};
use crate::proto::frame::OwnedFrame;
use crate::proto::link::{self as wire, AckStatus, MAX_BACKFILL};
use crate::proto::{Address, FrameType, ProtoError, PublicKey, SignedMessage};
use crate::store::federation::Subscribing;
use crate::store::StoreError;
use std::collections::HashMap;
use std::sync::Arc;

/// Handles frames in order; consecutive Message frames go through [`on_messages`] together.
pub async fn handle_all(
    net: &Arc<Net>,
    link: &Arc<Link>,
    frames: Vec<OwnedFrame>,
) -> Result<(), NetError> {
    if net.blocked_domains.matches(&link.peer_domain) {
        // blocked while the link was open: close it
        return Err(NetError::DomainBlocked(link.peer_domain.clone()));
    }
    let mut run: Vec<Vec<u8>> = Vec::new();
    for f in frames {
        if f.kind == FrameType::Message {
            run.push(f.payload);
            continue;
        }
        if !run.is_empty() {
            on_messages(net, link, std::mem::take(&mut run)).await?;
        }
        handle(net, link, f).await?;
    }
    if !run.is_empty() {
        on_messages(net, link, run).await?;
    }
    Ok(())
}

/// Handles one frame; an error closes the link.
pub async fn handle(net: &Arc<Net>, link: &Arc<Link>, f: OwnedFrame) -> Result<(), NetError> {
    match f.kind {
        FrameType::Ping => link.send(FrameType::Pong, Vec::new()).await,
        FrameType::Pong => Ok(()),
        FrameType::Message => on_messages(net, link, vec![f.payload]).await,
        FrameType::Ack => {
            link.ack_arrived(&wire::AckView::decode(&f.payload)?);
            Ok(())
        }
        FrameType::Subscribe => {
            on_subscribe(net, link, wire::decode("subscribe", &f.payload)?).await
        }
        FrameType::Subscribed => {
            on_subscribed(net, link, wire::decode("subscribed", &f.payload)?).await
        }
        FrameType::Unsubscribe => {
            let u: wire::Unsubscribe = wire::decode("unsubscribe", &f.payload)?;
            if link.verified {
                let server = link.peer_domain.clone();
                net.pool
                    .run(move |s| s.remove_subscriber(&u.author, &server))
                    .await?;
            }
            Ok(())
        }
        FrameType::Backfill => on_backfill(net, link, wire::decode("backfill", &f.payload)?).await,
        FrameType::Close => {
            let c: wire::Close =
                wire::decode("close", &f.payload).unwrap_or(wire::Close { reason: "?".into() });
            tracing::info!(reason = %c.reason, "peer closed the link");
            Err(NetError::LinkLost(link.peer_domain.clone()))
        }
        FrameType::FollowRequest
        | FrameType::FollowAnswer
        | FrameType::FollowUndo
        | FrameType::Withheld => super::follow::handle(net, link, f).await,
        FrameType::AuthorKeyQuery | FrameType::AuthorKey => {
            super::addressed::handle(net, link, f).await
        }
        FrameType::MediaGet | FrameType::MediaPart | FrameType::MediaMissing => {
            super::media::handle(net, link, f).await
        }
        FrameType::Hello | FrameType::Auth => Err(NetError::Proto(ProtoError::Malformed {
            what: "link",
            why: "handshake frame after the handshake".into(),
        })),
        FrameType::StreamOpen
        | FrameType::StreamData
        | FrameType::StreamRepair
        | FrameType::StreamNack
        | FrameType::StreamFetch
        | FrameType::StreamFetched
        | FrameType::TunnelOpen
        | FrameType::TunnelData
        | FrameType::TunnelClose => Err(NetError::Proto(ProtoError::Malformed {
            what: "link",
            why: "firehose frame on a node link (relay sessions use their own port)".into(),
        })),
    }
}

/// What the checks before storing came to, per author.
enum Checked {
    /// The author's domain is blocked here.
    Blocked,
    /// Nobody here follows the author: only messages addressed here are kept.
    Unfollowed(Option<PublicKey>),
    UnknownKey,
    Key(PublicKey),
}

/// Received messages, in link order: decoded, checked (followed? key known?) in one database
/// call, verified off the network thread ([`super::sigcheck`]), queued to the writer together
/// (one commit), then acknowledged in order.
async fn on_messages(
    net: &Arc<Net>,
    link: &Arc<Link>,
    payloads: Vec<Vec<u8>>,
) -> Result<(), NetError> {
    let mut decoded = Vec::with_capacity(payloads.len());
    for p in payloads {
        Counters::bump(&net.counters.messages_received);
        match SignedMessage::decode(&p, &net.limits()) {
            Ok(m) => decoded.push(m),
            Err(e) => {
                Counters::bump(&net.counters.malformed);
                tracing::info!(error = %e, "refused a malformed message");
            }
        }
    }
    if decoded.is_empty() {
        return Ok(());
    }
    let mut authors: Vec<Address> = decoded.iter().map(|m| m.message.author.clone()).collect();
    authors.sort();
    authors.dedup();
    let n = net.clone();
    let checks = net
        .pool
        .run(move |s| -> Result<_, StoreError> {
            let blocked = &n.blocked_domains;
            let mut out = HashMap::new();
            for a in authors {
                let c = if blocked.matches(a.domain()) {
                    Checked::Blocked
                } else if !s.is_followed(&a)? {
                    Checked::Unfollowed(s.author_key(&a)?)
                } else {
                    s.author_key(&a)?.map_or(Checked::UnknownKey, Checked::Key)
                };
                out.insert(a, c);
            }
            Ok(out)
        })
        .await?;
    // which messages of unfollowed authors are addressed to people here
    let of_unfollowed: Vec<(usize, crate::proto::Message)> = decoded
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(checks.get(&m.message.author), Some(Checked::Unfollowed(_))))
        .map(|(i, m)| (i, m.message.clone()))
        .collect();
    let wanted: Vec<usize> = if of_unfollowed.is_empty() {
        Vec::new()
    } else {
        net.pool
            .run(move |s| -> Result<Vec<usize>, StoreError> {
                // in link order: a delete or edit of a message wanted earlier in this run
                // (an unlike right behind its like) is wanted too
                let mut out = Vec::new();
                let mut kept: Vec<(Address, u64)> = Vec::new();
                for (i, m) in of_unfollowed {
                    let of_kept = match &m.body {
                        crate::proto::Body::Delete { target }
                        | crate::proto::Body::Edit { target, .. } => {
                            kept.iter().any(|(a, s)| *a == m.author && s == target)
                        }
                        _ => false,
                    };
                    if of_kept || s.addressed_here(&m)? {
                        kept.push((m.author.clone(), m.seq));
                        out.push(i);
                    }
                }
                Ok(out)
            })
            .await?
    };
    // the rest of them may be what a profile preview asked for
    let mut previewed: Vec<usize> = Vec::new();
    {
        let mut previews = net.previews.lock().unwrap_or_else(|p| p.into_inner());
        let now = crate::now_ms();
        for (i, m) in decoded.iter().enumerate() {
            let unfollowed = matches!(checks.get(&m.message.author), Some(Checked::Unfollowed(_)));
            if unfollowed
                && !wanted.contains(&i)
                && m.message.audience == crate::proto::Audience::Public
                && previews.take(&m.message.author, now)
            {
                previewed.push(i);
            }
        }
    }
    // the signatures to check: of every message the checks below would let through to it
    let items: Vec<(SignedMessage, Option<PublicKey>)> = decoded
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let key = match checks.get(&m.message.author) {
                Some(Checked::Key(k)) => Some(*k),
                Some(Checked::Unfollowed(Some(k)))
                    if wanted.contains(&i) || previewed.contains(&i) =>
                {
                    Some(*k)
                }
                _ => None,
            };
            (m, key)
        })
        .collect();
    let n = items.len();
    let checked = net
        .sigcheck
        .check(items)
        .await
        .filter(|c| c.len() == n)
        .ok_or(StoreError::ShuttingDown)?;
    let mut pending = Vec::with_capacity(n);
    for (i, (m, signed)) in checked.into_iter().enumerate() {
        let (author, seq) = (m.message.author.clone(), m.message.seq);
        let followed = !matches!(checks.get(&author), Some(Checked::Unfollowed(_)));
        let state = match checks.get(&author) {
            Some(Checked::Blocked) => {
                Counters::bump(&net.counters.unsolicited);
                Pending::Done(AckStatus::Unwanted)
            }
            Some(Checked::Unfollowed(_)) if !wanted.contains(&i) && !previewed.contains(&i) => {
                Counters::bump(&net.counters.unsolicited);
                Pending::Done(AckStatus::Unwanted)
            }
            Some(Checked::Unfollowed(None)) => {
                super::addressed::ask_key_later(net, link, &author);
                Pending::Done(AckStatus::Refused)
            }
            Some(Checked::UnknownKey) | None => {
                Counters::bump(&net.counters.unsolicited);
                Pending::Done(AckStatus::Refused)
            }
            Some(Checked::Key(_) | Checked::Unfollowed(Some(_))) if signed != Some(true) => {
                Counters::bump(&net.counters.bad_signatures);
                Pending::Done(AckStatus::Refused)
            }
            Some(Checked::Unfollowed(Some(_)))
                if !previewed.contains(&i)
                    && !net
                        .addressed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .try_take(&author, crate::now_ms()) =>
            {
                Counters::bump(&net.counters.unsolicited);
                tracing::info!(%author, "over the budget of messages from people nobody here follows");
                Pending::Done(AckStatus::Unwanted)
            }
            // a followed author's node sends it again when asked: answered before its commit
            Some(Checked::Key(_)) => Pending::Queued(net.writer.queue_receive_held(m).await?),
            Some(Checked::Unfollowed(Some(_))) => {
                Pending::Queued(net.writer.queue_receive(m).await?)
            }
        };
        pending.push((author, seq, followed, state));
    }
    for (author, seq, followed, state) in pending {
        let status = match state {
            Pending::Done(s) => s,
            Pending::Queued(rx) => {
                let r = rx.await.map_err(|_| StoreError::ShuttingDown)??;
                Counters::bump(if r.fresh {
                    &net.counters.messages_stored
                } else {
                    &net.counters.duplicates
                });
                // a gap is asked for only of followed authors: of others, this node keeps
                // just what is addressed to it
                if followed && r.contiguous + 1 < seq {
                    ask_backfill(net, link, &author, r.contiguous + 1, seq - 1).await?;
                }
                if r.fresh {
                    AckStatus::Stored
                } else {
                    AckStatus::Duplicate
                }
            }
        };
        if status == AckStatus::Refused && followed {
            refresh_key_later(net, &author);
        }
        link.send(
            FrameType::Ack,
            wire::encode(&wire::Ack {
                author,
                seq,
                status,
            }),
        )
        .await?;
    }
    Ok(())
}

/// A message's fate before its ack: decided, or waiting for the writer.
enum Pending {
    Done(AckStatus),
    Queued(tokio::sync::oneshot::Receiver<Result<crate::store::writer::Received, StoreError>>),
}

/// A message failed verification or came before the key: fetch the author's key again from
/// their node (it may have rotated) through the subscription machinery, at most once per
/// author per [`super::refresh::KEY_REFRESH_INTERVAL`] (forged frames cost one refresh).
fn refresh_key_later(net: &Arc<Net>, author: &Address) {
    let due = net
        .key_refresh
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .try_start(author.as_str(), crate::now_ms());
    if !due {
        return;
    }
    Counters::bump(&net.counters.key_refreshes);
    let (n, a) = (net.clone(), author.clone());
    tokio::spawn(async move {
        if n.pool
            .run({
                let a = a.clone();
                move |s| s.is_followed(&a)
            })
            .await
            .unwrap_or(false)
        {
            let _ = n.subscribe(&a).await;
        }
    });
}

/// Asks `link`'s node for `author`'s messages `from..=to` (capped), once per range and link.
pub(crate) async fn ask_backfill(
    net: &Arc<Net>,
    link: &Arc<Link>,
    author: &Address,
    from: u64,
    to: u64,
) -> Result<(), NetError> {
    let to = to.min(from + MAX_BACKFILL - 1);
    {
        let mut asked = link
            .backfill_asked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let prev = asked.entry(author.to_string()).or_insert(0);
        if *prev >= to {
            return Ok(());
        }
        *prev = to;
    }
    Counters::bump(&net.counters.backfill_requests);
    tracing::info!(%author, from, to, "gap: asking for backfill");
    link.send(
        FrameType::Backfill,
        wire::encode(&wire::Backfill {
            author: author.clone(),
            from,
            to,
        }),
    )
    .await
}

/// A Subscribe: kept at once from a link that proved its domain (within the subscriber caps),
/// else only after the domain is verified ([`super::verify`]).
async fn on_subscribe(
    net: &Arc<Net>,
    link: &Arc<Link>,
    sub: wire::Subscribe,
) -> Result<(), NetError> {
    if !link.verified {
        return super::verify::on_unverified_subscribe(net, link, sub).await;
    }
    let server = link.peer_domain.clone();
    let author = sub.author.clone();
    let max = net.settings.max_subscribers;
    let answer = net
        .pool
        .run(move |s| s.add_subscriber_within(&author, &server, crate::now_ms(), max))
        .await?;
    let (key, last_seq) = match answer {
        Subscribing::Kept(key, last_seq) => (key, last_seq),
        Subscribing::Full => {
            // No answer: the follower's node tries again later.
            Counters::bump(&net.counters.subscribers_refused);
            tracing::warn!(server = %link.peer_domain, author = %sub.author, "subscription refused: subscriber cap reached");
            return Ok(());
        }
        Subscribing::NoSuchUser => {
            let none = wire::Subscribed {
                author: sub.author,
                key: Vec::new(),
                last_seq: 0,
            };
            return link.send(FrameType::Subscribed, wire::encode(&none)).await;
        }
    };
    tracing::info!(server = %link.peer_domain, author = %sub.author, verified = link.verified, "subscriber added");
    let yes = wire::Subscribed {
        author: sub.author.clone(),
        key: key.to_bytes().to_vec(),
        last_seq,
    };
    link.send(FrameType::Subscribed, wire::encode(&yes)).await?;
    let n = u64::from(sub.backfill.min(MAX_BACKFILL as u32));
    if n > 0 && last_seq > 0 {
        serve_range(
            net,
            link,
            &sub.author,
            last_seq.saturating_sub(n - 1).max(1),
            last_seq,
        )
        .await?;
    }
    Ok(())
}

async fn on_subscribed(
    net: &Arc<Net>,
    link: &Arc<Link>,
    sub: wire::Subscribed,
) -> Result<(), NetError> {
    if sub.author.domain() != link.peer_domain || !link.verified {
        link.subscribed_arrived(
            &sub.author,
            Err(NetError::WrongDomain {
                domain: sub.author.domain().into(),
                claimed: link.peer_domain.clone(),
            }),
        );
        return Ok(());
    }
    if sub.key.is_empty() {
        link.subscribed_arrived(
            &sub.author,
            Err(NetError::NoSuchUser(sub.author.to_string())),
        );
        return Ok(());
    }
    let key = match PublicKey::from_bytes(&sub.key) {
        Ok(k) => k,
        Err(e) => {
            link.subscribed_arrived(&sub.author, Err(e.clone().into()));
            return Err(e.into());
        }
    };
    let floor = sub
        .last_seq
        .saturating_sub(u64::from(net.settings.backfill_on_follow));
    let a = sub.author.clone();
    net.pool
        .run(move |s| s.subscription_active(&a, &key, floor))
        .await?;
    link.subscribed_arrived(&sub.author, Ok(sub.last_seq));
    Ok(())
}

async fn on_backfill(net: &Arc<Net>, link: &Arc<Link>, b: wire::Backfill) -> Result<(), NetError> {
    if b.from == 0 || b.to < b.from {
        return Err(ProtoError::Malformed {
            what: "backfill",
            why: "empty range".into(),
        }
        .into());
    }
    serve_range(net, link, &b.author, b.from, b.to).await
}
