//! Delivery, driven: every post owed to a subscribed server goes there once, in order, until
//! the server acknowledges it; a server that is down is retried with capped exponential
//! backoff; after `delivery.max_age_days` what is still owed is given up with a log line.
//!
//! The logic is `crate::delivery::Machine` (sans IO); this module carries out its outputs.
//! [`run`] is the dispatcher: after each commit it reads the new local posts once, with the
//! servers that follow their authors, and hands each post (its bytes shared, not copied) to
//! the delivery in progress for every such server, or starts one. A delivery ([`deliver`])
//! runs one machine for one server: it reads what the store owes only when it starts or when
//! it missed a post, sends over the server's link, and stores the cursors its acks move, one
//! writer job per batch of acks. Servers being retried are found by one scan a second.

use super::ackbook::Arrived;
use super::{retry_delay_ms, Counters, Net};
use crate::delivery::{Entry, Input, Machine, Output, Status};
use crate::proto::link::AckStatus;
use crate::proto::{Address, FrameType};
use foldhash::{HashMap, HashMapExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one delivery may wait for its ack.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(Machine::ACK_TIMEOUT_MS);
/// How often expired deliveries are looked for.
const EXPIRE_EVERY: Duration = Duration::from_secs(600);
/// How often servers owed something but not being delivered to are looked for.
const SCAN_EVERY: Duration = Duration::from_secs(1);
/// Posts read from the store per dispatcher query.
const POSTS_PER_QUERY: u32 = 256;
/// Owed messages a delivery reads from the store at once (twice the window).
const LOAD_LIMIT: u32 = 2 * Machine::WINDOW as u32;
/// Posts that may wait for one delivery in progress; past that it reads the store instead.
const LIVE_QUEUE: usize = 128;
/// How long a delivery with nothing left waits for the next post before it ends (a busy
/// server keeps its machine, and its place in the authors' logs, between posts).
const LINGER: Duration = Duration::from_secs(2);
/// Longest a delivery waits without an ack, a post or a closed link before it looks at the
/// clock (for acks overdue by [`ACK_TIMEOUT`]).
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// How often a delivery in progress stores the cursors its acks moved. Between two stores a
/// crash only makes the server be offered again what it acknowledged since (it answers
/// `Duplicate`), so a post costs no store write per server: one per server per second at most.
const CURSOR_EVERY: Duration = Duration::from_secs(1);
/// Most servers kicked between two dispatcher passes (each a domain name).
pub const MAX_KICKS: usize = 4096;
/// Most deliveries in progress at once (each a task with its window of up to
/// [`Machine::WINDOW`] messages); the others wait for the next pass.
const MAX_ACTIVE: usize = 16_384;

/// How many servers are in each state of delivery (for `/metrics`).
#[derive(Debug, Default)]
pub struct ServerGauges {
    /// Servers with a delivery in progress.
    pub delivering: AtomicUsize,
    /// Servers owed something and waiting for their retry after a failure.
    pub retrying: AtomicUsize,
}

/// A post handed to a delivery in progress.
struct Live {
    entry: Entry,
    owed: bool,
    wire: Arc<[u8]>,
}

/// A delivery in progress, as the dispatcher knows it.
struct Active {
    generation: u64,
    tx: mpsc::Sender<Live>,
    /// Set when a post could not be handed over: the delivery reads the store again.
    missed: Arc<std::sync::atomic::AtomicBool>,
}

/// How a delivery ended: its server, generation, and failed attempts (0 on success).
type Ended = (String, u64, u32);

/// Makes what is owed to `server` go out now (a link to it came up).
pub async fn kick(net: &Arc<Net>, server: &str) {
    net.kick_outbox(server);
}

/// Runs the outbox until the process ends.
pub async fn run(net: Arc<Net>) {
    let mut last_id = match net.pool.run(|s| s.last_message_id()).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "outbox: reading the store failed; deliveries stop");
            return;
        }
    };
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Ended>();
    let mut active: HashMap<String, Active> = HashMap::new();
    // failed attempts and when to try again, per server
    let mut retry: HashMap<String, (u32, u64)> = HashMap::new();
    let mut generation = 0u64;
    let mut last_expire = tokio::time::Instant::now() - EXPIRE_EVERY;
    let mut last_scan = tokio::time::Instant::now() - SCAN_EVERY;
    loop {
        tokio::select! {
            _ = net.outbox_wake.notified() => {}
            _ = tokio::time::sleep(SCAN_EVERY) => {}
            Some(e) = ended_rx.recv() => ended(&mut active, &mut retry, e),
        }
        while let Ok(e) = ended_rx.try_recv() {
            ended(&mut active, &mut retry, e);
        }
        let now = crate::now_ms();
        let kicks = net.take_kicks();
        for k in &kicks {
            if let Some(r) = retry.get_mut(k) {
                r.1 = now;
            }
        }
        if last_expire.elapsed() >= EXPIRE_EVERY {
            last_expire = tokio::time::Instant::now();
            expire(&net).await;
        }
        // new local posts: each read once, handed to every server it is owed to
        loop {
            let after = last_id;
            let (posts, last, more) = match net
                .pool
                .run(move |s| s.new_local_posts(after, POSTS_PER_QUERY))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: reading new posts");
                    break;
                }
            };
            last_id = last;
            for post in &posts {
                let servers = post
                    .subscribers
                    .iter()
                    .map(|(s, owed)| (s, *owed, None))
                    .chain(post.addressed.iter().map(|(s, row)| (s, true, Some(*row))));
                for (server, owed, row) in servers {
                    let live = Live {
                        entry: Entry {
                            row,
                            ..post.entry.clone()
                        },
                        owed,
                        wire: post.wire.clone(),
                    };
                    if hand_over(&mut active, server, live) || !owed {
                        continue;
                    }
                    if retry.get(server).is_none_or(|r| r.1 <= now) {
                        start(
                            &net,
                            &mut active,
                            &retry,
                            &ended_tx,
                            &mut generation,
                            server,
                        );
                    }
                }
            }
            if !more {
                break;
            }
        }
        // servers owed something and not being delivered to: retried when due
        if last_scan.elapsed() >= SCAN_EVERY || !kicks.is_empty() {
            last_scan = tokio::time::Instant::now();
            match net.pool.run(|s| s.owed_servers()).await {
                Ok(servers) => {
                    // a delivery task that ended without saying so (it cannot, short of a
                    // panic) must not keep its server from being retried
                    active.retain(|_, a| !a.tx.is_closed());
                    let owed: foldhash::HashSet<&String> = servers.iter().collect();
                    retry.retain(|s, _| owed.contains(s) || active.contains_key(s));
                    for s in servers {
                        if !active.contains_key(&s) && retry.get(&s).is_none_or(|r| r.1 <= now) {
                            start(&net, &mut active, &retry, &ended_tx, &mut generation, &s);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading the outbox"),
            }
        }
        let g = &net.outbox_servers;
        g.delivering.store(active.len(), Ordering::Relaxed);
        g.retrying.store(
            retry.keys().filter(|s| !active.contains_key(*s)).count(),
            Ordering::Relaxed,
        );
    }
}

/// Hands a post to the delivery in progress for `server`; false if there is none.
fn hand_over(active: &mut HashMap<String, Active>, server: &str, live: Live) -> bool {
    let Some(a) = active.get(server) else {
        return false;
    };
    match a.tx.try_send(live) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            a.missed.store(true, std::sync::atomic::Ordering::Relaxed);
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            active.remove(server);
            false
        }
    }
}

