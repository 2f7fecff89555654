//! What a hub does for small nodes, in network namespaces, with every domain found through a
//! real dnsmasq (SRV and TXT key pins) running in the hub's namespace:
//! - lab test 6: a small node asks the hub to publish its posts (`firehose.publish`); the hub
//!   subscribes to its users and its posts go out in the multicast stream;
//! - lab test 7: a node behind carrier NAT (`firehose.via_hub`), whose SRV record names the
//!   hub, receives a follow and deliveries from a third node through the hub, also after it
//!   was down for a while; a node that only claims its domain is refused;
//! - issue 16: the Fedify peer on the internet follows alice on that node by WebFinger and
//!   receives her verified Accept and Create: the hub's HTTPS port routes each TLS connection
//!   by its server name down the node's relay session, holding no certificate of the node,
//!   while the node's own HTTPS goes out through its NAT.

use super::firehose::{firehose, home_behind_nat, internet, public_host, wait_until, PW};
use msm_tests::fedify::{self, Signing};
use msm_tests::lab::{node_records_at, Dns};
use msm_tests::netns::Lab;
use msm_tests::{keyed_data_dir, Node};
use serde_json::{json, Value};
use std::path::Path;

pub(super) const HUB_IP: &str = "198.51.100.1";
const DNS_PORT: u16 = 5353;
pub(super) const LINKS: u16 = 7450;
/// The public host's address (the Fedify peer's).
pub(super) const PUB_IP: &str = "198.51.100.2";
/// The domain of the node behind carrier NAT, and of the Fedify peer.
pub(super) const HOME: &str = "home.test";
const PEER: &str = "peer.test";
/// alice@home.test's actor.
const ALICE: &str = "https://home.test/users/alice";

/// Starts `msmd run` for `data` in `ns` with `[discovery]` on the lab's dnsmasq and the
/// `[firehose]` keys `firehose`; links on `links_port` of every address.
pub(super) fn start(ns: &str, data: &Path, firehose: &str, links_port: u16) -> Node {
    start_with(ns, data, firehose, "", links_port)
}

/// [`start`] with more configuration sections, `extra`.
pub(super) fn start_with(
    ns: &str,
    data: &Path,
    firehose: &str,
    extra: &str,
    links_port: u16,
) -> Node {
    let config = data.join("msmd.toml");
    std::fs::write(
        &config,
        format!(
            "{extra}[discovery]\nnameservers = [\"{HUB_IP}:{DNS_PORT}\"]\nwebfinger = false\n\
             [firehose]\n{firehose}"
        ),
    )
    .unwrap();
    let links = format!("0.0.0.0:{links_port}");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--links",
        &links,
        "--log",
        "info,msmd::net=debug",
    ];
    Node::start_in(ns, data, &args)
}

/// `[firehose]` keys of a node whose hub is the lab's hub.
pub(super) fn node_firehose(hub_key: &str, extra: &str) -> String {
    format!("hub = \"{HUB_IP}:7452\"\nhub_key = \"{hub_key}\"\n{extra}")
}

fn post(node: &Node, token: &str, text: &str) {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}\n{}", r.text(), node.log());
}

pub(super) fn follow(node: &Node, token: &str, address: &str) -> Value {
    let r = node.post_json(
        "/api/v1/follows",
        Some(token),
        &json!({ "address": address }),
    );
    assert_eq!(r.status, 201, "{}\n{}", r.text(), node.log());
    r.json()
}

/// Texts of `author`'s posts on `node` as `token` sees them, sorted.
fn texts(node: &Node, author: &str, token: &str) -> Vec<String> {
    let known = node
        .http(
            "GET",
            &format!("/api/v1/users/{author}/posts?limit=1"),
            &[],
            None,
        )
        .status
        == 200;
    if !known {
        return Vec::new();
    }
    let mut t: Vec<String> = node
        .all_posts(author, Some(token))
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default().to_string())
        .collect();
    t.sort();
    t
}

/// The lab's domains: the hub (user alice) and `nodes` (domain, its one user, the address its
/// SRV record names), each with a data dir and a TXT key pin in a dnsmasq in the hub's
/// namespace; the hub is started (with `[firehose]` keys `hub_extra`). Returns the hub, its
/// key, and each node's data dir.
pub(super) fn hub_with_domains(
    hub_ns: &str,
    nodes: &[(&str, &str, &str)],
    hub_extra: &str,
) -> Domains {
    let (hub_dir, hub_key) = keyed_data_dir("hub.test", &[("alice", PW, true)]);
    let mut records = node_records_at("hub.test", HUB_IP, LINKS, Some(&hub_key));
    let mut dirs = Vec::new();
    for (domain, user, srv_ip) in nodes {
        let (dir, key) = keyed_data_dir(domain, &[(user, PW, true)]);
        records.extend(node_records_at(domain, srv_ip, LINKS, Some(&key)));
        dirs.push(dir);
    }
    let dns = Dns::start_in(hub_ns, HUB_IP, DNS_PORT, &records);
    let hub = start(
        hub_ns,
        hub_dir.path(),
        &format!("role = \"hub\"\nrelay_listen = \"0.0.0.0:7452\"\n{hub_extra}"),
        LINKS,
    );
    Domains {
        hub,
        hub_key,
        dirs,
        _dns: dns,
        hub_dir,
    }
}

