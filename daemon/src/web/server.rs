//! The HTTP listener and its fixed pool of worker threads.
//!
//! Workers poll the listener with a short timeout so that [`HttpServer::stop`] can end them:
//! each finishes the request it is answering (a post in flight is committed and acknowledged),
//! then exits; the listener closes when the last worker is gone.
//!
//! The listener is tiny_http with the bounds of `vendor/tiny_http/PATCHES.md` ([`bounds`]):
//! - at most `http.max_connections` connections; when all are taken, a new client takes the
//!   slot of an idle keep-alive connection, else of the slowest request head, else of the
//!   slowest body (oldest first); only when every connection has a request being answered is
//!   it answered 503 and closed;
//! - a request head of at most 16 KiB, whole within `http.head_timeout_s`; a body of at most
//!   [`MAX_REQUEST_BODY`], whole within `http.body_timeout_s`; each read also within
//!   `http.timeout_s`;
//! - each connection's own thread reads the head and the whole body into memory before a
//!   worker sees the request, so slow clients hold their connection and never a worker; what
//!   bodies hold at once is bounded by [`BODY_FREE`] and [`BODY_BUDGET`];
//! - ambiguous framing (request smuggling), an oversize body, a late head or body are refused
//!   (400, 413, 408, ...) with `Connection: close`, and the connection closes; so does a
//!   handler's answer that refuses a request or its body ([`closes_connection`]).
//!
//! An HTTPS listener (`[https]`), when configured, feeds the same connection table, bounds,
//! workers and handlers; its TLS handshake must end within `http.head_timeout_s` along with
//! the first request head ([`super::tls`]).
//!
//! A live stream request is handed to a thread of its own ([`stream`]) so that it never holds
//! a worker.

use super::api::{handle, Context};
use super::{stream, MAX_REQUEST_BODY};
use crate::config::{HttpConfig, MediaConfig};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often an idle worker checks for shutdown.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Stack of a worker thread: request handling is shallow; SQLite and argon2 keep their large
/// buffers on the heap.
pub const WORKER_STACK: usize = 512 * 1024;
/// A worker closes its database connection after this long without a request: an idle node
/// keeps no parsed schema, statements and page cache per worker (~100 KB each); the next
/// request opens one again (a millisecond or two).
pub const WORKER_CONN_IDLE: Duration = Duration::from_secs(10);

/// Bytes of each request body held without drawing on [`BODY_BUDGET`]: a log-in, a follow or
/// a post at the default text cap (16 KiB, JSON-escaped) fits. All connections at once hold at
/// most `http.max_connections` × this (2 MiB at the default 64).
pub const BODY_FREE: usize = 32 * 1024;
/// Bytes past [`BODY_FREE`] that all bodies being read or answered may hold at once: ten
/// bodies of the largest size ([`MAX_REQUEST_BODY`]). A body that needs more is refused with
/// 503, so bodies never hold more than 2 + 4 MiB of a router's memory.
pub const BODY_BUDGET: usize = 4 * 1024 * 1024;
/// A kept-alive connection waits this long for its next request; when the table is full,
/// such idle connections are the first to go anyway.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// The paths whose `POST` (`PUT`, `PATCH`) bodies are picture uploads, bounded by `[media]`:
/// msm's and the Mastodon API's uploads, and the Mastodon API's profile update (its avatar
/// and header come in the form).
pub const UPLOAD_PATHS: &[&str] = &[
    "/api/v1/media",
    "/api/v2/media",
    "/api/v1/accounts/update_credentials",
];
/// Uploads being read or handled at once: each holds up to `media.max_upload_bytes` of memory.
pub const MAX_UPLOADS_AT_ONCE: u64 = 2;

/// The bounds of the listener, from the `[http]` and `[media]` configuration.
pub fn bounds(http: &HttpConfig, media: &MediaConfig) -> tiny_http::Bounds {
    tiny_http::Bounds {
        max_connections: http.max_connections,
        io_timeout: Some(Duration::from_secs(http.timeout_s)),
        head_timeout: Duration::from_secs(http.head_timeout_s),
        keep_alive: KEEP_ALIVE,
        body_timeout: Duration::from_secs(http.body_timeout_s),
        max_body: MAX_REQUEST_BODY,
        body_free: BODY_FREE,
        body_budget: BODY_BUDGET,
        large: Some(tiny_http::LargeBodies {
            paths: UPLOAD_PATHS.iter().map(|p| p.to_string()).collect(),
            // a multipart form adds its boundaries and headers to the picture
            max_body: media.max_upload_bytes as usize + 64 * 1024,
            budget: (MAX_UPLOADS_AT_ONCE * (media.max_upload_bytes + 64 * 1024)) as usize,
            body_timeout: Duration::from_secs(media.upload_timeout_s),
        }),
    }
}

