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
use crate::store::commit_timing::{CommitSnapshot, BUCKETS_US, COMMITS};
use crate::store::Store;
use std::fmt::{Display, Write as _};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tiny_http::{Method, Request, Response};

pub mod process;

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
}

/// The outbox at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outbox {
    /// Deliveries still owed, all servers.
    pub owed: u64,
    /// Milliseconds since the oldest owed delivery was queued; 0 when none is owed.
    pub oldest_age_ms: u64,
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
        Ok::<_, crate::store::StoreError>(Outbox {
            owed,
            oldest_age_ms,
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
    }
}

/// The text format's metric types used here.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The text being written: a `# HELP` and `# TYPE` line per family, then its samples.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(self.out, "{comma}{k}=\"{v}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        debug_assert!(name.ends_with("_total"), "{name}");
        self.family(name, Kind::Counter, help);
        self.sample(name, &[], value);
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, Kind::Gauge, help);
        self.sample(name, &[], value);
    }
}

/// The links' counters shown under their own names: (field, metric, help). Fields not named
/// here (counters added later) are shown as `msm_<field>_total` ([`render`]).
const NET_COUNTERS: &[(&str, &str, &str)] = &[
    (
        "links_refused",
        "msm_links_refused_total",
        "Inbound connections refused a slot by the link budgets.",
    ),
    (
        "handshake_failures",
        "msm_link_handshake_failures_total",
        "Link handshakes that failed (timeout, malformed, bad signature).",
    ),
    (
        "key_mismatches",
        "msm_link_key_mismatches_total",
        "Links refused because the key did not match the DNS pin or the remembered key.",
    ),
    (
        "messages_received",
        "msm_messages_received_total",
        "Message frames received on links.",
    ),
    (
        "messages_stored",
        "msm_messages_stored_total",
        "Received messages stored (new here).",
    ),
    (
        "duplicates",
        "msm_messages_duplicate_total",
        "Received messages already held (replays, retries).",
    ),
    (
        "bad_signatures",
        "msm_messages_bad_signature_total",
        "Received messages with a bad signature.",
    ),
    (
        "malformed",
        "msm_messages_malformed_total",
        "Malformed frames or messages.",
    ),
    (
        "unsolicited",
        "msm_messages_unsolicited_total",
        "Received messages of authors nobody here follows.",
    ),
    (
        "deliveries_sent",
        "msm_deliveries_sent_total",
        "Message frames sent to followers' servers by the outbox.",
    ),
    (
        "deliveries_acked",
        "msm_deliveries_acked_total",
        "Deliveries the receiving server acknowledged.",
    ),
    (
        "backfill_requests",
        "msm_backfill_requests_total",
        "Backfill requests sent for gaps in an author's messages.",
    ),
    (
        "backfill_served",
        "msm_backfill_served_total",
        "Messages sent in answer to Subscribe or Backfill.",
    ),
    (
        "subscribers_verified",
        "msm_subscribers_verified_total",
        "Subscriptions from unverified links kept after dialling their domain back.",
    ),
    (
        "subscribers_refused",
        "msm_subscribers_refused_total",
        "Subscriptions refused or dropped (domain unverifiable, a cap reached).",
    ),
    (
        "key_refreshes",
        "msm_key_refreshes_total",
        "Author key refreshes started after a bad signature or an early message.",
    ),
];

