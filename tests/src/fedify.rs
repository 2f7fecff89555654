//! A real ActivityPub peer for the federation tests: Fedify 2.3.6 (`tests/fedify/peer.mjs`, on
//! Node 22 from the npm package `node@22`), one server per domain, inside a network namespace.
//!
//! [`FedLab`] makes the namespace (loopback only), a test CA and one certificate per domain
//! (with the `openssl` command), a hosts file and a `resolv.conf` for the namespace (in
//! `/etc/netns/NS/`, which `ip netns exec` bind-mounts over `/etc/hosts` and
//! `/etc/resolv.conf`), and a dnsmasq on 127.0.0.53:53 with the same names. So Node
//! (getaddrinfo: the hosts file) and msmd (hickory-resolver: resolv.conf → dnsmasq) started
//! with `ip netns exec` both find every lab domain. [`FedLab::peer`] starts a Fedify peer on
//! its domain's address, port 443, trusting the CA through `NODE_EXTRA_CA_CERTS`; [`Peer`]
//! drives it through its control API (JSON over plain HTTP on the namespace's loopback).
//! [`FedLab::tls_front`] puts an msmd (plain HTTP) at `https://DOMAIN/` for the peers.
//! See `tests/fedify/README.md`. Needs root, iproute2, dnsmasq, openssl and npm; a machine
//! without them fails loudly.

use crate::https::openssl;
use crate::lab::Dns;
use crate::netns::{in_netns, Lab};
use crate::Resp;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a peer may take to listen (module load and RSA key generation).
pub const PEER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a test waits for an activity to arrive at a peer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The Node.js major version Fedify 2.3 needs (`tests/fedify/package.json` pins `node@22`).
/// The HTTPS port every lab server listens on (WebFinger `acct:` lookups always use 443).
pub const HTTPS_PORT: u16 = 443;
/// Where the namespace's dnsmasq listens (named by its `resolv.conf`).
pub const DNS_ADDR: &str = "127.0.0.53";
/// Days the lab certificates are valid.
const CERT_DAYS: &str = "2";

/// The folder of the peer's script and package pins.
pub fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fedify")
}

/// Node 22 from `tests/fedify/node_modules` (installing it and Fedify with `npm ci` if
/// missing); fails loudly without it.
pub fn node22() -> PathBuf {
    crate::npm_node22(&peer_dir(), "@fedify/fedify")
}

/// How a peer signs what it sends first to a server it has not met (Fedify's `firstKnock`;
/// it falls back to the other on a 4xx answer, as Mastodon-facing servers do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// RFC 9421 HTTP Message Signatures (Fedify's default).
    Rfc9421,
    /// draft-cavage-http-signatures-12, as Mastodon signs.
    Cavage,
}

impl Signing {
    /// The `--signing` argument of `peer.mjs`.
    pub fn arg(self) -> &'static str {
        match self {
            Signing::Rfc9421 => "rfc9421",
            Signing::Cavage => "cavage",
        }
    }

    /// The `signature` field the peer reports for a request signed this way.
    pub fn received_as(self) -> &'static str {
        match self {
            Signing::Rfc9421 => "rfc9421",
            Signing::Cavage => "draft-cavage",
        }
    }
}

const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// Makes `ca.pem`/`ca.key` in `dir`.
fn make_ca(dir: &Path) {
    let mut a = vec!["req", "-x509"];
    a.extend(EC);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        CERT_DAYS,
        "-subj",
        "/CN=msm federation lab CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &a);
}

/// Makes `DOMAIN.pem`/`DOMAIN.key` in `dir`, signed by the CA there.
fn make_cert(dir: &Path, domain: &str) {
    let (key, csr, pem, ext) = (
        format!("{domain}.key"),
        format!("{domain}.csr"),
        format!("{domain}.pem"),
        format!("{domain}.ext"),
    );
    std::fs::write(
        dir.join(&ext),
        format!(
            "subjectAltName=DNS:{domain}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    let mut a = vec!["req"];
    a.extend(EC);
    let subj = format!("/CN={domain}");
    a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
    openssl(dir, &a);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "1",
            "-out",
            &pem,
            "-days",
            CERT_DAYS,
            "-extfile",
            &ext,
        ],
    );
}