/// What [`hub_with_domains`] made (the DNS server and data dirs live as long as this).
pub(super) struct Domains {
    pub(super) hub: Node,
    pub(super) hub_key: String,
    pub(super) dirs: Vec<tempfile::TempDir>,
    _dns: Dns,
    pub(super) hub_dir: tempfile::TempDir,
}

#[test]
fn a_node_behind_carrier_nat_takes_follows_and_deliveries_through_the_hub() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let home = home_behind_nat(&mut lab, &sw);
    // home.test's SRV names the hub's link port; its TXT pins the home node's own key
    let d = hub_with_domains(
        &hub_ns,
        &[
            ("pub.test", "carol", "198.51.100.2"),
            ("home.test", "bob", HUB_IP),
        ],
        "",
    );
    let (hub, hub_key, pd, cd) = (&d.hub, &d.hub_key, &d.dirs[0], &d.dirs[1]);
    let via_hub = node_firehose(hub_key, "via_hub = true\nannounce_timeout_s = 6\n");
    let mut home_node = start(&home, cd.path(), &via_hub, LINKS);
    let pub_node = start(&pub_ns, pd.path(), "", LINKS);
    wait_until("the hub carries home.test", hub, || {
        firehose(hub)["carried_domains"] == 1
    });

    // A node on the internet that claims home.test with another key is refused by the hub.
    let (ed, _) = keyed_data_dir("home.test", &[("eve", PW, true)]);
    let impostor = start(&pub_ns, ed.path(), &via_hub, 7460);
    wait_until("the impostor refused", hub, || {
        hub.log().contains("links for home.test are not carried")
    });
    drop(impostor);
    assert_eq!(firehose(hub)["carried_domains"], 1);

    // carol@pub.test follows bob@home.test: pub.test dials home.test, which DNS gives as the
    // hub; the hub carries the link to the home node, which proves the pinned key.
    let carol = pub_node.login("carol", PW);
    let bob = home_node.login("bob", PW);
    let f = follow(&pub_node, &carol, "bob@home.test");
    assert_eq!(f["state"], "active", "{f}\n{}", hub.log());
    // bob follows carol: the home node dials out (carrier NAT lets it).
    let f = follow(&home_node, &bob, "carol@pub.test");
    assert_eq!(f["state"], "active", "{f}\n{}", home_node.log());

    // carol's posts reach bob by delivery: pub.test dials home.test, i.e. the hub, again.
    for i in 0..5 {
        post(&pub_node, &carol, &format!("carol to home {i}"));
    }
    wait_until("carol's posts at home", &home_node, || {
        texts(&home_node, "carol@pub.test", &bob).len() >= 5
    });
    let want: Vec<String> = (0..5).map(|i| format!("carol to home {i}")).collect();
    assert_eq!(texts(&home_node, "carol@pub.test", &bob), want);
    // and bob's reach carol (the home node dials pub.test itself)
    post(&home_node, &bob, "bob from behind carrier NAT");
    wait_until("bob's post at pub.test", &pub_node, || {
        texts(&pub_node, "bob@home.test", &carol).len() == 1
    });
    let (h, c) = (firehose(hub), firehose(&home_node));
    eprintln!("hub firehose {h}\nhome firehose {c}");
    assert!(h["tunnels"].as_u64() >= Some(1), "{h}");
    assert!(c["tunnels"].as_u64() >= Some(1), "{c}");
    let log = home_node.log();
    assert!(log.contains("taking a link through the hub"), "{log}");

    // The home node goes down: carol's next posts wait in pub.test's outbox (the hub refuses
    // the links meanwhile), and arrive once the home node is back.
    home_node.kill9();
    wait_until("the hub drops home.test", hub, || {
        firehose(hub)["carried_domains"] == 0
    });
    for i in 5..8 {
        post(&pub_node, &carol, &format!("carol to home {i}"));
    }
    home_node = start(&home, cd.path(), &via_hub, LINKS);
    let bob = home_node.login("bob", PW);
    wait_until("carol's later posts at home", &home_node, || {
        texts(&home_node, "carol@pub.test", &bob).len() >= 8
    });
    let want: Vec<String> = (0..8).map(|i| format!("carol to home {i}")).collect();
    assert_eq!(texts(&home_node, "carol@pub.test", &bob), want, "each once");
}

