//! Follow requests over links (the frames of [`crate::proto::follow`]), both sides.
//!
//! Follower's side: once this node's subscription at an author's node is active, each local
//! follower is named to it in a `FollowRequest`; [`ask_loop`] asks again for follows still
//! unanswered (every [`REASK_REQUESTED_MS`]) or pending (every [`REASK_PENDING_MS`], in case
//! an answer was lost). An answer updates the follow: accepted (then the author's recent
//! history is backfilled again, now with followers-only messages), pending, or rejected (the
//! follow is removed). An answer for a follow this node does not have is undone at once.
//!
//! Author's side: a request is answered on the link it came on. A request over an unverified
//! link (the peer's key is not yet known to be its domain's) to an author who does not approve
//! followers is answered "accepted" at once (that grants public posts only); it is recorded,
//! like every request to a locked author, only after this node has
//! dialled the claimed domain back through DNS ([`MAX_DIALBACKS`] at a time), and answered
//! over that dialled link, so followers-only messages only ever go to the node DNS names; a
//! peer that lies about its domain can at worst make a row for someone of that domain, which
//! the real node undoes when it hears an answer it did not ask for. Rows are bounded in
//! `store::approvals`.
//!
//! Nothing here goes over a version 1 link; a version 1 author's node does not approve
//! followers, so a follow there is accepted as soon as the subscription is.

use super::link::Link;
use super::{Net, NetError};
use crate::proto::follow::{FollowAnswer, FollowAnswerState, FollowRequest, FollowUndo, Withheld};
use crate::proto::frame::OwnedFrame;
use crate::proto::link::{self as wire, MAX_BACKFILL};
use crate::proto::{Address, FrameType};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How often [`ask_loop`] looks for follows to name.
pub const ASK_EVERY: Duration = Duration::from_secs(5);
/// An unanswered request is sent again after this long.
pub const REASK_REQUESTED_MS: u64 = 60_000;
/// A pending request is sent again after this long (an answer may have been lost).
pub const REASK_PENDING_MS: u64 = 3_600_000;
/// Follows named per pass of [`ask_loop`] (each may dial a node).
pub const ASK_BATCH: u32 = 32;
/// Domains dialled back at once to check requests from unverified links: each dial holds a
/// task and a socket for a few seconds; anything beyond waits for the follower's next ask.
pub const MAX_DIALBACKS: usize = 16;
/// How long one send (dial included) may take.
const SEND_WITHIN: Duration = Duration::from_secs(20);

/// Link version that carries follow frames.
const FOLLOW_VERSION: u32 = 2;