/// A network namespace with a test CA, a certificate per domain, and name resolution for
/// every domain (hosts file and dnsmasq). Dropped: peers killed, namespace and its
/// `/etc/netns/NS/` removed.
pub struct FedLab {
    // Field order is drop order: the DNS server first, then the namespace.
    _dns: Dns,
    lab: Lab,
    ns: String,
    etc: PathBuf,
    dir: tempfile::TempDir,
    hosts: Vec<(String, String)>,
}

impl FedLab {
    /// A lab where each `(domain, ip)` resolves to `ip` (use 127.0.0.2 and up: the whole of
    /// 127.0.0.0/8 is on the namespace's loopback). Every domain gets a certificate.
    pub fn new(hosts: &[(&str, &str)]) -> FedLab {
        let mut lab = Lab::new();
        let ns = lab.ns(&NS_SUFFIX[1..]);
        let dir = tempfile::tempdir().expect("tempdir");
        make_ca(dir.path());
        for (domain, _) in hosts {
            make_cert(dir.path(), domain);
        }
        // dnsmasq reads neither file, so it starts before they exist: `ip netns exec` then
        // has nothing to bind-mount for it.
        let records: Vec<String> = hosts
            .iter()
            .map(|(d, ip)| format!("--host-record={d},{ip}"))
            .collect();
        let dns = Dns::start_in(&ns, DNS_ADDR, 53, &records);
        remove_stale_etc();
        let etc = PathBuf::from(ETC_NETNS).join(&ns);
        std::fs::create_dir_all(&etc).expect("create /etc/netns/NS (needs root)");
        let mut h = String::from("127.0.0.1 localhost\n::1 localhost\n");
        for (domain, ip) in hosts {
            h.push_str(&format!("{ip} {domain}\n"));
        }
        std::fs::write(etc.join("hosts"), h).unwrap();
        std::fs::write(
            etc.join("resolv.conf"),
            format!("nameserver {DNS_ADDR}\noptions timeout:2 attempts:2\n"),
        )
        .unwrap();
        FedLab {
            _dns: dns,
            lab,
            ns,
            etc,
            dir,
            hosts: hosts
                .iter()
                .map(|(d, ip)| (d.to_string(), ip.to_string()))
                .collect(),
        }
    }

    /// The namespace's name (for `ip netns exec`, [`crate::Node::start_in`]).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Runs a command inside the namespace (with its hosts file and resolv.conf).
    pub fn exec(&self, args: &[&str]) -> String {
        self.lab.exec(&self.ns, args)
    }

    /// The CA certificate (PEM) every lab certificate chains to.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Writes `dir/msmd.toml` for an msmd serving `domain` over its own HTTPS (port 443 of the
    /// domain's lab address, the lab's certificate) and fetching from the lab (the lab CA
    /// trusted, private addresses allowed); returns its path.
    pub fn write_msmd_config(&self, domain: &str, dir: &Path) -> PathBuf {
        let (cert, key) = self.cert(domain);
        let file = dir.join("msmd.toml");
        std::fs::write(
            &file,
            format!(
                "[http]\npublic_url = \"https://{domain}\"\n[https]\nlisten = \"{}:443\"\n\
                 cert = \"{}\"\nkey = \"{}\"\n[activitypub]\nextra_ca = \"{}\"\nallow_private = true\n",
                self.ip(domain),
                cert.display(),
                key.display(),
                self.ca_file().display()
            ),
        )
        .unwrap();
        file
    }

