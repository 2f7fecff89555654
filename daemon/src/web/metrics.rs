//! `GET /metrics`: the node's counters in the Prometheus text exposition format, version 0.0.4
//! (`# HELP`, `# TYPE`, one `name{labels} value` line a series), as node_exporter serves it, so
//! an ISP scrapes its hubs and routers the way it scrapes everything else.
//!
//! - Who may read it is `http.metrics` ([`MetricsAccess`]): `lan` (the default) answers clients
//!   on loopback or a private or link-local address ([`is_lan`]) that did not come through a
//!   proxy saying it forwarded them; `off` nobody, `any` everyone. Everyone else gets the 404 of
//!   a path that does not exist, so the endpoint is not revealed.
//! - Bounded: the request carries nothing but its path. The text is built from a [`Snapshot`]
//!   (atomics, `/proc/self`, two small store queries) at most once per [`REBUILD_INTERVAL`];
//!   scrapes in between get the same bytes, so a flood of scrapes costs no database work.
//! - [`render`] is pure: a snapshot in, the text out (tested for the format below).
//!
//! Counters are the process's since start (`AtomicUsize`: on 32-bit routers they wrap after
//! four billion, which Prometheus reads as a reset).

use super::api::Context;
use super::io::{header, static_header, JsonResponse};
use super::WebError;
use crate::config::MetricsAccess;
use crate::net::counters::Snapshot as NetSnapshot;
use crate::net::firehose::FirehoseSnapshot;
use crate::store::commit_timing::{CommitSnapshot, COMMITS};
use crate::store::Store;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tiny_http::{Method, Request, Response};

pub mod names;
pub mod process;
pub mod render;

pub use render::render;

/// Longest a rendered text is served again before it is built anew: Prometheus scrapes every
/// 15 s or more, so a second costs no freshness and caps the work at one snapshot a second.
pub const REBUILD_INTERVAL: Duration = Duration::from_secs(1);

/// The `Content-Type` of the text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The endpoint's state: who may read it, and the text last built.
pub struct Metrics {
    access: MetricsAccess,
    started: Instant,
    /// When the text was built, and the text. Held while a new one is built, so concurrent
    /// scrapes wait for that one instead of each building their own.
    cached: Mutex<Option<(Instant, Vec<u8>)>>,
}

/// Everything `/metrics` shows, read at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `msmd`'s version.
    pub version: &'static str,
    /// Seconds since the HTTP side started.
    pub uptime_s: f64,
    /// Links open now (both directions).
    pub links_open: u64,
    /// The links' counters.
    pub net: NetSnapshot,
    /// The firehose's counters and gauges.
    pub firehose: FirehoseSnapshot,
    /// Deliveries owed and when the oldest was queued; `None` if the store could not say.
    pub outbox: Option<Outbox>,
    /// The group-commit writer's commits.
    pub commits: CommitSnapshot,
    /// The database was found damaged (`/healthz` answers 503).
    pub damaged: bool,
    /// Live streams open now (web client and Mastodon API).
    pub streams_open: u64,
    /// What the kernel says of the process (each `None` where `/proc` does not say).
    pub process: process::ProcessStats,
    /// The fediverse side, when it is on.
    pub fediverse: Option<Fediverse>,
    /// The WebSub hub, when it is on (with the fediverse side).
    pub websub: Option<crate::websub::HubSnapshot>,
}

/// The fediverse side's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fediverse {
    /// Inbox POSTs by outcome (labels of `crate::fediverse::inbox::OUTCOMES`).
    pub inbox: Vec<(&'static str, u64)>,
    /// Activities delivered.
    pub delivered: u64,
    /// Delivery attempts that failed.
    pub failed: u64,
    /// Activities waiting for delivery.
    pub queued: u64,
}

/// The outbox at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outbox {
    /// Deliveries still owed, all servers.
    pub owed: u64,
    /// Milliseconds since the oldest owed delivery was queued; 0 when none is owed.
    pub oldest_age_ms: u64,
    /// Servers being delivered to now.
    pub delivering: u64,
    /// Servers waiting for a retry after a failed delivery.
    pub retrying: u64,
}

impl Metrics {
    /// The endpoint as `http.metrics` says.
    pub fn new(access: MetricsAccess) -> Self {
        Metrics {
            access,
            started: Instant::now(),
            cached: Mutex::new(None),
        }
    }
}