/// `curl https://NAME/.well-known/webfinger?resource=acct:USER@NAME` from `ns`, with NAME
/// resolved to the hub and `ca` trusted.
fn curl_webfinger(ns: &str, ca: &Path, user: &str, name: &str) -> std::process::Output {
    std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "curl",
            "-sS",
            "--max-time",
            "20",
            "--cacert",
        ])
        .arg(ca)
        .args(["--resolve", &format!("{name}:443:{HUB_IP}")])
        .arg(format!(
            "https://{name}/.well-known/webfinger?resource=acct:{user}@{name}"
        ))
        .output()
        .expect("curl (tests/run installs it)")
}

/// Every file under `dir` (the hub's data dir) holds none of `secret`'s bytes.
fn holds_none_of(dir: &Path, secret: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    entries.flatten().all(|e| {
        let p = e.path();
        if p.is_dir() {
            return holds_none_of(&p, secret);
        }
        let bytes = std::fs::read(&p).unwrap_or_default();
        !bytes.windows(secret.len()).any(|w| w == secret)
    })
}

#[test]
fn the_fedify_peer_follows_a_node_behind_carrier_nat_by_name_through_the_hub_which_holds_no_certificate(
) {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let home = home_behind_nat(&mut lab, &sw);
    // The peer finds home.test at the hub (as DNS would name it), and itself at its own
    // address; the home node finds peer.test directly: its HTTPS goes out through the NAT.
    lab.hosts(&pub_ns, &[(HOME, HUB_IP), (PEER, PUB_IP)]);
    lab.hosts(&home, &[(PEER, PUB_IP)]);
    // the hub routes HTTPS on 443 by server name; its configuration names no certificate
    let d = hub_with_domains(
        &hub_ns,
        &[(HOME, "alice", HUB_IP)],
        "tls_listen = \"0.0.0.0:443\"\n",
    );
    let (hub, hub_key, cd) = (&d.hub, &d.hub_key, &d.dirs[0]);
    let hub_config = std::fs::read_to_string(d.hub_dir.path().join("msmd.toml")).unwrap();
    assert!(
        !hub_config.contains("[https]")
            && !hub_config.contains("cert")
            && !hub_config.contains(".pem"),
        "{hub_config}"
    );
    // home.test's certificate, which only the home node holds, and the peer's
    let ca = msm_tests::node_tls::TestCa::new();
    let cert = ca.issue_for(HOME, &format!("DNS:{HOME}"));
    let peer_cert = ca.issue_for(PEER, &format!("DNS:{PEER}"));
    let config = format!(
        "[http]\npublic_url = \"https://{HOME}\"\n\
         [https]\nlisten = \"127.0.0.1:8443\"\ncert = \"{}\"\nkey = \"{}\"\n\
         [activitypub]\nextra_ca = \"{}\"\nallow_private = true\n",
        cert.cert.display(),
        cert.key.display(),
        ca.ca_pem().display()
    );
    let via_hub = node_firehose(hub_key, "via_hub = true\nannounce_timeout_s = 6\n");
    let home_node = start_with(&home, cd.path(), &via_hub, &config, LINKS);
    wait_until("the hub carries home.test", hub, || {
        firehose(hub)["carried_domains"] == 1
    });
    let peer = fedify::peer_in(
        &pub_ns,
        PEER,
        PUB_IP,
        Signing::Rfc9421,
        (&peer_cert.cert, &peer_cert.key),
        &ca.ca_pem(),
    );

    // The peer follows alice@home.test: WebFinger, her actor and the signed Follow all reach
    // the home node through the hub, by SNI; the home node fetches the peer's key and sends
    // its signed Accept straight to peer.test.
    let follow = peer.ok("follow", &json!({ "acct": format!("@alice@{HOME}") }));
    let follow_id = follow["id"].as_str().unwrap().to_string();
    assert_eq!(follow["actor"], ALICE, "{follow}");
    let accept = peer.wait_received("alice's Accept", |r| r["type"] == "Accept");
    assert_eq!(accept["verified"], true, "{accept:#}\n{}", home_node.log());
    assert_eq!(accept["actor"], ALICE, "{accept:#}");
    assert_eq!(accept["object"], follow_id.as_str(), "{accept:#}");
    assert_eq!(
        peer.following()[0]["state"],
        "accepted",
        "{:?}",
        peer.following()
    );

    // alice posts: the peer receives a verified Create of her note, whose author it checks
    // by fetching her key through the hub again
    let alice = home_node.login("alice", PW);
    post(
        &home_node,
        &alice,
        "hello fediverse from behind carrier NAT",
    );
    let create = peer.wait_received("alice's Create", |r| r["type"] == "Create");
    assert_eq!(create["verified"], true, "{create:#}\n{}", home_node.log());
    assert_eq!(create["actor"], ALICE, "{create:#}");
    let content = create["activity"]["object"]["content"]
        .as_str()
        .unwrap_or("");
    assert!(content.contains("from behind carrier NAT"), "{create:#}");

    // the hub carried TLS it could not read: it holds no key or certificate of home.test
    let log = hub.log();
    assert!(
        log.contains("carrying a TLS connection through the relay session"),
        "{log}"
    );
    let pem = std::fs::read(&cert.key).unwrap();
    assert!(holds_none_of(d.hub_dir.path(), &pem));
    assert!(holds_none_of(d.hub_dir.path(), &cert.der()));
    let log = home_node.log();
    assert!(log.contains("taking a link through the hub"), "{log}");

    // a name the hub does not carry is closed: the hub answers TLS for nobody itself
    let out = curl_webfinger(&pub_ns, &ca.ca_pem(), "alice", "other.test");
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // the home node goes away: its name is no longer routed
    assert!(curl_webfinger(&pub_ns, &ca.ca_pem(), "alice", HOME)
        .status
        .success());
    drop(home_node);
    wait_until("the hub drops home.test", hub, || {
        firehose(hub)["carried_domains"] == 0
    });
    // the tunnels gauge counts what is carried now: nothing once the node is gone
    wait_until("the hub's tunnels back to 0", hub, || {
        firehose(hub)["tunnels"] == 0
    });
    assert!(!curl_webfinger(&pub_ns, &ca.ca_pem(), "alice", HOME)
        .status
        .success());
}

