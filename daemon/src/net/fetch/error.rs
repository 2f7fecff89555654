//! [`FetchError`]: every way an outgoing HTTPS exchange can fail or be refused.

use std::net::IpAddr;

/// Why a fetch failed. Each refusal has its own variant, so callers can tell a hostile or
/// broken peer (`BadResponse`, `TooLarge`) from an unreachable one (`Connect`, `Timeout`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not one this client fetches (not https, userinfo, bad host or port, too long).
    #[error("bad URL: {0}")]
    BadUrl(&'static str),
    /// An extra request header the caller passed is malformed or one the client sets itself.
    #[error("bad request header: {0}")]
    BadHeader(&'static str),
    /// The host resolved to (or is) an address outside the public internet (SSRF guard).
    #[error("refused to connect to {0}: not a public address")]
    Refused(IpAddr),
    /// The host name did not resolve.
    #[error("could not resolve {0}")]
    Resolve(String),
    /// No allowed address of the host accepted a connection.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (untrusted or wrong certificate, protocol error).
    #[error("TLS: {0}")]
    Tls(String),
    /// The whole exchange did not finish within the client's timeout.
    #[error("timed out")]
    Timeout,
    /// The named part of the answer is over its limit.
    #[error("{0} is over its limit")]
    TooLarge(&'static str),
    /// The answer is not well-formed HTTP/1.1 (or uses a feature this client refuses).
    #[error("bad HTTP response: {0}")]
    BadResponse(&'static str),
    /// All connection slots stayed taken for the whole timeout.
    #[error("too many outgoing requests in flight")]
    Busy,
    /// The trust anchors could not be loaded, or the configuration is unusable.
    #[error("client configuration: {0}")]
    Config(String),
    /// Socket I/O failed after the connection was made.
    #[error("i/o: {0}")]
    Io(String),
}
