//! Pieces of a federation lab on loopback: a private dnsmasq, free ports, a TCP proxy that can
//! drop one delivery, and a hand-driven peer node for hostile input.

use msmd::proto::frame::{self, FrameDecoder, OwnedFrame};
use msmd::proto::link::{self as wire, Hello, Role};
use msmd::proto::{Address, Audience, Body, FrameType, Limits, Message, NodeKey, SignedMessage};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 for both TCP and UDP right now, below the kernel's ephemeral
/// range (32768 and up), so that ports the kernel hands out for `:0` never take it later.
pub fn free_port() -> u16 {
    use std::sync::atomic::AtomicU16;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16).wrapping_mul(7919) % 12000;
    loop {
        let port = 20000 + (seed + NEXT.fetch_add(1, Ordering::Relaxed)) % 12000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && UdpSocket::bind(("127.0.0.1", port)).is_ok()
        {
            return port;
        }
    }
}

/// A public post in `author`'s name with `seq`, signed by `key` (not the author's: a forgery).
pub fn forged_post(author: &str, seq: u64, key: &NodeKey) -> SignedMessage {
    Message {
        author: Address::parse(author).expect("author address"),
        seq,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Post {
            text: "send me money".into(),
        },
    }
    .sign(key, &Limits::default())
    .expect("sign")
}

/// How many times a dnsmasq that exits before it answers is started.
const DNS_STARTS: usize = 3;

/// A private dnsmasq answering for the lab's zones on 127.0.0.1.
pub struct Dns {
    child: Child,
    /// Its address.
    pub addr: SocketAddr,
}

impl Dns {
    /// Starts dnsmasq on `port` with extra record options such as
    /// `--srv-host=_msm._tcp.a.test,node-a.test,7000,10,5`. Names under `test` that no record
    /// names are NXDOMAIN.
    pub fn start(port: u16, records: &[String]) -> Dns {
        Self::start_with(
            || Command::new(Self::bin()),
            "127.0.0.1",
            port,
            records,
            |addr| TcpStream::connect(addr).is_ok(),
        )
    }