/// Loopback, RFC 1918 private (10/8, 172.16/12, 192.168/16), IPv4 link-local (169.254/16),
/// IPv6 unique local (fc00::/7) and link-local (fe80::/10) addresses, and IPv4 ones mapped into
/// IPv6. Not 100.64/10 (RFC 6598): behind carrier NAT, other customers of the same carrier
/// share it. Not the unspecified address (an unknown peer).
pub fn is_lan(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_lan(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// May a request from `peer` read `/metrics` under `access`? `forwarded`: it carries
/// `Forwarded` or `X-Forwarded-For`, so a proxy on the LAN (or this host) passed on a request
/// from anywhere, and its peer address says nothing of the client.
pub fn allows(access: MetricsAccess, peer: Option<IpAddr>, forwarded: bool) -> bool {
    match access {
        MetricsAccess::Off => false,
        MetricsAccess::Any => true,
        MetricsAccess::Lan => !forwarded && peer.is_some_and(is_lan),
    }
}

/// `/metrics`: the text, or the 404 of an unknown path to whom may not read it.
pub fn serve(
    ctx: &Context,
    store: &Store,
    req: &Request,
    path: &str,
) -> Result<JsonResponse, WebError> {
    let forwarded = header(req, "Forwarded").is_some() || header(req, "X-Forwarded-For").is_some();
    let peer = req.remote_addr().map(|a| a.ip());
    if !allows(ctx.metrics.access, peer, forwarded) {
        return Err(WebError::NotFound(format!("no such path: {path}")));
    }
    if *req.method() != Method::Get {
        return Err(WebError::MethodNotAllowed);
    }
    let body = {
        let mut cached = ctx.metrics.cached.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match &*cached {
            Some((at, text)) if now.duration_since(*at) < REBUILD_INTERVAL => text.clone(),
            _ => {
                let text = render(&snapshot(ctx, store)).into_bytes();
                *cached = Some((now, text.clone()));
                text
            }
        }
    };
    Ok(Response::from_data(body)
        .with_header(static_header("Content-Type", CONTENT_TYPE))
        .with_header(static_header("Cache-Control", "no-store"))
        .with_header(static_header("X-Content-Type-Options", "nosniff")))
}

/// Reads everything [`render`] shows.
fn snapshot(ctx: &Context, store: &Store) -> Snapshot {
    let outbox = (|| {
        let owed = store.outbox_len()?;
        let oldest = store.outbox_oldest_ms()?;
        let oldest_age_ms = oldest.map_or(0, |t| crate::now_ms().saturating_sub(t));
        let g = &ctx.net.outbox_servers;
        Ok::<_, crate::store::StoreError>(Outbox {
            owed,
            oldest_age_ms,
            delivering: g.delivering.load(std::sync::atomic::Ordering::Relaxed) as u64,
            retrying: g.retrying.load(std::sync::atomic::Ordering::Relaxed) as u64,
        })
    })();
    let outbox = outbox
        .inspect_err(|e| tracing::warn!(error = %e, "metrics: outbox not read"))
        .ok();
    Snapshot {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: ctx.metrics.started.elapsed().as_secs_f64(),
        links_open: ctx.net.link_count() as u64,
        net: ctx.net.counters.snapshot(),
        firehose: ctx.net.firehose.snapshot(),
        outbox,
        commits: COMMITS.snapshot(),
        damaged: crate::store::damaged(),
        streams_open: ctx.streams.load(std::sync::atomic::Ordering::Relaxed) as u64,
        process: process::ProcessStats::read(),
        fediverse: ctx.fediverse.as_ref().map(|f| {
            use std::sync::atomic::Ordering::Relaxed;
            Fediverse {
                inbox: crate::fediverse::inbox::OUTCOMES
                    .iter()
                    .zip(&f.outcomes)
                    .map(|(l, n)| (*l, n.load(Relaxed) as u64))
                    .collect(),
                delivered: f.delivered.load(Relaxed) as u64,
                failed: f.failed.load(Relaxed) as u64,
                queued: store.queued_activities().unwrap_or(0),
            }
        }),
        websub: ctx
            .fediverse
            .as_ref()
            .map(|_| ctx.websub.snapshot(store.websub_counts().unwrap_or((0, 0)))),
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
