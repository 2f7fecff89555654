//! Tests of `/metrics`: the text format, read back by a strict parser of version 0.0.4, and who
//! may read it.

use super::names::*;
use super::render::fields;
use super::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

/// One sample: family, full name, labels (sorted), value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A family: its type, help and samples.
#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// `{k="v",...}` (the braces stripped); escapes `\\`, `\"`, `\n` only.
fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (k, after) = rest.split_once("=\"").ok_or(format!("no =\" in {s}"))?;
        if !is_name(k) || k.starts_with("__") {
            return Err(format!("bad label name {k:?}"));
        }
        let mut v = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => v.push('\\'),
                    Some((_, '"')) => v.push('"'),
                    Some((_, 'n')) => v.push('\n'),
                    other => return Err(format!("bad escape {other:?} in {s}")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => v.push(c),
                None => return Err(format!("unterminated value in {s}")),
            }
        };
        if out.insert(k.to_string(), v).is_some() {
            return Err(format!("label {k} twice in {s}"));
        }
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err(format!("trailing comma in {s}")),
            None if rest.is_empty() => rest,
            None => return Err(format!("junk after a label in {s}")),
        };
    }
    Ok(out)
}

fn parse_value(v: &str) -> Result<f64, String> {
    match v {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if v
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            v.parse().map_err(|e| format!("value {v:?}: {e}"))
        }
        _ => Err(format!("value {v:?}")),
    }
}

/// The family a sample belongs to, given the families declared so far.
fn family_of<'a>(name: &'a str, families: &HashMap<String, Family>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if families.get(base).is_some_and(|f| f.kind == "histogram") {
                return base;
            }
        }
    }
    name
}

/// Parses the text strictly: every line a HELP, a TYPE or a sample; HELP and TYPE once per
/// family and before its samples; a family's samples together; no series twice; counters end
/// in `_total`; histograms' buckets cumulative up to `+Inf` = `_count`.
fn parse(text: &str) -> Result<HashMap<String, Family>, String> {
    if !text.ends_with('\n') {
        return Err("the text must end with a line feed".into());
    }
    let mut families: HashMap<String, Family> = HashMap::new();
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut series = HashSet::new();
    for line in text.lines() {
        if let Some(c) = line.strip_prefix("# ") {
            let (what, rest) = c.split_once(' ').ok_or(format!("comment {line:?}"))?;
            let (name, arg) = rest.split_once(' ').ok_or(format!("comment {line:?}"))?;
            if !is_name(name) {
                return Err(format!("bad name in {line:?}"));
            }
            if current.as_deref() != Some(name) {
                if let Some(done) = current.take() {
                    closed.insert(done);
                }
                if closed.contains(name) {
                    return Err(format!("{name} declared again after other families"));
                }
                current = Some(name.to_string());
            }
            let f = families.entry(name.to_string()).or_default();
            if !f.samples.is_empty() {
                return Err(format!("{line:?} after {name}'s samples"));
            }
            match what {
                "HELP" if f.help.is_empty() => f.help = arg.to_string(),
                "TYPE" if f.kind.is_empty() => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                        return Err(format!("type {arg}"));
                    }
                    f.kind = arg.to_string();
                }
                _ => return Err(format!("{what} of {name} twice, or unknown: {line:?}")),
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            return Err(format!("line {line:?}"));
        }
        let (series_part, value) = line.rsplit_once(' ').ok_or(format!("sample {line:?}"))?;
        let (name, labels) = match series_part.split_once('{') {
            Some((n, l)) => (
                n,
                parse_labels(l.strip_suffix('}').ok_or(format!("no }} in {line:?}"))?)?,
            ),
            None => (series_part, BTreeMap::new()),
        };
        if !is_name(name) {
            return Err(format!("bad name {name:?}"));
        }
        let value = parse_value(value)?;
        let family = family_of(name, &families).to_string();
        if current.as_deref() != Some(family.as_str()) {
            return Err(format!("{name}: a sample outside its family's block"));
        }
        let f = families.get_mut(&family).ok_or("unreachable")?;
        if f.kind.is_empty() || f.help.is_empty() {
            return Err(format!("{name}: sample before HELP and TYPE"));
        }
        if !series.insert((name.to_string(), labels.clone())) {
            return Err(format!("series {name}{labels:?} twice"));
        }
        f.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    for (name, f) in &families {
        if f.samples.is_empty() {
            return Err(format!("{name} has no samples"));
        }
        if f.kind == "counter" {
            if !name.ends_with("_total") {
                return Err(format!("counter {name} must end in _total"));
            }
            if f.samples
                .iter()
                .any(|s| s.value.is_nan() || s.value < 0.0 || s.name != *name)
            {
                return Err(format!("counter {name}: {:?}", f.samples));
            }
        }
        if f.kind == "histogram" {
            check_histogram(name, f)?;
        }
    }
    Ok(families)
}

