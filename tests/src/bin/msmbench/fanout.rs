//! Fan-out: one author node, N receiving servers played by the generator. Each server
//! subscribes to the author over a link it dials (as its own domain, with its own key); the
//! author's node then dials each server back through a static discovery entry (one loopback
//! port per domain: the listener must say which domain it is before it hears the dialler) and
//! delivers every post there; the generator acknowledges each message as stored.
//!
//! Posts go in through the author's HTTP API (`POST /api/v1/posts`, bearer token, a fresh TCP
//! connection per request), 280 bytes of text that start with a run tag and the time (µs since
//! the epoch) the post was due. Latency is receipt time minus that due time, so a poster that
//! falls behind an offered load shows up as latency rather than hiding it.
//!
//! - saturation: closed loop, posters stay at most `window` deliveries ahead of the average
//!   server; deliveries/s = deliveries / (last receipt − first post), like the mosquitto anchor;
//! - latency: open loop at fixed offered loads (deliveries/s = posts/s × N);
//! - bytes on the wire: frame bytes per delivery (message in, ack out) and TCP segments.

use crate::node::{now_us, Bench, USERS};
use crate::wire::Conn;
use crate::{out, progress, quantile, Args, PASSWORD, PHASE_TIMEOUT, POST_BYTES};
use msmd::proto::frame::HEADER_LEN;
use msmd::proto::link::{self as wire, AckStatus, Role};
use msmd::proto::{Address, FrameType, Limits, NodeKey, SignedMessage};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Threads posting through the HTTP API at once (the node has 4 HTTP workers by default).
pub const POSTERS: usize = 8;
/// Subscriptions the generator runs at once.
const CONCURRENT_SUBSCRIBES: usize = 64;
/// A drain that makes no progress for this long ends (what is left is reported undelivered).
const DRAIN_STALL: Duration = Duration::from_secs(20);
/// An open-loop run stops posting this long after its planned end if the node cannot keep up.
pub const LATE_GRACE: Duration = Duration::from_secs(3);
/// Posts of a `quick=1` run (wire bytes only).
const QUICK_POSTS: u64 = 50;
/// Run tags in post texts.
const TAG_WARM: u32 = 0;
const TAG_SAT: u32 = 1;
const TAG_QUICK: u32 = 2;
const TAG_LOAD: u32 = 10;

/// What the receiving servers saw.
#[derive(Default)]
pub struct Stats {
    /// Messages acknowledged.
    pub delivered: AtomicU64,
    links: AtomicU64,
    message_frame_bytes: AtomicU64,
    ack_frame_bytes: AtomicU64,
    handshake_bytes: AtomicU64,
    /// (run tag, latency µs, receipt µs since the epoch).
    samples: Mutex<Vec<(u32, u64, u64)>>,
}

