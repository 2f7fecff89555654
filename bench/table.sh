#!/usr/bin/env bash
# bench/table.sh MSM_OUT MOSQUITTO_OUT — the summary table of bench/run (Markdown), msm beside
# mosquitto, from the `name: value` outputs of msmbench and mosquitto_bench.sh of one run.
# A figure that a run did not produce shows as "–".
set -euo pipefail
awk '
FNR == 1 { file++ }
/^[a-z0-9_]+: / { k = $1; sub(":", "", k); v = $0; sub(/^[^:]*: /, "", v); if (file == 1) m[k] = v; else q[k] = v }
function g(a, k) { return (k in a) ? a[k] : "–" }
function kb(v) { return (v == "–") ? v : sprintf("%.0f", v / 1024) }
function per(v) { return (v == "–") ? v : sprintf("%.0f", v / 1000) }
function ms(v) { return (v == "–" || v == "nan" || v == "NaN") ? "–" : sprintf("%.2f", v / 1000) }
function row(name, a, b, goal) { printf "| %s | %s | %s | %s |\n", name, a, b, goal }
END {
  print "| figure | msm | mosquitto (as shipped / nodelay) | goal |"
  print "|---|---|---|---|"
  row("binary, stripped (bytes)", g(m, "msm_binary_bytes") " (x86_64 musl static)", g(q, "binary_bytes") " (+ shared libs)", "aarch64 ≤ 3 MiB")
  row("idle VmRSS (KiB)", g(m, "msm_idle_vmrss_kib"), g(q, "idle_vmrss_kib"), "")
  row("idle RssAnon (KiB)", g(m, "msm_idle_rssanon_kib"), g(q, "idle_rssanon_kib"), "≤ 1.5 MB")
  for (i = 1; i <= 2; i++) {
    n = (i == 1) ? 1000 : 10000
    row("private memory per idle node link / subscriber, " n " held (B)", g(m, "msm_links_" n "_anon_bytes_per_link"), g(q, "idle_" n "_broker_anon_bytes_per_conn"), "≤ 1 KB per relay session")
  }
  split("1 100 1000", ns, " ")
  for (i = 1; i <= 3; i++) {
    n = ns[i]
    row("fan-out deliveries/s at saturation, N=" n, g(m, "msm_fan_n" n "_sat_deliveries_per_s"), g(q, "fan_default_n" n "_sat_delivered_msg_s") " / " g(q, "fan_nodelay_n" n "_sat_delivered_msg_s"), (n == 1) ? "" : "≥ mosquitto")
  }
  split("2000 20000", loads, " ")
  for (j = 1; j <= 2; j++) {
    for (i = 1; i <= 3; i++) {
      n = ns[i]; l = loads[j]; k = "msm_fan_n" n "_load" l
      msm = g(m, k "_lat_p50_ms") " / " g(m, k "_lat_p99_ms") " ms (reached " g(m, k "_achieved_deliveries_per_s") "/s)"
      mq = ms(g(q, "fan_default_n" n "_load" l "_lat_p50_us")) " / " ms(g(q, "fan_default_n" n "_load" l "_lat_p99_us")) " ms; " ms(g(q, "fan_nodelay_n" n "_load" l "_lat_p50_us")) " / " ms(g(q, "fan_nodelay_n" n "_load" l "_lat_p99_us")) " ms"
      row("p50 / p99 latency at " l " deliveries/s offered, N=" n, msm, mq, (l == 20000) ? "p99 < mosquitto" : "")
    }
  }
  split("100 1000", rs, " ")
  for (i = 1; i <= 2; i++) {
    n = rs[i]; k = "msm_relay_n" n
    row("relay fan-out deliveries/s at saturation, hub with N=" n " relay sessions (mosquitto: N subscribers)", g(m, k "_sat_deliveries_per_s") " (" g(m, k "_sat_hub_cpu_us_per_delivery") " µs hub CPU each)", g(q, "fan_default_n" n "_sat_delivered_msg_s") " / " g(q, "fan_nodelay_n" n "_sat_delivered_msg_s"), "≥ mosquitto")
  }
  for (i = 1; i <= 2; i++) {
    n = rs[i]; k = "msm_relay_n" n "_load20000"
    msm = g(m, k "_lat_p50_ms") " / " g(m, k "_lat_p99_ms") " ms (reached " g(m, k "_achieved_deliveries_per_s") "/s)"
    mq = ms(g(q, "fan_default_n" n "_load20000_lat_p50_us")) " / " ms(g(q, "fan_default_n" n "_load20000_lat_p99_us")) " ms; " ms(g(q, "fan_nodelay_n" n "_load20000_lat_p50_us")) " / " ms(g(q, "fan_nodelay_n" n "_load20000_lat_p99_us")) " ms"
    row("relay p50 / p99 latency at 20000 deliveries/s offered, N=" n " relay sessions", msm, mq, "p99 < mosquitto")
  }
  row("private memory per relay session, hub holding 1000 (B)", g(m, "msm_relay_n1000_hub_anon_bytes_per_session"), g(q, "idle_1000_broker_anon_bytes_per_conn"), "≤ 1 KB")
  row("ingest: verified durable posts/s (50 remote authors)", g(m, "msm_ingest_posts_per_s"), "– (nostr-rs-relay 1.35–1.42k, anchors README)", "≥ 15,000")
  row("flash writes per received post, burst (bytes)", per(g(m, "msm_flash_burst_write_bytes_per_1000_received")), "– (persistence off)", "≤ 2 × " g(m, "msm_flash_received_post_wire_bytes"))
  row("flash writes per received post, one at a time (bytes)", per(g(m, "msm_flash_write_bytes_per_1000_received")), "–", "≤ 2 × " g(m, "msm_flash_received_post_wire_bytes"))
  row("flash writes per own post, one at a time (bytes)", per(g(m, "msm_flash_write_bytes_per_1000_own")), "–", "")
  row("flash writes while idle (KiB per hour, extrapolated from " g(m, "msm_flash_idle_secs") " s)", kb(g(m, "msm_flash_idle_write_bytes_per_hour_extrapolated")), "–", "")
  row("Mastodon API: GET /api/v1/timelines/home p50 / p99 at 20/s, " g(m, "msm_mastodon_stored_posts") " stored messages", g(m, "msm_mastodon_home_p50_ms") " / " g(m, "msm_mastodon_home_p99_ms") " ms (" g(m, "msm_mastodon_home_errors") " errors)", "–", "p99 < 50 ms")
  row("Mastodon API: POST /api/v1/statuses p50 / p99 at 20/s", g(m, "msm_mastodon_post_p50_ms") " / " g(m, "msm_mastodon_post_p99_ms") " ms (" g(m, "msm_mastodon_post_errors") " errors)", "–", "p99 < 50 ms")
  row("Mastodon API: whole node'"'"'s VmRSS with " g(m, "msm_mastodon_streams") " streams open (half SSE, half WebSocket; " g(m, "msm_mastodon_streams_reached") " got the update)", g(m, "msm_mastodon_streams_vmrss_kib") " KiB (" g(m, "msm_mastodon_streams_before_vmrss_kib") " before)", "–", "< 8 MB (GoToSocial 250–350 MB)")
  row("fediverse: VmRSS with 3 users, 100 remote follows, 10 fediverse followers'"'"' servers", g(m, "msm_fediverse_idle_vmrss_kib") " KiB (RssAnon " g(m, "msm_fediverse_idle_rssanon_kib") ")", "– (GoToSocial 250–350 MB)", "≤ 8 MB")
  row("fediverse: deliveries/s to " g(m, "msm_fediverse_inboxes") " shared inboxes (a TLS connection and an RSA signature each; msm links: the fan-out row at N=100)", g(m, "msm_fediverse_deliveries_per_s") " (" g(m, "msm_fediverse_deliveries") " delivered)", "–", "")
  split("1 10 100", ws, " ")
  for (i = 1; i <= 3; i++) {
    n = ws[i]
    row("TCP bytes per post per receiver (frames, N=" n ")", g(m, "msm_fan_n" n "_wire_bytes_per_post_per_receiver"), "–", "")
  }
  for (i = 1; i <= 3; i++) {
    n = ws[i]; mc = "msm_wire_multicast_n" n; tc = "msm_wire_tcp_n" n
    msm = "multicast " g(m, mc "_sender_bytes_per_post") " (" g(m, mc "_receivers_with_every_post") " receivers got all) / per-server TCP " g(m, tc "_sender_bytes_per_post") " (" g(m, tc "_delivered") " delivered)"
    row("bytes on the sender'"'"'s link per post, IP packets, N=" n " (netns)", msm, "–", "multicast: one copy for any N")
  }
}' "$1" "$2"
