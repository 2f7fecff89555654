//! A fediverse inbox the test controls: an HTTPS server on loopback (a [`TestCa`]
//! certificate for `localhost` / 127.0.0.1, rustls) that records every request and answers
//! each with the status the test sets, after the delay it sets — to show what msmd does with
//! an inbox that is down, slow, or says its follower is gone (410).

use crate::node_tls::TestCa;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the inbox saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request target.
    pub path: String,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

/// The running inbox (serves until the process ends; the test drops it with its CA).
pub struct FakeInbox {
    /// Where it listens (`127.0.0.1:port`).
    pub addr: SocketAddr,
    /// The CA whose certificate it serves (msmd's `activitypub.extra_ca`).
    pub ca: TestCa,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeInbox {
    /// Starts answering 202.
    pub fn start() -> FakeInbox {
        let ca = TestCa::new();
        let issued = ca.issue("inbox");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&issued.cert)
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(&issued.key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(msmd::web::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(202));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, dl, sn) = (status.clone(), delay_ms.clone(), seen.clone());
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let (config, st, dl, sn) = (config.clone(), st.clone(), dl.clone(), sn.clone());
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, s);
                    let Some(mut seen) = read_request(&mut tls) else {
                        return;
                    };
                    std::thread::sleep(Duration::from_millis(dl.load(Ordering::Relaxed)));
                    let status = st.load(Ordering::Relaxed);
                    seen.status = status;
                    sn.lock().unwrap().push(seen);
                    let _ = write!(
                        tls,
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        FakeInbox {
            addr,
            ca,
            status,
            delay_ms,
            seen,
        }
    }

    /// `https://localhost:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }

    /// Waits `ms` before each answer from now on.
    pub fn delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::Relaxed);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a request whose body satisfies `pred`; returns it.
    pub fn wait(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Seen {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.seen().into_iter().find(|s| {
                serde_json::from_slice::<serde_json::Value>(&s.body).is_ok_and(|v| pred(&v))
            }) {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the inbox never got {what}; it saw {:?}",
                self.seen()
                    .iter()
                    .map(|s| (
                        &s.path,
                        s.status,
                        String::from_utf8_lossy(&s.body)
                            .chars()
                            .take(120)
                            .collect::<String>()
                    ))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read_request(tls: &mut impl Read) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tls.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = tls.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        path,
        headers,
        body,
        status: 0,
    })
}