    /// The certificate and key (PEM) of `domain`.
    pub fn cert(&self, domain: &str) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        (
            d.join(format!("{domain}.pem")),
            d.join(format!("{domain}.key")),
        )
    }

    /// The address `domain` resolves to.
    pub fn ip(&self, domain: &str) -> &str {
        self.hosts
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, ip)| ip.as_str())
            .unwrap_or_else(|| panic!("{domain} is not a domain of this lab"))
    }

    /// Starts the Fedify peer of `domain` (on its address, port 443), signing first with
    /// `signing`, and waits until it listens.
    pub fn peer(&self, domain: &str, signing: Signing) -> Peer {
        let (cert, key) = self.cert(domain);
        peer_in(
            &self.ns,
            domain,
            self.ip(domain),
            signing,
            (&cert, &key),
            &self.ca_file(),
        )
    }

    /// Terminates TLS for `domain` (its address, port 443, its certificate) and passes the
    /// bytes on to `upstream`, a plain-HTTP server in the namespace such as an msmd's
    /// `--listen` address: the peers reach it at `https://DOMAIN/`.
    pub fn tls_front(&self, domain: &str, upstream: SocketAddr) -> TlsFront {
        let (cert, key) = self.cert(domain);
        let mut args: Vec<std::ffi::OsString> = vec![peer_dir().join("tls-front.mjs").into()];
        for a in [
            "--bind".to_string(),
            self.ip(domain).to_string(),
            "--port".to_string(),
            HTTPS_PORT.to_string(),
            "--upstream".to_string(),
            upstream.to_string(),
        ] {
            args.push(a.into());
        }
        args.extend(["--cert".into(), cert.into(), "--key".into(), key.into()]);
        let (child, line, _log) = self.start_node(&args, domain);
        assert_eq!(line, "ready", "unexpected first line from the TLS front");
        TlsFront { child }
    }

    /// Runs Node 22 with `args` in the namespace (trusting the lab CA) and waits for its
    /// first line on stdout; returns it with the child and its stderr so far and to come.
    fn start_node(
        &self,
        args: &[std::ffi::OsString],
        what: &str,
    ) -> (Child, String, Arc<Mutex<Vec<String>>>) {
        start_node(&self.ns, &self.ca_file(), args, what)
    }
}

/// Runs Node 22 with `args` in namespace `ns`, trusting `ca`, and waits for its first line on
/// stdout; returns it with the child and its stderr so far and to come.
fn start_node(
    ns: &str,
    ca: &Path,
    args: &[std::ffi::OsString],
    what: &str,
) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(node22())
        .args(args)
        .env("NODE_EXTRA_CA_CERTS", ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node in the lab");
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    match rx.recv_timeout(PEER_START_TIMEOUT) {
        Ok(line) => (child, line, log),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} for {what} did not start ({e}):\n{}",
                args[0].to_string_lossy(),
                log.lock().unwrap().join("\n")
            )
        }
    }
}

