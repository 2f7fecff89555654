//! A flood of the hub's HTTPS port (issue 16: "bounded like the link tunnels"), in the
//! namespace lab of [`super::firehose_hub`]: clients on the internet, from one address and
//! from many, open connections that send nothing, half a `ClientHello`, garbage, a name the
//! hub does not carry, or a `ClientHello` a byte at a time, and connections that name the
//! node behind carrier NAT and then say nothing more. The hub refuses what is over a client
//! address's share and over the node's TLS share of its tunnels, closes what names no host in
//! time, keeps serving the node's HTTPS to a real client, keeps links to the node going while
//! its TLS share is taken, and its VmRSS comes back.

use super::firehose::{firehose, home_behind_nat, internet, public_host, wait_until, PW};
use super::firehose_hub::{
    follow, hub_with_domains, node_firehose, start, start_with, HOME, HUB_IP, LINKS, PUB_IP,
};
use msm_tests::hostile::{connect_from, MemoryWatch};
use msm_tests::netns::{in_netns, Lab};
use msm_tests::node_tls::TestCa;
use msmd::net::firehose::budget::{MAX_PER_SOURCE, MAX_TLS_TUNNELS};
use msmd::net::firehose::sni_route::HELLO_TIMEOUT;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Addresses the many-address flood comes from (198.51.100.100 and up).
const FLOOD_SOURCES: u8 = 40;
/// The one address whose connections name the node and then stall.
const STALLER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 98);
/// The address of the real client that must be served during the flood.
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 99);
/// Addresses that together ask for every tunnel of the node (TLS share test).
const TAKERS: [Ipv4Addr; 4] = [
    Ipv4Addr::new(198, 51, 100, 90),
    Ipv4Addr::new(198, 51, 100, 91),
    Ipv4Addr::new(198, 51, 100, 92),
    Ipv4Addr::new(198, 51, 100, 93),
];
/// Bytes of the half `ClientHello`s sent: most of the 16 KiB record they announce, so the
/// hub holds what it reads of them until they time out.
const HALF_HELLO: usize = 12 * 1024;
/// How far the hub's VmRSS may rise during the flood (a debug build; the flood holds a few
/// hundred connections and tasks, 80 of them with 12 KiB read).
const PEAK_KIB: u64 = 8 * 1024;
/// How close to where it started the hub's VmRSS must come back.
const AFTER_KIB: u64 = 4 * 1024;

/// The first flight of a TLS client asking for `name`: one record holding its `ClientHello`.
fn client_hello(ca: &TestCa, name: &str) -> Vec<u8> {
    let name = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    let mut c = rustls::ClientConnection::new(ca.client(), name).unwrap();
    let mut out = Vec::new();
    c.write_tls(&mut out).unwrap();
    out
}

/// What became of a connection, as its client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The hub closed it (end of stream or reset).
    Closed,
    /// Someone answered: the node's TLS server, through the hub.
    Answered,
    /// Still open, nothing said.
    Open,
}

/// Waits up to `within` for `s` to say something or close.
fn fate(s: &mut TcpStream, within: Duration) -> Fate {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    match s.read(&mut buf) {
        Ok(0) => Fate::Closed,
        Ok(_) => Fate::Answered,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Fate::Open
        }
        Err(_) => Fate::Closed,
    }
}

/// `n` TCP connections from `from` to the hub's HTTPS port, made inside namespace `ns`.
fn connect_n(ns: &str, from: Ipv4Addr, n: usize) -> Vec<TcpStream> {
    let to: SocketAddr = format!("{HUB_IP}:443").parse().unwrap();
    in_netns(ns, move || {
        (0..n)
            .map(|_| connect_from(from, to).expect("connect to the hub's HTTPS port"))
            .collect()
    })
}

