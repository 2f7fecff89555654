//! The firehose in network namespaces: a hub and nodes on a simulated internet
//! (198.51.100.0/24 on one bridge, treated as global by `firehose.global_prefixes`), a home
//! node behind a masquerading router (100.64.0.0/10 inside), and random loss by nftables.
//! Needs root, iproute2 and nftables (tests/run installs them); fails loudly without.
//!
//! Hub users post; nodes follow them. The hub cannot dial the nodes (its static discovery
//! entries for them name an address nobody has), so posts reach the nodes only by the
//! firehose, never by per-server delivery.

use msm_tests::netns::Lab;
use msm_tests::{data_dir, Node, UNLIMITED_POSTING};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(super) const PW: &str = "a long password";
const HUB_IP: &str = "198.51.100.1";
/// Posts per test.
pub(super) const N: u64 = 30;
/// Longest wait for a path or for the posts.
pub(super) const WAIT: Duration = Duration::from_secs(60);

pub(super) fn firehose(node: &Node) -> Value {
    node.http("GET", "/healthz", &[], None).json()["firehose"].clone()
}

pub(super) fn wait_until(what: &str, node: &Node, mut ok: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < WAIT,
            "timed out waiting for {what}:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t0.elapsed()
}

/// A home namespace behind a NAT router namespace (nft masquerade) on the internet segment
/// `sw`: carrier NAT addresses (100.64.1.0/24) inside, 198.51.100.3 outside.
pub(super) fn home_behind_nat(lab: &mut Lab, sw: &str) -> String {
    let rtr = lab.ns("rtr");
    let home = lab.ns("home");
    lab.nat_router(
        sw,
        &rtr,
        &home,
        "198.51.100.3/24",
        "100.64.1.1/24",
        "100.64.1.2/24",
    );
    home
}

/// A namespace with a public address (198.51.100.2) on the internet segment `sw`.
pub(super) fn public_host(lab: &mut Lab, sw: &str) -> String {
    let pub_ns = lab.ns("pub");
    lab.attach(sw, "pub-p", &pub_ns, "eth0", "198.51.100.2/24");
    pub_ns
}

pub(super) const LOG: &str = "info,msmd::net::firehose=debug";

/// Starts `msmd run` in `ns` on `data` with the config file `config`, links on every address.
fn start_configured(ns: &str, data: &std::path::Path, config: &std::path::Path) -> Node {
    let config = config.to_str().unwrap();
    let args = ["--config", config, "--links", "0.0.0.0:7450", "--log", LOG];
    Node::start_in(ns, data, &args)
}

/// Starts the hub (user alice) in `ns` (`extra`: more config after its `[firehose]` keys);
/// returns it and its stream key.
pub(super) fn start_hub(ns: &str, extra: &str) -> (Node, tempfile::TempDir, String) {
    start_hub_with(ns, extra, &[("alice", PW, true)])
}

/// [`start_hub`] with these users (name, password, owner) instead of alice alone.
pub(super) fn start_hub_with(
    ns: &str,
    extra: &str,
    users: &[(&str, &str, bool)],
) -> (Node, tempfile::TempDir, String) {
    let dir = data_dir("hub.test", users);
    let config = dir.path().join("msmd.toml");
    // Hubs of these tests post far more than a person would, unless the test sets its own limits.
    let limits = if extra.contains("[limits]") {
        ""
    } else {
        UNLIMITED_POSTING
    };
    std::fs::write(
        &config,
        format!(
            "{limits}[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
             [discovery.static]\n\"pub.test\" = \"198.51.100.99:7450\"\n\
             \"home.test\" = \"198.51.100.99:7450\"\n\"lossy.test\" = \"198.51.100.99:7450\"\n\
             [firehose]\nrole = \"hub\"\nrelay_listen = \"0.0.0.0:7452\"\n{extra}"
        ),
    )
    .unwrap();
    let hub = start_configured(ns, dir.path(), &config);
    let key = hub.http("GET", "/.well-known/msm", &[], None).json()["key"]
        .as_str()
        .unwrap()
        .to_string();
    (hub, dir, key)
}

/// Starts a node for `domain` (user bob) in `ns`, following alice@hub.test by the firehose
/// (`extra`: more config after its `[firehose]` keys).
pub(super) fn start_node(
    hub: &Node,
    ns: &str,
    domain: &str,
    hub_key: &str,
    extra: &str,
) -> (Node, tempfile::TempDir) {
    let dir = data_dir(domain, &[("bob", PW, true)]);
    let config = dir.path().join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "[discovery]\nnameservers = [\"127.0.0.1:9\"]\nwebfinger = false\n\
             [discovery.static]\n\"hub.test\" = \"{HUB_IP}:7450\"\n\
             [firehose]\nhub = \"{HUB_IP}:7452\"\nhub_key = \"{hub_key}\"\n{extra}"
        ),
    )
    .unwrap();
    let node = start_configured(ns, dir.path(), &config);
    let bob = node.login("bob", PW);
    let r = node.post_json(
        "/api/v1/follows",
        Some(&bob),
        &json!({ "address": "alice@hub.test" }),
    );
    assert_eq!(
        r.status,
        201,
        "{}\n{}\n--- hub:\n{}",
        r.text(),
        node.log(),
        hub.log()
    );
    (node, dir)
}