fn check_histogram(name: &str, f: &Family) -> Result<(), String> {
    let buckets: Vec<&Sample> = f
        .samples
        .iter()
        .filter(|s| s.name == format!("{name}_bucket"))
        .collect();
    let les: Vec<f64> = buckets
        .iter()
        .map(|s| parse_value(&s.labels["le"]))
        .collect::<Result<_, _>>()?;
    if !les.windows(2).all(|w| w[0] < w[1]) || les.last() != Some(&f64::INFINITY) {
        return Err(format!("{name}: le bounds {les:?}"));
    }
    if !buckets.windows(2).all(|w| w[0].value <= w[1].value) {
        return Err(format!("{name}: buckets not cumulative"));
    }
    let count = f.samples.iter().find(|s| s.name == format!("{name}_count"));
    let sum = f.samples.iter().find(|s| s.name == format!("{name}_sum"));
    match (count, sum, buckets.last()) {
        (Some(c), Some(_), Some(inf)) if c.value == inf.value => Ok(()),
        _ => Err(format!("{name}: _count, _sum and +Inf bucket")),
    }
}

fn value(f: &HashMap<String, Family>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    f.values()
        .flat_map(|f| &f.samples)
        .find(|s| s.name == name && s.labels == want)
        .unwrap_or_else(|| panic!("no {name}{labels:?}"))
        .value
}

fn busy_snapshot() -> Snapshot {
    let mut s = Snapshot {
        version: "1.2.3-\"q\"\\",
        uptime_s: 12.5,
        links_open: 3,
        outbox: Some(Outbox {
            owed: 42,
            oldest_age_ms: 1500,
            delivering: 3,
            retrying: 1,
        }),
        damaged: false,
        streams_open: 2,
        process: process::ProcessStats {
            resident_bytes: Some(14 << 20),
            open_fds: Some(17),
            write_bytes: Some(81_920),
        },
        ..Snapshot::default()
    };
    s.net.links_in = 5;
    s.net.links_out = 6;
    s.net.deliveries_sent = 7;
    s.net.deliveries_acked = 8;
    s.net.messages_stored = 9;
    s.firehose.path = "relay";
    s.firehose.relay_sessions = 11;
    s.firehose.forged_dropped = 4;
    s.firehose.relay_after_ms = 2500;
    let t = crate::store::commit_timing::CommitTiming::new();
    t.record(Duration::from_micros(700), 3, true);
    t.record(Duration::from_millis(30), 1, true);
    t.record(Duration::from_secs(9), 2, false);
    s.commits = t.snapshot();
    s
}

#[test]
fn the_text_parses_strictly() {
    for s in [Snapshot::default(), busy_snapshot()] {
        let text = render(&s);
        let families = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(
            families.keys().all(|n| n.starts_with("msm_")),
            "{:?}",
            families.keys()
        );
    }
}

