//! Delivery: every post owed to a subscribed server goes there once, in order, until the
//! server acknowledges it; a server that is down is retried with capped exponential backoff;
//! after `delivery.max_age_days` a delivery is given up with a log line.

use super::{retry_delay_ms, Counters, Net};
use crate::proto::link::AckStatus;
use crate::proto::{Address, FrameType};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Deliveries in flight to one server at once.
pub const WINDOW: u32 = 64;
/// How long one delivery may wait for its ack.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How often expired deliveries are looked for.
const EXPIRE_EVERY: Duration = Duration::from_secs(600);

/// Makes everything owed to `server` due now and wakes the outbox (a link to it came up).
pub async fn kick(net: &Arc<Net>, server: &str) {
    let s = server.to_string();
    if let Ok(n) = net
        .pool
        .run(move |st| st.kick_server(&s, crate::now_ms()))
        .await
    {
        if n > 0 {
            tracing::debug!(%server, rows = n, "server is back: deliveries due now");
        }
    }
    net.wake_outbox();
}

/// Runs the outbox until the process ends.
pub async fn run(net: Arc<Net>) {
    let active: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut last_expire = tokio::time::Instant::now() - EXPIRE_EVERY;
    loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), net.outbox_wake.notified()).await;
        if last_expire.elapsed() >= EXPIRE_EVERY {
            last_expire = tokio::time::Instant::now();
            let cutoff = crate::now_ms().saturating_sub(net.settings.max_age_ms);
            match net.pool.run(move |s| s.expire_outbox(cutoff)).await {
                Ok(gone) => {
                    for (server, n) in gone {
                        tracing::warn!(%server, deliveries = n, "gave up deliveries older than the maximum age");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "expiring the outbox"),
            }
        }
        // Page through every due server: the longest waiting come first, and they are mostly
        // the ones with a delivery in progress already (their rows stay due until acked), so
        // one page would leave the others waiting for the next pass.
        let now = crate::now_ms();
        let mut offset = 0;
        while offset < MAX_SERVERS_PER_PASS {
            let due = match net
                .pool
                .run(move |s| s.due_servers(now, SERVERS_PER_QUERY, offset))
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the outbox");
                    break;
                }
            };
            let full = due.len() == SERVERS_PER_QUERY as usize;
            for server in due {
                start_delivery(&net, &active, server);
            }
            if !full {
                break;
            }
            offset += SERVERS_PER_QUERY;
        }
    }
}

/// Servers one outbox query returns.
const SERVERS_PER_QUERY: u32 = 256;
/// Most due servers one outbox pass looks at (a pass on a hub with very many subscribed
/// servers stays bounded; the rest come in later passes).
const MAX_SERVERS_PER_PASS: u32 = 16_384;

/// Starts delivering to `server` unless a delivery to it is in progress.
fn start_delivery(net: &Arc<Net>, active: &Arc<Mutex<HashSet<String>>>, server: String) {
    if !active
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(server.clone())
    {
        return;
    }
    let (net, active) = (net.clone(), active.clone());
    tokio::spawn(async move {
        deliver(&net, &server).await;
        active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&server);
    });
}

/// One delivery sent and not yet acknowledged.
struct InFlight {
    id: i64,
    author: String,
    sent: tokio::time::Instant,
    rx: tokio::sync::oneshot::Receiver<AckStatus>,
}