/// How many of `conns` met each fate within `within` (each waited for in turn).
fn fates(conns: &mut [TcpStream], within: Duration) -> (usize, usize, usize) {
    let mut n = (0, 0, 0);
    for c in conns {
        match fate(c, within) {
            Fate::Closed => n.0 += 1,
            Fate::Answered => n.1 += 1,
            Fate::Open => n.2 += 1,
        }
    }
    n
}

/// The node's WebFinger through the hub, from address `from` in `ns`, trusting `ca`.
fn curl_from(ns: &str, from: Ipv4Addr, ca: &TestCa) -> std::process::Output {
    std::process::Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sS", "--max-time", "10"])
        .args(["--interface", &from.to_string(), "--cacert"])
        .arg(ca.ca_pem())
        .args(["--resolve", &format!("{HOME}:443:{HUB_IP}")])
        .arg(format!(
            "https://{HOME}/.well-known/webfinger?resource=acct:bob@{HOME}"
        ))
        .output()
        .expect("curl (tests/run installs it)")
}

#[test]
fn a_flood_of_the_hubs_https_port_is_refused_over_budget_and_the_node_stays_reachable() {
    let mut lab = Lab::new();
    let (sw, hub_ns) = internet(&mut lab);
    let pub_ns = public_host(&mut lab, &sw);
    let home = home_behind_nat(&mut lab, &sw);
    let mut extra: Vec<Ipv4Addr> = (0..FLOOD_SOURCES)
        .map(|i| Ipv4Addr::new(198, 51, 100, 100 + i))
        .collect();
    extra.extend([STALLER, CLIENT]);
    extra.extend(TAKERS);
    for ip in &extra {
        lab.exec(
            &pub_ns,
            &["ip", "addr", "add", &format!("{ip}/32"), "dev", "eth0"],
        );
    }
    let d = hub_with_domains(
        &hub_ns,
        &[("pub.test", "carol", PUB_IP), (HOME, "bob", HUB_IP)],
        "tls_listen = \"0.0.0.0:443\"\n",
    );
    let (hub, hub_key) = (&d.hub, &d.hub_key);
    let ca = TestCa::new();
    let cert = ca.issue_for(HOME, &format!("DNS:{HOME}"));
    let https = format!(
        "[https]\nlisten = \"127.0.0.1:8443\"\ncert = \"{}\"\nkey = \"{}\"\n",
        cert.cert.display(),
        cert.key.display()
    );
    let via_hub = node_firehose(hub_key, "via_hub = true\nannounce_timeout_s = 6\n");
    let _home_node = start_with(&home, d.dirs[1].path(), &via_hub, &https, LINKS);
    let pub_node = start(&pub_ns, d.dirs[0].path(), "", LINKS);
    wait_until("the hub carries home.test", hub, || {
        firehose(hub)["carried_domains"] == 1
    });
    assert!(curl_from(&pub_ns, CLIENT, &ca).status.success());
    let watch = MemoryWatch::start(hub.pid());
    let hello = client_hello(&ca, HOME);
    let unknown = client_hello(&ca, "nobody.test");

    // Many addresses, each with one connection over its share: that one is closed at once.
    let t0 = Instant::now();
    let mut flood: Vec<Vec<TcpStream>> = (0..FLOOD_SOURCES)
        .map(|i| {
            connect_n(
                &pub_ns,
                Ipv4Addr::new(198, 51, 100, 100 + i),
                MAX_PER_SOURCE + 1,
            )
        })
        .collect();
    for conns in &mut flood {
        let mut over = conns.pop().unwrap();
        assert_eq!(fate(&mut over, Duration::from_secs(3)), Fate::Closed);
    }
    // The others send nothing, half a ClientHello that announces a whole record, garbage, a
    // name nobody here carries, or a ClientHello a byte at a time (cycling through the five).
    let mut half = hello.clone();
    half[3..5].copy_from_slice(&16384u16.to_be_bytes());
    half.resize(HALF_HELLO, 0);
    let mut slow = Vec::new();
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for conns in flood.drain(..) {
        for (j, mut c) in conns.into_iter().enumerate() {
            match j % 5 {
                0 => held.push(c),
                1 => {
                    let _ = c.write_all(&half);
                    held.push(c);
                }
                2 => {
                    let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: home.test\r\n\r\n");
                    refused.push(c);
                }
                3 => {
                    let _ = c.write_all(&unknown);
                    refused.push(c);
                }
                _ => {
                    let _ = c.write_all(&hello[..3]);
                    slow.push(c.try_clone().unwrap());
                    held.push(c);
                }
            }
        }
    }
    let slowloris = {
        let hello = hello.clone();
        std::thread::spawn(move || {
            for i in 3..hello.len() {
                std::thread::sleep(Duration::from_millis(300));
                slow.retain_mut(|c| c.write_all(&hello[i..=i]).is_ok());
                if slow.is_empty() {
                    return;
                }
            }
        })
    };
    // One address names the node and stalls: its share is carried, the rest closed.
    let mut stalled = connect_n(&pub_ns, STALLER, 2 * MAX_PER_SOURCE);
    for c in &mut stalled {
        let _ = c.write_all(&hello);
    }
    // A real client is served through the hub while the flood holds its connections.
    let out = curl_from(&pub_ns, CLIENT, &ca);
    assert!(
        out.status.success(),
        "{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        hub.log()
    );
    eprintln!(
        "flood hub HTTPS port: served {:?} into the flood",
        t0.elapsed()
    );
    assert_eq!(
        fates(&mut held, Duration::from_millis(1)),
        (0, 0, held.len()),
        "the flood was still on"
    );
    let (closed, answered, open) = fates(&mut stalled, Duration::from_secs(3));
    assert_eq!(
        (closed, answered, open),
        (MAX_PER_SOURCE, MAX_PER_SOURCE, 0),
        "{}",
        hub.log()
    );
    assert_eq!(
        fates(&mut refused, Duration::from_secs(3)),
        (refused.len(), 0, 0),
        "garbage and unknown names are closed"
    );
    // Whatever names no host within HELLO_TIMEOUT is closed.
    let (closed, _, open) = fates(&mut held, HELLO_TIMEOUT + Duration::from_secs(2));
    let (n_refused, n_held) = (refused.len(), held.len());
    assert_eq!((closed, open), (held.len(), 0), "{:?}", t0.elapsed());
    let _ = slowloris.join();
    let log = hub.log();
    assert!(
        log.contains("too many connections from its address"),
        "{log}"
    );
    assert!(log.contains("too slow to name a host"), "{log}");
    drop((held, refused, stalled));

    // Four addresses name the node at once, a share each: the node's TLS share is carried,
    // the rest closed, and links to the node still go through the hub meanwhile.
    std::thread::sleep(Duration::from_secs(1));
    let mut takers: Vec<TcpStream> = TAKERS
        .iter()
        .flat_map(|ip| connect_n(&pub_ns, *ip, MAX_PER_SOURCE))
        .collect();
    for c in &mut takers {
        let _ = c.write_all(&hello);
    }
    let (closed, answered, _) = fates(&mut takers, Duration::from_secs(3));
    assert_eq!(answered, MAX_TLS_TUNNELS, "{}", hub.log());
    assert_eq!(closed, TAKERS.len() * MAX_PER_SOURCE - MAX_TLS_TUNNELS);
    let carol = pub_node.login("carol", PW);
    let f = follow(&pub_node, &carol, &format!("bob@{HOME}"));
    assert_eq!(f["state"], "active", "{f}\n{}", hub.log());
    drop(takers);

    // every connection closed without being carried is counted, and none other
    let seen = FLOOD_SOURCES as usize + MAX_PER_SOURCE + n_refused + n_held + closed;
    assert_eq!(firehose(hub)["tls_refused"], seen as u64);
    watch.assert_came_back("hub HTTPS port", PEAK_KIB, AFTER_KIB);
    assert!(curl_from(&pub_ns, CLIENT, &ca).status.success());
}
