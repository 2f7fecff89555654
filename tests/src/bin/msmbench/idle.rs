//! Idle memory of a node with three users, and private memory per idle node link: the generator
//! opens N links to one node as N distinct servers (each proves its own key), holds them open
//! and answers keep-alive pings; the node's RssAnon before and after gives bytes per link.
//!
//! Hub relay sessions are not built yet (issue 5), so an idle authenticated node link is the
//! closest thing the node holds per connected peer.

use crate::node::Bench;
use crate::wire;
use crate::{out, progress, Args, PHASE_TIMEOUT};
use msmd::proto::{FrameType, NodeKey};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a freshly started node is left alone before its idle memory is read.
const SETTLE: Duration = Duration::from_secs(3);
/// Handshakes the generator runs at once by default (the node's handshake timeout is 10 s;
/// `conc=` lowers it for a node slowed down by a profiler).
const CONCURRENT_HANDSHAKES: u64 = 128;
/// How long the node's CPU use is watched while it holds its idle links.
const IDLE_CPU_WINDOW: Duration = Duration::from_secs(3);
/// Distinct peer domains at most: their static discovery entries must fit the node's 64 KiB
/// configuration file. Above this many links, domains repeat (every link still proves its own
/// key; inbound links are not keyed by domain, so each is held separately).
const MAX_DOMAINS: usize = 1000;
/// Where the idle peers' static discovery entries point: nothing listens there, and an inbound
/// link never dials back, so they are never used.
const NOWHERE: &str = "127.0.0.1:9";

/// Runs the idle phase.
pub fn run(a: &Args) {
    let bench = Bench::start("idle.test", &[]);
    std::thread::sleep(SETTLE);
    out(
        "msm_binary_bytes",
        std::fs::metadata(msm_tests::msmd_bin())
            .map(|m| m.len())
            .unwrap_or(0),
    );
    out("msm_idle_vmrss_kib", bench.status_kb("VmRSS"));
    out("msm_idle_rssanon_kib", bench.status_kb("RssAnon"));
    out("msm_idle_threads", bench.status_kb("Threads"));
    out(
        "msm_idle_pss_kib",
        crate::node::proc_field(&format!("/proc/{}/smaps_rollup", bench.node.pid()), "Pss"),
    );
    drop(bench);
    let conc = a.num("conc", CONCURRENT_HANDSHAKES) as usize;
    let hold = Duration::from_secs(a.num("hold", 0));
    for n in a.list("links", &[1000, 10000]) {
        links(n as usize, conc, hold);
    }
}

fn links(n: usize, conc: usize, hold: Duration) {
    progress(&format!("idle links: {n}"));
    let nowhere: SocketAddr = NOWHERE.parse().expect("address");
    let domains: Vec<String> = (0..n)
        .map(|i| format!("i{}.test", i % MAX_DOMAINS))
        .collect();
    let statics: Vec<(String, SocketAddr)> = domains
        .iter()
        .take(MAX_DOMAINS)
        .map(|d| (d.clone(), nowhere))
        .collect();
    let bench = Bench::start("hub.test", &statics);
    std::thread::sleep(SETTLE);
    let before = bench.status_kb("RssAnon");
    let addr = bench.node.links;
    let rt = crate::runtime();
    let gate = Arc::new(Semaphore::new(conc));
    let t0 = Instant::now();
    for d in domains {
        let gate = gate.clone();
        rt.spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore");
            let key = NodeKey::generate().expect("key");
            let mut c = match wire::dial(addr, &d, &key).await {
                Ok(c) => c,
                Err(e) => {
                    progress(&format!("{d}: {e}"));
                    return;
                }
            };
            drop(permit);
            // Hold the link: answer pings, ignore anything else, until the runtime stops.
            while let Ok(f) = c.recv().await {
                if f.kind == FrameType::Ping && c.send(FrameType::Pong, &[]).await.is_err() {
                    return;
                }
            }
        });
    }
    let mut held = 0;
    while t0.elapsed() < PHASE_TIMEOUT {
        held = bench.links();
        if held as usize >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    // The last links' set-up work is done before the idle CPU window starts.
    std::thread::sleep(SETTLE);
    let cpu0 = bench.cpu_secs();
    std::thread::sleep(IDLE_CPU_WINDOW);
    let cpu = (bench.cpu_secs() - cpu0) / IDLE_CPU_WINDOW.as_secs_f64();
    let after = bench.status_kb("RssAnon");
    out(
        &format!("msm_links_{n}_idle_cpu_percent"),
        format!("{:.1}", cpu * 100.0),
    );
    out(&format!("msm_links_{n}_held"), held);
    out(
        &format!("msm_links_{n}_connect_secs"),
        format!("{connect_secs:.1}"),
    );
    out(
        &format!("msm_links_{n}_vmrss_kib"),
        bench.status_kb("VmRSS"),
    );
    out(
        &format!("msm_links_{n}_vmhwm_kib"),
        bench.status_kb("VmHWM"),
    );
    out(&format!("msm_links_{n}_rssanon_before_kib"), before);
    out(&format!("msm_links_{n}_rssanon_kib"), after);
    if let Some(per) = (after.saturating_sub(before) * 1024).checked_div(held) {
        out(&format!("msm_links_{n}_anon_bytes_per_link"), per);
    }
    // `hold=` keeps the links open for a profiler's snapshot.
    std::thread::sleep(hold);
    drop(bench);
    rt.shutdown_timeout(Duration::from_secs(1));
}