/// The firehose's counters: (field, metric, help).
const FIREHOSE_COUNTERS: &[(&str, &str, &str)] = &[
    (
        "datagrams_received",
        "msm_firehose_datagrams_received_total",
        "Firehose datagrams received (any path).",
    ),
    (
        "bytes_received",
        "msm_firehose_received_bytes_total",
        "Bytes of firehose datagrams received.",
    ),
    (
        "multicast_received",
        "msm_firehose_multicast_datagrams_received_total",
        "Firehose datagrams received by multicast.",
    ),
    (
        "nacks_sent",
        "msm_firehose_nacks_sent_total",
        "NACKs sent to the hub.",
    ),
    (
        "repairs",
        "msm_firehose_repairs_total",
        "Datagrams received again in answer to a NACK or resume (node), or sent so (hub).",
    ),
    (
        "backfills",
        "msm_firehose_backfills_total",
        "Stream ranges given up on and fetched from the hub by stream seq.",
    ),
    (
        "fetched",
        "msm_firehose_fetched_total",
        "Messages fetched by stream seq (node: stored; hub: served).",
    ),
    (
        "lost",
        "msm_firehose_lost_total",
        "Stream seqs the hub no longer held, left to per-author backfill.",
    ),
    (
        "delivered",
        "msm_firehose_messages_delivered_total",
        "Messages the firehose delivered.",
    ),
    (
        "stored",
        "msm_firehose_messages_stored_total",
        "Firehose messages stored (new here).",
    ),
    (
        "refused",
        "msm_firehose_messages_refused_total",
        "Firehose messages refused (malformed, unknown key, bad signature).",
    ),
    (
        "relay_opened",
        "msm_firehose_relay_sessions_opened_total",
        "Relay sessions opened (node) or accepted (hub).",
    ),
    (
        "relay_slow_dropped",
        "msm_firehose_relay_slow_dropped_total",
        "Relay sessions dropped for being too slow (hub).",
    ),
    (
        "datagrams_sent",
        "msm_firehose_datagrams_sent_total",
        "Datagrams sent to the multicast group (hub).",
    ),
    (
        "bytes_sent",
        "msm_firehose_sent_bytes_total",
        "Bytes sent to the multicast group (hub).",
    ),
    (
        "pushed",
        "msm_firehose_messages_pushed_total",
        "Messages pushed into the stream (hub).",
    ),
    (
        "unfollowed",
        "msm_firehose_messages_unfollowed_total",
        "Firehose messages of authors nobody here follows.",
    ),
    (
        "discovered",
        "msm_firehose_messages_discovered_total",
        "Public posts newly kept in the discover window.",
    ),
];

/// The firehose's datagrams dropped, by reason: (field, `reason` label).
const FIREHOSE_DROPS: &[(&str, &str)] = &[
    ("forged_dropped", "forged"),
    ("replays_dropped", "replay"),
    ("foreign_dropped", "foreign"),
    ("malformed_dropped", "malformed"),
    ("duplicates", "duplicate"),
];

/// The firehose's gauges: (field, metric, help).
const FIREHOSE_GAUGES: &[(&str, &str, &str)] = &[
    (
        "relay_sessions",
        "msm_firehose_relay_sessions",
        "Live relay sessions open now (hub).",
    ),
    (
        "carried_domains",
        "msm_firehose_carried_domains",
        "Domains whose links are carried through their relay sessions now (hub).",
    ),
    (
        "tunnels",
        "msm_firehose_tunnels",
        "Links carried through a relay session (hub), or taken through the hub (node).",
    ),
];

/// The firehose's paths, for `msm_firehose_path{path}`.
const FIREHOSE_PATHS: [&str; 5] = ["none", "trying", "multicast", "relay", "hub"];

