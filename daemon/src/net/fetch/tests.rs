//! The client against real TLS servers on 127.0.0.1 (certificates in `testdata/`, see its
//! README): round trips, chunked answers, the deadline, the limits, trust and the guard.

use super::*;
use rustls::{ServerConnection, StreamOwned};
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const SERVER_PEM: &[u8] = include_bytes!("testdata/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("testdata/server.key");
const UNTRUSTED_PEM: &[u8] = include_bytes!("testdata/untrusted.pem");
const UNTRUSTED_KEY: &[u8] = include_bytes!("testdata/untrusted.key");

type ServerTls = StreamOwned<ServerConnection, TcpStream>;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/net/fetch/testdata")
        .join(name)
}

/// A client trusting only the test CA (no system bundle), for a lab on loopback.
fn lab_client(timeout: Duration) -> Client {
    let cfg = ClientConfig {
        extra_ca: Some(testdata("ca.pem")),
        allow_private: true,
        timeout,
        ..ClientConfig::default()
    };
    Client::with_system_bundle(cfg, Path::new("/nonexistent/ca-bundle.crt")).unwrap()
}

fn server_config(cert: &[u8], key: &[u8]) -> Arc<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key).unwrap();
    let provider = crate::web::tls::provider();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(cfg)
}

/// Serves one TLS connection on 127.0.0.1: reads the request (sent back on the channel),
/// then lets `answer` write. Returns the port.
fn serve_once(
    cert: &'static [u8],
    key: &'static [u8],
    answer: impl FnOnce(&mut ServerTls) + Send + 'static,
) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let conn = ServerConnection::new(server_config(cert, key)).unwrap();
        let mut tls = StreamOwned::new(conn, sock);
        if let Some(request) = read_request(&mut tls) {
            let _ = tx.send(request);
            answer(&mut tls);
        }
    });
    (port, rx)
}

/// The request's head and body as text, or `None` if the handshake or the read failed.
fn read_request(tls: &mut ServerTls) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |n| n.parse::<usize>().unwrap());
            if got.len() >= end + 4 + length {
                return Some(text);
            }
        }
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn write(tls: &mut ServerTls, bytes: &[u8]) {
    let _ = tls.write_all(bytes).and_then(|_| tls.flush());
}

#[test]
fn get_and_post_send_exactly_the_parsed_target_and_read_the_answer() {
    let (port, seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(tls, b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nContent-Length: 13\r\n\r\n{\"id\":\"x\"}\n\n\nNOT BODY");
    });
    let client = lab_client(Duration::from_secs(5));
    let url = format!("https://127.0.0.1:{port}/users/alice?page=1#frag");
    let r = client
        .get(&url, &[("Accept", "application/activity+json")], 100)
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/activity+json"));
    assert_eq!(r.body, b"{\"id\":\"x\"}\n\n\n");
    let request = seen.recv().unwrap();
    let ua = format!("msmd/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        request,
        format!(
            "GET /users/alice?page=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {ua}\r\n\
             Connection: close\r\nAccept: application/activity+json\r\n\r\n"
        )
    );

    // by name (resolved through /etc/hosts), a POST; a redirect comes back as it is
    let (port, seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(
            tls,
            b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n",
        );
    });
    let url = format!("https://localhost:{port}/inbox");
    let body = br#"{"type":"Follow"}"#;
    let r = client.post(&url, &[("Digest", "x")], body, 100).unwrap();
    assert_eq!(
        (r.status, r.header("Location")),
        (302, Some("https://elsewhere.test/"))
    );
    let request = seen.recv().unwrap();
    assert!(request.starts_with(&format!(
        "POST /inbox HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: {ua}\r\nConnection: close\r\n\
         Content-Length: 17\r\nDigest: x\r\n\r\n"
    )), "{request}");
    assert!(
        request.ends_with("\r\n\r\n{\"type\":\"Follow\"}"),
        "{request}"
    );
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn a_chunked_answer_in_many_writes_is_joined() {
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(
            tls,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for piece in [
            &b"4\r\nab"[..],
            b"cd\r",
            b"\n3;x=y\r\nefg\r\n",
            b"0\r\nT: 1\r\n",
            b"\r\n",
        ] {
            write(tls, piece);
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(Duration::from_secs(2)); // complete before the close
    });
    let started = Instant::now();
    let r = lab_client(Duration::from_secs(5))
        .get(&format!("https://127.0.0.1:{port}/"), &[], 7)
        .unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"abcdefg"[..]));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "read to its end, not to the close"
    );
}

