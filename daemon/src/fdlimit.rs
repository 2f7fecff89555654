//! File descriptors: at start, the process's `RLIMIT_NOFILE` must cover every socket and file
//! that the configured caps allow open at once, so that running out of descriptors is refused
//! at start with the numbers rather than met under load (where `accept` fails with EMFILE).
//!
//! What is counted ([`FdNeed`]): the HTTP connections (`http.max_connections`, plus the
//! refused ones that linger a moment, [`tiny_http::REAPER_QUEUE`]), the links
//! (`links.max_links`), a hub's relay sessions (`firehose.max_relay_sessions`), the SQLite
//! connections (a worker's, a live stream's, the writer's, the network's pool: each holds the
//! database, its WAL and shared-memory files) and a margin for listeners, DNS, multicast,
//! the runtime and standard streams. Where the soft limit is lower, it is raised to the hard
//! limit (as Go programs do at start) when that is enough; else msmd refuses to start.

use crate::config::{Config, ConfigError};
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors one SQLite connection holds in WAL mode: the database, `-wal` and `-shm`.
pub const FDS_PER_DB_CONNECTION: u64 = 3;
/// SQLite connections besides workers and streams: the opening store, the post writer, and
/// the network's pool (up to the runtime's 8 blocking threads).
pub const OTHER_DB_CONNECTIONS: u64 = 10;
/// Descriptors for what no cap counts: listeners, DNS sockets, multicast sockets, the
/// runtime's epoll and event descriptors, standard streams, the log.
pub const FD_MARGIN: u64 = 64;

/// Descriptors the configuration may have open at once, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdNeed {
    /// HTTP connections, open and lingering after refusal.
    pub http: u64,
    /// Links to and from other nodes.
    pub links: u64,
    /// A hub's relay sessions (0 on a node).
    pub relay: u64,
    /// SQLite connections' files.
    pub database: u64,
    /// Everything else ([`FD_MARGIN`]).
    pub margin: u64,
}

impl FdNeed {
    /// What `config` needs.
    pub fn of(config: &Config) -> FdNeed {
        let n = |x: usize| x as u64;
        let relay = if config.firehose.is_hub() {
            n(config.firehose.max_relay_sessions)
        } else {
            0
        };
        FdNeed {
            http: n(config.http.max_connections) + n(tiny_http::REAPER_QUEUE),
            links: n(config.links.max_links),
            relay,
            database: (n(config.http.workers) + n(config.http.max_streams) + OTHER_DB_CONNECTIONS)
                * FDS_PER_DB_CONNECTION,
            margin: FD_MARGIN,
        }
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.http + self.links + self.relay + self.database + self.margin
    }
}

/// What to do about the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The soft limit is enough.
    Enough,
    /// Raise the soft limit to this (the hard limit).
    Raise(u64),
    /// Even the hard limit is too low.
    Refuse,
}

/// The plan for `needed` descriptors under limits (`soft`, `hard`).
pub fn plan(needed: u64, soft: u64, hard: u64) -> Plan {
    if soft >= needed {
        Plan::Enough
    } else if hard >= needed {
        Plan::Raise(hard)
    } else {
        Plan::Refuse
    }
}

/// A limit as u64 whatever the width of the platform's `rlim_t`.
fn widen<T: Into<u64>>(v: T) -> u64 {
    v.into()
}

/// Checks the limit against `config`, raising the soft limit where the hard one allows; a
/// configuration that needs more than the hard limit is a configuration error.
pub fn ensure(config: &Config) -> Result<(), ConfigError> {
    let need = FdNeed::of(config);
    let needed = need.total();
    let invalid = |why: String| ConfigError::Invalid {
        key: "http.max_connections, links.max_links, firehose.max_relay_sessions",
        why,
    };
    let (soft_raw, hard_raw) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| invalid(format!("cannot read the file descriptor limit: {e}")))?;
    // rlim_t is 32 bits on some 32-bit targets (armv7 glibc)
    let (soft, hard) = (widen(soft_raw), widen(hard_raw));
    match plan(needed, soft, hard) {
        Plan::Enough => Ok(()),
        Plan::Raise(to) => {
            // `plan` raises to the hard limit, so the raw value is the one to set
            setrlimit(Resource::RLIMIT_NOFILE, hard_raw, hard_raw)
                .map_err(|e| invalid(format!("cannot raise the file descriptor limit: {e}")))?;
            tracing::info!(from = soft, to, needed, "raised the file descriptor limit");
            Ok(())
        }
        Plan::Refuse => Err(invalid(format!(
            "these caps need {needed} file descriptors (HTTP {}, links {}, relay {}, \
             database {}, other {}) but the limit allows {hard} (soft {soft}); raise it \
             (ulimit -n, LimitNOFILE= in systemd, procd's nofile limit) or lower the caps",
            need.http, need.links, need.relay, need.database, need.margin
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_when_the_hard_one_allows_else_refused() {
        assert_eq!(plan(500, 1024, 4096), Plan::Enough);
        assert_eq!(plan(500, 128, 4096), Plan::Raise(4096));
        assert_eq!(plan(500, 128, u64::MAX), Plan::Raise(u64::MAX));
        assert_eq!(plan(500, 128, 256), Plan::Refuse);
    }

    #[test]
    fn the_defaults_need_a_few_hundred_descriptors() {
        let need = FdNeed::of(&Config::default());
        assert_eq!(need.http, 64 + 64);
        assert_eq!(need.links, 256);
        assert_eq!(need.relay, 0);
        assert_eq!(need.database, (4 + 32 + 10) * 3);
        assert_eq!(need.total(), 128 + 256 + 138 + 64);
    }
}