fn ended(active: &mut HashMap<String, Active>, retry: &mut HashMap<String, (u32, u64)>, e: Ended) {
    let (server, generation, attempts) = e;
    if active
        .get(&server)
        .is_some_and(|a| a.generation == generation)
    {
        active.remove(&server);
    }
    if attempts == 0 {
        retry.remove(&server);
    } else {
        retry.insert(
            server,
            (attempts, crate::now_ms() + retry_delay_ms(attempts - 1)),
        );
    }
}

/// Starts delivering to `server` unless a delivery to it is in progress.
fn start(
    net: &Arc<Net>,
    active: &mut HashMap<String, Active>,
    retry: &HashMap<String, (u32, u64)>,
    ended_tx: &mpsc::UnboundedSender<Ended>,
    generation: &mut u64,
    server: &str,
) {
    if active.contains_key(server) || active.len() >= MAX_ACTIVE {
        return;
    }
    *generation += 1;
    let (tx, rx) = mpsc::channel(LIVE_QUEUE);
    let missed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    active.insert(
        server.to_string(),
        Active {
            generation: *generation,
            tx,
            missed: missed.clone(),
        },
    );
    let attempts = retry.get(server).map_or(0, |r| r.0);
    let (net, server, ended_tx, generation) = (
        net.clone(),
        server.to_string(),
        ended_tx.clone(),
        *generation,
    );
    tokio::spawn(async move {
        let attempts = deliver(&net, &server, attempts, rx, &missed).await;
        if attempts > 0 {
            tracing::info!(%server, attempts, "some deliveries were not acknowledged; will retry");
        }
        let _ = ended_tx.send((server, generation, attempts));
    });
}

