//! Federation benchmark: one author node and N follower nodes (real `msmd` processes on
//! loopback, found through static discovery entries), measuring
//! - deliveries per second: a burst of posts until every follower server stored all of them;
//! - post-to-stored latency: paced posts, `received_ms - time_ms` read from each follower's
//!   database (one clock, one machine);
//! - memory of the author node while it holds its links (VmRSS, RssAnon) and the link count.
//!
//! Usage: `MSMD_BIN=target/release/msmd cargo run --release -p msm-tests --bin fedbench -- [N...]`
//! (default N = 10 100). Prints `name: value` lines. Loopback only; bounded in time.

use msm_tests::{data_dir, Node};
use serde_json::json;
use std::time::{Duration, Instant};

const PW: &str = "bench password";
const BURST: usize = 200;
const PACED: usize = 100;
const PACE: Duration = Duration::from_millis(20);

fn status_kb(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn stored_of(db: &std::path::Path) -> (u64, Vec<i64>) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    let mut st = c
        .prepare("SELECT received_ms - time_ms FROM messages")
        .unwrap();
    let lat = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (n as u64, lat)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn run(n: usize) {
    println!("# {n} follower servers");
    let author_dir = data_dir("author.test", &[("bob", PW, true)]);
    let author_port = msm_tests::lab::free_port();
    let mut statics =
        format!("[discovery.static]\n\"author.test\" = \"127.0.0.1:{author_port}\"\n");
    let mut followers = Vec::new();
    for i in 0..n {
        let domain = format!("f{i}.test");
        let dir = data_dir(&domain, &[("fan", PW, true)]);
        let port = msm_tests::lab::free_port();
        statics.push_str(&format!("\"{domain}\" = \"127.0.0.1:{port}\"\n"));
        followers.push((domain, dir, port));
    }
    let cfg = |dir: &tempfile::TempDir| {
        let p = dir.path().join("msmd.toml");
        std::fs::write(&p, format!("{}[log]\nfilter = \"warn,msmd::node=info,msmd::web::server=info\"\n[http]\nworkers = 2\n{statics}", msm_tests::UNLIMITED_POSTING)).unwrap();
        p
    };
    let acfg = cfg(&author_dir);
    let author = Node::start(
        author_dir.path(),
        &[
            "--config",
            acfg.to_str().unwrap(),
            "--links",
            &format!("127.0.0.1:{author_port}"),
        ],
    );
    let rss0 = (
        status_kb(author.pid(), "VmRSS:"),
        status_kb(author.pid(), "RssAnon:"),
    );
    let mut nodes = Vec::new();
    for (_, dir, port) in &followers {
        let c = cfg(dir);
        nodes.push(Node::start(
            dir.path(),
            &[
                "--config",
                c.to_str().unwrap(),
                "--links",
                &format!("127.0.0.1:{port}"),
            ],
        ));
    }
    let t0 = Instant::now();
    for node in &nodes {
        let t = node.login("fan", PW);
        let r = node.post_json(
            "/api/v1/follows",
            Some(&t),
            &json!({"address": "bob@author.test"}),
        );
        assert!(r.status == 201 || r.status == 202, "{}", r.text());
        // A pending follow (the author's node was slow to answer) is retried by the node.
        let auth = format!("Bearer {t}");
        while node
            .http("GET", "/api/v1/follows", &[("Authorization", &auth)], None)
            .json()["follows"][0]["state"]
            != "active"
        {
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "follows did not become active"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!("follow_all_ms: {}", t0.elapsed().as_millis());
    let bob = author.login("bob", PW);
    // One post first so that every delivery link is up before the measured burst.
    let post = |text: String| {
        let r = author.post_json("/api/v1/posts", Some(&bob), &json!({ "text": text }));
        assert_eq!(r.status, 201);
    };
    post("warm-up".into());
    let wait_all = |count: u64, limit: Duration| -> Duration {
        let t = Instant::now();
        for (_, dir, _) in &followers {
            while stored_of(&dir.path().join("msm.db")).0 < count {
                assert!(t.elapsed() < limit, "deliveries did not complete");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        t.elapsed()
    };
    wait_all(1, Duration::from_secs(120));
    let links = author.http("GET", "/healthz", &[], None).json()["links"]
        .as_u64()
        .unwrap();
    let rss1 = (
        status_kb(author.pid(), "VmRSS:"),
        status_kb(author.pid(), "RssAnon:"),
    );
    println!("author_links: {links}");
    println!("author_idle_vmrss_kb: {}", rss0.0);
    println!("author_idle_rssanon_kb: {}", rss0.1);
    println!("author_with_links_vmrss_kb: {}", rss1.0);
    println!("author_with_links_rssanon_kb: {}", rss1.1);
    println!(
        "author_rssanon_per_link_bytes: {}",
        (rss1.1.saturating_sub(rss0.1)) * 1024 / links.max(1)
    );

    // Burst: 280-byte posts as fast as the author takes them, 4 clients.
    let text = "x".repeat(280);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..BURST / 4 {
                    post(text.clone());
                }
            });
        }
    });
    let posted = start.elapsed();
    wait_all(1 + BURST as u64, Duration::from_secs(300));
    let total = start.elapsed();
    let deliveries = (BURST * n) as f64;
    println!("burst_posts: {BURST}");
    println!("burst_post_accept_ms: {}", posted.as_millis());
    println!("burst_all_stored_ms: {}", total.as_millis());
    println!("deliveries_per_s: {:.0}", deliveries / total.as_secs_f64());
    let rss2 = (
        status_kb(author.pid(), "VmRSS:"),
        status_kb(author.pid(), "RssAnon:"),
        status_kb(author.pid(), "VmHWM:"),
    );
    println!("author_after_burst_vmrss_kb: {}", rss2.0);
    println!("author_after_burst_rssanon_kb: {}", rss2.1);
    println!("author_peak_vmhwm_kb: {}", rss2.2);

    // Paced: one post every 20 ms, latency from the author's commit to each follower's store.
    let before: Vec<usize> = followers
        .iter()
        .map(|(_, d, _)| stored_of(&d.path().join("msm.db")).1.len())
        .collect();
    for i in 0..PACED {
        post(format!("paced {i}"));
        std::thread::sleep(PACE);
    }
    wait_all((1 + BURST + PACED) as u64, Duration::from_secs(120));
    let mut lat: Vec<i64> = Vec::new();
    for ((_, d, _), skip) in followers.iter().zip(before) {
        lat.extend(stored_of(&d.path().join("msm.db")).1.into_iter().skip(skip));
    }
    lat.sort();
    println!("paced_posts: {PACED} every {} ms", PACE.as_millis());
    println!("latency_samples: {}", lat.len());
    println!("latency_p50_ms: {}", percentile(&lat, 0.5));
    println!("latency_p99_ms: {}", percentile(&lat, 0.99));
    println!("latency_max_ms: {}", lat.last().copied().unwrap_or(-1));
    drop(nodes);
}

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for n in if ns.is_empty() { vec![10, 100] } else { ns } {
        run(n);
    }
}
