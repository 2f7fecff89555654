//! HTTPS on the node (`[https]`): the same API over TLS, certificates reloaded on SIGHUP and
//! when their files change (a bad pair keeps the old one), and hostile TLS clients (silent,
//! garbage, a handshake stalled halfway, a flood of handshakes) cut within the head timeout
//! while others are served and memory comes back.

use msm_tests::hostile::MemoryWatch;
use msm_tests::node_tls::{https_connect, https_request, Issued, TestCa, TlsAnswer};
use msm_tests::{data_dir, msmd_bin, run_args, Node};
use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `http.head_timeout_s` of these nodes: the handshake and first head must end within it.
const HEAD_TIMEOUT_S: u64 = 3;
/// msmd checks the certificate files this often (`web::tls::CERT_POLL`).
const CERT_POLL: Duration = Duration::from_secs(5);
/// A flood may not take the node above this (a debug build idles near 14 MB).
const MAX_RSS_KB: u64 = 48 * 1024;
/// After a flood, VmRSS must come back to within this of where it started.
const RETURN_SLACK_KB: u64 = 8 * 1024;

struct Tls {
    _data: tempfile::TempDir,
    _cfg: tempfile::TempDir,
    node: Node,
    https: SocketAddr,
    ca: TestCa,
    client: Arc<rustls::ClientConfig>,
    /// Where the node reads its certificate and key.
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl Tls {
    fn start(http: &str) -> Tls {
        let ca = TestCa::new();
        let first = ca.issue("first");
        let data = data_dir("tls.test", &[("alice", "correct horse battery", true)]);
        let cfg = tempfile::tempdir().unwrap();
        let (cert, key) = (cfg.path().join("fullchain.pem"), cfg.path().join("key.pem"));
        install(&first, &cert, &key);
        let file = cfg.path().join("msmd.toml");
        std::fs::write(
            &file,
            format!(
                "[http]\nhead_timeout_s = {HEAD_TIMEOUT_S}\n{http}\n[https]\nlisten = \"127.0.0.1:0\"\ncert = \"{}\"\nkey = \"{}\"\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let node = Node::start(data.path(), &["--config", file.to_str().unwrap()]);
        node.wait_for_log("HTTPS listening addr=", Duration::from_secs(10));
        let https = node
            .log_value("HTTPS listening addr=")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("HTTPS address in the log");
        let client = ca.client();
        Tls {
            _data: data,
            _cfg: cfg,
            node,
            https,
            ca,
            client,
            cert,
            key,
        }
    }

    fn get(&self, path: &str, token: Option<&str>) -> TlsAnswer {
        let auth = token.map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        https_request(&self.client, self.https, "GET", path, &h, None).expect("HTTPS request")
    }

    /// Waits up to `within` for the node to serve `want`; returns whether it did.
    fn serves(&self, want: &Issued, within: Duration) -> bool {
        let until = Instant::now() + within;
        loop {
            if self.get("/healthz", None).served == want.der() {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Copies an issued pair where the node reads it (key first: a watcher that looks between
/// the two writes sees a mismatch, logs it, and takes the pair at its next look).
fn install(pair: &Issued, cert: &Path, key: &Path) {
    std::fs::copy(&pair.key, key).unwrap();
    std::fs::copy(&pair.cert, cert).unwrap();
}

#[test]
fn the_web_client_msm_and_mastodon_apis_answer_over_tls() {
    let t = Tls::start("");
    let first = t.get("/healthz", None);
    assert_eq!(first.resp.status, 200, "{}", first.resp.text());
    let login = https_request(
        &t.client,
        t.https,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        Some(br#"{"name":"alice","password":"correct horse battery"}"#),
    )
    .unwrap();
    assert_eq!(login.resp.status, 200, "{}", login.resp.text());
    let token = login.resp.json()["token"].as_str().unwrap().to_string();
    let timeline = t.get("/api/v1/timeline", Some(&token));
    assert_eq!(timeline.resp.status, 200, "{}", timeline.resp.text());
    let me = t.get("/api/v1/accounts/verify_credentials", Some(&token));
    assert_eq!(me.resp.status, 200, "{}", me.resp.text());
    assert_eq!(me.resp.json()["username"], "alice");
    let page = t.get("/", None);
    assert_eq!(page.resp.status, 200);
    // the client's own address reaches the handlers: /metrics is for the LAN (loopback) only
    assert_eq!(t.get("/metrics", None).resp.status, 200);
    // plain HTTP stays
    assert_eq!(t.node.http("GET", "/healthz", &[], None).status, 200);
    // TLS 1.2 and 1.3 both
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let only = t.ca.client_of(&[version]);
        let r = https_request(&only, t.https, "GET", "/healthz", &[], None).unwrap();
        assert_eq!(r.resp.status, 200, "{version:?}");
    }
    // a client that does not trust the CA gets no answer
    let stranger = TestCa::new().client();
    assert!(https_request(&stranger, t.https, "GET", "/healthz", &[], None).is_err());
}

#[test]
fn the_live_stream_carries_a_new_post_over_tls() {
    let t = Tls::start("");
    let token = t.node.login("alice", "correct horse battery");
    let mut tls = https_connect(&t.client, t.https).unwrap();
    write!(
        tls,
        "GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut lines = BufReader::new(tls);
    let mut status = String::new();
    lines.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // the stream's writer sends while its reading half waits on the same TLS connection
    let r = t.node.post_json(
        "/api/v1/posts",
        Some(&token),
        &serde_json::json!({"text": "over TLS, live"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let mut l = String::new();
        assert!(lines.read_line(&mut l).unwrap() > 0, "stream closed");
        if l.starts_with("data: ") && l.contains("over TLS, live") {
            break;
        }
        assert!(Instant::now() < until, "the post never came");
    }
}

#[test]
fn a_renewed_certificate_is_served_after_sighup_or_by_itself_and_a_bad_one_never() {
    let t = Tls::start("");
    let (second, third) = (t.ca.issue("second"), t.ca.issue("third"));
    assert_ne!(second.der(), t.get("/healthz", None).served);

    // renewed, then SIGHUP: served at once
    install(&second, &t.cert, &t.key);
    t.node.signal(Signal::SIGHUP);
    assert!(
        t.serves(&second, Duration::from_millis(1500)),
        "not served after SIGHUP"
    );

    // renewed with no signal: served after the next look at the files
    install(&third, &t.cert, &t.key);
    assert!(t.serves(&third, CERT_POLL * 3), "not served after the poll");

    // a key that is not PEM, a key that is not the certificate's, a missing file: the old
    // certificate stays, with an error in the log
    let fourth = t.ca.issue("fourth");
    std::fs::write(&t.key, b"-----BEGIN PRIVATE KEY-----\nnot base64!\n").unwrap();
    t.node.signal(Signal::SIGHUP);
    t.node.wait_for_log("not reloaded", Duration::from_secs(5));
    std::fs::copy(&fourth.cert, &t.cert).unwrap();
    std::fs::copy(&second.key, &t.key).unwrap();
    t.node.signal(Signal::SIGHUP);
    std::thread::sleep(CERT_POLL + Duration::from_secs(2));
    std::fs::remove_file(&t.cert).unwrap();
    t.node.signal(Signal::SIGHUP);
    std::thread::sleep(Duration::from_secs(1));
    let still = t.get("/healthz", None);
    assert_eq!(still.resp.status, 200);
    assert_eq!(
        still.served,
        third.der(),
        "a bad pair replaced the good one"
    );
    let log = t.node.log();
    assert!(log.contains("does not match"), "{log}");
    // and a good pair after the bad ones is taken
    install(&fourth, &t.cert, &t.key);
    t.node.signal(Signal::SIGHUP);
    assert!(t.serves(&fourth, Duration::from_secs(3)));
}

#[test]
fn a_missing_or_bad_certificate_stops_the_start_with_a_clear_error() {
    let ca = TestCa::new();
    let pair = ca.issue("start");
    let other = ca.issue("other");
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, b"hello\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(&Path, &Path, &str); 4] = [
        (&missing, &pair.key, "missing.pem"),
        (&garbage, &pair.key, "no PEM certificate"),
        (&pair.cert, &garbage, "no usable PEM private key"),
        (&pair.cert, &other.key, "does not match"),
    ];
    for (cert, key, why) in cases {
        let data = data_dir("tls.test", &[]);
        let file = dir.path().join("msmd.toml");
        std::fs::write(
            &file,
            format!(
                "[https]\nlisten = \"127.0.0.1:0\"\ncert = \"{}\"\nkey = \"{}\"\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(msmd_bin());
        let out = run_args(&mut cmd, data.path(), &["--config", file.to_str().unwrap()])
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {why}: {err}");
        assert!(err.contains("https") && err.contains(why), "{why}: {err}");
    }
}

/// Opens a connection, sends `bytes`, and returns how long until the server closed it.
fn cut_after(addr: SocketAddr, bytes: &[u8]) -> Duration {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(HEAD_TIMEOUT_S * 5)))
        .unwrap();
    let _ = s.write_all(bytes);
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return t0.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("not cut within {:?}", t0.elapsed())
            }
            Err(_) => return t0.elapsed(),
        }
    }
}

/// Opens a connection, sends the start of a ClientHello, then one more byte every 300 ms
/// (each well within the per-read timeout); returns how long until the server closed it.
fn trickle_cut_after(addr: SocketAddr) -> Duration {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    let _ = s.write_all(HALF_HELLO);
    while t0.elapsed() < Duration::from_secs(HEAD_TIMEOUT_S * 5) {
        std::thread::sleep(Duration::from_millis(300));
        if s.write_all(&[0]).is_err() {
            return t0.elapsed();
        }
        s.set_nonblocking(true).unwrap();
        let mut b = [0u8; 64];
        // the end of the stream, or an alert that comes before it, or a reset
        let gone = match s.read(&mut b) {
            Ok(_) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        };
        s.set_nonblocking(false).unwrap();
        if gone {
            return t0.elapsed();
        }
    }
    panic!("a trickled handshake was not cut within {:?}", t0.elapsed())
}

/// The first bytes of a TLS ClientHello record: a header announcing 512 bytes, and 5 of them.
const HALF_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03];

#[test]
fn silent_garbage_and_stalled_handshakes_are_cut_within_the_head_timeout() {
    let t = Tls::start("max_connections = 64");
    let https = t.https;
    let limit = Duration::from_secs(HEAD_TIMEOUT_S + 2);
    let cases: [(&str, &[u8]); 3] = [
        ("silent", b""),
        ("stalled", HALF_HELLO),
        (
            "garbage",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage",
        ),
    ];
    let cutters: Vec<_> = cases
        .iter()
        .map(|(name, bytes)| {
            let bytes = bytes.to_vec();
            let name = name.to_string();
            std::thread::spawn(move || (name, cut_after(https, &bytes)))
        })
        .collect();
    let trickler = std::thread::spawn(move || trickle_cut_after(https));
    // meanwhile others are answered
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(t.get("/healthz", None).resp.status, 200);
    let took = trickler.join().unwrap();
    assert!(took <= limit, "trickled: cut after {took:?}");
    for c in cutters {
        let (name, took) = c.join().unwrap();
        assert!(took <= limit, "{name}: cut after {took:?}");
    }
    assert_eq!(t.get("/healthz", None).resp.status, 200);
}

#[test]
fn a_flood_of_handshakes_is_bounded_and_memory_comes_back() {
    let t = Tls::start("max_connections = 64");
    let watch = MemoryWatch::start(t.node.pid());
    let https = t.https;
    // 64 silent connections hold every slot at once; then 8 threads make 40 full TLS
    // exchanges each (they take the slots of the silent ones) and 8 more stall halfway.
    let silent: Vec<TcpStream> = (0..64)
        .filter_map(|_| TcpStream::connect(https).ok())
        .collect();
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let client = t.client.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                let mut stalled = Vec::new();
                for _ in 0..40 {
                    if https_request(&client, https, "GET", "/healthz", &[], None)
                        .map(|a| a.resp.status == 200)
                        .unwrap_or(false)
                    {
                        ok += 1;
                    }
                }
                if let Ok(mut s) = TcpStream::connect(https) {
                    let _ = s.write_all(&HALF_HELLO[..5 + i % 5]);
                    stalled.push(s);
                }
                (ok, stalled)
            })
        })
        .collect();
    let mut answered = 0;
    let mut stalled = Vec::new();
    for w in workers {
        let (ok, s) = w.join().unwrap();
        answered += ok;
        stalled.extend(s);
    }
    // connection-table fights may drop a few exchanges; most must be answered
    assert!(
        answered >= 8 * 40 * 9 / 10,
        "only {answered} of 320 answered"
    );
    drop((silent, stalled));
    let settle = watch.settle(watch.baseline_kb + RETURN_SLACK_KB, Duration::from_secs(15));
    let (peak, after) = watch.report("tls handshakes", settle);
    assert!(peak <= MAX_RSS_KB, "VmRSS peak {peak} kB");
    assert!(
        after <= watch.baseline_kb + RETURN_SLACK_KB,
        "VmRSS {after} kB after the flood, from {} kB",
        watch.baseline_kb
    );
    assert_eq!(t.get("/healthz", None).resp.status, 200);
}