#[test]
fn the_values_are_the_snapshots() {
    let f = parse(&render(&busy_snapshot())).unwrap();
    assert_eq!(
        value(&f, "msm_build_info", &[("version", "1.2.3-\"q\"\\")]),
        1.0
    );
    assert_eq!(value(&f, "msm_uptime_seconds", &[]), 12.5);
    assert_eq!(value(&f, "msm_links_open", &[]), 3.0);
    assert_eq!(
        value(&f, "msm_links_established_total", &[("direction", "in")]),
        5.0
    );
    assert_eq!(
        value(&f, "msm_links_established_total", &[("direction", "out")]),
        6.0
    );
    assert_eq!(value(&f, "msm_deliveries_sent_total", &[]), 7.0);
    assert_eq!(value(&f, "msm_deliveries_acked_total", &[]), 8.0);
    assert_eq!(value(&f, "msm_messages_stored_total", &[]), 9.0);
    assert_eq!(value(&f, "msm_outbox_deliveries", &[]), 42.0);
    assert_eq!(value(&f, "msm_outbox_oldest_age_seconds", &[]), 1.5);
    assert_eq!(
        value(&f, "msm_outbox_servers", &[("state", "delivering")]),
        3.0
    );
    assert_eq!(
        value(&f, "msm_outbox_servers", &[("state", "retrying")]),
        1.0
    );
    assert_eq!(value(&f, "msm_firehose_relay_sessions", &[]), 11.0);
    assert_eq!(value(&f, "msm_firehose_first_relay_seconds", &[]), 2.5);
    assert_eq!(value(&f, "msm_firehose_path", &[("path", "relay")]), 1.0);
    assert_eq!(value(&f, "msm_firehose_path", &[("path", "hub")]), 0.0);
    assert_eq!(
        value(
            &f,
            "msm_firehose_datagrams_dropped_total",
            &[("reason", "forged")]
        ),
        4.0
    );
    let h = "msm_store_commit_duration_seconds";
    assert_eq!(value(&f, &format!("{h}_bucket"), &[("le", "0.0005")]), 0.0);
    assert_eq!(value(&f, &format!("{h}_bucket"), &[("le", "0.001")]), 1.0);
    assert_eq!(value(&f, &format!("{h}_bucket"), &[("le", "0.05")]), 2.0);
    assert_eq!(value(&f, &format!("{h}_bucket"), &[("le", "+Inf")]), 3.0);
    assert_eq!(value(&f, &format!("{h}_count"), &[]), 3.0);
    assert!((value(&f, &format!("{h}_sum"), &[]) - 9.0307).abs() < 1e-9);
    assert_eq!(value(&f, "msm_store_commit_jobs_total", &[]), 4.0);
    assert_eq!(value(&f, "msm_store_commit_failures_total", &[]), 1.0);
    assert_eq!(
        value(&f, "msm_process_resident_memory_bytes", &[]),
        14.0 * 1024.0 * 1024.0
    );
    assert_eq!(value(&f, "msm_process_open_fds", &[]), 17.0);
    assert_eq!(value(&f, "msm_process_written_bytes_total", &[]), 81_920.0);
    assert_eq!(value(&f, "msm_http_streams_open", &[]), 2.0);
}

#[test]
fn what_could_not_be_read_is_left_out() {
    let f = parse(&render(&Snapshot::default())).unwrap();
    for name in [
        "msm_outbox_deliveries",
        "msm_process_resident_memory_bytes",
        "msm_process_written_bytes_total",
    ] {
        assert!(!f.contains_key(name), "{name}");
    }
}