/// Starts pub.test (user bob, following alice@hub.test) in `ns` with a WAN address treated as
/// global (`extra`: more `[firehose]` keys), and waits until it takes the firehose by multicast.
pub(super) fn start_public_node(
    hub: &Node,
    ns: &str,
    hub_key: &str,
    extra: &str,
) -> (Node, tempfile::TempDir) {
    let config = format!("global_prefixes = [\"198.51.100.0/24\"]\n{extra}");
    let (node, dir) = start_node(hub, ns, "pub.test", hub_key, &config);
    wait_until("path multicast", &node, || {
        firehose(&node)["path"] == "multicast"
    });
    (node, dir)
}

/// Alice posts `N` public posts on the hub.
pub(super) fn post_all(hub: &Node) {
    let alice = hub.login("alice", PW);
    for i in 0..N {
        let r = hub.post_json(
            "/api/v1/posts",
            Some(&alice),
            &json!({ "text": format!("firehose post {i}") }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
}

/// Waits until `node` holds all N posts of alice, and checks each is there exactly once.
pub(super) fn wait_all_posts(node: &Node) {
    wait_posts(node, N);
}

/// Waits until `node` holds alice's posts 1..=n, and checks each is there exactly once.
pub(super) fn wait_posts(node: &Node, n: u64) {
    let bob = node.login("bob", PW);
    wait_until("all posts", node, || {
        node.all_posts("alice@hub.test", Some(&bob)).len() as u64 >= n
    });
    let posts = node.all_posts("alice@hub.test", Some(&bob));
    let mut seqs: Vec<u64> = posts.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "each post exactly once");
}

/// The simulated internet: a bridge with the hub on it.
pub(super) fn internet(lab: &mut Lab) -> (String, String) {
    let sw = lab.ns("sw");
    lab.bridge(&sw);
    let hub = lab.ns("hub");
    lab.attach(&sw, "hub-p", &hub, "eth0", &format!("{HUB_IP}/24"));
    (sw, hub)
}

pub(super) fn report(name: &str, hub: &Node, node: &Node) {
    let (h, n) = (firehose(hub), firehose(node));
    eprintln!("{name}: hub firehose {h}\n{name}: node firehose {n}");
    let sent = h["datagrams_sent"].as_u64().unwrap_or(0);
    let bytes = h["bytes_sent"].as_u64().unwrap_or(0);
    eprintln!(
        "{name}: multicast per post: {:.2} datagrams, {:.0} UDP payload bytes (whole run incl. announcements/heartbeats)",
        sent as f64 / N as f64,
        bytes as f64 / N as f64
    );
}

#[test]
fn firehose_by_multicast_on_a_public_segment() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    let (node, _nd) = start_node(
        &hub,
        &pub_ns,
        "pub.test",
        &key,
        "global_prefixes = [\"198.51.100.0/24\"]\n",
    );
    let t = wait_until("path multicast", &node, || {
        firehose(&node)["path"] == "multicast"
    });
    eprintln!("multicast confirmed {t:?} after the follow");
    post_all(&hub);
    wait_all_posts(&node);
    let f = firehose(&node);
    report("multicast", &hub, &node);
    assert_eq!(f["path"], "multicast", "{}", node.log());
    assert_eq!(f["stored"].as_u64(), Some(N), "stored by the firehose: {f}");
    assert!(f["multicast_received"].as_u64().unwrap() > 0);
    assert_eq!(firehose(&hub)["relay_sessions"].as_u64(), Some(0));
    assert_eq!(f["relay_opened"].as_u64(), Some(0), "{f}");
}

#[test]
fn firehose_falls_back_to_the_relay_behind_nat() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let home = home_behind_nat(&mut lab, &sw);
    let (hub, _hd, key) = start_hub(&hub_ns, "");
    // The node is told its carrier-NAT address is global, so it tries multicast first and
    // must notice that no announcement comes through the NAT.
    let t0 = Instant::now();
    let (node, _nd) = start_node(
        &hub,
        &home,
        "home.test",
        &key,
        "global_prefixes = [\"198.51.100.0/24\", \"100.64.0.0/10\"]\nannounce_timeout_s = 6\n",
    );
    wait_until("path relay", &node, || firehose(&node)["path"] == "relay");
    wait_until("relay up", &node, || {
        firehose(&node)["relay_after_ms"].as_u64() > Some(0)
    });
    eprintln!(
        "relay: fell back {} ms after the firehose started ({:?} after process start)",
        firehose(&node)["relay_after_ms"],
        t0.elapsed()
    );
    // it tried multicast first
    node.wait_for_log("JoinMulticast", Duration::from_secs(10));
    post_all(&hub);
    wait_all_posts(&node);
    let f = firehose(&node);
    report("relay", &hub, &node);
    assert_eq!(f["path"], "relay");
    assert_eq!(f["stored"].as_u64(), Some(N), "{f}");
    assert_eq!(f["multicast_received"].as_u64(), Some(0), "{f}");
    assert_eq!(firehose(&hub)["relay_sessions"].as_u64(), Some(1));
    rss("hub with one relay session", &hub);
}

/// Logs the resident set size of a node's process.
pub(super) fn rss(what: &str, node: &Node) {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", node.pid())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("VmRSS: ?");
    eprintln!("{what}: {rss}");
}
