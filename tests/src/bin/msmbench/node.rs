//! The node under test: a real `msmd run` with its own data directory and a configuration
//! that maps the generator's domains to loopback ports, plus what the benchmark reads from
//! `/proc` about it (memory, bytes written).

use msm_tests::{data_dir, Node};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Users every node under test has (the first one posts or follows).
pub const USERS: [&str; 3] = ["bob", "carol", "dave"];
/// `links.max_links` for the node under test at most: the default (256) is below the link
/// counts the benchmark opens (10,000 idle links). msmd refuses to start when its caps need
/// more descriptors than its limit allows, so the node gets what the limit leaves after
/// [`FD_HEADROOM`].
pub const MAX_LINKS: usize = 11_000;
/// Descriptors left for everything but links (HTTP, SQLite, the margin msmd checks for).
pub const FD_HEADROOM: usize = 512;
/// Where discovery would ask DNS: a loopback port nobody serves, so that nothing leaves the
/// machine even for a domain without a static entry.
const NO_DNS: &str = "127.0.0.1:9";

/// A running node and its data directory.
pub struct Bench {
    /// The process.
    pub node: Node,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// Initialises `domain` with [`USERS`] and starts it with `statics` as discovery entries.
    pub fn start(domain: &str, statics: &[(String, SocketAddr)]) -> Bench {
        Self::start_in(None, domain, statics, &[])
    }

    /// Like [`Bench::start`], inside network namespace `ns` if given, with `extra` arguments
    /// after the configuration (e.g. `--links 0.0.0.0:7450`).
    pub fn start_in(
        ns: Option<&str>,
        domain: &str,
        statics: &[(String, SocketAddr)],
        extra: &[&str],
    ) -> Bench {
        Self::start_full(ns, domain, statics, "", extra)
    }

    /// Like [`Bench::start`], with `config` (TOML sections) added to the configuration.
    pub fn start_with(domain: &str, statics: &[(String, SocketAddr)], config: &str) -> Bench {
        Self::start_full(None, domain, statics, config, &[])
    }

    fn start_full(
        ns: Option<&str>,
        domain: &str,
        statics: &[(String, SocketAddr)],
        config: &str,
        extra: &[&str],
    ) -> Bench {
        let users: Vec<(&str, &str, bool)> = USERS
            .iter()
            .enumerate()
            .map(|(i, u)| (*u, crate::PASSWORD, i == 0))
            .collect();
        let dir = data_dir(domain, &users);
        let mut cfg = String::new();
        cfg.push_str(msm_tests::UNLIMITED_POSTING);
        cfg.push_str("[log]\nfilter = \"warn,msmd::node=info,msmd::web::server=info\"\n");
        let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_or(1024, |(soft, _)| {
                usize::try_from(soft).unwrap_or(usize::MAX)
            });
        let links = MAX_LINKS.min(limit.saturating_sub(FD_HEADROOM)).max(1);
        // The generator's links are anonymous until msmd has dialled their domains back: the
        // node under test gives them the whole link budget, and keeps idle ones open.
        let _ = write!(
            cfg,
            "[links]\nmax_links = {links}\nmax_unverified = {links}\n\
             max_unverified_per_addr = {links}\nunverified_idle_s = 3600\n"
        );
        let _ = write!(cfg, "[discovery]\nnameservers = [\"{NO_DNS}\"]\n");
        cfg.push_str("[discovery.static]\n");
        for (d, a) in statics {
            let _ = writeln!(cfg, "\"{d}\" = \"{a}\"");
        }
        cfg.push_str(config);
        let path = dir.path().join("msmd.toml");
        std::fs::write(&path, cfg).expect("write config");
        let mut args = vec!["--config", path.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let node = match ns {
            Some(ns) => Node::start_in(ns, dir.path(), &args),
            None => Node::start(dir.path(), &args),
        };
        Bench { node, _dir: dir }
    }

    /// The node's data directory.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A field of `/proc/PID/status`, in kB.
    pub fn status_kb(&self, field: &str) -> u64 {
        proc_field(&format!("/proc/{}/status", self.node.pid()), field)
    }

    /// `write_bytes` of `/proc/PID/io`: bytes this process caused to be written to storage.
    pub fn write_bytes(&self) -> u64 {
        proc_field(&format!("/proc/{}/io", self.node.pid()), "write_bytes")
    }

    /// User + system CPU time of the process so far, in seconds.
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.node.pid())).unwrap_or_default();
        let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
        (ticks(11) + ticks(12)) as f64 / CLOCK_TICKS
    }

    /// Open links, from `/healthz`.
    pub fn links(&self) -> u64 {
        self.node.http("GET", "/healthz", &[], None).json()["links"]
            .as_u64()
            .unwrap_or(0)
    }
}

/// `sysconf(_SC_CLK_TCK)` on Linux.
const CLOCK_TICKS: f64 = 100.0;

/// The number after `field` (followed by `:`) in a `/proc` key-value file, 0 if absent.
pub fn proc_field(path: &str, field: &str) -> u64 {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch (one clock for the generator and the node: one machine).
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
