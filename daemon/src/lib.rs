//! msmd: a household's node of msm, a distributed Twitter carried by multicast.
//!
//! # Layout
//!
//! - [`activitypub`]: HTTP signatures (draft-cavage and RFC 9421) and their keys, pure.
//! - [`proto`]: the sans-IO protocol core: addresses, signed messages, frames, sequence tracking,
//!   the multicast firehose stream and its path choice. No sockets, no clock, no database.
//! - [`store`]: SQLite: schema and migrations, users and keys, messages, timelines, follows,
//!   subscribers, outbox, peer cache, full-text index; the group-commit writer.
//! - [`discover`]: domain to node through DNS SRV/TXT, with a bounded cache.
//! - [`identity`]: password hashing (argon2id) and one-time passwords.
//! - [`net`]: links with other nodes on tokio: handshake, follow, delivery, backfill.
//! - [`web`]: the HTTP surface on tiny_http: health, log-in, posting, reading.
//! - [`websub`]: the node as a WebSub hub for its users' Atom feeds.
//! - [`media`]: pictures: the sans-IO container walkers that take metadata out of uploads.
//! - [`config`]: the TOML configuration, its defaults and limits.
//! - [`fdlimit`]: the file descriptor limit checked (and raised) against the caps at start.
//! - [`logging`]: tracing to stderr, filter reloadable.
//! - [`node`]: start-up, the running node, reload and graceful shutdown.
//! - [`cli`]: the `msmd` command line.
//! - [`fuzz`]: the bodies of the fuzz targets in `daemon/fuzz`.
//!
//! The binary's `main` only parses the command line and calls into [`cli`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activitypub;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod discover;
pub mod fdlimit;
pub mod fediverse;
pub mod fuzz;
pub mod identity;
pub mod logging;
pub mod media;
pub mod net;
pub mod node;
pub mod proto;
pub mod store;
pub mod web;
pub mod websub;

/// Wall-clock time in Unix milliseconds: the one place outside tests that reads the clock for
/// message times and expiries; `proto` takes times as arguments.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
