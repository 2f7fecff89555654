//! The HTTP listener and its fixed pool of worker threads.
//!
//! Workers poll the listener with a short timeout so that [`HttpServer::stop`] can end them:
//! each finishes the request it is answering (a post in flight is committed and acknowledged),
//! then exits; the listener closes when the last worker is gone.
//!
//! The listener is tiny_http with the bounds of `vendor/tiny_http/PATCHES.md`: at most
//! `http.max_connections` connections (one more is answered 503 and closed), request heads of
//! at most 16 KiB, and `http.timeout_s` for a stalled read or write. A live stream request is
//! handed to a thread of its own ([`stream`]) so that it never holds a worker.

use super::api::{handle, Context};
use super::stream;
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

/// A running HTTP server.
pub struct HttpServer {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `listen` and starts `workers` threads, each with its own connection from `store`.
    pub fn start(
        listen: SocketAddr,
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
        let server = Arc::new(server);
        let stopping = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let (server, ctx, stopping) = (server.clone(), ctx.clone(), stopping.clone());
            let mut conn = store.reopen()?;
            let h = std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || work(&server, &ctx, &mut conn, &stopping))?;
            handles.push(h);
        }
        tracing::info!(%addr, workers, "HTTP listening");
        Ok(HttpServer {
            addr,
            stopping,
            workers: handles,
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

fn work(server: &tiny_http::Server, ctx: &Arc<Context>, store: &mut Store, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        let mut req = match server.recv_timeout(POLL_INTERVAL) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let peer = req.remote_addr().copied();
        let span =
            tracing::info_span!("http", peer = ?peer, method = %req.method(), path = %req.url());
        let _guard = span.enter();
        if stream::is_stream(&req) {
            stream::open(ctx, store, req);
            continue;
        }
        let response = handle(ctx, store, &mut req);
        let status = response.status_code().0;
        if let Err(e) = req.respond(response) {
            tracing::debug!(error = %e, "client went away before the answer");
        }
        tracing::debug!(status, "answered");
    }
}
