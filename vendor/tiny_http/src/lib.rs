//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]

#[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
use zeroize::Zeroizing;

use std::error::Error;
use std::io::Error as IoError;
use std::io::ErrorKind as IoErrorKind;
use std::io::Result as IoResult;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use client::ClientConnection;
use connection::Connection;
use util::MessagesQueue;

pub use client::{parse_requests, MAX_HEADERS, MAX_HEADER_LINE, MAX_HEAD_BYTES};
pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use test::TestRequest;

mod client;
mod common;
mod connection;
mod head;
mod request;
mod response;
mod ssl;
mod test;
#[cfg(feature = "tls")]
mod tls;
mod util;

/// The main class of this library.
///
/// Destroying this object will immediately close the listening socket and the reading
///  part of all the client's connections. Requests that have already been returned by
///  the `recv()` function will not close and the responses will be transferred to the client.
pub struct Server {
    // should be false as long as the server exists
    // when set to true, all the subtasks will close within a few hundreds ms
    close: Arc<AtomicBool>,

    // queue for messages received by child threads
    messages: Arc<MessagesQueue<Message>>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,

    // msm patch: connections open now, and what each does
    table: Arc<util::ConnTable>,

    // msm patch: what an accept loop shares with the others (one per listener)
    acceptor: Acceptor,

    // msm patch: the addresses of the TLS listeners, to unblock their accept loops
    tls_addrs: std::sync::Mutex<Vec<std::net::SocketAddr>>,
}

#[cfg(feature = "tls")]
type TlsConfig = Arc<rustls::ServerConfig>;
#[cfg(not(feature = "tls"))]
type TlsConfig = std::convert::Infallible;

/// msm patch: what every accept loop of a server shares: plain and TLS listeners feed the
/// same connection table and request queue.
#[derive(Clone)]
struct Acceptor {
    close: Arc<AtomicBool>,
    messages: Arc<MessagesQueue<Message>>,
    table: Arc<util::ConnTable>,
    limits: Arc<client::Limits>,
    refused: mpsc::SyncSender<Connection>,
    io_timeout: Option<Duration>,
    max_connections: usize,
}

impl Acceptor {
    /// Starts the thread that accepts connections on `server` (TLS ones with `tls`).
    fn spawn(self, server: Listener, tls: Option<TlsConfig>) {
        thread::spawn(move || self.run(server, tls));
    }

    fn run(self, server: Listener, tls: Option<TlsConfig>) {
        // a tasks pool is used to dispatch the connections into threads
        let tasks_pool = util::TaskPool::new();
        // msm patch: failed accepts since the last log line, and when it was written
        let mut failed: u64 = 0;
        let mut logged: Option<std::time::Instant> = None;

        log::debug!("Running accept thread");
        while !self.close.load(Relaxed) {
            let sock = match server.accept() {
                Ok((sock, _)) => sock,
                Err(e) => {
                    // msm patch: upstream stopped accepting for good on any error; an
                    // error (EMFILE, ENFILE, ENOMEM, ECONNABORTED) is logged and retried.
                    failed += 1;
                    if logged.map_or(true, |t| t.elapsed() >= ACCEPT_ERROR_LOG_EVERY) {
                        log::warn!(
                            "accept failed ({} times since the last report): {}; retrying",
                            failed,
                            e
                        );
                        failed = 0;
                        logged = Some(std::time::Instant::now());
                    }
                    thread::sleep(ACCEPT_ERROR_PAUSE);
                    continue;
                }
            };
            if sock.set_timeouts(self.io_timeout).is_err() {
                continue;
            }
            // msm patch: a TLS connection's handshake runs in its first read, on its own
            // thread under the head deadline, never here.
            let sock = match (&tls, sock) {
                #[cfg(feature = "tls")]
                (Some(config), Connection::Tcp(tcp)) => {
                    match tls::TlsStream::new(tcp, config.clone()) {
                        Ok(t) => Connection::Tls(t),
                        Err(e) => {
                            log::warn!("no TLS state for a new connection: {}", e);
                            continue;
                        }
                    }
                }
                (_, sock) => sock,
            };
            let conn = Arc::new(sock);
            let slot = match self.table.admit(&conn) {
                Some(slot) => slot,
                None => {
                    use std::io::Write;
                    let _ = (&*conn).write_all(BUSY);
                    log::warn!(
                        "connection refused: {} open, each with a request",
                        self.max_connections
                    );
                    // Closed by the reaper after the client's request is read, so that
                    // the client gets the 503 and not a reset.
                    if let Ok(sock) = Arc::try_unwrap(conn) {
                        let _ = self.refused.try_send(sock);
                    }
                    continue;
                }
            };
            let client = ClientConnection::new(conn, slot, self.limits.clone());

            let messages = self.messages.clone();
            let mut client = Some(client);
            let spawned = tasks_pool.spawn(Box::new(move || {
                if let Some(client) = client.take() {
                    // msm patch: one request at a time: the next head is read once this
                    // request has been answered, so each connection has at most one
                    // request queued or held in memory.
                    for rq in client {
                        let (sender, receiver) = mpsc::channel();
                        messages.push(rq.with_notify_sender(sender).into());
                        let _ = receiver.recv();
                    }
                }
            }));
            if let Err(e) = spawned {
                // msm patch: no thread for it (out of memory or threads): the task and
                // its connection are dropped, which closes the connection.
                log::warn!("no thread for a new connection: {}", e);
            }
        }
        log::debug!("Terminating accept thread");
    }
}

