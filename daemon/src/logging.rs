//! Logging to stderr with `tracing` (procd passes stderr to logread; systemd to the journal).
//!
//! The filter is `MSMD_LOG` if set, else the configuration's `log.filter`; it can be swapped at
//! run time (SIGHUP) through [`LogHandle`]. No colours and no timestamps' time zone games: the
//! system log adds its own time.

use crate::config::log_targets;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Registry;

/// Environment variable that overrides the configured log filter.
pub const LOG_ENV: &str = "MSMD_LOG";

/// Changes the active log filter.
#[derive(Clone)]
pub struct LogHandle {
    handle: reload::Handle<Targets, Registry>,
    from_env: bool,
}

/// Installs the global subscriber. `filter` is the configured one; an invalid `MSMD_LOG` is
/// reported and ignored.
pub fn init(filter: &str) -> LogHandle {
    let env = std::env::var(LOG_ENV).ok();
    let (targets, from_env) = match env.as_deref().map(log_targets) {
        Some(Ok(t)) => (t, true),
        Some(Err(e)) => {
            eprintln!("msmd: ignoring {LOG_ENV}: {e}");
            (log_targets(filter).unwrap_or_default(), false)
        }
        None => (log_targets(filter).unwrap_or_default(), false),
    };
    let (layer, handle) = reload::Layer::new(targets);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true);
    // A second init (in tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(fmt)
        .try_init();
    LogHandle { handle, from_env }
}

impl LogHandle {
    /// Applies a new configured filter, unless `MSMD_LOG` pins it.
    pub fn set_filter(&self, filter: &str) {
        if self.from_env {
            return;
        }
        match log_targets(filter) {
            Ok(t) => {
                if let Err(e) = self.handle.reload(t) {
                    tracing::warn!(error = %e, "could not change the log filter");
                } else {
                    tracing::info!(filter, "log filter changed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "kept the old log filter"),
        }
    }
}