    /// Starts dnsmasq inside network namespace `ns`, on `ip`:`port`.
    pub fn start_in(ns: &str, ip: &str, port: u16, records: &[String]) -> Dns {
        let ns_owned = ns.to_string();
        Self::start_with(
            || {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns, Self::bin()]);
                cmd
            },
            ip,
            port,
            records,
            move |addr| crate::netns::in_netns(&ns_owned, move || TcpStream::connect(addr).is_ok()),
        )
    }

    /// Starts dnsmasq through `command` and waits until `up` reaches it. A dnsmasq that exits
    /// before it answers is started again (at most [`DNS_STARTS`] times); the last one's own
    /// words are in the panic.
    fn start_with(
        command: impl Fn() -> Command,
        ip: &str,
        port: u16,
        records: &[String],
        up: impl Fn(SocketAddr) -> bool,
    ) -> Dns {
        let log = tempfile::NamedTempFile::new().expect("dnsmasq log file");
        for _ in 0..DNS_STARTS {
            let mut dns = Self::spawn(command(), ip, port, records, log.path());
            let t0 = Instant::now();
            loop {
                if up(dns.addr) {
                    return dns;
                }
                if let Ok(Some(status)) = dns.child.try_wait() {
                    eprintln!(
                        "dnsmasq on {} exited ({status}) before answering: {}",
                        dns.addr,
                        std::fs::read_to_string(log.path()).unwrap_or_default()
                    );
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(10),
                    "dnsmasq did not start on {} in 10 s: {}",
                    dns.addr,
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "dnsmasq on {ip}:{port} exited {DNS_STARTS} times: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
    }

    fn bin() -> &'static str {
        ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("dnsmasq is not installed (tests/run installs dnsmasq-base)")
    }

    fn spawn(mut cmd: Command, ip: &str, port: u16, records: &[String], log: &Path) -> Dns {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(log)
            .expect("dnsmasq log file");
        let child = cmd
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
            ])
            .arg(format!("--listen-address={ip}"))
            .arg(format!("--port={port}"))
            .arg("--local=/test/")
            .arg("--log-facility=-")
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq");
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        Dns { child, addr }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// dnsmasq options for a node of `domain` on 127.0.0.1:`port`, pinned to `key` if given.
pub fn node_records(domain: &str, port: u16, key: Option<&str>) -> Vec<String> {
    node_records_at(domain, "127.0.0.1", port, key)
}

/// dnsmasq options for a node of `domain` at `ip`:`port`, pinned to `key` if given.
pub fn node_records_at(domain: &str, ip: &str, port: u16, key: Option<&str>) -> Vec<String> {
    let host = format!("node.{domain}");
    let mut r = vec![
        format!("--host-record={host},{ip}"),
        format!("--srv-host=_msm._tcp.{domain},{host},{port},10,5"),
    ];
    if let Some(k) = key {
        r.push(format!("--txt-record=_msm.{domain},v=msm1 k={k}"));
    }
    r
}

/// A TCP proxy from a local port to `upstream` that drops the first Message frame of `author`
/// with `seq` travelling from the client to the upstream.
pub struct DropProxy {
    /// Where clients connect.
    pub port: u16,
    /// How many frames it dropped.
    pub dropped: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl DropProxy {
    /// Listens on `port` (127.0.0.1).
    pub fn start(port: u16, upstream: SocketAddr, author: &str, seq: u64) -> DropProxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("proxy bind");
        listener.set_nonblocking(true).unwrap();
        let dropped = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, st, author) = (dropped.clone(), stop.clone(), author.to_string());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump_raw(s2, c2));
                let (d, author) = (d.clone(), author.clone());
                std::thread::spawn(move || pump_dropping(client, server, &author, seq, &d));
            }
        });
        DropProxy {
            port,
            dropped,
            stop,
        }
    }
}

impl Drop for DropProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn pump_raw(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16384];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