#[test]
fn a_small_node_publishes_through_the_hub_into_the_multicast_stream() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let small_ns = public_host(&mut lab, &sw);
    let rcv_ns = lab.ns("rcv");
    lab.attach(&sw, "rcv-p", &rcv_ns, "eth0", "198.51.100.4/24");
    let d = hub_with_domains(
        &hub_ns,
        &[
            ("small.test", "sam", "198.51.100.2"),
            ("rcv.test", "dave", "198.51.100.4"),
        ],
        "",
    );
    let (hub, hub_key, sd, rd) = (&d.hub, &d.hub_key, &d.dirs[0], &d.dirs[1]);
    let global = "global_prefixes = [\"198.51.100.0/24\"]\nannounce_timeout_s = 6\n";
    let small = start(
        &small_ns,
        sd.path(),
        &node_firehose(hub_key, &format!("publish = true\n{global}")),
        LINKS,
    );
    let rcv = start(&rcv_ns, rd.path(), &node_firehose(hub_key, global), LINKS);
    // the hub follows sam like any server would: small.test counts it as a subscriber
    wait_until("the hub subscribed to sam", &small, || {
        small.log().contains("subscriber added") && small.log().contains("hub.test")
    });
    wait_until("the receiver on multicast", &rcv, || {
        firehose(&rcv)["path"] == "multicast"
    });
    let sam = small.login("sam", PW);
    let want: Vec<String> = (0..5).map(|i| format!("sam to everyone {i}")).collect();
    for t in &want {
        post(&small, &sam, t);
    }
    // the hub stores them (delivered once to it) and streams them
    let alice = hub.login("alice", PW);
    wait_until("sam's posts on the hub", hub, || {
        texts(hub, "sam@small.test", &alice).len() >= 5
    });
    assert_eq!(texts(hub, "sam@small.test", &alice), want);
    wait_until("the stream carried them", &rcv, || {
        firehose(&rcv)["delivered"].as_u64() >= Some(5)
    });
    let (h, r) = (firehose(hub), firehose(&rcv));
    eprintln!("hub firehose {h}\nreceiver firehose {r}");
    assert!(h["pushed"].as_u64() >= Some(5), "{h}");
    assert_eq!(r["path"], "multicast", "{r}");
    assert!(r["multicast_received"].as_u64() > Some(0), "{r}");
    // nobody on the receiver follows sam: no link to small.test was ever needed, and the
    // posts are in its discover window, newest first
    assert!(!rcv.log().contains("small.test"), "{}", rcv.log());
    let dave = rcv.login("dave", PW);
    let auth = format!("Bearer {dave}");
    let d = rcv
        .http("GET", "/api/v1/discover", &[("Authorization", &auth)], None)
        .json();
    let mut shown: Vec<String> = d["posts"]
        .as_array()
        .unwrap_or_else(|| panic!("{d}"))
        .iter()
        .filter(|p| p["author"] == "sam@small.test")
        .map(|p| p["text"].as_str().unwrap_or_default().to_string())
        .collect();
    shown.reverse();
    assert_eq!(shown, want, "{d}");
}
