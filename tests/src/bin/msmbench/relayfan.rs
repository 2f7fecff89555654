//! Relay fan-out: a hub (`firehose.role = "hub"`) and N live relay sessions to it, opened from
//! this process as a router behind NAT opens its one (the link handshake proving a node key,
//! then `StreamOpen` live, as [`msm_tests::relay::open_live`] does). The hub sends every
//! session each firehose datagram it streams (`StreamData`: a signed batch of the public posts
//! its writer stored, exactly as multicast carries them); a session here decodes each datagram's
//! entries and counts every post in them as one delivery. No NACKs: a session that misses
//! something shows as undelivered.
//!
//! The author is a user of the hub posting through its HTTP API, as in [`crate::fanout`]:
//! 280-byte texts carrying a run tag and the time the post was due, so latency is receipt time
//! minus due time (the hub's [`msmd::proto::stream::sender::FLUSH_MS`] batching included).
//!
//! - saturation: closed loop, posters stay at most `window` deliveries ahead of the average
//!   session; deliveries/s = deliveries / (last receipt − first post), like the mosquitto anchor;
//! - latency: open loop at fixed offered loads (deliveries/s = posts/s × N);
//! - the hub's CPU time in each run (posting included), and its private memory per session.

use crate::fanout::{parse_text, post, wait_count, LATE_GRACE, POSTERS};
use crate::node::{now_us, Bench, USERS};
use crate::{out, progress, quantile, Args, PASSWORD, PHASE_TIMEOUT};
use msm_tests::relay::{open_live, RelayClient};
use msmd::proto::stream::{Packet, Payload};
use msmd::proto::{FrameType, Limits, NodeKey, SignedMessage};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Sessions being opened at once (handshakes in flight).
const CONCURRENT_OPENS: usize = 64;
/// `firehose.max_relay_sessions` above N, so that no session of the run is refused.
const SESSION_SLACK: usize = 16;
/// How long the hub gets to count every session, and to settle before memory is read.
const SESSIONS_WAIT: Duration = Duration::from_secs(60);
/// Quiet time before each memory reading.
const SETTLE: Duration = Duration::from_secs(1);
/// Run tags in post texts (apart from [`crate::fanout`]'s only for clarity).
const TAG_WARM: u32 = 100;
const TAG_SAT: u32 = 101;
const TAG_LOAD: u32 = 110;

/// (run tag, latency µs, receipt µs since the epoch) of one delivery.
type Sample = (u32, u64, u64);

/// What the sessions saw.
#[derive(Default)]
struct Stats {
    /// Posts received, all sessions.
    delivered: AtomicU64,
    /// `StreamData` / `StreamRepair` frames received, all sessions.
    frames: AtomicU64,
    /// Sessions the hub closed.
    closed: AtomicU64,
}

