//! Delivery: every post owed to a subscribed server goes there once, in order, until the
//! server acknowledges it; a server that is down is retried with capped exponential backoff;
//! after `delivery.max_age_days` a delivery is given up with a log line.

use super::{retry_delay_ms, Counters, Net};
use crate::proto::link::AckStatus;
use crate::proto::{Address, FrameType};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Deliveries sent to one server before waiting for their acks.
pub const WINDOW: u32 = 64;
/// How long a window of deliveries may wait for its acks.
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
        let due = match net.pool.run(|s| s.due_servers(crate::now_ms(), 256)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading the outbox");
                continue;
            }
        };
        for server in due {
            if !active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(server.clone())
            {
                continue;
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
    }
}

/// Delivers what is due to one server, a window at a time, until nothing is due or it fails.
async fn deliver(net: &Arc<Net>, server: &str) {
    loop {
        let s = server.to_string();
        let rows = match net
            .pool
            .run(move |st| st.due_deliveries(&s, crate::now_ms(), WINDOW))
            .await
        {
            Ok(r) if !r.is_empty() => r,
            _ => return,
        };
        let min_attempts = rows.iter().map(|d| d.attempts).min().unwrap_or(0);
        let retry_at = crate::now_ms() + retry_delay_ms(min_attempts);
        let link = match net.link_to(server).await {
            Ok(l) => l,
            Err(e) => {
                tracing::info!(%server, error = %e, pending = rows.len(), "delivery failed; will retry");
                let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
                let _ = net.pool.run(move |st| st.retry_later(&ids, retry_at)).await;
                return;
            }
        };
        let mut waits = Vec::with_capacity(rows.len());
        for d in &rows {
            let rx = link.expect_ack(&d.author, d.seq);
            if link.send(FrameType::Message, d.wire.clone()).await.is_err() {
                break;
            }
            Counters::bump(&net.counters.deliveries_sent);
            waits.push((d.id, d.author.clone(), rx));
        }
        let (mut done, mut again, mut unwanted) = (Vec::new(), Vec::new(), HashSet::new());
        let deadline = tokio::time::Instant::now() + ACK_TIMEOUT;
        for (id, author, rx) in waits {
            let answer = tokio::select! {
                a = tokio::time::timeout_at(deadline, rx) => a.ok(),
                _ = link.wait_closed() => None,
            };
            match answer {
                Some(Ok(AckStatus::Stored | AckStatus::Duplicate)) => done.push(id),
                Some(Ok(AckStatus::Unwanted)) => {
                    done.push(id);
                    unwanted.insert(author);
                }
                _ => again.push(id),
            }
        }
        let unsent: Vec<i64> = rows
            .iter()
            .map(|d| d.id)
            .filter(|id| !done.contains(id) && !again.contains(id))
            .collect();
        again.extend(unsent);
        for _ in &done {
            Counters::bump(&net.counters.deliveries_acked);
        }
        let failed = !again.is_empty();
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
        if failed {
            tracing::info!(%server, "some deliveries were not acknowledged; will retry");
            return;
        }
    }
}