#[test]
fn a_server_trickling_its_answer_is_cut_at_the_deadline() {
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        // 50 bytes over 5 s, each in a TLS record of its own, then the server gives up
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        for b in head.iter().chain(&[b'x'; 1000]).take(50) {
            if tls.write_all(&[*b]).and_then(|_| tls.flush()).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    let got = lab_client(Duration::from_millis(1500)).get(
        &format!("https://127.0.0.1:{port}/"),
        &[],
        2000,
    );
    assert_eq!(got, Err(FetchError::Timeout));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_millis(2200),
        "{took:?}"
    );
}

#[test]
fn a_server_trickling_its_handshake_is_cut_at_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut hello = [0u8; 512];
        let _ = sock.read(&mut hello);
        // a ServerHello record header that promises a long record, then a byte at a time
        let _ = sock.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00, 0x02]);
        for _ in 0..100 {
            thread::sleep(Duration::from_millis(100));
            if sock.write_all(&[0]).is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let got =
        lab_client(Duration::from_secs(1)).get(&format!("https://127.0.0.1:{port}/"), &[], 10);
    assert_eq!(got, Err(FetchError::Timeout));
    assert!(
        started.elapsed() < Duration::from_millis(1700),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bodies_over_the_callers_limit_are_refused() {
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(tls, b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n");
        write(tls, &[b'x'; 101]);
    });
    let client = lab_client(Duration::from_secs(5));
    let got = client.get(&format!("https://127.0.0.1:{port}/"), &[], 100);
    assert_eq!(got, Err(FetchError::TooLarge("body")));
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(
            tls,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for _ in 0..3 {
            write(tls, format!("3c\r\n{}\r\n", "y".repeat(60)).as_bytes());
        }
        write(tls, b"0\r\n\r\n");
    });
    let got = client.get(&format!("https://127.0.0.1:{port}/"), &[], 100);
    assert_eq!(got, Err(FetchError::TooLarge("body")));
}

#[test]
fn a_body_read_until_close_must_end_with_close_notify() {
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(tls, b"HTTP/1.1 200 OK\r\n\r\npart of it");
        // dropped: the TCP connection closes with no close_notify
    });
    let client = lab_client(Duration::from_secs(5));
    let got = client.get(&format!("https://127.0.0.1:{port}/"), &[], 100);
    assert!(
        matches!(got, Err(FetchError::BadResponse(why)) if why.contains("close_notify")),
        "{got:?}"
    );
    let (port, _seen) = serve_once(SERVER_PEM, SERVER_KEY, |tls| {
        write(tls, b"HTTP/1.1 200 OK\r\n\r\nall of it");
        tls.conn.send_close_notify();
        write(tls, b"");
    });
    let r = client
        .get(&format!("https://127.0.0.1:{port}/"), &[], 100)
        .unwrap();
    assert_eq!(r.body, b"all of it");
}