/// A running TLS front ([`FedLab::tls_front`]); stopped when dropped.
pub struct TlsFront {
    child: Child,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `ip netns exec` finds a namespace's own `/etc` files.
const ETC_NETNS: &str = "/etc/netns";
/// The suffix of the namespaces a [`FedLab`] makes.
const NS_SUFFIX: &str = "-fed";

/// Removes the `/etc/netns/` folders of earlier labs whose namespace is gone (a test process
/// killed before its `Drop` ran).
fn remove_stale_etc() {
    let Ok(dir) = std::fs::read_dir(ETC_NETNS) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("msm")
            && name.ends_with(NS_SUFFIX)
            && !Path::new("/run/netns").join(&name).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for FedLab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

/// A running Fedify peer (actor `https://DOMAIN/users/peer`); killed when dropped.
pub struct Peer {
    child: Child,
    ns: String,
    control: SocketAddr,
    /// Its domain.
    pub domain: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    /// Its actor's id.
    pub fn actor(&self) -> String {
        format!("https://{}/users/peer", self.domain)
    }

    /// Its actor's handle, `@peer@DOMAIN`.
    pub fn acct(&self) -> String {
        format!("@peer@{}", self.domain)
    }

    /// What the peer wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let (addr, method, path) = (self.control, method.to_string(), path.to_string());
        let body = body.map(|b| b.to_string().into_bytes());
        in_netns(&self.ns, move || {
            let h = [("Content-Type", "application/json")];
            crate::request(addr, &method, &path, &h, body.as_deref())
        })
        .unwrap_or_else(|e| panic!("control API of {}: {e}\n{}", self.domain, self.log()))
    }

    /// `POST /OP` of the control API (`follow`, `unfollow`, `post`, `like`, `unlike`,
    /// `announce`, `unannounce`, `update`, `delete`, `block`): the answer, whatever it is.
    pub fn call(&self, op: &str, body: &Value) -> Resp {
        self.request("POST", &format!("/{op}"), Some(body))
    }

    /// [`Peer::call`] that must succeed; its JSON answer (`id` of what was sent).
    pub fn ok(&self, op: &str, body: &Value) -> Value {
        let r = self.call(op, body);
        assert_eq!(
            r.status,
            200,
            "{op} by {} failed: {}\n{}",
            self.domain,
            r.text(),
            self.log()
        );
        r.json()
    }

    fn get(&self, path: &str) -> Value {
        let r = self.request("GET", path, None);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// Every activity received so far, oldest first: `type`, `id`, `actor`, `object` (id),
    /// `verified`, `reason` (why not), `signature` (`rfc9421`, `draft-cavage` or null),
    /// `inbox` (`personal` or `shared`), `activity` (the compacted JSON-LD).
    pub fn received(&self) -> Vec<Value> {
        self.get("/received")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The ids of its followers.
    pub fn followers(&self) -> Vec<String> {
        strings(self.get("/followers"))
    }

    /// Whom it follows: `id`, `acct`, `state` (`pending`, `accepted`, `rejected`).
    pub fn following(&self) -> Vec<Value> {
        self.get("/following")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Errors of deliveries made on its own (the Accept of a Follow) and of its inbox.
    pub fn errors(&self) -> Vec<Value> {
        self.get("/errors").as_array().cloned().unwrap_or_default()
    }

    /// Waits until an activity for which `pred` holds has arrived; returns it.
    pub fn wait_received(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            let all = self.received();
            if let Some(r) = all.iter().find(|r| pred(r)) {
                return r.clone();
            }
            assert!(
                t0.elapsed() < DELIVERY_TIMEOUT,
                "{} never received {what}; it has:\n{}\nerrors: {:?}\n{}",
                self.domain,
                serde_json::to_string_pretty(&all).unwrap_or_default(),
                self.errors(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn strings(v: Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the Fedify peer of `domain` in a namespace of someone else's lab (`ns`, such as the
/// public host of a firehose lab), on `bind`, port 443, serving `cert`/`key` and trusting
/// `ca` (PEM files): its names come from the namespace's own hosts file
/// ([`crate::netns::Lab::hosts`]). Waits until it listens.
pub fn peer_in(
    ns: &str,
    domain: &str,
    bind: &str,
    signing: Signing,
    (cert, key): (&Path, &Path),
    ca: &Path,
) -> Peer {
    let mut args: Vec<std::ffi::OsString> = vec![peer_dir().join("peer.mjs").into()];
    for a in [
        "--domain",
        domain,
        "--bind",
        bind,
        "--port",
        &HTTPS_PORT.to_string(),
        "--signing",
        signing.arg(),
        "--control",
        "127.0.0.1:0",
    ] {
        args.push(a.into());
    }
    args.extend(["--cert".into(), cert.into(), "--key".into(), key.into()]);
    let (child, line, log) = start_node(ns, ca, &args, domain);
    let control: SocketAddr = line
        .strip_prefix("ready control=")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the peer: {line:?}"));
    Peer {
        child,
        ns: ns.to_string(),
        control,
        domain: domain.to_string(),
        log,
    }
}

/// `user`'s followers count on `node`, as their ActivityPub followers collection says
/// (`u64::MAX` when it does not say).
pub fn followers_count(node: &crate::Node, user: &str) -> u64 {
    let r = node.http(
        "GET",
        &format!("/users/{user}/followers"),
        &[("Accept", "application/activity+json")],
        None,
    );
    r.json()["totalItems"].as_u64().unwrap_or(u64::MAX)
}