/// The HTTPS listener of a server: where, and the TLS configuration it answers with.
pub struct HttpsListener {
    /// Address and port.
    pub listen: SocketAddr,
    /// The rustls configuration (its certificate resolver reloads, see [`super::tls`]).
    pub tls: Arc<rustls::ServerConfig>,
}

/// A running HTTP server.
pub struct HttpServer {
    addr: SocketAddr,
    https_addr: Option<SocketAddr>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `listen` (and `https`, when given) and starts `workers` threads, each with its own
    /// connection from `store`. HTTPS connections are served by the same workers, within the
    /// same connection table and bounds as plain ones.
    pub fn start(
        listen: SocketAddr,
        https: Option<HttpsListener>,
        workers: usize,
        bounds: tiny_http::Bounds,
        ctx: Arc<Context>,
        store: &Store,
    ) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let server = tiny_http::Server::from_listener_bounded(listener, None, bounds)
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| anyhow::anyhow!("listener has no IP address"))?;
        let https_addr = match https {
            Some(h) => {
                let l = std::net::TcpListener::bind(h.listen)
                    .map_err(|e| anyhow::anyhow!("cannot listen for HTTPS on {}: {e}", h.listen))?;
                let addr = server
                    .add_tls_listener(l, h.tls)
                    .map_err(|e| anyhow::anyhow!("cannot listen for HTTPS on {}: {e}", h.listen))?;
                tracing::info!(%addr, "HTTPS listening");
                Some(addr)
            }
            None => None,
        };
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let (server, ctx, stopping) = (server.clone(), ctx.clone(), stopping.clone());
            let db = store.db_path().to_path_buf();
            let h = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || work(&server, &ctx, &db, &stopping))?;
            handles.push(h);
        }
        tracing::info!(%addr, workers, "HTTP listening");
        Ok(HttpServer {
            addr,
            https_addr,
            stopping,
            workers: handles,
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound HTTPS address, if HTTPS is on.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// Stops taking requests, lets each worker finish its current one, and waits for them.
    pub fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for w in self.workers {
            if w.join().is_err() {
                tracing::error!("HTTP worker panicked");
            }
        }
    }
}

/// Whether an answer with `status` refuses the request or its body, so the connection closes
/// after it (`Connection: close`): a client that sent something malformed or oversize starts
/// again on a fresh connection, and nothing it sent after is read as a request.
pub fn closes_connection(status: u16) -> bool {
    matches!(status, 400 | 413 | 415)
}

fn work(
    server: &tiny_http::Server,
    ctx: &Arc<Context>,
    db: &std::path::Path,
    stopping: &AtomicBool,
) {
    // opened for a request, closed after WORKER_CONN_IDLE without one
    let mut conn: Option<Store> = None;
    let mut last_request = std::time::Instant::now();
    while !stopping.load(Ordering::SeqCst) {
        let mut req = match server.recv_timeout(POLL_INTERVAL) {
            Ok(Some(r)) => r,
            Ok(None) => {
                if conn.is_some() && last_request.elapsed() >= WORKER_CONN_IDLE {
                    conn = None;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        last_request = std::time::Instant::now();
        let store = match &mut conn {
            Some(s) => s,
            None => match Store::connect_to(db) {
                Ok(s) => conn.insert(s),
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the database for a request");
                    let answer = super::api::without_store(ctx, &req, e);
                    req.close_after();
                    if let Err(e) = req.respond(answer) {
                        tracing::debug!(error = %e, "client went away before the answer");
                    }
                    continue;
                }
            },
        };
        let peer = req.remote_addr().copied();
        let span =
            tracing::info_span!("http", peer = ?peer, method = %req.method(), path = %req.url());
        let _guard = span.enter();
        if super::mastodon::streaming::is_streaming(&req) {
            super::mastodon::streaming::open(ctx, store, req);
            continue;
        }
        if stream::is_stream(&req) {
            stream::open(ctx, store, req);
            continue;
        }
        if super::media::is_media_get(&req) {
            super::media::serve(ctx, store, req);
            continue;
        }
        let response = handle(ctx, store, &mut req);
        let status = response.status_code().0;
        if closes_connection(status) {
            req.close_after();
        }
        if let Err(e) = req.respond(response) {
            tracing::debug!(error = %e, "client went away before the answer");
        }
        tracing::debug!(status, "answered");
    }
}