#[test]
fn a_server_with_an_untrusted_certificate_is_refused() {
    let (port, seen) = serve_once(UNTRUSTED_PEM, UNTRUSTED_KEY, |tls| {
        write(tls, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    let got =
        lab_client(Duration::from_secs(5)).get(&format!("https://localhost:{port}/"), &[], 10);
    assert!(
        matches!(&got, Err(FetchError::Tls(why)) if why.contains("UnknownIssuer")),
        "{got:?}"
    );
    assert!(seen.recv().is_err(), "no request was sent");
}

#[test]
fn private_targets_are_refused_before_connecting_unless_allowed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = ClientConfig {
        extra_ca: Some(testdata("ca.pem")),
        ..ClientConfig::default()
    };
    let client = Client::with_system_bundle(cfg, Path::new("/nonexistent")).unwrap();
    let got = client.get(&format!("https://127.0.0.1:{port}/"), &[], 10);
    assert_eq!(got, Err(FetchError::Refused("127.0.0.1".parse().unwrap())));
    let got = client.get(&format!("https://localhost:{port}/"), &[], 10);
    assert!(
        matches!(got, Err(FetchError::Refused(ip)) if ip.is_loopback()),
        "{got:?}"
    );
    let got = client.get(&format!("https://[::ffff:127.0.0.1]:{port}/"), &[], 10);
    assert!(matches!(got, Err(FetchError::Refused(_))), "{got:?}");
    assert_eq!(
        listener.accept().map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the server saw a connection"
    );
}

#[test]
fn with_every_slot_taken_a_request_waits_its_timeout_then_is_busy() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = ClientConfig {
        extra_ca: Some(testdata("ca.pem")),
        allow_private: true,
        max_connections: 1,
        timeout: Duration::from_millis(300),
        ..ClientConfig::default()
    };
    let client = Client::with_system_bundle(cfg, Path::new("/nonexistent")).unwrap();
    let held = client
        .slots
        .acquire(Instant::now() + Duration::from_secs(1))
        .unwrap();
    let started = Instant::now();
    let got = client.get(&format!("https://127.0.0.1:{port}/"), &[], 10);
    assert_eq!(got, Err(FetchError::Busy));
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(listener.accept().is_err(), "the server saw a connection");
    drop(held);
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn a_client_needs_a_usable_ca_and_sane_settings() {
    let none = Path::new("/nonexistent/ca-bundle.crt");
    let cfg = |f: fn(&mut ClientConfig)| {
        let mut c = ClientConfig {
            extra_ca: Some(testdata("ca.pem")),
            ..ClientConfig::default()
        };
        f(&mut c);
        c
    };
    let refused = |c: ClientConfig| match Client::with_system_bundle(c, none) {
        Err(FetchError::Config(why)) => why,
        other => panic!("{other:?}"),
    };
    assert!(Client::with_system_bundle(cfg(|_| {}), none).is_ok());
    assert!(refused(cfg(|c| c.extra_ca = None)).contains("ca-bundle.crt"));
    assert!(refused(cfg(|c| c.extra_ca = Some(testdata("README.md")))).contains("no usable CA"));
    assert!(refused(cfg(|c| c.extra_ca = Some(testdata("missing.pem")))).contains("missing.pem"));
    // an extra file with no certificate is refused even when the system bundle is usable
    let no_cert = cfg(|c| c.extra_ca = Some(testdata("README.md")));
    match Client::with_system_bundle(no_cert, &testdata("ca.pem")) {
        Err(FetchError::Config(why)) => assert!(why.contains("README.md: no usable CA"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(refused(cfg(|c| c.max_connections = 0)).contains("max_connections"));
    assert!(refused(cfg(|c| c.timeout = Duration::ZERO)).contains("timeout"));
    let mut bad_ua = cfg(|_| {});
    bad_ua.user_agent = "msmd\r\nX: y".into();
    assert!(Client::with_system_bundle(bad_ua, none).is_err());
    // the system bundle alone, where the machine has one
    if Path::new(SYSTEM_CA_BUNDLE).exists() {
        assert!(Client::new(ClientConfig::default()).is_ok());
    }
}

#[test]
fn a_client_is_shared_between_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let client = Arc::new(lab_client(Duration::from_secs(1)));
    shared(&client);
    let c = client.clone();
    let got = thread::spawn(move || c.get("http://a.test/", &[], 1))
        .join()
        .unwrap();
    assert_eq!(got, Err(FetchError::BadUrl("not an https URL")));
}
