//! msmd as a WebSub hub for its users' Atom feeds (issue 16), with a subscriber nobody here
//! wrote the protocol side of: `tests/websub/subscriber.py` (Python's http.server and ssl) at
//! `https://sub.test/` in a network namespace (the Fedify lab: its CA, names and dnsmasq), and
//! msmd at `https://msm.test/` with its own HTTPS. The deliveries are read by feedparser and
//! their `X-Hub-Signature` checked with Python's hmac (`tests/websub/read_delivery.py`).
//!
//! Checked: the feed names the hub and itself; a subscription is verified with the right
//! topic, lease and a fresh challenge before anything is sent; a new post is delivered as an
//! Atom document feedparser reads, signed with the subscriber's secret; a subscriber that does
//! not echo the challenge is never sent anything; an unsubscribe is verified and stops the
//! deliveries. And a flood of hostile requests stores nothing and stays within memory bounds.
//!
//! Needs root, iproute2, dnsmasq, openssl, python3 and feedparser (`tests/run` installs them).

use msm_tests::fedify::FedLab;
use msm_tests::hostile::MemoryWatch;
use msm_tests::Node;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MSM: &str = "msm.test";
const SUB: &str = "sub.test";
const TOPIC: &str = "https://msm.test/@alice/feed.atom";
const HUB: &str = "https://msm.test/websub";
const SECRET: &str = "a secret only sub.test knows";
const PW: &str = "a long password";
/// feedparser's version, as `tests/run` installs it.
const FEEDPARSER: &str = "6.0.11";
/// How long a verification or a delivery may take to show at the subscriber.
const WAIT: Duration = Duration::from_secs(30);

fn websub_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("websub")
}

/// The Python subscriber, running in the lab; killed when dropped.
struct Subscriber {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Subscriber {
    fn start(lab: &FedLab) -> Subscriber {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("requests.jsonl");
        let (cert, key) = lab.cert(SUB);
        let mut child = Command::new("ip")
            .args(["netns", "exec", lab.ns(), "python3"])
            .arg(websub_dir().join("subscriber.py"))
            .args([lab.ip(SUB), "443"])
            .args([&cert, &key, &log])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the subscriber");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let line = rx.recv_timeout(WAIT).unwrap_or_default();
        assert_eq!(line.trim(), "ready", "the subscriber did not start");
        Subscriber {
            child,
            log,
            _dir: dir,
        }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    fn deliveries_to(&self, path: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["kind"] == "delivery" && r["path"] == path)
            .collect()
    }