/// Longest a delivery in progress waits without an ack, a newly queued post or a closed link
/// before it looks again (for acks overdue by [`ACK_TIMEOUT`]).
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Delivers what is due to one server through a sliding window: up to [`WINDOW`] deliveries
/// in flight, topped up as acks come back or new posts are queued, so one lost delivery does
/// not hold back the ones behind it (the receiver sees the gap and asks for it). A refused or
/// unanswered delivery, or a dead link, puts everything unacknowledged back for a later retry.
async fn deliver(net: &Arc<Net>, server: &str) {
    let mut seen = net.outbox_generation();
    let Some(first) = due(net, server, WINDOW).await else {
        return;
    };
    let min_attempts = first.iter().map(|d| d.attempts).min().unwrap_or(0);
    let retry_at = crate::now_ms() + retry_delay_ms(min_attempts);
    let link = match net.link_to(server).await {
        Ok(l) => l,
        Err(e) => {
            tracing::info!(%server, error = %e, pending = first.len(), "delivery failed; will retry");
            let ids: Vec<i64> = first.iter().map(|d| d.id).collect();
            let _ = net.writer.outbox(Vec::new(), ids, retry_at).await;
            return;
        }
    };
    let mut inflight: Vec<InFlight> = Vec::new();
    let mut next = Some(first);
    loop {
        for d in next.take().unwrap_or_default() {
            if inflight.len() >= WINDOW as usize || inflight.iter().any(|f| f.id == d.id) {
                continue;
            }
            let rx = link.expect_ack(&d.author, d.seq);
            if link.send(FrameType::Message, d.wire).await.is_err() {
                break;
            }
            Counters::bump(&net.counters.deliveries_sent);
            inflight.push(InFlight {
                id: d.id,
                author: d.author,
                sent: tokio::time::Instant::now(),
                rx,
            });
        }
        if inflight.is_empty() {
            return;
        }
        // woken by an ack or a newly queued post, not by a timer: at low load a post goes out,
        // and its window slot comes back, as soon as it can; under load the outbox write
        // below (one commit) gathers the acks that arrive meanwhile
        let queued = net.outbox_queued();
        tokio::pin!(queued);
        queued.as_mut().enable();
        if net.outbox_generation() == seen {
            tokio::select! {
                _ = link.ack_arrived_since() => {}
                _ = &mut queued => {}
                _ = tokio::time::sleep(IDLE_CHECK) => {}
                _ = link.wait_closed() => {}
            }
        }
        let (mut done, mut again, mut unwanted) = (Vec::new(), Vec::new(), HashSet::new());
        let open = link.is_open();
        inflight.retain_mut(|f| match f.rx.try_recv() {
            Ok(AckStatus::Stored | AckStatus::Duplicate) => {
                done.push(f.id);
                false
            }
            Ok(AckStatus::Unwanted) => {
                done.push(f.id);
                unwanted.insert(f.author.clone());
                false
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty)
                if open && f.sent.elapsed() < ACK_TIMEOUT =>
            {
                true
            }
            _ => {
                again.push(f.id);
                false
            }
        });
        let freed = !done.is_empty();
        let failed = !again.is_empty();
        if failed {
            again.extend(inflight.drain(..).map(|f| f.id));
        }
        if freed || failed {
            for _ in &done {
                Counters::bump(&net.counters.deliveries_acked);
            }
            if let Err(e) = net.writer.outbox(done, again, retry_at).await {
                tracing::warn!(%server, error = %e, "recording deliveries failed");
                return;
            }
            for a in unwanted {
                if let Ok(a) = Address::parse(&a) {
                    tracing::info!(%server, author = %a, "server no longer wants the author: unsubscribed");
                    let srv = server.to_string();
                    let _ = net.pool.run(move |st| st.remove_subscriber(&a, &srv)).await;
                }
            }
        }
        if failed {
            tracing::info!(%server, "some deliveries were not acknowledged; will retry");
            return;
        }
        let generation = net.outbox_generation();
        if freed || generation != seen {
            seen = generation;
            next = due(net, server, WINDOW + inflight.len() as u32).await;
        }
    }
}

/// Up to `limit` deliveries due to `server` now (including ones in flight), or `None`.
async fn due(
    net: &Arc<Net>,
    server: &str,
    limit: u32,
) -> Option<Vec<crate::store::federation::Delivery>> {
    let s = server.to_string();
    match net
        .pool
        .run(move |st| st.due_deliveries(&s, crate::now_ms(), limit))
        .await
    {
        Ok(r) if !r.is_empty() => Some(r),
        _ => None,
    }
}