/// Runs the relay fan-out phase for one N.
pub fn run(a: &Args) {
    let n = a.num("n", 100) as usize;
    let p = format!("msm_relay_n{n}");
    let rt = crate::runtime();
    let config = format!(
        "[firehose]\nrole = \"hub\"\ninterface = \"lo\"\nrelay_listen = \"127.0.0.1:0\"\n\
         max_relay_sessions = {}\n",
        n + SESSION_SLACK
    );
    let bench = Bench::start_with("hub.test", &[], &config);
    bench
        .node
        .wait_for_log("relay listening addr=", Duration::from_secs(30));
    let relay: SocketAddr = bench
        .node
        .log_value("relay listening addr=")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("relay address in the hub's log");
    progress(&format!(
        "relay fan-out n={n}: hub pid {}",
        bench.node.pid()
    ));
    std::thread::sleep(SETTLE);
    let (anon0, slab0) = (bench.status_kb("RssAnon"), slab_kb());

    let stats = Arc::new(Stats::default());
    let t0 = Instant::now();
    let clients = rt.block_on(open_all(relay, n));
    out(&format!("{p}_sessions_opened"), clients.len());
    out(&format!("{p}_open_secs"), secs(t0.elapsed()));
    let mut samples = Vec::with_capacity(clients.len());
    for c in clients {
        let mine = Arc::new(Mutex::new(Vec::new()));
        samples.push(mine.clone());
        rt.spawn(read(c, stats.clone(), mine));
    }
    let live = wait_sessions(&bench, n);
    out(&format!("{p}_hub_sessions"), live);
    std::thread::sleep(SETTLE);
    let (anon1, slab1) = (bench.status_kb("RssAnon"), slab_kb());
    let per = |before: u64, after: u64| {
        ((after as f64 - before as f64) * 1024.0 / live.max(1) as f64).round()
    };
    out(
        &format!("{p}_hub_anon_bytes_per_session"),
        per(anon0, anon1),
    );
    // as the mosquitto anchor's figure: machine-wide, both ends of each connection
    out(
        &format!("{p}_kernel_slab_bytes_per_session_both_ends"),
        per(slab0, slab1),
    );

    let run = Run {
        p: &p,
        bench: &bench,
        token: bench.node.login(USERS[0], PASSWORD),
        stats: &stats,
        samples: &samples,
        n,
    };
    let t0 = Instant::now();
    post(bench.node.addr, &run.token, TAG_WARM, now_us());
    wait_count(&stats.delivered, n as u64, PHASE_TIMEOUT);
    out(
        &format!("{p}_first_post_all_delivered_secs"),
        secs(t0.elapsed()),
    );
    run.saturation(a);
    for load in a.list("loads", &[20000]) {
        run.latency(a, load);
    }
    let d = stats.delivered.load(Relaxed);
    let frames = stats.frames.load(Relaxed).max(1);
    out(
        &format!("{p}_posts_per_datagram"),
        format!("{:.2}", d as f64 / frames as f64),
    );
    let fh = &bench.node.http("GET", "/healthz", &[], None).json()["firehose"];
    out(
        &format!("{p}_hub_slow_dropped"),
        fh["relay_slow_dropped"].as_u64().unwrap_or(0),
    );
    out(
        &format!("{p}_sessions_closed_by_hub"),
        stats.closed.load(Relaxed),
    );
    out(&format!("{p}_hub_vmhwm_kib"), bench.status_kb("VmHWM"));
    drop(bench);
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// `Slab` of `/proc/meminfo`, in kB (machine-wide).
fn slab_kb() -> u64 {
    crate::node::proc_field("/proc/meminfo", "Slab")
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

/// Opens `n` live sessions to the hub's relay port, [`CONCURRENT_OPENS`] at a time, all with
/// one key (the hub asks a live session for nothing but a proven key).
async fn open_all(relay: SocketAddr, n: usize) -> Vec<RelayClient> {
    let key = Arc::new(NodeKey::generate().expect("key"));
    let gate = Arc::new(Semaphore::new(CONCURRENT_OPENS));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (key, gate) = (key.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.ok()?;
                open_live(relay, &key, "bench.test").await.ok()
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(Some(c)) = t.await {
            clients.push(c);
        }
    }
    clients
}

/// Reads one session until the hub closes it: every post of every datagram is a delivery.
async fn read(mut c: RelayClient, stats: Arc<Stats>, mine: Arc<Mutex<Vec<Sample>>>) {
    let limits = Limits::default();
    let mut seen = Vec::new();
    while let Ok(f) = c.reader.next().await {
        if !matches!(f.kind, FrameType::StreamData | FrameType::StreamRepair) {
            continue;
        }
        let now = now_us();
        let Ok(Packet {
            payload: Payload::Data(entries),
            ..
        }) = Packet::decode(&f.payload)
        else {
            continue;
        };
        stats.frames.fetch_add(1, Relaxed);
        for e in entries.iter() {
            let Ok(m) = SignedMessage::decode(e, &limits) else {
                continue;
            };
            if let Some((tag, due)) = m.message.body.text().and_then(parse_text) {
                seen.push((tag, now.saturating_sub(due), now));
            }
        }
        let k = seen.len() as u64;
        mine.lock().expect("samples").append(&mut seen);
        stats.delivered.fetch_add(k, Relaxed);
    }
    stats.closed.fetch_add(1, Relaxed);
    drop(c.writer);
}

/// Waits until the hub counts `n` live sessions (or [`SESSIONS_WAIT`] passes); returns its count.
fn wait_sessions(bench: &Bench, n: usize) -> u64 {
    let t0 = Instant::now();
    loop {
        let live = bench.node.http("GET", "/healthz", &[], None).json()["firehose"]
            ["relay_sessions"]
            .as_u64()
            .unwrap_or(0);
        if live >= n as u64 || t0.elapsed() > SESSIONS_WAIT {
            return live;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One hub with its sessions open.
struct Run<'a> {
    p: &'a str,
    bench: &'a Bench,
    token: String,
    stats: &'a Stats,
    samples: &'a [Arc<Mutex<Vec<Sample>>>],
    n: usize,
}

impl Run<'_> {
    /// Sorted latencies (µs) of one run tag, and its last receipt time.
    fn samples_of(&self, tag: u32) -> (Vec<u64>, u64) {
        let (mut lat, mut last) = (Vec::new(), 0);
        for s in self.samples {
            for x in s.lock().expect("samples").iter().filter(|x| x.0 == tag) {
                lat.push(x.1);
                last = last.max(x.2);
            }
        }
        lat.sort_unstable();
        (lat, last)
    }

    /// The hub's CPU seconds over a run, and per delivery in µs.
    fn cpu(&self, k: &str, cpu0: f64, deliveries: u64) {
        let cpu = self.bench.cpu_secs() - cpu0;
        out(&format!("{k}_hub_cpu_s"), format!("{cpu:.2}"));
        out(
            &format!("{k}_hub_cpu_us_per_delivery"),
            format!("{:.2}", cpu * 1e6 / deliveries.max(1) as f64),
        );
    }

    fn saturation(&self, a: &Args) {
        let (n, p, stats) = (self.n, self.p, self.stats);
        let sat = Duration::from_secs(a.num("sat_secs", 4));
        let ahead = (a.num("window", 4000) / n as u64).max(2);
        progress(&format!(
            "relay fan-out n={n}: saturation {sat:?}, {ahead} posts ahead"
        ));
        let base = stats.delivered.load(Relaxed);
        let cpu0 = self.bench.cpu_secs();
        let start_us = now_us();
        let posts = crate::fanout::closed_loop(
            self.bench.node.addr,
            &self.token,
            TAG_SAT,
            &stats.delivered,
            base,
            n,
            ahead,
            sat,
        );
        let got = wait_count(&stats.delivered, base + posts * n as u64, PHASE_TIMEOUT) - base;
        let (_, last) = self.samples_of(TAG_SAT);
        let dur = last.saturating_sub(start_us) as f64 / 1e6;
        let k = format!("{p}_sat");
        crate::fanout::saturation_figures(&k, posts, got, n, dur);
        self.cpu(&k, cpu0, got);
    }

    fn latency(&self, a: &Args, load: u64) {
        let (n, p, stats) = (self.n, self.p, self.stats);
        let lat_secs = a.num("lat_secs", 2);
        let rate = (load as f64 / n as f64).max(1.0);
        let posts = ((rate * lat_secs as f64) as u64).max(10);
        let tag = TAG_LOAD + (load / 1000) as u32;
        progress(&format!(
            "relay fan-out n={n}: {load} deliveries/s offered ({rate:.0} posts/s)"
        ));
        let base = stats.delivered.load(Relaxed);
        let (next, taken) = (AtomicU64::new(0), AtomicU64::new(0));
        let interval_us = 1e6 / rate;
        let cpu0 = self.bench.cpu_secs();
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
                    let due_us = start_us + due.as_micros() as u64;
                    if post(self.bench.node.addr, &self.token, tag, due_us) {
                        taken.fetch_add(1, Relaxed);
                    }
                });
            }
        });
        let made = taken.load(Relaxed);
        let got = wait_count(&stats.delivered, base + made * n as u64, PHASE_TIMEOUT) - base;
        let (lat, last) = self.samples_of(tag);
        let dur = last.saturating_sub(start_us) as f64 / 1e6;
        let q =
            |x: f64| quantile(&lat, x).map_or("-".into(), |v| format!("{:.1}", v as f64 / 1000.0));
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
        self.cpu(&k, cpu0, got);
    }
}