    fn wait(&self, what: &str, node: &Node, pred: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            if let Some(r) = self.requests().into_iter().find(|r| pred(r)) {
                return r;
            }
            assert!(
                t0.elapsed() < WAIT,
                "no {what} at the subscriber: {:#?}\n{}",
                self.requests(),
                node.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a form value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hub_request(node: &Node, body: &str) -> msm_tests::Resp {
    node.http(
        "POST",
        "/websub",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body),
    )
}

fn form(mode: &str, callback: &str, extra: &str) -> String {
    format!(
        "hub.mode={mode}&hub.topic={}&hub.callback={}{extra}",
        enc(TOPIC),
        enc(callback)
    )
}

/// A gauge or counter of `/metrics`.
fn metric(node: &Node, name: &str) -> Option<u64> {
    let r = node.http("GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.text().lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|v| v.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    })
}

fn wait_metric(node: &Node, name: &str, want: u64) {
    let t0 = Instant::now();
    while metric(node, name) != Some(want) {
        assert!(
            t0.elapsed() < WAIT,
            "{name} is {:?}, not {want}\n{}",
            metric(node, name),
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn post(node: &Node, token: &str, text: &str) {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// feedparser's reading of a delivered body, and the signature checked with `secret`.
fn read_delivery(delivery: &Value, secret: &str) -> Value {
    let out = Command::new("python3")
        .arg(websub_dir().join("read_delivery.py"))
        .arg(delivery["body_file"].as_str().unwrap())
        .arg(secret)
        .arg(delivery["signature"].as_str().unwrap_or(""))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", msm_tests::text(&out));
    serde_json::from_slice(&out.stdout).expect("JSON from read_delivery.py")
}

fn start_node(lab: &FedLab, data: &Path, cfg: &Path) -> Node {
    let file = lab.write_msmd_config(MSM, cfg);
    Node::start_in(lab.ns(), data, &["--config", file.to_str().unwrap()])
}

#[test]
fn websub_subscriber_is_verified_sent_signed_posts_and_unsubscribed() {
    msm_tests::require_python_package("feedparser", FEEDPARSER);
    let lab = FedLab::new(&[(MSM, "127.0.0.4"), (SUB, "127.0.0.5")]);
    let data = msm_tests::data_dir(MSM, &[("alice", PW, true)]);
    let cfg = tempfile::tempdir().unwrap();
    let node = start_node(&lab, data.path(), cfg.path());
    let sub = Subscriber::start(&lab);
    let token = node.login("alice", PW);

    // the feed names its hub and itself, in the document and the Link header
    let feed = node.http("GET", "/@alice/feed.atom", &[], None);
    assert_eq!(feed.status, 200);
    let link = feed.header("link").unwrap_or("");
    assert!(link.contains(&format!("<{HUB}>; rel=\"hub\"")), "{link}");
    assert!(link.contains(&format!("<{TOPIC}>; rel=\"self\"")), "{link}");
    assert!(feed
        .text()
        .contains(&format!("<link rel=\"hub\" href=\"{HUB}\"/>")));

    post(&node, &token, "written before anyone subscribed");
    // subscribe with a lease and a secret; and a subscriber that never echoes the challenge
    let cb = "https://sub.test/cb?id=1";
    let asked = form(
        "subscribe",
        cb,
        &format!("&hub.lease_seconds=7200&hub.secret={}", enc(SECRET)),
    );
    let r = hub_request(&node, &asked);
    assert_eq!(r.status, 202, "{}", r.text());
    let r = hub_request(&node, &form("subscribe", "https://sub.test/liar", ""));
    assert_eq!(r.status, 202, "{}", r.text());

    let check = sub.wait("the verification of /cb", &node, |r| {
        r["kind"] == "verify" && r["path"] == "/cb"
    });
    let q = &check["query"];
    assert_eq!(q["hub.mode"], "subscribe", "{check:#}");
    assert_eq!(q["hub.topic"], TOPIC, "{check:#}");
    assert_eq!(q["hub.lease_seconds"], "7200", "{check:#}");
    assert_eq!(q["id"], "1", "the callback's own query is kept: {check:#}");
    let challenge = q["hub.challenge"].as_str().unwrap_or("");
    assert_eq!(challenge.len(), 64, "{check:#}");
    let liar = sub.wait("the verification of /liar", &node, |r| {
        r["kind"] == "verify" && r["path"] == "/liar"
    });
    assert_ne!(
        liar["query"]["hub.challenge"], challenge,
        "challenges are fresh"
    );
    wait_metric(&node, "msm_websub_pending", 0);
    assert_eq!(
        metric(&node, "msm_websub_subscriptions"),
        Some(1),
        "only /cb"
    );
    assert_eq!(metric(&node, "msm_websub_verified_total"), Some(1));
    assert_eq!(metric(&node, "msm_websub_unconfirmed_total"), Some(1));

    // a new post is delivered: an Atom document feedparser reads, signed with the secret
    post(&node, &token, "hello subscribers");
    let got = sub.wait("a delivery to /cb", &node, |r| {
        r["kind"] == "delivery" && r["path"] == "/cb"
    });
    assert_eq!(got["content_type"], "application/atom+xml", "{got:#}");
    let links = got["link"].to_string();
    assert!(
        links.contains(&format!("<{HUB}>; rel=\\\"hub\\\"")),
        "{links}"
    );
    assert!(
        links.contains(&format!("<{TOPIC}>; rel=\\\"self\\\"")),
        "{links}"
    );
    let read = read_delivery(&got, SECRET);
    assert_eq!(read["bozo"], false, "{read:#}");
    assert_eq!(read["version"], "atom10", "{read:#}");
    assert_eq!(read["hub"], HUB, "{read:#}");
    assert_eq!(read["self"], TOPIC, "{read:#}");
    assert_eq!(
        read["titles"],
        json!(["hello subscribers"]),
        "only the new post: {read:#}"
    );
    assert_eq!(read["signature_ok"], true, "{got:#}");
    assert_eq!(
        read_delivery(&got, "another secret")["signature_ok"],
        false,
        "the check tells secrets apart"
    );

    // unsubscribe: verified, then nothing more to /cb; a second subscriber (no secret) still
    // gets the next post, which shows /cb would have had it by then
    let r = hub_request(&node, &form("subscribe", "https://sub.test/cb2", ""));
    assert_eq!(r.status, 202, "{}", r.text());
    let r = hub_request(&node, &form("unsubscribe", cb, ""));
    assert_eq!(r.status, 202, "{}", r.text());
    let bye = sub.wait("the verification of the unsubscribe", &node, |r| {
        r["kind"] == "verify" && r["query"]["hub.mode"] == "unsubscribe"
    });
    assert_eq!(bye["path"], "/cb", "{bye:#}");
    assert!(bye["query"].get("hub.lease_seconds").is_none(), "{bye:#}");
    wait_metric(&node, "msm_websub_pending", 0);
    assert_eq!(
        metric(&node, "msm_websub_subscriptions"),
        Some(1),
        "only /cb2"
    );
    post(&node, &token, "after the unsubscribe");
    let other = sub.wait("a delivery to /cb2", &node, |r| {
        r["kind"] == "delivery" && r["path"] == "/cb2"
    });
    assert!(
        other["signature"].is_null(),
        "no secret, no signature: {other:#}"
    );
    let read = read_delivery(&other, "");
    assert_eq!(read["titles"], json!(["after the unsubscribe"]), "{read:#}");
    assert_eq!(sub.deliveries_to("/cb").len(), 1, "{:#?}", sub.requests());
    assert!(
        sub.deliveries_to("/liar").is_empty(),
        "{:#?}",
        sub.requests()
    );
}

#[test]
fn websub_hostile_requests_store_nothing_and_stay_bounded() {
    let lab = FedLab::new(&[(MSM, "127.0.0.4")]);
    let data = msm_tests::data_dir(MSM, &[("alice", PW, true)]);
    let cfg = tempfile::tempdir().unwrap();
    let node = start_node(&lab, data.path(), cfg.path());
    let watch = MemoryWatch::start(node.pid());
    let good = |cb: &str| form("subscribe", cb, "");
    let mut hostile: Vec<(String, &str)> = vec![
        ("x".repeat(5000), "application/x-www-form-urlencoded"),
        (good("https://sub.test/a"), "application/json"),
        (
            good("http://sub.test/a"),
            "application/x-www-form-urlencoded",
        ),
        (
            good("https://127.0.0.1@sub.test/"),
            "application/x-www-form-urlencoded",
        ),
        (
            good(&format!("https://sub.test/{}", "a".repeat(2100))),
            "application/x-www-form-urlencoded",
        ),
        (
            form("publish", "https://sub.test/a", ""),
            "application/x-www-form-urlencoded",
        ),
        (
            form("subscribe", "https://sub.test/a", "&hub.mode=subscribe"),
            "application/x-www-form-urlencoded",
        ),
        (
            form("subscribe", "https://sub.test/a", "&hub.lease_seconds=-1"),
            "application/x-www-form-urlencoded",
        ),
        (
            form(
                "subscribe",
                "https://sub.test/a",
                &format!("&hub.secret={}", "s".repeat(200)),
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            form("subscribe", "https://sub.test/a", "&hub.secret=%g0"),
            "application/x-www-form-urlencoded",
        ),
        (
            format!(
                "hub.mode=subscribe&hub.topic={}&hub.callback=https%3A%2F%2Fs.test%2F",
                enc("https://msm.test/@bob/feed.atom")
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            format!(
                "hub.mode=subscribe&hub.topic={}&hub.callback=https%3A%2F%2Fs.test%2F",
                enc("https://elsewhere.test/@alice/feed.atom")
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            "\u{0}\u{1}%%%&&&===".to_string(),
            "application/x-www-form-urlencoded",
        ),
        (
            "hub.mode=subscribe".to_string(),
            "application/x-www-form-urlencoded",
        ),
    ];
    // as many again with the parameters shuffled into noise
    for n in 0..200 {
        hostile.push((
            format!("{}&x{n}={}", "&".repeat(n % 7), "%zz".repeat(n)),
            "application/x-www-form-urlencoded",
        ));
    }
    let threads: Vec<_> = hostile
        .chunks(hostile.len() / 4 + 1)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let addr = node.addr;
            let ns = lab.ns().to_string();
            std::thread::spawn(move || {
                msm_tests::netns::in_netns(&ns, move || {
                    chunk
                        .iter()
                        .map(|(body, ct)| {
                            msm_tests::request(
                                addr,
                                "POST",
                                "/websub",
                                &[("Content-Type", ct)],
                                Some(body.as_bytes()),
                            )
                            .map(|r| r.status)
                            .unwrap_or(0)
                        })
                        .collect::<Vec<u16>>()
                })
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), hostile.len());
    for ((body, _), status) in hostile.iter().zip(&statuses) {
        assert!(
            matches!(status, 400 | 413 | 415),
            "{status} for {:?}",
            &body[..body.len().min(120)]
        );
    }
    assert_eq!(
        metric(&node, "msm_websub_pending"),
        Some(0),
        "nothing stored"
    );
    assert_eq!(
        metric(&node, "msm_websub_requests_rejected_total"),
        Some(hostile.len() as u64)
    );

    // well-formed requests from one callback host: taken up to its bound, then 503
    let statuses: Vec<u16> = (0..120)
        .map(|n| hub_request(&node, &good(&format!("https://flood.test/{n}"))).status)
        .collect();
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    assert_eq!(accepted, 100, "{statuses:?}");
    assert!(statuses[100..].iter().all(|s| *s == 503), "{statuses:?}");
    let pending = metric(&node, "msm_websub_pending").unwrap_or(0);
    assert!(pending <= 100, "{pending}");
    assert_eq!(metric(&node, "msm_websub_subscriptions"), Some(0));

    watch.assert_came_back("websub flood", 24 * 1024, 8 * 1024);
}