fn pump_dropping(
    mut from: TcpStream,
    mut to: TcpStream,
    author: &str,
    seq: u64,
    dropped: &AtomicU64,
) {
    let mut dec = FrameDecoder::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = match from.read(&mut buf[..dec.room().min(16384)]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if dec.push(&buf[..n]).is_err() {
            break;
        }
        while let Ok(Some(f)) = dec.next_frame() {
            if f.kind == FrameType::Message && dropped.load(Ordering::Relaxed) == 0 {
                if let Ok(m) = SignedMessage::decode(&f.payload, &Default::default()) {
                    if m.message.author.as_str() == author && m.message.seq == seq {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
            let mut out = Vec::new();
            frame::encode(f.kind, &f.payload, &mut out).unwrap();
            if to.write_all(&out).is_err() {
                return;
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A node driven by hand: it does the handshake for any domain with its own key, then sends
/// and receives raw frames. Used to present hostile input.
pub struct Peer {
    stream: TcpStream,
    dec: FrameDecoder,
}

impl Peer {
    /// Dials `addr` and runs the handshake as `domain` with `key`. Returns the peer and
    /// whatever the other side sent if it closed instead of finishing.
    pub fn connect(addr: SocketAddr, domain: &str, key: &NodeKey) -> std::io::Result<Peer> {
        Self::handshake(TcpStream::connect(addr)?, domain, key)
    }

    /// [`Peer::connect`] from source address `from` (any of 127.0.0.0/8 on loopback), with a
    /// small receive buffer, so that a peer that does not read stops the sender soon.
    pub fn connect_from(
        from: std::net::IpAddr,
        addr: SocketAddr,
        domain: &str,
        key: &NodeKey,
    ) -> std::io::Result<Peer> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let stream = rt.block_on(async {
            let sock = if from.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            sock.set_recv_buffer_size(4096)?;
            sock.bind(SocketAddr::new(from, 0))?;
            let s = sock.connect(addr).await?.into_std()?;
            s.set_nonblocking(false)?;
            Ok::<_, std::io::Error>(s)
        })?;
        Self::handshake(stream, domain, key)
    }

    /// Runs the handshake on `stream` as `domain` with `key`.
    pub fn handshake(stream: TcpStream, domain: &str, key: &NodeKey) -> std::io::Result<Peer> {
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut p = Peer {
            stream,
            dec: FrameDecoder::new(),
        };
        let mine = wire::encode(&Hello::new(domain, key, [42; 32]));
        p.send(FrameType::Hello, &mine)?;
        let theirs = p.recv()?;
        if theirs.kind != FrameType::Hello {
            return Err(std::io::Error::other(format!(
                "got {:?}, not Hello",
                theirs.kind
            )));
        }
        p.send(
            FrameType::Auth,
            &wire::auth(key, Role::Dialer, &mine, &theirs.payload),
        )?;
        let auth = p.recv()?;
        if auth.kind != FrameType::Auth {
            return Err(std::io::Error::other(format!(
                "got {:?}, not Auth",
                auth.kind
            )));
        }
        Ok(p)
    }

    /// Sends one frame.
    pub fn send(&mut self, kind: FrameType, payload: &[u8]) -> std::io::Result<()> {
        let mut out = Vec::new();
        frame::encode(kind, payload, &mut out).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.stream.write_all(&out)
    }

    /// Receives one frame (answers Pings on the way).
    pub fn recv(&mut self) -> std::io::Result<OwnedFrame> {
        let mut buf = [0u8; 16384];
        loop {
            if let Some(f) = self
                .dec
                .next_frame()
                .map_err(|e| std::io::Error::other(e.to_string()))?
            {
                if f.kind == FrameType::Ping {
                    self.send(FrameType::Pong, &[])?;
                    continue;
                }
                return Ok(f);
            }
            let n = self.stream.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.dec
                .push(&buf[..n])
                .map_err(|e| std::io::Error::other(e.to_string()))?;
        }
    }

    /// Receives frames until one of `kind` arrives.
    pub fn recv_kind(&mut self, kind: FrameType) -> std::io::Result<OwnedFrame> {
        loop {
            let f = self.recv()?;
            if f.kind == kind {
                return Ok(f);
            }
        }
    }
}

/// One node of a lab: a data directory with its users (the first is the owner, all with
/// `password`), a config naming the lab's DNS (plus `extra_config` in `[discovery]`), and a
/// fixed link port for its SRV record.
pub struct LabNode {
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// Its link port.
    pub port: u16,
    /// Its configuration file.
    pub config: std::path::PathBuf,
}

impl LabNode {
    /// A node of `domain` with `users`, asking the DNS on `dns_port`.
    pub fn new(
        domain: &str,
        users: &[&str],
        password: &str,
        dns_port: u16,
        extra_config: &str,
    ) -> LabNode {
        let list: Vec<(&str, &str, bool)> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (*u, password, i == 0))
            .collect();
        let dir = crate::data_dir(domain, &list);
        let config = dir.path().join("msmd.toml");
        std::fs::write(
            &config,
            format!("[discovery]\nnameservers = [\"127.0.0.1:{dns_port}\"]\n{extra_config}"),
        )
        .unwrap();
        LabNode {
            dir,
            port: free_port(),
            config,
        }
    }

    /// Starts it, with `extra` arguments.
    pub fn start_with(&self, extra: &[&str]) -> crate::Node {
        let links = format!("127.0.0.1:{}", self.port);
        let mut args = vec!["--config", self.config.to_str().unwrap(), "--links", &links];
        args.extend_from_slice(extra);
        crate::Node::start(self.dir.path(), &args)
    }
}

/// A node's key, from its `/.well-known/msm`.
pub fn key_of(node: &crate::Node) -> String {
    node.http("GET", "/.well-known/msm", &[], None).json()["key"]
        .as_str()
        .expect("key")
        .to_string()
}