async fn expire(net: &Arc<Net>) {
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

/// Delivers what `server` is owed until nothing is left or a delivery fails; returns the
/// failed attempts so far (0 when everything owed was acknowledged).
async fn deliver(
    net: &Arc<Net>,
    server: &str,
    attempts: u32,
    mut live: mpsc::Receiver<Live>,
    missed: &std::sync::atomic::AtomicBool,
) -> u32 {
    let mut m = Machine::new(attempts, crate::now_ms());
    let mut wires: HashMap<(Arc<str>, u64), Arc<[u8]>> = HashMap::new();
    // acks taken from the link, one batch at a time
    let mut acks: Vec<Arrived> = Vec::new();
    let mut link: Option<Arc<super::link::Link>> = None;
    let (mut cursors, mut rows, mut unsubscribe) = (Vec::new(), Vec::new(), Vec::new());
    let mut failed = None;
    let mut stored_at = tokio::time::Instant::now();
    loop {
        while let Some(out) = m.poll() {
            match out {
                Output::Load => {
                    // what was acknowledged is stored first: the read must not offer it again
                    if !cursors.is_empty() || !rows.is_empty() {
                        let (c, r) = (std::mem::take(&mut cursors), std::mem::take(&mut rows));
                        if let Err(e) = net.writer.outbox(server.to_string(), c, r).await {
                            tracing::warn!(%server, error = %e, "recording deliveries failed");
                            return attempts.max(1);
                        }
                        stored_at = tokio::time::Instant::now();
                    }
                    let s = server.to_string();
                    match net.pool.run(move |st| st.owed_to(&s, LOAD_LIMIT)).await {
                        Ok(owed) => {
                            let mut entries = Vec::with_capacity(owed.entries.len());
                            for (e, wire) in owed.entries {
                                wires
                                    .entry((e.author.clone(), e.seq))
                                    .or_insert_with(|| Arc::from(wire));
                                entries.push(e);
                            }
                            m.handle(Input::Loaded {
                                subscriptions: owed.subscriptions,
                                entries,
                                complete: owed.complete,
                            });
                            wires.retain(|(a, s), _| m.holds(a, *s));
                        }
                        Err(e) => {
                            tracing::warn!(%server, error = %e, "reading the outbox");
                            m.handle(Input::LinkDown);
                        }
                    }
                }
                Output::Send { author, seq, .. } => {
                    let Some(wire) = wires.get(&(author.clone(), seq)).cloned() else {
                        m.handle(Input::LinkDown);
                        continue;
                    };
                    if crate::fediverse::is_inbox(server) {
                        // a fediverse inbox: the POST's answer is the ack
                        match crate::fediverse::posts::send(net, server, &wire).await {
                            Some(status) => m.handle(Input::Ack {
                                author,
                                seq,
                                status,
                            }),
                            None => m.handle(Input::LinkDown),
                        }
                        continue;
                    }
                    if link.as_ref().is_none_or(|l| !l.is_open()) {
                        match net.link_to(server).await {
                            Ok(l) => link = Some(l),
                            Err(e) => {
                                tracing::info!(%server, error = %e, "delivery failed; will retry");
                                m.handle(Input::LinkDown);
                                continue;
                            }
                        }
                    }
                    let Some(l) = link.as_ref() else { continue };
                    l.expect_ack(&author, seq);
                    if l.send(FrameType::Message, wire).await.is_err() {
                        m.handle(Input::LinkDown);
                        continue;
                    }
                    Counters::bump(&net.counters.deliveries_sent);
                }
                Output::Cursor { author, acked } => cursors.push((author, acked)),
                Output::DeleteRow { row } => rows.push(row),
                Output::Unsubscribe { author } => unsubscribe.push(author),
                Output::Failed { attempts } => failed = Some(attempts),
            }
        }
        let due = failed.is_some() || m.is_done() || stored_at.elapsed() >= CURSOR_EVERY;
        if due && (!cursors.is_empty() || !rows.is_empty()) {
            stored_at = tokio::time::Instant::now();
            let (c, r) = (std::mem::take(&mut cursors), std::mem::take(&mut rows));
            if let Err(e) = net.writer.outbox(server.to_string(), c, r).await {
                tracing::warn!(%server, error = %e, "recording deliveries failed");
                return failed.unwrap_or(attempts).max(1);
            }
        }
        for a in unsubscribe.drain(..) {
            if let Ok(a) = Address::parse(&a) {
                tracing::info!(%server, author = %a, "server no longer wants the author: unsubscribed");
                let srv = server.to_string();
                let _ = net.pool.run(move |st| st.remove_subscriber(&a, &srv)).await;
            }
        }
        if let Some(attempts) = failed {
            return attempts;
        }
        // wait for an ack, a post, a closed link or the clock
        let done = m.is_done();
        let wait = if done { LINGER } else { IDLE_CHECK };
        let got = match link.as_ref().filter(|_| !done) {
            Some(l) => tokio::select! {
                _ = l.ack_arrived_since() => None,
                p = live.recv() => Some(p),
                _ = tokio::time::sleep(wait) => None,
                _ = l.wait_closed() => None,
            },
            None => tokio::select! {
                p = live.recv() => Some(p),
                _ = tokio::time::sleep(wait) => None,
            },
        };
        if done && got.is_none() {
            return 0; // nothing came while lingering
        }
        if let Some(Some(p)) = got {
            take_live(&mut m, &mut wires, p);
        }
        while let Ok(p) = live.try_recv() {
            take_live(&mut m, &mut wires, p);
        }
        if missed.swap(false, std::sync::atomic::Ordering::Relaxed) {
            m.handle(Input::Missed);
        }
        if let Some(l) = link.as_ref() {
            l.take_acks(&mut acks);
        }
        for (author, seq, status) in acks.drain(..) {
            if status != AckStatus::Refused {
                Counters::bump(&net.counters.deliveries_acked);
            }
            let status = match status {
                AckStatus::Stored => Status::Stored,
                AckStatus::Duplicate => Status::Duplicate,
                AckStatus::Unwanted => Status::Unwanted,
                AckStatus::Refused => Status::Refused,
            };
            wires.remove(&(author.clone(), seq));
            m.handle(Input::Ack {
                author,
                seq,
                status,
            });
        }
        // a closed link brings no more acks: what is in flight on it is lost
        if m.in_flight() > 0 && !link.as_ref().is_some_and(|l| l.is_open()) {
            m.handle(Input::LinkDown);
        }
        m.handle(Input::Tick {
            now_ms: crate::now_ms(),
        });
        if m.is_done() || stored_at.elapsed() >= CURSOR_EVERY {
            m.flush();
        }
    }
}

fn take_live(m: &mut Machine, wires: &mut HashMap<(Arc<str>, u64), Arc<[u8]>>, p: Live) {
    let key = (p.entry.author.clone(), p.entry.seq);
    m.handle(Input::Live {
        entry: p.entry,
        owed: p.owed,
    });
    if m.holds(&key.0, key.1) {
        wires.entry(key).or_insert(p.wire);
    }
}