enum Message {
    Error(IoError),
    NewRequest(Request),
}

impl From<IoError> for Message {
    fn from(e: IoError) -> Message {
        Message::Error(e)
    }
}

impl From<Request> for Message {
    fn from(rq: Request) -> Message {
        Message::NewRequest(rq)
    }
}

// this trait is to make sure that Server implements Share and Send
#[doc(hidden)]
trait MustBeShareDummy: Sync + Send {}
#[doc(hidden)]
impl MustBeShareDummy for Server {}

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// msm patch: bounds of a server.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Most connections open at once. When all are taken, a new connection takes the slot of
    /// an idle or slow one (see `util/conn_table.rs`); only when every one has a request
    /// being answered is it answered `503` and closed.
    pub max_connections: usize,
    /// Longest wait for one read or write on a socket.
    pub io_timeout: Option<Duration>,
    /// A request head must arrive whole within this (from the accept, or from its first
    /// byte on a kept-alive connection); else `408` and close.
    pub head_timeout: Duration,
    /// A kept-alive connection is closed after waiting this long for a next request.
    pub keep_alive: Duration,
    /// A request body must arrive whole within this after its head; else `408` and close.
    pub body_timeout: Duration,
    /// Largest request body; a larger declared length is answered `413` without reading it.
    pub max_body: usize,
    /// Bytes of each body held without drawing on `body_budget`.
    pub body_free: usize,
    /// Bytes past `body_free` that all bodies being read or answered may hold at once; a
    /// body that needs more is answered `503`.
    pub body_budget: usize,
    /// msm patch: uploads, bounded apart from the other bodies (see [`LargeBodies`]).
    pub large: Option<LargeBodies>,
}

/// msm patch: bodies of `POST`, `PUT` and `PATCH` requests to the named paths (uploads) may be larger than
/// `Bounds::max_body`; they draw on a budget of their own and get a longer deadline, so a
/// picture upload neither starves log-ins and posts of body memory nor fits their bounds.
#[derive(Debug, Clone)]
pub struct LargeBodies {
    /// Paths (without the query) whose `POST`, `PUT` and `PATCH` bodies these bounds cover.
    pub paths: Vec<String>,
    /// Largest such body; a larger declared length is answered `413` without reading it.
    pub max_body: usize,
    /// Bytes that all such bodies being read or answered may hold at once (`503` past it).
    pub budget: usize,
    /// Such a body must arrive whole within this after its head.
    pub body_timeout: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_connections: 1024,
            io_timeout: Some(Duration::from_secs(60)),
            head_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_body: 1024 * 1024,
            body_free: 16 * 1024,
            body_budget: 16 * 1024 * 1024,
            large: None,
        }
    }
}

/// msm patch: the answer to a connection over the bound.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// msm patch: after a failed `accept` (out of file descriptors, of memory, ...) the accept
/// loop waits this long before it tries again, so that it neither spins nor stops for good.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// msm patch: failed accepts are logged at most once per this interval (with their count).
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// msm patch: refused connections that may wait for the reaper at once (each holds a file
/// descriptor: count them when sizing the descriptor limit).
pub const REAPER_QUEUE: usize = 64;
/// msm patch: how long the reaper reads from a refused connection before closing it.
const REAPER_LINGER: Duration = Duration::from_millis(200);