/// Runs the fan-out phase for one N.
pub fn run(a: &Args) {
    let n = a.num("n", 100) as usize;
    let p = format!("msm_fan_n{n}");
    let rt = crate::runtime();
    let stats = Arc::new(Stats::default());
    let mut statics = Vec::new();
    let mut keys = Vec::new();
    for i in 0..n {
        let domain = format!("f{i}.test");
        let key = Arc::new(NodeKey::generate().expect("key"));
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        statics.push((domain.clone(), listener.local_addr().expect("addr")));
        rt.spawn(accept(listener, domain, key.clone(), stats.clone()));
        keys.push(key);
    }
    let bench = Bench::start("author.test", &statics);
    let author = format!("{}@author.test", USERS[0]);
    let t0 = Instant::now();
    let subscribed = rt.block_on(subscribe_all(bench.node.links, &statics, &keys, &author));
    out(&format!("{p}_subscribed"), subscribed);
    out(&format!("{p}_subscribe_secs"), secs(t0.elapsed()));
    let token = bench.node.login(USERS[0], PASSWORD);
    let http = bench.node.addr;
    let t0 = Instant::now();
    post(http, &token, TAG_WARM, now_us());
    wait_delivered(&stats, n as u64, PHASE_TIMEOUT);
    out(
        &format!("{p}_first_post_all_delivered_secs"),
        secs(t0.elapsed()),
    );
    out(&format!("{p}_delivery_links"), stats.links.load(Relaxed));
    if a.num("quick", 0) == 1 {
        let base = stats.delivered.load(Relaxed);
        let segs0 = tcp_out_segments();
        for _ in 0..QUICK_POSTS {
            post(http, &token, TAG_QUICK, now_us());
        }
        wait_delivered(&stats, base + QUICK_POSTS * n as u64, PHASE_TIMEOUT);
        let per = (QUICK_POSTS * n as u64) as f64;
        out(
            &format!("{p}_tcp_segments_per_delivery_approx"),
            format!("{:.2}", (tcp_out_segments() - segs0) as f64 / per),
        );
    } else {
        saturation(&p, &bench, &token, &stats, n, a);
        for load in a.list("loads", &[2000, 20000]) {
            latency(&p, &bench, &token, &stats, n, load, a);
        }
    }
    wire_bytes(&p, &stats);
    out(&format!("{p}_author_vmhwm_kib"), bench.status_kb("VmHWM"));
    out(
        &format!("{p}_author_rssanon_kib"),
        bench.status_kb("RssAnon"),
    );
    drop(bench);
    rt.shutdown_timeout(Duration::from_secs(1));
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn wire_bytes(p: &str, stats: &Stats) {
    let d = stats.delivered.load(Relaxed).max(1);
    let links = stats.links.load(Relaxed).max(1);
    let msg = stats.message_frame_bytes.load(Relaxed) / d;
    let ack = stats.ack_frame_bytes.load(Relaxed) / d;
    out(&format!("{p}_wire_message_frame_bytes"), msg);
    out(&format!("{p}_wire_ack_frame_bytes"), ack);
    out(&format!("{p}_wire_bytes_per_post_per_receiver"), msg + ack);
    out(
        &format!("{p}_wire_handshake_bytes_per_link"),
        stats.handshake_bytes.load(Relaxed) / links,
    );
}

/// Accepts the author's delivery links for one domain.
pub async fn accept(listener: TcpListener, domain: String, key: Arc<NodeKey>, stats: Arc<Stats>) {
    while let Ok((stream, _)) = listener.accept().await {
        let (d, k, s) = (domain.clone(), key.clone(), stats.clone());
        tokio::spawn(async move {
            let mut c = Conn::new(stream);
            if c.handshake(Role::Listener, &d, &k).await.is_ok() {
                s.links.fetch_add(1, Relaxed);
                s.handshake_bytes
                    .fetch_add(c.bytes_in + c.bytes_out, Relaxed);
                let _ = receive(&mut c, &s).await;
            }
        });
    }
}

/// Acknowledges every message as stored, recording its latency; answers pings.
async fn receive(c: &mut Conn, stats: &Stats) -> std::io::Result<()> {
    loop {
        let first = c.recv().await?;
        let mut frames = vec![first];
        while let Some(f) = c.buffered()? {
            frames.push(f);
        }
        let now = now_us();
        let mut seen = Vec::with_capacity(frames.len());
        for f in frames {
            match f.kind {
                FrameType::Message => {
                    let Ok(m) = SignedMessage::decode(&f.payload, &Limits::default()) else {
                        continue;
                    };
                    let ack = wire::encode(&wire::Ack {
                        author: m.message.author.clone(),
                        seq: m.message.seq,
                        status: AckStatus::Stored,
                    });
                    c.queue(FrameType::Ack, &ack)?;
                    stats
                        .message_frame_bytes
                        .fetch_add((HEADER_LEN + f.payload.len()) as u64, Relaxed);
                    stats
                        .ack_frame_bytes
                        .fetch_add((HEADER_LEN + ack.len()) as u64, Relaxed);
                    if let Some((tag, due)) = m.message.body.text().and_then(parse_text) {
                        seen.push((tag, now.saturating_sub(due), now));
                    }
                }
                FrameType::Ping => c.queue(FrameType::Pong, &[])?,
                _ => {}
            }
        }
        c.flush().await?;
        let k = seen.len() as u64;
        stats.samples.lock().expect("samples").extend(seen);
        stats.delivered.fetch_add(k, Relaxed);
    }
}

/// How long a subscription waits for its answer before it is tried again.
const SUBSCRIBE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Tries per subscription.
const SUBSCRIBE_TRIES: u32 = 120;

/// Every server subscribes to `author` over a link it dials, then closes that link.
pub async fn subscribe_all(
    links: SocketAddr,
    servers: &[(String, SocketAddr)],
    keys: &[Arc<NodeKey>],
    author: &str,
) -> u64 {
    let gate = Arc::new(Semaphore::new(CONCURRENT_SUBSCRIBES));
    let author = Address::parse(author).expect("address");
    let mut tasks = Vec::new();
    for ((domain, _), key) in servers.iter().zip(keys) {
        let (gate, domain, key, author) =
            (gate.clone(), domain.clone(), key.clone(), author.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            // msmd keeps a subscription from an unverified link only after dialling its domain
            // back, and leaves one unanswered while its set of servers waiting for that is full:
            // like a real subscriber, try again shortly.
            for _ in 0..SUBSCRIBE_TRIES {
                let answered = tokio::time::timeout(SUBSCRIBE_WAIT, async {
                    let mut c = crate::wire::dial(links, &domain, &key).await.ok()?;
                    let sub = wire::encode(&wire::Subscribe {
                        author: author.clone(),
                        backfill: 0,
                    });
                    c.send(FrameType::Subscribe, &sub).await.ok()?;
                    loop {
                        if c.recv().await.ok()?.kind == FrameType::Subscribed {
                            return Some(());
                        }
                    }
                })
                .await;
                if let Ok(Some(())) = answered {
                    return Some(());
                }
                tokio::time::sleep(SUBSCRIBE_WAIT).await;
            }
            None
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if let Ok(Some(())) = t.await {
            ok += 1;
        }
    }
    ok
}

/// One post through the HTTP API; false if the node did not take it.
pub fn post(http: SocketAddr, token: &str, tag: u32, due_us: u64) -> bool {
    let body = json!({ "text": post_text(tag, due_us) }).to_string();
    let auth = format!("Bearer {token}");
    let h = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    matches!(msm_tests::request(http, "POST", "/api/v1/posts", &h, Some(body.as_bytes())), Ok(r) if r.status == 201)
}

/// A post's text: [`POST_BYTES`] bytes starting with its run tag and due time.
pub fn post_text(tag: u32, due_us: u64) -> String {
    let mut text = format!("{tag} {due_us} ");
    text.extend(std::iter::repeat_n(
        'x',
        POST_BYTES.saturating_sub(text.len()),
    ));
    text
}

/// The run tag and due time (µs since the epoch) at the start of a post's text.
pub fn parse_text(text: &str) -> Option<(u32, u64)> {
    let mut w = text.split(' ');
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

/// Waits until `total` deliveries arrived, or until nothing arrives for [`DRAIN_STALL`] or
/// `limit` passes; returns what arrived.
pub fn wait_delivered(stats: &Stats, total: u64, limit: Duration) -> u64 {
    wait_count(&stats.delivered, total, limit)
}

/// Waits until `counter` reaches `total`, or until it stays still for [`DRAIN_STALL`] or
/// `limit` passes; returns its value.
pub fn wait_count(counter: &AtomicU64, total: u64, limit: Duration) -> u64 {
    let t0 = Instant::now();
    let (mut last, mut moved) = (0, Instant::now());
    loop {
        let d = counter.load(Relaxed);
        if d >= total || t0.elapsed() > limit || moved.elapsed() > DRAIN_STALL {
            return d;
        }
        if d != last {
            (last, moved) = (d, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Samples of one run tag: sorted latencies (µs) and the last receipt time.
fn samples_of(stats: &Stats, tag: u32) -> (Vec<u64>, u64) {
    let s = stats.samples.lock().expect("samples");
    let mut lat: Vec<u64> = s.iter().filter(|x| x.0 == tag).map(|x| x.1).collect();
    let last = s
        .iter()
        .filter(|x| x.0 == tag)
        .map(|x| x.2)
        .max()
        .unwrap_or(0);
    lat.sort_unstable();
    (lat, last)
}

fn saturation(p: &str, bench: &Bench, token: &str, stats: &Stats, n: usize, a: &Args) {
    let sat = Duration::from_secs(a.num("sat_secs", 4));
    let ahead = (a.num("window", 4000) / n as u64).max(2);
    progress(&format!(
        "fan-out n={n}: saturation {sat:?}, {ahead} posts ahead"
    ));
    let base = stats.delivered.load(Relaxed);
    let cpu0 = bench.cpu_secs();
    let start_us = now_us();
    let posts = closed_loop(
        bench.node.addr,
        token,
        TAG_SAT,
        &stats.delivered,
        base,
        n,
        ahead,
        sat,
    );
    let got = wait_delivered(stats, base + posts * n as u64, PHASE_TIMEOUT) - base;
    let (_, last) = samples_of(stats, TAG_SAT);
    let dur = last.saturating_sub(start_us) as f64 / 1e6;
    saturation_figures(&format!("{p}_sat"), posts, got, n, dur);
    out(
        &format!("{p}_sat_author_cpu_s"),
        format!("{:.2}", bench.cpu_secs() - cpu0),
    );
}

fn latency(p: &str, bench: &Bench, token: &str, stats: &Stats, n: usize, load: u64, a: &Args) {
    let lat_secs = a.num("lat_secs", 2);
    let rate = (load as f64 / n as f64).max(1.0);
    let posts = ((rate * lat_secs as f64) as u64).max(10);
    let tag = TAG_LOAD + (load / 1000) as u32;
    progress(&format!(
        "fan-out n={n}: {load} deliveries/s offered ({rate:.0} posts/s)"
    ));
    let base = stats.delivered.load(Relaxed);
    let (next, taken) = (AtomicU64::new(0), AtomicU64::new(0));
    let interval_us = 1e6 / rate;
    let (t0, start_us) = (Instant::now(), now_us());
    let give_up = Duration::from_secs(lat_secs) + LATE_GRACE;
    std::thread::scope(|s| {
        for _ in 0..POSTERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= posts || t0.elapsed() > give_up {
                    return;
                }
                let due = Duration::from_micros((i as f64 * interval_us) as u64);
                if let Some(wait) = due.checked_sub(t0.elapsed()) {
                    std::thread::sleep(wait);
                }
                if post(
                    bench.node.addr,
                    token,
                    tag,
                    start_us + due.as_micros() as u64,
                ) {
                    taken.fetch_add(1, Relaxed);
                }
            });
        }
    });
    let made = taken.load(Relaxed);
    let got = wait_delivered(stats, base + made * n as u64, PHASE_TIMEOUT) - base;
    let (lat, last) = samples_of(stats, tag);
    let dur = last.saturating_sub(start_us) as f64 / 1e6;
    let q = |x: f64| quantile(&lat, x).map_or("-".into(), |v| format!("{:.1}", v as f64 / 1000.0));
    let k = format!("{p}_load{load}");
    out(&format!("{k}_posts_offered"), posts);
    out(&format!("{k}_posts_made"), made);
    out(&format!("{k}_delivered"), got);
    out(
        &format!("{k}_achieved_deliveries_per_s"),
        format!("{:.0}", got as f64 / dur.max(1e-9)),
    );
    out(&format!("{k}_lat_p50_ms"), q(0.5));
    out(&format!("{k}_lat_p99_ms"), q(0.99));
    out(&format!("{k}_lat_max_ms"), q(1.0));
}

/// `Tcp: OutSegs` of `/proc/net/snmp` (machine-wide: approximate on a shared machine).
fn tcp_out_segments() -> u64 {
    let s = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut tcp = s.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(k, _)| *k == "OutSegs")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// Prints a saturation run's figures under `k`: `posts` made, `got` deliveries of the `n` per
/// post, over `dur` seconds.
pub fn saturation_figures(k: &str, posts: u64, got: u64, n: usize, dur: f64) {
    out(&format!("{k}_posts"), posts);
    out(&format!("{k}_delivered"), got);
    out(
        &format!("{k}_undelivered"),
        (posts * n as u64).saturating_sub(got),
    );
    out(&format!("{k}_duration_s"), format!("{dur:.2}"));
    out(
        &format!("{k}_deliveries_per_s"),
        format!("{:.0}", got as f64 / dur.max(1e-9)),
    );
    out(
        &format!("{k}_posts_per_s"),
        format!("{:.0}", posts as f64 / dur.max(1e-9)),
    );
}

/// Saturation's closed loop: [`POSTERS`] threads post (tagged `tag`) to `addr` for `sat`, staying at most
/// `ahead` posts beyond what the `n` receivers counted in `delivered` (from `base`); returns
/// how many posts the node took.
#[allow(clippy::too_many_arguments)]
pub fn closed_loop(
    addr: std::net::SocketAddr,
    token: &str,
    tag: u32,
    delivered: &AtomicU64,
    base: u64,
    n: usize,
    ahead: u64,
    sat: Duration,
) -> u64 {
    let (posted, taken) = (AtomicU64::new(0), AtomicU64::new(0));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..POSTERS {
            s.spawn(|| loop {
                if t0.elapsed() >= sat {
                    return;
                }
                let i = posted.fetch_add(1, Relaxed);
                while (delivered.load(Relaxed) - base) / n as u64 + ahead <= i {
                    if t0.elapsed() >= PHASE_TIMEOUT {
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                if post(addr, token, tag, now_us()) {
                    taken.fetch_add(1, Relaxed);
                }
            });
        }
    });
    taken.load(Relaxed)
}