/// Handles a follow frame (types 21..=24).
pub async fn handle(net: &Arc<Net>, link: &Arc<Link>, f: OwnedFrame) -> Result<(), NetError> {
    match f.kind {
        FrameType::FollowRequest => {
            on_request(net, link, wire::decode("follow request", &f.payload)?).await
        }
        FrameType::FollowAnswer => {
            on_answer(net, link, wire::decode("follow answer", &f.payload)?).await
        }
        FrameType::FollowUndo => {
            let u: FollowUndo = wire::decode("follow undo", &f.payload)?;
            if u.follower.domain() == link.peer_domain && u.author.domain() == net.domain {
                let server = link.peer_domain.clone();
                if link.verified {
                    return undo_now(net, u, server).await;
                }
                dial_back(net, server, Later::Undo(u));
            }
            Ok(())
        }
        FrameType::Withheld => {
            let w: Withheld = wire::decode("withheld", &f.payload)?;
            if link.verified && w.author.domain() == link.peer_domain {
                // a profile preview has all it gets
                net.previews
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .finish(&w.author);
            }
            if link.verified && w.author.domain() == link.peer_domain && w.from > 0 {
                net.pool
                    .run(move |s| s.skip_withheld(&w.author, w.from, w.to))
                    .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn undo_now(net: &Arc<Net>, u: FollowUndo, server: String) -> Result<(), NetError> {
    tracing::info!(%server, follower = %u.follower, author = %u.author, "follower left");
    net.pool
        .run(move |s| s.follow_undo(&u.author, &u.follower, &server))
        .await?;
    Ok(())
}

/// Domains being dialled back now.
fn dialbacks() -> &'static Mutex<HashSet<String>> {
    static SET: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    SET.get_or_init(Mutex::default)
}

/// What waits for a dial-back.
enum Later {
    /// A follow request.
    Request(FollowRequest),
    /// A follower leaving.
    Undo(FollowUndo),
}

/// Dials `server` back through DNS (which proves, or refuses, its key) and then does `later`
/// (a request is answered over the dialled link); drops the work when [`MAX_DIALBACKS`] are
/// under way or `server` is being dialled already. Not async: the task it spawns must not be
/// part of the link reader's future type.
fn dial_back(net: &Arc<Net>, server: String, later: Later) {
    {
        let mut set = dialbacks().lock().unwrap_or_else(|p| p.into_inner());
        if set.len() >= MAX_DIALBACKS || !set.insert(server.clone()) {
            tracing::debug!(%server, "dial-back busy: follow frame dropped");
            return;
        }
    }
    let net = net.clone();
    tokio::spawn(async move {
        let done = match tokio::time::timeout(SEND_WITHIN, net.link_to(&server)).await {
            Ok(Ok(link)) => match later {
                Later::Request(r) => decide(&net, &link, r).await,
                Later::Undo(u) => undo_now(&net, u, server.clone()).await,
            },
            Ok(Err(e)) => Err(e),
            Err(_) => Err(NetError::LinkLost(server.clone())),
        };
        if let Err(e) = done {
            tracing::info!(%server, error = %e, "unverified follow frame dropped after dial-back");
        }
        dialbacks()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&server);
    });
}

/// Removes a refused follow (unfollowing may dial, to unsubscribe: not on a link's reader).
fn unfollow_later(net: &Arc<Net>, user_id: i64, author: Address) {
    let n = net.clone();
    tokio::spawn(async move {
        if let Err(e) = n.unfollow(user_id, author).await {
            tracing::info!(error = %e, "removing a refused follow");
        }
    });
}

async fn on_request(net: &Arc<Net>, link: &Arc<Link>, r: FollowRequest) -> Result<(), NetError> {
    if r.follower.domain() != link.peer_domain || r.author.domain() != net.domain {
        tracing::info!(follower = %r.follower, author = %r.author, "follow request for another domain ignored");
        return Ok(());
    }
    if link.verified {
        return decide(net, link, r).await;
    }
    // An author who does not approve followers accepts anyone: say so at once on this link
    // (it grants nothing but public posts, which anyone may read) and record the follower
    // only once the dial-back proves the domain. A locked author's request waits for it.
    let name = r.author.user().to_string();
    let open = net
        .pool
        .run(move |s| match s.user_by_name(&name)? {
            Some(u) => Ok(!s.is_locked(u.id)?),
            None => Ok(false),
        })
        .await?;
    if open {
        let a = FollowAnswer {
            follower: r.follower.clone(),
            author: r.author.clone(),
            state: FollowAnswerState::Accepted,
        };
        link.send(FrameType::FollowAnswer, wire::encode(&a)).await?;
    }
    dial_back(net, link.peer_domain.clone(), Later::Request(r));
    Ok(())
}

/// Records a request and answers on `link`.
async fn decide(net: &Arc<Net>, link: &Arc<Link>, r: FollowRequest) -> Result<(), NetError> {
    let server = link.peer_domain.clone();
    let (author, follower) = (r.author.clone(), r.follower.clone());
    let state = net
        .pool
        .run(move |s| s.follow_request(&author, &follower, &server, crate::now_ms()))
        .await?;
    let Some(state) = state else {
        tracing::debug!(server = %link.peer_domain, author = %r.author, "follow request from a server not subscribed");
        return Ok(());
    };
    tracing::info!(follower = %r.follower, author = %r.author, ?state, "follow request");
    let a = FollowAnswer {
        follower: r.follower,
        author: r.author,
        state,
    };
    link.send(FrameType::FollowAnswer, wire::encode(&a)).await
}

async fn on_answer(net: &Arc<Net>, link: &Arc<Link>, a: FollowAnswer) -> Result<(), NetError> {
    if !link.verified || a.author.domain() != link.peer_domain || a.follower.domain() != net.domain
    {
        tracing::info!(author = %a.author, "follow answer from a link that may not speak for the author");
        return Ok(());
    }
    let (f, au) = (a.follower.clone(), a.author.clone());
    let found = net
        .pool
        .run(move |s| s.follow_answered(&f, &au, a.state))
        .await?;
    tracing::info!(follower = %a.follower, author = %a.author, state = ?a.state, "follow answered");
    let Some((user_id, before)) = found else {
        let undo = FollowUndo {
            follower: a.follower,
            author: a.author,
        };
        return link.send(FrameType::FollowUndo, wire::encode(&undo)).await;
    };
    match a.state {
        FollowAnswerState::Rejected => {
            unfollow_later(net, user_id, a.author);
            Ok(())
        }
        FollowAnswerState::Accepted if before != "accepted" => {
            // followers-only history was withheld until now: fetch the recent history again
            let au = a.author.clone();
            let last = net.pool.run(move |s| s.contiguous_seq(&au)).await?;
            let n = u64::from(net.settings.backfill_on_follow).min(MAX_BACKFILL);
            if last == 0 || n == 0 {
                return Ok(());
            }
            let b = wire::Backfill {
                author: a.author,
                from: last.saturating_sub(n - 1).max(1),
                to: last,
            };
            link.send(FrameType::Backfill, wire::encode(&b)).await
        }
        _ => Ok(()),
    }
}

/// Follower's side: names `follower` to `author`'s node (after the subscription is active).
pub async fn ask(net: &Arc<Net>, follower: &Address, author: &Address) -> Result<(), NetError> {
    if let Some(asked) = crate::fediverse::follow::ask(net, follower, author).await {
        return asked.map_err(NetError::from);
    }
    let link = tokio::time::timeout(SEND_WITHIN, net.link_to(author.domain()))
        .await
        .map_err(|_| NetError::LinkLost(author.domain().to_string()))??;
    let (f, a) = (follower.clone(), author.clone());
    if link.version < FOLLOW_VERSION {
        // that node does not approve followers: it sends every subscriber everything
        net.pool
            .run(move |s| s.follow_answered(&f, &a, FollowAnswerState::Accepted))
            .await?;
        return Ok(());
    }
    net.pool
        .run(move |s| s.follow_asked(&f, &a, crate::now_ms()))
        .await?;
    let r = FollowRequest {
        follower: follower.clone(),
        author: author.clone(),
    };
    link.send(FrameType::FollowRequest, wire::encode(&r)).await
}

/// Follower's side, when a subscription becomes active: names every local follower of
/// `author` not answered yet.
pub async fn ask_author(net: &Arc<Net>, author: &Address) {
    let a = author.clone();
    let followers = net
        .pool
        .run(move |s| s.unanswered_followers(&a))
        .await
        .unwrap_or_default();
    for f in followers {
        if let Err(e) = ask(net, &f, author).await {
            tracing::debug!(follower = %f, %author, error = %e, "follow request not sent; will retry");
        }
    }
}

/// Longest a follow request in the API waits for the author's node to answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(3);

/// Follower's side, for the API: waits up to [`ANSWER_WAIT`] while the author's node has not
/// answered `user_id`'s follow of `author`; the follow's state if it is not accepted.
pub fn wait_answer(
    store: &crate::store::Store,
    user_id: i64,
    author: &Address,
) -> Result<Option<String>, crate::store::StoreError> {
    let t0 = std::time::Instant::now();
    loop {
        let state = store.unapproved_follows(user_id)?.remove(author.as_str());
        if state.as_deref() != Some("requested") || t0.elapsed() >= ANSWER_WAIT {
            return Ok(state);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Follower's side: tells `author`'s node that `follower` stops following (best effort: the
/// last follower's Unsubscribe removes every row of this server anyway).
pub async fn undo(net: &Arc<Net>, follower: &Address, author: &Address) {
    let Ok(Ok(link)) = tokio::time::timeout(SEND_WITHIN, net.link_to(author.domain())).await else {
        return;
    };
    if link.version >= FOLLOW_VERSION {
        let u = FollowUndo {
            follower: follower.clone(),
            author: author.clone(),
        };
        let _ = link.send(FrameType::FollowUndo, wire::encode(&u)).await;
    }
}

/// Author's side: tells `server` the author's decision on `follower`.
pub async fn answer(
    net: &Arc<Net>,
    server: &str,
    follower: Address,
    author: Address,
    state: FollowAnswerState,
) -> Result<(), NetError> {
    let link = tokio::time::timeout(SEND_WITHIN, net.link_to(server))
        .await
        .map_err(|_| NetError::LinkLost(server.to_string()))??;
    if link.version < FOLLOW_VERSION {
        return Ok(());
    }
    let a = FollowAnswer {
        follower,
        author,
        state,
    };
    link.send(FrameType::FollowAnswer, wire::encode(&a)).await
}

/// Author's side, after serving a backfill of `from..=to` without followers-only messages:
/// tells the server those seqs are not for it, so that it stops asking for them.
pub async fn after_range(
    link: &Arc<Link>,
    author: &Address,
    from: u64,
    to: u64,
    followers_too: bool,
) -> Result<(), NetError> {
    if followers_too || link.version < FOLLOW_VERSION {
        return Ok(());
    }
    let w = Withheld {
        author: author.clone(),
        from,
        to: to.min(from.saturating_add(MAX_BACKFILL - 1)),
    };
    link.send(FrameType::Withheld, wire::encode(&w)).await
}

/// Follower's side: names followers whose requests are unanswered or pending; runs until
/// the process ends.
pub async fn ask_loop(net: Arc<Net>) {
    loop {
        tokio::time::sleep(ASK_EVERY).await;
        let now = crate::now_ms();
        let due = net
            .pool
            .run(move |s| {
                s.follows_to_ask(
                    now,
                    now.saturating_sub(REASK_REQUESTED_MS),
                    now.saturating_sub(REASK_PENDING_MS),
                    ASK_BATCH,
                )
            })
            .await;
        match due {
            Ok(due) => {
                for (follower, author) in due {
                    if let Err(e) = ask(&net, &follower, &author).await {
                        tracing::debug!(%follower, %author, error = %e, "follow request not sent; will retry");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading follows to name"),
        }
    }
}
