//! The HTTP surface, on tiny_http.
//!
//! A fixed pool of worker threads ([`crate::config::HttpConfig::workers`]) takes requests from
//! one listener; each worker owns its own database connection and submits posts to the
//! group-commit writer. Every request gets a `tracing` span with the peer's address.
//!
//! - [`server`]: the listener, the workers, graceful stop.
//! - [`api`]: routes and handlers of `/healthz` and `/api/v1/...`.
//! - [`metrics`]: `/metrics`, the Prometheus text format, on the LAN only by default.
//! - [`federation`]: follows, followers, deleting posts, profile, `/.well-known/msm`.
//! - [`follow_target`]: what may be typed to follow someone (address, `@handle`, profile link).
//! - [`reading`]: timeline, profiles, threads, search.
//! - [`admin`]: the owner's user administration.
//! - [`relations`]: mutes, blocks and the owner's domain blocks.
//! - [`public`]: pages without log-in: `/@user`, its Atom feed, WebFinger.
//! - [`assets`]: the embedded web client.
//! - [`auth`]: sessions (cookie or bearer token), CSRF rule, log-in rate limit.
//! - [`post_limits`]: how much one person may publish (rate and daily bytes).
//! - [`io`]: bounded body reading, JSON answers, query strings.
//! - [`stream`]: the live timeline as Server-Sent Events.
//! - [`websocket`]: a sans-IO WebSocket codec, for the Mastodon streaming API.
//! - [`websub`]: `POST /websub`, the WebSub hub endpoint of the users' Atom feeds.
//! - [`tls`]: HTTPS: the certificate and key, reloaded when they change.
//!
//! Invariants: a request body is never read past its limit; a handler that fails has changed
//! nothing; every error is a JSON `{"error": "..."}` with a 4xx/5xx status, never a panic.

pub mod actor;
pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod collections;
pub mod conversation;
pub mod federation;
pub mod follow_requests;
pub mod follow_target;
pub mod inbox;
pub mod io;
pub mod lists;
pub mod mastodon;
pub mod media;
pub mod metrics;
pub mod multipart;
pub mod oauth;
pub mod post_limits;
pub mod public;
pub mod reading;
pub mod relations;
pub mod server;
pub mod stream;
pub mod tls;
pub mod websocket;
pub mod websub;

use crate::proto::ProtoError;
use crate::store::StoreError;
use thiserror::Error;

/// Largest request body read, in bytes: a post at the highest text cap, JSON-escaped
/// (up to 6 bytes a byte for `\u00XX`), plus the other fields. Larger bodies get 413 unread.
pub const MAX_REQUEST_BODY: usize = 6 * crate::proto::message::MAX_TEXT_LIMIT + 4096;

/// Why a request failed; each maps to one HTTP status.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WebError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session or wrong credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403: logged in, but not allowed.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 404: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the thing exists already.
    #[error("{0}")]
    Conflict(String),
    /// 422: the request is well formed but cannot be done (a repost of a post that is not public).
    #[error("{0}")]
    Unprocessable(String),
    /// 413: the body or a field is over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 415: the body is not JSON.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 415: an upload is not a picture msm takes (SVG, a ZIP, ...), in words.
    #[error("{0}")]
    NotAPicture(String),
    /// 507: a storage cap is reached (the node's pictures, the disk's free-space floor).
    #[error("{0}")]
    StorageCap(String),
    /// 429: too many attempts; retry later.
    #[error("too many attempts; try again in a minute")]
    TooManyRequests,
    /// 429 with `Retry-After`: a posting limit is reached.
    #[error("{what}; try again in {retry_after_s} s")]
    RateLimited {
        /// Which limit, in words.
        what: &'static str,
        /// Seconds until the request would be taken.
        retry_after_s: u64,
    },
    /// 502: another node could not be reached or refused.
    #[error("{0}")]
    BadGateway(String),
    /// 503: the node is shutting down.
    #[error("shutting down")]
    Unavailable,
    /// 503: a bounded resource is in use to its limit.
    #[error("{0}")]
    Busy(&'static str),
    /// 503: the database is damaged; the node needs its owner (see the log).
    #[error("the node's database is damaged; the owner must restore it (see the log)")]
    StoreDamaged,
    /// 507: the disk holding the database is full; nothing was stored.
    #[error("storage full: the node's disk has no space left; nothing was stored")]
    StorageFull,
    /// 500: something broke inside; logged, not detailed to the client.
    #[error("internal error")]
    Internal(String),
}

impl WebError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            WebError::BadRequest(_) => 400,
            WebError::Unauthorized(_) => 401,
            WebError::Forbidden(_) => 403,
            WebError::NotFound(_) => 404,
            WebError::MethodNotAllowed => 405,
            WebError::Conflict(_) => 409,
            WebError::Unprocessable(_) => 422,
            WebError::TooLarge(_) => 413,
            WebError::UnsupportedMediaType | WebError::NotAPicture(_) => 415,
            WebError::TooManyRequests | WebError::RateLimited { .. } => 429,
            WebError::BadGateway(_) => 502,
            WebError::Unavailable | WebError::Busy(_) | WebError::StoreDamaged => 503,
            WebError::StorageFull | WebError::StorageCap(_) => 507,
            WebError::Internal(_) => 500,
        }
    }
}

impl From<ProtoError> for WebError {
    fn from(e: ProtoError) -> Self {
        match e {
            ProtoError::TooLarge { .. } => WebError::TooLarge(e.to_string()),
            _ => WebError::BadRequest(e.to_string()),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Proto(p) => p.into(),
            StoreError::NoSuchUser(u) => WebError::NotFound(format!("no user {u}")),
            e @ StoreError::NameTaken(_) => WebError::Conflict(e.to_string()),
            e @ StoreError::NotFound(_) => WebError::NotFound(e.to_string()),
            e @ (StoreError::BadQuery(_) | StoreError::Invalid(_)) => {
                WebError::BadRequest(e.to_string())
            }
            e @ StoreError::NotFollowing(_) => WebError::NotFound(e.to_string()),
            e @ StoreError::BadDomainBlock(_) => WebError::BadRequest(e.to_string()),
            e @ StoreError::Full { .. } => WebError::Conflict(e.to_string()),
            StoreError::Blocked(_) => {
                WebError::Forbidden("a block stands between you and this person")
            }
            StoreError::ShuttingDown => WebError::Unavailable,
            StoreError::DiskFull => WebError::StorageFull,
            ref e if e.is_damage() => WebError::StoreDamaged,
            other => WebError::Internal(other.to_string()),
        }
    }
}
