//! `GET /metrics`: scraped from real nodes and read by the Prometheus project's own Python
//! client's text parser (`prometheus_client`, pinned; `tests/run` installs it), its counters
//! followed across a delivery between two nodes, the snapshot cache, and who may read it
//! (`http.metrics`) from a loopback, a private and a public address in a network namespace.

use crate::federation::{pinned_pair, post, wait_posts, PW};
use msm_tests::netns::{in_netns, Lab};
use msm_tests::{data_dir, request, Node, Resp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `prometheus_client` release whose parser reads the text (as pinned in `tests/run`).
const PROMETHEUS_CLIENT: &str = "0.26.0";
/// The `Content-Type` of the text format 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How long the counters may take to show a delivery.
const WAIT: Duration = Duration::from_secs(30);

/// Parses the text with `prometheus_client`, refuses a family without a type or help and a
/// series twice, and prints the samples as JSON.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
seen, out = set(), []
for fam in text_string_to_metric_families(sys.stdin.read()):
    if fam.type == "unknown" or not fam.documentation:
        sys.exit(f"family {fam.name}: type {fam.type!r}, help {fam.documentation!r}")
    if fam.type == "counter" and not all(s.name == fam.name + "_total" for s in fam.samples):
        sys.exit(f"counter {fam.name}: samples {fam.samples}")
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        if key in seen:
            sys.exit(f"series {key} twice")
        seen.add(key)
        out.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

/// Samples by name and labels (`name{k="v",...}`, labels sorted).
type Samples = BTreeMap<String, f64>;

/// Fails loudly unless python3 has the pinned `prometheus_client`.
fn require_parser() {
    msm_tests::require_python_package("prometheus_client", PROMETHEUS_CLIENT);
}

/// `text` as `prometheus_client` reads it; panics with its complaint if it refuses it.
fn parse(text: &str) -> Samples {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the text");
    let o = child.wait_with_output().expect("python3");
    assert!(
        o.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&o.stdout).expect("the parser's JSON");
    samples
        .iter()
        .map(|s| {
            let labels: Vec<String> = s["labels"]
                .as_object()
                .expect("labels")
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let name = s["name"].as_str().expect("name");
            let key = if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}{{{}}}", labels.join(","))
            };
            (key, s["value"].as_f64().expect("value"))
        })
        .collect()
}

