//! The names, helps and sources of the series `/metrics` shows: which field of the links' and
//! the firehose's counters becomes which metric.

/// The links' counters shown under their own names: (field, metric, help). Fields not named
/// here (counters added later) are shown as `msm_<field>_total` ([`super::render()`]).
pub const NET_COUNTERS: &[(&str, &str, &str)] = &[
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
pub const FIREHOSE_COUNTERS: &[(&str, &str, &str)] = &[
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
    (
        "tls_refused",
        "msm_firehose_tls_refused_total",
        "Connections the hub's HTTPS port closed without carrying them (over a budget, no host carried here, too slow).",
    ),
];

/// The firehose's datagrams dropped, by reason: (field, `reason` label).
pub const FIREHOSE_DROPS: &[(&str, &str)] = &[
    ("forged_dropped", "forged"),
    ("replays_dropped", "replay"),
    ("foreign_dropped", "foreign"),
    ("malformed_dropped", "malformed"),
    ("duplicates", "duplicate"),
];

/// The firehose's gauges: (field, metric, help).
pub const FIREHOSE_GAUGES: &[(&str, &str, &str)] = &[
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
pub const FIREHOSE_PATHS: [&str; 5] = ["none", "trying", "multicast", "relay", "hub"];
