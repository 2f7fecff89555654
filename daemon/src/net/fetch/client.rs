//! [`Client`]: one blocking HTTPS exchange per call: resolve, check every address with the
//! guard, connect to one that passed, TLS, send the request, read the answer, all within the
//! configured timeout and one of `max_connections` slots.

use super::deadline::DeadlineStream;
use super::http1::{self, ResponseReader};
use super::slots::{Permit, Slots};
use super::{guard, parse_url, trust, FetchError, Response, Target};
use rustls::{ClientConnection, StreamOwned};
use rustls_pki_types::ServerName;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Default for [`ClientConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;
/// Default for [`ClientConfig::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most resolved addresses tried for one host.
pub const MAX_ADDRESSES: usize = 8;
/// Bytes read from the TLS stream at a time (a TLS record holds at most 16 KiB).
pub const READ_CHUNK: usize = 8 * 1024;
/// Stack of the thread that resolves a host name (the C resolver runs on it).
pub const RESOLVER_STACK: usize = 256 * 1024;

/// How the client connects, whom it trusts and how much it may do at once.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// A PEM file of CA certificates trusted besides the system bundle (labs).
    pub extra_ca: Option<PathBuf>,
    /// Lab setting: allow loopback and private targets (the SSRF guard lets everything by).
    pub allow_private: bool,
    /// Requests in flight at once; one over it waits up to `timeout`, then fails with `Busy`.
    pub max_connections: usize,
    /// The whole exchange: waiting for a slot, resolving, connecting, the handshake, the
    /// request and the answer.
    pub timeout: Duration,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            extra_ca: None,
            allow_private: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            timeout: DEFAULT_TIMEOUT,
            user_agent: format!("msmd/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A blocking HTTPS client (call it from a thread that may block, e.g. `spawn_blocking`).
/// Redirects are not followed: a 3xx comes back as a [`Response`] for the caller to judge.
#[derive(Debug)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    allow_private: bool,
    timeout: Duration,
    user_agent: String,
    pub(super) slots: Arc<Slots>,
}

impl Client {
    /// A client for `cfg`; fails when no CA certificate is usable or the settings are not.
    pub fn new(cfg: ClientConfig) -> Result<Client, FetchError> {
        Client::with_system_bundle(cfg, Path::new(trust::SYSTEM_CA_BUNDLE))
    }

    /// [`Client::new`] with another file as the system bundle.
    pub(crate) fn with_system_bundle(
        cfg: ClientConfig,
        system: &Path,
    ) -> Result<Client, FetchError> {
        if cfg.max_connections == 0 {
            return Err(FetchError::Config(
                "max_connections must be at least 1".into(),
            ));
        }
        if cfg.timeout.is_zero() {
            return Err(FetchError::Config("timeout must be more than zero".into()));
        }
        http1::request_head("GET", "x", "/", &cfg.user_agent, &[], None)?;
        Ok(Client {
            tls: trust::client_config(system, cfg.extra_ca.as_deref())?,
            allow_private: cfg.allow_private,
            timeout: cfg.timeout,
            user_agent: cfg.user_agent,
            slots: Slots::new(cfg.max_connections),
        })
    }

    /// GET `url` with the extra request `headers` (Accept, Date, Signature ...); the body of
    /// the answer may hold at most `max_body` bytes.
    pub fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max_body: usize,
    ) -> Result<Response, FetchError> {
        self.exchange("GET", url, headers, None, max_body)
    }

    /// POST `body` to `url` (with `Content-Length`), as [`Client::get`] otherwise.
    pub fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Response, FetchError> {
        self.exchange("POST", url, headers, Some(body), max_body)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.slots.in_use()
    }

    fn exchange(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        max_body: usize,
    ) -> Result<Response, FetchError> {
        let deadline = Instant::now() + self.timeout;
        let target = parse_url(url)?;
        let name = ServerName::try_from(target.host.clone())
            .map_err(|_| FetchError::BadUrl("host is not a TLS server name"))?;
        let head = http1::request_head(
            method,
            &target.authority,
            &target.path,
            &self.user_agent,
            headers,
            body.map(<[u8]>::len),
        )?;
        let permit = self.slots.acquire(deadline).ok_or(FetchError::Busy)?;
        let addrs = self.resolve(&target, deadline, &permit)?;
        let sock = self.connect(&addrs, deadline)?;
        let conn = ClientConnection::new(self.tls.clone(), name)
            .map_err(|e| FetchError::Tls(e.to_string()))?;
        let mut tls = StreamOwned::new(conn, DeadlineStream::new(sock, deadline));
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::TimedOut => FetchError::Timeout,
                    _ => FetchError::Tls(e.to_string()),
                })?;
        }
        tls.write_all(&head).map_err(io_error)?;
        tls.write_all(body.unwrap_or_default()).map_err(io_error)?;
        tls.flush().map_err(io_error)?;
        read_response(&mut tls, max_body)
    }

    /// The addresses of the target's host: the IP literal, or what the system resolver says
    /// (on a thread of its own holding the request's slot, so the wait is bounded by the
    /// deadline and the threads by `max_connections`).
    fn resolve(
        &self,
        target: &Target,
        deadline: Instant,
        permit: &Arc<Permit>,
    ) -> Result<Vec<SocketAddr>, FetchError> {
        if let Some(ip) = target.ip() {
            return Ok(vec![SocketAddr::new(ip, target.port)]);
        }
        let (tx, rx) = mpsc::channel();
        let (host, port, slot) = (target.host.clone(), target.port, permit.clone());
        std::thread::Builder::new()
            .name("msmd-resolve".into())
            .stack_size(RESOLVER_STACK)
            .spawn(move || {
                let found = (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.take(MAX_ADDRESSES).collect::<Vec<_>>());
                let _ = tx.send(found);
                drop(slot);
            })
            .map_err(|e| FetchError::Io(e.to_string()))?;
        let left = time_left(deadline)?;
        match rx.recv_timeout(left) {
            Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
            Ok(Ok(_)) => Err(FetchError::Resolve(format!("{}: no address", target.host))),
            Ok(Err(e)) => Err(FetchError::Resolve(format!("{}: {e}", target.host))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(FetchError::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(FetchError::Resolve(format!(
                "{}: resolver failed",
                target.host
            ))),
        }
    }

    /// A connection to the first address that passes the guard and answers.
    fn connect(&self, addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, FetchError> {
        let mut refused = None;
        let mut failed = None;
        for addr in addrs {
            if let Err(e) = guard::check(addr.ip(), self.allow_private) {
                refused.get_or_insert(e);
                continue;
            }
            match TcpStream::connect_timeout(addr, time_left(deadline)?) {
                Ok(sock) => return Ok(sock),
                Err(e) => failed = Some(format!("{addr}: {e}")),
            }
        }
        match (failed, refused) {
            (Some(why), _) => {
                time_left(deadline)?;
                Err(FetchError::Connect(why))
            }
            (None, Some(refused)) => Err(refused),
            (None, None) => Err(FetchError::Connect("no address".into())),
        }
    }
}

/// Reads the answer until it is complete (or the server closes).
fn read_response<S: Read>(tls: &mut S, max_body: usize) -> Result<Response, FetchError> {
    let mut reader = ResponseReader::new(max_body);
    let mut buf = [0u8; READ_CHUNK];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => {
                reader.end()?;
                break;
            }
            Ok(n) => {
                if reader.push(&buf[..n])? {
                    break;
                }
            }
            // A close without TLS close_notify: fine once the framing says the answer is
            // complete, but a body read until close may have been cut by an attacker.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                if reader.reads_until_close() {
                    return Err(FetchError::BadResponse(
                        "closed without TLS close_notify: the body may be cut",
                    ));
                }
                reader.end()?;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
    reader.into_response()
}

/// The time left before `deadline`, or `Timeout`.
fn time_left(deadline: Instant) -> Result<Duration, FetchError> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or(FetchError::Timeout)
}

fn io_error(e: io::Error) -> FetchError {
    match e.kind() {
        io::ErrorKind::TimedOut => FetchError::Timeout,
        io::ErrorKind::InvalidData => FetchError::Tls(e.to_string()),
        _ => FetchError::Io(e.to_string()),
    }
}
