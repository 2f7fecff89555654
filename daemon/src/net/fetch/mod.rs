//! The outbound HTTPS client for federation: signed GETs of remote actor documents and POSTs
//! of activities to remote inboxes. Blocking (std threads and sockets, no tokio): callers run
//! it on threads that may block and share one [`Client`] behind an `Arc`.
//!
//! - [`url`]: `https` URLs parsed into host, port, the `Host` authority and the request
//!   target, exactly as sent (callers sign them, so nothing is rewritten later).
//! - [`guard`]: the SSRF guard: only public unicast addresses, unless a lab allows private ones.
//! - [`http1`]: sans-IO HTTP/1.1: the request head and a bounded response reader.
//! - [`client`]: resolve, guard, connect, TLS (rustls, ring) and the exchange.
//! - [`trust`]: the system CA bundle and an extra CA file.
//! - [`deadline`]: a TCP stream whose reads and writes all end by one deadline.
//! - [`slots`]: the counting semaphore capping requests in flight.
//! - [`error`]: [`FetchError`], one variant per refusal.
//!
//! Bounds: URL and host length ([`url::MAX_URL_LEN`], [`url::MAX_HOST_LEN`]); response head
//! ([`http1::MAX_HEAD_BYTES`], [`http1::MAX_HEADER_LINES`]); the body within the caller's
//! `max_body`; the whole exchange within [`ClientConfig::timeout`]; at most
//! [`ClientConfig::max_connections`] requests (and resolver threads) at once.
//! Redirects are never followed and no compression is asked for or accepted.

pub mod client;
pub mod deadline;
pub mod error;
pub mod guard;
pub mod http1;
pub mod slots;
pub mod trust;
pub mod url;

pub use client::{Client, ClientConfig};
pub use error::FetchError;
pub use trust::SYSTEM_CA_BUNDLE;
pub use url::{parse_url, Target};

/// An HTTP answer: status, headers in the order received, and the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (100..=599; interim 1xx answers are skipped).
    pub status: u16,
    /// Header lines as (name as sent, value without surrounding whitespace).
    pub headers: Vec<(String, String)>,
    /// The body, at most the caller's `max_body` bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests;