#[test]
fn every_counter_of_the_links_and_the_firehose_is_shown() {
    let f = parse(&render(&Snapshot::default())).unwrap();
    for field in fields(&NetSnapshot::default()).keys() {
        let named = NET_COUNTERS.iter().find(|(n, _, _)| n == field);
        let shown = match (named, field.as_str()) {
            (_, "links_in" | "links_out") => "msm_links_established_total".to_string(),
            (Some((_, metric, _)), _) => metric.to_string(),
            (None, _) => format!("msm_{field}_total"),
        };
        assert!(f.contains_key(&shown), "{field} → {shown}");
    }
    let special = ["path", "relay_after_ms"];
    for field in fields(&FirehoseSnapshot::default()).keys() {
        let shown = special.contains(&field.as_str())
            || FIREHOSE_COUNTERS.iter().any(|(n, _, _)| n == field)
            || FIREHOSE_GAUGES.iter().any(|(n, _, _)| n == field)
            || FIREHOSE_DROPS.iter().any(|(n, _)| n == field);
        assert!(shown, "firehose field {field} is not in /metrics");
    }
}

#[test]
fn the_parser_refuses_what_the_format_forbids() {
    let ok = "# HELP msm_a_total A.\n# TYPE msm_a_total counter\nmsm_a_total 1\n";
    assert!(parse(ok).is_ok());
    for bad in [
        "msm_a_total 1\n",                                                    // no TYPE
        "# HELP msm_a_total A.\n# TYPE msm_a_total counter\nmsm_a_total 1",   // no final LF
        "# HELP msm_a A.\n# TYPE msm_a counter\nmsm_a 1\n",                   // counter name
        "# HELP msm_a A.\n# TYPE msm_a gauge\nmsm_a 1\nmsm_a 2\n",            // series twice
        "# HELP msm_a A.\n# TYPE msm_a gauge\nmsm_a{x=\"1\",} 1\n",           // trailing comma
        "# HELP msm_a A.\n# TYPE msm_a gauge\nmsm_a{x=\"\\t\"} 1\n",          // bad escape
        "# HELP msm_a A.\n# TYPE msm_a gauge\nmsm_a one\n",                   // value
        "# HELP msm_a A.\n# TYPE msm_a gauge\nmsm_a 1\n# TYPE msm_a gauge\n", // TYPE after
        "# HELP msm_a A.\n# TYPE msm_a gauge\n\nmsm_a 1\n",                   // blank line
    ] {
        assert!(parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn the_lan_is_loopback_private_and_link_local() {
    let lan = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        "127.3.2.1".parse().unwrap(),
        "10.0.0.1".parse().unwrap(),
        "172.16.0.1".parse().unwrap(),
        "172.31.255.255".parse().unwrap(),
        "192.168.1.20".parse().unwrap(),
        "169.254.7.7".parse().unwrap(),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        "fd12:3456::1".parse().unwrap(),
        "fc00::1".parse().unwrap(),
        "fe80::1".parse().unwrap(),
        "febf::1".parse().unwrap(),
        "::ffff:192.168.1.2".parse().unwrap(),
    ];
    let wan = [
        "8.8.8.8".parse().unwrap(),
        "172.32.0.1".parse().unwrap(),
        "172.15.255.255".parse().unwrap(),
        "100.64.0.1".parse().unwrap(),
        "192.0.2.1".parse().unwrap(),
        "203.0.113.5".parse().unwrap(),
        "0.0.0.0".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
        "2a00::1".parse().unwrap(),
        "fec0::1".parse().unwrap(),
        "::".parse().unwrap(),
        "::ffff:8.8.8.8".parse().unwrap(),
    ];
    for ip in lan {
        assert!(is_lan(ip), "{ip} is on the LAN");
    }
    for ip in wan {
        assert!(!is_lan(ip), "{ip} is not on the LAN");
    }
}

#[test]
fn access_follows_the_setting() {
    let home: Option<IpAddr> = Some("192.168.1.2".parse().unwrap());
    let far: Option<IpAddr> = Some("8.8.8.8".parse().unwrap());
    assert!(allows(MetricsAccess::Lan, home, false));
    assert!(!allows(MetricsAccess::Lan, far, false));
    assert!(!allows(MetricsAccess::Lan, home, true), "through a proxy");
    assert!(!allows(MetricsAccess::Lan, None, false), "peer unknown");
    assert!(allows(MetricsAccess::Any, far, true));
    assert!(!allows(MetricsAccess::Off, home, false));
}