/// A struct's `u64` fields by name (the counters' snapshots are flat structs of numbers).
fn fields<T: serde::Serialize>(v: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

fn field(m: &serde_json::Map<String, serde_json::Value>, name: &str) -> u64 {
    m.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

/// Seconds, from microseconds.
fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

/// The text of `s` in the Prometheus text format 0.0.4.
pub fn render(s: &Snapshot) -> String {
    let mut t = Exposition::default();
    t.family(
        "msm_build_info",
        Kind::Gauge,
        "Always 1; the msmd version in a label.",
    );
    t.sample("msm_build_info", &[("version", s.version)], 1);
    t.gauge(
        "msm_uptime_seconds",
        "Seconds since msmd started serving.",
        s.uptime_s,
    );

    t.gauge(
        "msm_links_open",
        "Links with other nodes open now.",
        s.links_open,
    );
    let net = fields(&s.net);
    t.family(
        "msm_links_established_total",
        Kind::Counter,
        "Links with other nodes established (after the handshake), by who dialled.",
    );
    t.sample(
        "msm_links_established_total",
        &[("direction", "in")],
        field(&net, "links_in"),
    );
    t.sample(
        "msm_links_established_total",
        &[("direction", "out")],
        field(&net, "links_out"),
    );
    for (f, name, help) in NET_COUNTERS {
        t.counter(name, help, field(&net, f));
    }
    for (f, v) in &net {
        let named =
            NET_COUNTERS.iter().any(|(n, _, _)| n == f) || f == "links_in" || f == "links_out";
        if !named && is_metric_name(f) {
            let name = format!("msm_{f}_total");
            t.counter(
                &name,
                &format!("The links' counter {f} (net/counters.rs)."),
                v.as_u64().unwrap_or(0),
            );
        }
    }

    if let Some(o) = s.outbox {
        t.gauge(
            "msm_outbox_deliveries",
            "Deliveries to followers' servers still owed.",
            o.owed,
        );
        t.gauge(
            "msm_outbox_oldest_age_seconds",
            "Age of the oldest delivery still owed; 0 when none is.",
            o.oldest_age_ms as f64 / 1e3,
        );
    }

    let fh = fields(&s.firehose);
    t.family(
        "msm_firehose_path",
        Kind::Gauge,
        "The firehose's path: 1 for the one taken now.",
    );
    for p in FIREHOSE_PATHS {
        t.sample(
            "msm_firehose_path",
            &[("path", p)],
            u8::from(s.firehose.path == p),
        );
    }
    for (f, name, help) in FIREHOSE_GAUGES {
        t.gauge(name, help, field(&fh, f));
    }
    let first_relay = field(&fh, "relay_after_ms") as f64 / 1e3;
    t.gauge(
        "msm_firehose_first_relay_seconds",
        "Seconds from firehose start to the first relay session up (node; 0: never).",
        first_relay,
    );
    for (f, name, help) in FIREHOSE_COUNTERS {
        t.counter(name, help, field(&fh, f));
    }
    t.family(
        "msm_firehose_datagrams_dropped_total",
        Kind::Counter,
        "Firehose datagrams dropped, by reason.",
    );
    for (f, reason) in FIREHOSE_DROPS {
        t.sample(
            "msm_firehose_datagrams_dropped_total",
            &[("reason", reason)],
            field(&fh, f),
        );
    }

    let c = &s.commits;
    let h = "msm_store_commit_duration_seconds";
    t.family(
        h,
        Kind::Histogram,
        "Time to run and commit one batch of the group-commit writer (one fsync).",
    );
    let mut cumulative = 0;
    for (i, n) in c.buckets.iter().enumerate() {
        cumulative += n;
        let le = BUCKETS_US
            .get(i)
            .map_or_else(|| "+Inf".to_string(), |&us| seconds(us).to_string());
        t.sample(&format!("{h}_bucket"), &[("le", &le)], cumulative);
    }
    t.sample(&format!("{h}_sum"), &[], seconds(c.sum_us));
    t.sample(&format!("{h}_count"), &[], c.count());
    t.counter(
        "msm_store_commit_jobs_total",
        "Jobs (posts, received messages, outbox and discover updates) in committed batches.",
        c.jobs,
    );
    t.counter(
        "msm_store_commit_failures_total",
        "Batches whose commit failed; nothing of them was acknowledged.",
        c.failures,
    );
    t.gauge(
        "msm_store_damaged",
        "1 once the database was found damaged (/healthz answers 503).",
        u8::from(s.damaged),
    );

    t.gauge(
        "msm_http_streams_open",
        "Live streams open now (web client and Mastodon API).",
        s.streams_open,
    );
    let p = &s.process;
    if let Some(v) = p.resident_bytes {
        t.gauge(
            "msm_process_resident_memory_bytes",
            "Resident memory (VmRSS).",
            v,
        );
    }
    if let Some(v) = p.open_fds {
        t.gauge("msm_process_open_fds", "Open file descriptors.", v);
    }
    if let Some(v) = p.write_bytes {
        t.counter(
            "msm_process_written_bytes_total",
            "Bytes the process caused to be written to storage (/proc/self/io write_bytes).",
            v,
        );
    }
    t.out
}

/// A name the text format takes after `msm_` (`[a-zA-Z0-9_]`, not empty).
fn is_metric_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