/// Scrapes `node` (200, the 0.0.4 content type) and parses the text.
fn scrape(node: &Node) -> (Samples, String) {
    let r = node.http("GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some(CONTENT_TYPE));
    let text = r.text();
    (parse(&text), text)
}

fn get(s: &Samples, key: &str) -> f64 {
    *s.get(key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", s.keys()))
}

/// Scrapes until `done` holds (the text is rebuilt at most once a second).
fn scrape_until(node: &Node, what: &str, done: impl Fn(&Samples) -> bool) -> Samples {
    let t0 = Instant::now();
    loop {
        let (s, text) = scrape(node);
        if done(&s) {
            return s;
        }
        assert!(
            t0.elapsed() < WAIT,
            "{what} never showed:\n{text}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn counters_move_when_a_post_is_delivered() {
    require_parser();
    let (_a, _b, na, nb, _dns) = pinned_pair(&["alice"]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    let (b0, _) = scrape(&nb);
    let (a0, _) = scrape(&na);
    assert_eq!(get(&b0, "msm_deliveries_sent_total"), 0.0);
    let build = format!(
        "msm_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(get(&b0, &build), 1.0);
    assert_eq!(na.follow(&alice, "bob@b.test").0, 201, "{}", na.log());
    post(&nb, &bob, "counted on both sides");
    wait_posts(&na, "bob@b.test", &alice, 1);

    let b1 = scrape_until(&nb, "an acknowledged delivery", |s| {
        get(s, "msm_deliveries_acked_total") >= 1.0 && get(s, "msm_outbox_deliveries") == 0.0
    });
    assert!(get(&b1, "msm_deliveries_sent_total") >= 1.0);
    assert_eq!(
        get(&b1, "msm_outbox_oldest_age_seconds"),
        0.0,
        "nothing owed"
    );
    let established = |s: &Samples| {
        get(s, r#"msm_links_established_total{direction="in"}"#)
            + get(s, r#"msm_links_established_total{direction="out"}"#)
    };
    assert!(established(&b1) > established(&b0), "a link was made");
    // bob's post and the outbox bookkeeping went through the writer
    let commits = "msm_store_commit_duration_seconds_count";
    assert!(get(&b1, commits) > get(&b0, commits), "{b1:?}");
    assert!(get(&b1, "msm_store_commit_jobs_total") > get(&b0, "msm_store_commit_jobs_total"));
    assert_eq!(
        get(
            &b1,
            r#"msm_store_commit_duration_seconds_bucket{le="+Inf"}"#
        ),
        get(&b1, commits)
    );
    assert!(get(&b1, "msm_store_commit_duration_seconds_sum") > 0.0);

    let a1 = scrape_until(&na, "the stored message", |s| {
        get(s, "msm_messages_stored_total") > get(&a0, "msm_messages_stored_total")
    });
    assert!(get(&a1, "msm_messages_received_total") > get(&a0, "msm_messages_received_total"));
    assert_eq!(get(&a1, "msm_messages_bad_signature_total"), 0.0);

    // the same figures as /healthz, once the cache has turned over
    std::thread::sleep(Duration::from_millis(1100));
    let (b2, _) = scrape(&nb);
    let health = nb.http("GET", "/healthz", &[], None).json();
    for (field, metric) in [
        ("deliveries_sent", "msm_deliveries_sent_total"),
        ("deliveries_acked", "msm_deliveries_acked_total"),
        ("backfill_served", "msm_backfill_served_total"),
    ] {
        assert_eq!(
            health["counters"][field].as_f64(),
            Some(get(&b2, metric)),
            "{field}"
        );
    }
    // the process as the kernel sees it
    assert!(get(&b2, "msm_process_resident_memory_bytes") > 1e6);
    assert!(get(&b2, "msm_process_open_fds") >= 3.0);
    assert!(get(&b2, "msm_process_written_bytes_total") >= 0.0);
    assert!(get(&b2, "msm_uptime_seconds") > 0.0);
    assert_eq!(get(&b2, "msm_store_damaged"), 0.0);
}

#[test]
fn scrapes_within_a_second_get_the_same_snapshot() {
    require_parser();
    let data = data_dir("m.test", &[("alice", PW, true)]);
    let node = Node::start(data.path(), &[]);
    // a scrape that rebuilds, then one that must not: the uptime (in microseconds) is the same
    let same = (0..3).any(|_| {
        std::thread::sleep(Duration::from_millis(1100));
        let (_, first) = scrape(&node);
        let (_, second) = scrape(&node);
        first == second
    });
    assert!(same, "two scrapes in a row were built twice");
    let (_, before) = scrape(&node);
    std::thread::sleep(Duration::from_millis(1100));
    let (after, text) = scrape(&node);
    assert_ne!(before, text, "rebuilt after a second");
    assert!(get(&after, "msm_uptime_seconds") >= 1.0);
}

/// A request to `port` at `ip` made inside `ns` (so from `ip` itself: the kernel takes the
/// destination's own address as the source of a local connection).
fn from(ns: &str, ip: &str, port: u16, path: &str, headers: &[(&str, &str)]) -> Resp {
    let to = SocketAddr::new(ip.parse::<IpAddr>().unwrap(), port);
    let (path, ns) = (path.to_string(), ns.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    in_netns(&ns, move || {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(to, "GET", &path, &h, None)
    })
    .expect("HTTP request in the namespace")
}

/// Starts a node inside `ns` on every address, with `[http] metrics = access` (none: default).
fn start_in(ns: &str, access: Option<&str>) -> (tempfile::TempDir, tempfile::TempDir, Node) {
    let data = data_dir("m.test", &[("alice", PW, true)]);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("msmd.toml");
    let line = access.map_or(String::new(), |a| format!("metrics = \"{a}\"\n"));
    std::fs::write(&cfg, format!("[http]\n{line}")).unwrap();
    let args = ["--config", cfg.to_str().unwrap(), "--listen", "0.0.0.0:0"];
    let node = Node::start_in(ns, data.path(), &args);
    (data, cfg_dir, node)
}

/// The answer to a path that does not exist, for `path`.
fn not_found(path: &str) -> String {
    format!("{{\"error\":\"no such path: {path}\"}}")
}

#[test]
fn only_the_lan_may_read_it_by_default() {
    require_parser();
    let mut lab = Lab::new();
    let ns = lab.ns("m");
    // a public (documentation) address and a private one, both this host's
    for cidr in ["203.0.113.5/32", "192.168.77.5/32", "100.64.0.5/32"] {
        lab.exec(&ns, &["ip", "addr", "add", cidr, "dev", "lo"]);
    }
    let (_d, _c, node) = start_in(&ns, None);
    let port = node.addr.port();
    for lan in ["127.0.0.1", "192.168.77.5"] {
        let r = from(&ns, lan, port, "/metrics", &[]);
        assert_eq!(r.status, 200, "{lan}: {}", r.text());
        parse(&r.text());
    }
    let proxied = from(
        &ns,
        "127.0.0.1",
        port,
        "/metrics",
        &[("X-Forwarded-For", "8.8.8.8")],
    );
    assert_eq!(proxied.status, 404, "through a proxy");
    let forwarded = from(
        &ns,
        "127.0.0.1",
        port,
        "/metrics",
        &[("Forwarded", "for=8.8.8.8")],
    );
    assert_eq!(forwarded.status, 404, "through a proxy");
    for wan in ["203.0.113.5", "100.64.0.5"] {
        let r = from(&ns, wan, port, "/metrics", &[]);
        assert_eq!(r.status, 404, "{wan}");
        assert_eq!(
            r.text(),
            not_found("/metrics"),
            "{wan}: as a path that does not exist"
        );
        let other = from(&ns, wan, port, "/metricz", &[]);
        assert_eq!(other.text(), not_found("/metricz"));
        assert_eq!(r.header("content-type"), other.header("content-type"));
        assert_eq!(
            from(&ns, wan, port, "/healthz", &[]).status,
            200,
            "{wan} reaches the node"
        );
    }
    drop(node);

    let (_d, _c, any) = start_in(&ns, Some("any"));
    let r = from(&ns, "203.0.113.5", any.addr.port(), "/metrics", &[]);
    assert_eq!(r.status, 200, "metrics = \"any\"");
    parse(&r.text());
    drop(any);

    let (_d, _c, off) = start_in(&ns, Some("off"));
    let r = from(&ns, "127.0.0.1", off.addr.port(), "/metrics", &[]);
    assert_eq!(r.status, 404, "metrics = \"off\"");
    assert_eq!(r.text(), not_found("/metrics"));
}
