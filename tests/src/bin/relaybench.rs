//! Relay-session benchmark: one hub (a real `msmd` process on loopback) and N authenticated
//! live relay sessions opened to it from this process, measuring the hub's memory before and
//! after (VmRSS, RssAnon from `/proc`) and the private memory each session costs. The hub's
//! own writers, heartbeats and announcements flow to every session meanwhile; this process
//! reads them, so no session counts as slow.
//!
//! Usage: `cargo run -p msm-tests --bin relaybench -- [N]` (default 1000; `MSMD_BIN` picks the
//! daemon binary). Raises this process's open-file limit, which the hub inherits. Prints
//! `name: value` lines. Not asserted: figures for the report.

use msm_tests::relay::{open_live, status_kb};
use msm_tests::{data_dir, Node};
use msmd::proto::NodeKey;
use std::time::{Duration, Instant};

/// Default number of sessions.
const DEFAULT_SESSIONS: usize = 1000;
/// Files this process and the hub may open: the sessions on both ends plus the hub's own.
const FILE_LIMIT: u64 = 8192;
/// Time the hub gets to settle before and after opening the sessions.
const SETTLE: Duration = Duration::from_secs(2);
/// Longest wait for the hub to count every session.
const WAIT: Duration = Duration::from_secs(60);

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SESSIONS);
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let want = FILE_LIMIT.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, want, hard).expect("setrlimit");
    println!("open file limit: {want}");

    let dir = data_dir("hub.test", &[("alice", "bench password", true)]);
    let config = dir.path().join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
             [firehose]\nrole = \"hub\"\nrelay_listen = \"127.0.0.1:0\"\nmax_relay_sessions = {}\n",
            n + 10
        ),
    )
    .expect("config");
    let hub = Node::start(dir.path(), &["--config", config.to_str().expect("path")]);
    let addr: std::net::SocketAddr = hub
        .log_value("relay listening addr=")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("relay address in the hub's log");
    std::thread::sleep(SETTLE);
    let pid = hub.pid();
    let (rss0, anon0) = (status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"));
    println!("hub before: VmRSS {rss0} kB, RssAnon {anon0} kB");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let key = NodeKey::generate().expect("key");
    let t0 = Instant::now();
    let clients = rt.block_on(async {
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            match open_live(addr, &key, "bench.test").await {
                Ok(c) => clients.push(c),
                Err(e) => panic!("session {i} failed: {e}"),
            }
        }
        clients
    });
    println!("sessions opened: {} in {:?}", clients.len(), t0.elapsed());
    // read everything the hub sends, in the background of this runtime
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            rt.spawn(async move {
                while c.reader.next().await.is_ok() {}
                drop(c.writer);
            })
        })
        .collect();
    let t1 = Instant::now();
    loop {
        let live = hub.http("GET", "/healthz", &[], None).json()["firehose"]["relay_sessions"]
            .as_u64()
            .unwrap_or(0);
        if live as usize >= n {
            break;
        }
        assert!(t1.elapsed() < WAIT, "the hub counts only {live} sessions");
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
    }
    rt.block_on(async { tokio::time::sleep(SETTLE).await });
    let (rss1, anon1) = (status_kb(pid, "VmRSS"), status_kb(pid, "RssAnon"));
    println!("hub with {n} sessions: VmRSS {rss1} kB, RssAnon {anon1} kB");
    println!(
        "per session: VmRSS {:.1} kB, RssAnon {:.1} kB",
        (rss1 as f64 - rss0 as f64) / n as f64,
        (anon1 as f64 - anon0 as f64) / n as f64
    );
    for r in readers {
        r.abort();
    }
    drop(rt);
    let (status, _) = hub.stop();
    println!("hub exit: {status}");
}