/// msm patch: one thread that closes refused connections gently: it stops writing, reads and
/// drops what the client sends for a moment, then closes. At most `REAPER_QUEUE` wait; more
/// are closed at once.
fn reaper() -> mpsc::SyncSender<Connection> {
    let (tx, rx) = mpsc::sync_channel::<Connection>(REAPER_QUEUE);
    let _ = thread::Builder::new()
        .name("http-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            use std::io::Read;
            let mut sink = [0u8; 1024];
            for mut c in rx {
                let _ = c.set_timeouts(Some(REAPER_LINGER));
                let _ = c.shutdown(Shutdown::Write);
                let mut left = 16 * 1024;
                while left > 0 {
                    match c.read(&mut sink) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => left -= n.min(left),
                    }
                }
            }
        });
    tx
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// If `Some`, then the server will use SSL to encode the communications.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL.
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    /// Shortcut for an HTTPS server on a specific address.
    #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
    #[inline]
    pub fn https<A>(
        addr: A,
        config: SslConfig,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: Some(config),
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener.
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Self::from_listener_bounded(listener, ssl_config, Bounds::default())
    }

    /// msm patch: like `from_listener`, with a bound on open connections (one more is answered
    /// `503` and closed at once, so it never gets a thread) and socket timeouts (a client that
    /// stalls a read or a write for longer loses its connection).
    pub fn from_listener_bounded<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
        bounds: Bounds,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = listener.into();
        let table = util::ConnTable::new(bounds.max_connections);
        let limits = Arc::new(client::Limits {
            head_timeout: bounds.head_timeout,
            keep_alive: bounds.keep_alive,
            body_timeout: bounds.body_timeout,
            io_timeout: bounds.io_timeout,
            max_body: bounds.max_body,
            budget: util::BodyBudget::new(bounds.body_free, bounds.body_budget),
            large: bounds.large.clone().map(|l| client::LargeLimits {
                budget: util::BodyBudget::new(0, l.budget),
                paths: l.paths,
                max_body: l.max_body,
                body_timeout: l.body_timeout,
            }),
        });
        let refused = reaper();
        // building the "close" variable
        let close_trigger = Arc::new(AtomicBool::new(false));

        // building the TcpListener
        let (server, local_addr) = {
            let local_addr = listener.local_addr()?;
            log::debug!("Server listening on {}", local_addr);
            (listener, local_addr)
        };

        // building the SSL capabilities
        #[cfg(all(feature = "ssl-openssl", feature = "ssl-rustls"))]
        compile_error!(
            "Features 'ssl-openssl' and 'ssl-rustls' must not be enabled at the same time"
        );
        #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
        type SslContext = ();
        #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
        type SslContext = crate::ssl::SslContextImpl;
        let ssl: Option<SslContext> = {
            match ssl_config {
                #[cfg(any(feature = "ssl-openssl", feature = "ssl-rustls"))]
                Some(config) => Some(SslContext::from_pem(
                    config.certificate,
                    Zeroizing::new(config.private_key),
                )?),
                #[cfg(not(any(feature = "ssl-openssl", feature = "ssl-rustls")))]
                Some(_) => return Err(
                    "Building a server with SSL requires enabling the `ssl` feature in tiny-http"
                        .into(),
                ),
                None => None,
            }
        };

        // creating a task where server.accept() is continuously called
        // and ClientConnection objects are pushed in the messages queue
        let messages = MessagesQueue::with_capacity(8);
        let acceptor = Acceptor {
            close: close_trigger.clone(),
            messages: messages.clone(),
            table: table.clone(),
            limits,
            refused,
            io_timeout: bounds.io_timeout,
            max_connections: bounds.max_connections,
        };
        if ssl.is_some() {
            return Err("this copy of tiny_http serves TLS through add_tls_listener".into());
        }
        acceptor.clone().spawn(server, None);

        // result
        Ok(Server {
            messages,
            close: close_trigger,
            listening_addr: local_addr,
            table,
            acceptor,
            tls_addrs: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// msm patch: accepts TLS connections on `listener` too, answered with `tls` (rustls)
    /// and then served as the plain ones are: the same connection table, bounds, body
    /// budgets and request queue. Returns the address it listens on.
    #[cfg(feature = "tls")]
    pub fn add_tls_listener(
        &self,
        listener: std::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
    ) -> IoResult<std::net::SocketAddr> {
        let addr = listener.local_addr()?;
        if let Ok(mut addrs) = self.tls_addrs.lock() {
            addrs.push(addr);
        }
        self.acceptor
            .clone()
            .spawn(Listener::Tcp(listener), Some(tls));
        Ok(addr)
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        // msm patch: counted by the accept loop (upstream left this unimplemented).
        self.table.len()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::new(IoErrorKind::Other, "thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.messages.unblock();
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close.store(true, Relaxed);
        // Connect briefly to ourselves to unblock the accept thread
        let maybe_stream = match &self.listening_addr {
            ListenAddr::IP(addr) => TcpStream::connect(addr).map(Connection::from),
            #[cfg(unix)]
            ListenAddr::Unix(addr) => {
                // TODO: use connect_addr when its stabilized.
                let path = addr.as_pathname().unwrap();
                std::os::unix::net::UnixStream::connect(path).map(Connection::from)
            }
        };
        if let Ok(stream) = maybe_stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // msm patch: and each TLS listener's
        if let Ok(addrs) = self.tls_addrs.lock() {
            for addr in addrs.iter() {
                if let Ok(stream) = TcpStream::connect(addr) {
                    let _ = stream.shutdown(Shutdown::Both);
                }
            }
        }

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}
