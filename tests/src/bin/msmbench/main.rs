//! msmbench: the load generator of `bench/run`. It starts real `msmd` processes on loopback
//! (`$MSMD_BIN`) and plays every other node itself, in one process, speaking the link protocol:
//! many receiving servers (fan-out), many remote authors (ingest), many idle peers (memory per
//! link). It prints `name: value` lines on stdout; progress goes to stderr.
//!
//! ```text
//! msmbench idle     [links=1000,10000] [conc=128] [hold=0]  idle memory; memory per idle node link
//! msmbench fanout   n=100 [sat_secs=4] [loads=2000,20000] [lat_secs=2] [window=4000] [quick=1]
//! msmbench relayfan n=100 [sat_secs=4] [loads=20000] [lat_secs=2] [window=4000]  hub, N relay sessions
//! msmbench ingest   [authors=50] [secs=8]      verified durable posts/s; flash writes
//! msmbench wire     [n=1,10,100] [posts=50]    bytes on the wire per post: multicast vs TCP
//! msmbench pictures                           memory and flash of an 8 MiB upload; a follower's first view
//! msmbench mastodon [stored=10000] [rate=20] [secs=20]  Mastodon API p50/p99: home timeline, posting
//! ```
//!
//! Not part of the test suite: loopback only (`wire`: network namespaces, root), every phase
//! bounded in time.

mod fanout;
mod fediverse;
mod idle;
mod ingest;
mod mastodon;
mod multicast;
mod node;
mod pictures;
mod relayfan;
mod wire;

use std::collections::HashMap;
use std::time::Duration;

/// Password of every benchmark user.
pub const PASSWORD: &str = "bench password";
/// Payload of every benchmark post, in bytes (as the mosquitto anchor uses).
pub const POST_BYTES: usize = 280;
/// Longest any single wait of a phase may take before the phase gives up.
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

/// `key=value` arguments after the phase name.
pub struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: &[String]) -> Args {
        Args(
            args.iter()
                .filter_map(|a| a.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// A number, or `default`.
    pub fn num(&self, key: &str, default: u64) -> u64 {
        self.0
            .get(key)
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{key}={v}: not a number"))
            })
            .unwrap_or(default)
    }

    /// A comma-separated list of numbers, or `default`.
    pub fn list(&self, key: &str, default: &[u64]) -> Vec<u64> {
        match self.0.get(key) {
            None => default.to_vec(),
            Some(v) => v
                .split(',')
                .map(|x| x.trim().parse().expect("list of numbers"))
                .collect(),
        }
    }
}

/// Prints one `name: value` line.
pub fn out(name: &str, value: impl std::fmt::Display) {
    println!("{name}: {value}");
}

/// Progress, on stderr.
pub fn progress(what: &str) {
    eprintln!("[msmbench] {what}");
}

/// The value at quantile `q` of sorted samples (nearest rank), or `None` when empty.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

/// A tokio runtime for the generator's links: two workers, as many as the machine has cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(phase) = args.first() else {
        eprintln!(
            "usage: msmbench idle|fanout|relayfan|ingest|wire|pictures|mastodon [key=value ...]"
        );
        std::process::exit(2);
    };
    let a = Args::parse(&args[1..]);
    match phase.as_str() {
        "idle" => idle::run(&a),
        "fediverse" => fediverse::run(&a),
        "fanout" => fanout::run(&a),
        "relayfan" => relayfan::run(&a),
        "ingest" => ingest::run(&a),
        "wire" => multicast::run(&a),
        "pictures" => pictures::run(),
        "mastodon" => mastodon::run(&a),
        other => {
            eprintln!("unknown phase {other}");
            std::process::exit(2);
        }
    }
}
