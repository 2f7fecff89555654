//! The Prometheus text format 0.0.4, written from a [`Snapshot`]: a `# HELP` and a `# TYPE`
//! line per family, then its samples (`name{label="value"} value`), label values and help
//! escaped as the format says. Pure: no clock, no I/O.

use super::names::*;
use super::Snapshot;
use crate::store::commit_timing::BUCKETS_US;
use std::fmt::{Display, Write as _};

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

/// A struct's `u64` fields by name (the counters' snapshots are flat structs of numbers).
pub fn fields<T: serde::Serialize>(v: &T) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Field `name` of [`fields`]' map (0 if absent).
pub fn field(m: &serde_json::Map<String, serde_json::Value>, name: &str) -> u64 {
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
        t.family(
            "msm_outbox_servers",
            Kind::Gauge,
            "Followers' servers by delivery state: being delivered to, or waiting for a retry.",
        );
        t.sample(
            "msm_outbox_servers",
            &[("state", "delivering")],
            o.delivering,
        );
        t.sample("msm_outbox_servers", &[("state", "retrying")], o.retrying);
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
    if let Some(f) = &s.fediverse {
        t.family(
            "msm_activitypub_inbox_total",
            Kind::Counter,
            "Fediverse inbox POSTs, by outcome (accepted, ignored, or why refused).",
        );
        for (outcome, n) in &f.inbox {
            t.sample("msm_activitypub_inbox_total", &[("outcome", outcome)], n);
        }
        t.counter(
            "msm_activitypub_delivered_total",
            "Activities delivered to fediverse inboxes.",
            f.delivered,
        );
        t.counter(
            "msm_activitypub_delivery_failures_total",
            "Deliveries to fediverse inboxes that failed (retried later, or given up).",
            f.failed,
        );
        t.gauge(
            "msm_activitypub_queued",
            "Activities waiting for delivery to fediverse inboxes.",
            f.queued,
        );
    }
    if let Some(w) = &s.websub {
        websub(&mut t, w);
    }
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

/// The WebSub hub's series.
fn websub(t: &mut Exposition, w: &crate::websub::HubSnapshot) {
    t.gauge(
        "msm_websub_subscriptions",
        "Verified WebSub subscriptions to local users' feeds.",
        w.subscriptions,
    );
    t.gauge(
        "msm_websub_pending",
        "WebSub requests waiting for the subscriber to confirm.",
        w.pending,
    );
    t.counter(
        "msm_websub_requests_accepted_total",
        "WebSub subscribe and unsubscribe requests accepted for verification.",
        w.accepted,
    );
    t.counter(
        "msm_websub_requests_rejected_total",
        "WebSub requests refused at once (malformed, unknown topic, hub full).",
        w.rejected,
    );
    t.counter(
        "msm_websub_verified_total",
        "WebSub requests the subscriber confirmed.",
        w.verified,
    );
    t.counter(
        "msm_websub_unconfirmed_total",
        "WebSub requests the subscriber did not confirm (or never answered).",
        w.refused,
    );
    t.counter(
        "msm_websub_delivered_total",
        "Feed updates delivered to WebSub subscribers.",
        w.delivered,
    );
    t.counter(
        "msm_websub_delivery_failures_total",
        "Deliveries to WebSub subscribers that failed (retried later, given up, or gone).",
        w.failed,
    );
}
