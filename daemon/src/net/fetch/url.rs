//! `https` URLs parsed into what a request needs: the host to resolve, the port, the
//! `Host` header's authority and the request target, each exactly as sent (callers sign them).
//!
//! Strict on purpose: only `https`, no userinfo, an ASCII host name (IDNs come punycoded) or an
//! IP literal, a port in 1..=65535, and a path and query of visible ASCII (what needs
//! percent-encoding must come encoded, so nothing the caller signed is rewritten here). The
//! fragment is dropped (it is never sent). Bounded by [`MAX_URL_LEN`] and [`MAX_HOST_LEN`].

use super::FetchError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest URL fetched, in bytes: actor and inbox IRIs are far shorter.
pub const MAX_URL_LEN: usize = 2048;
/// Longest host name (DNS's limit for a name in text form).
pub const MAX_HOST_LEN: usize = 253;
/// Longest label of a host name (DNS's limit).
pub const MAX_LABEL_LEN: usize = 63;
/// The port of `https` when the URL names none.
pub const HTTPS_PORT: u16 = 443;

/// Where a request goes and what it says, from a parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name (lower-cased) or IP address (IPv6 without brackets), to resolve and to check
    /// the certificate against.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `host` or `host:port` as sent in `Host` (the port only when not 443; IPv6 in brackets).
    pub authority: String,
    /// Path and query as sent on the request line; starts with `/`.
    pub path: String,
}

impl Target {
    /// The host as an IP address, when the URL names one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parses an `https` URL (see the module doc for what is refused).
pub fn parse_url(url: &str) -> Result<Target, FetchError> {
    if url.len() > MAX_URL_LEN {
        return Err(FetchError::BadUrl("longer than 2048 bytes"));
    }
    let rest = match url.get(..8) {
        Some(s) if s.eq_ignore_ascii_case("https://") => &url[8..],
        _ => return Err(FetchError::BadUrl("not an https URL")),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(FetchError::BadUrl("userinfo is not allowed"));
    }
    let (host, port) = split_host_port(authority)?;
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FetchError::BadUrl(
            "path or query has a byte that must be percent-encoded",
        ));
    }
    let shown = match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{host}]"),
        _ => host.clone(),
    };
    let authority = if port == HTTPS_PORT {
        shown
    } else {
        format!("{shown}:{port}")
    };
    Ok(Target {
        host,
        port,
        authority,
        path,
    })
}

/// The host (checked, lower-cased) and port of an authority without userinfo.
fn split_host_port(authority: &str) -> Result<(String, u16), FetchError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6
            .split_once(']')
            .ok_or(FetchError::BadUrl("unclosed IPv6 literal"))?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| FetchError::BadUrl("bad IPv6 literal"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(FetchError::BadUrl("junk after IPv6 literal"))?,
            ),
        };
        (ip.to_string(), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        (check_host(host)?, port)
    };
    let port = match port {
        None => HTTPS_PORT,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u16>() {
                Ok(n) if n != 0 => n,
                _ => return Err(FetchError::BadUrl("port out of range")),
            }
        }
        Some(_) => return Err(FetchError::BadUrl("bad port")),
    };
    Ok((host, port))
}

/// A host name or dotted-quad IPv4 address, lower-cased.
fn check_host(host: &str) -> Result<String, FetchError> {
    if host.is_empty() {
        return Err(FetchError::BadUrl("no host"));
    }
    if host.len() > MAX_HOST_LEN {
        return Err(FetchError::BadUrl("host name longer than 253 bytes"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(ip.to_string());
    }
    let host = host.to_ascii_lowercase();
    for label in host.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(FetchError::BadUrl("empty or overlong label in host name"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(FetchError::BadUrl(
                "host name has a character other than a-z, 0-9, - and .",
            ));
        }
    }
    // A name ending in a number is an IPv4 address in some other spelling (`0x7f.1`,
    // `2130706433`), which resolvers would take: only the dotted quad is accepted.
    let last = host.rsplit('.').next().unwrap_or("");
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if last.bytes().all(|b| b.is_ascii_digit()) || hex {
        return Err(FetchError::BadUrl(
            "numeric host that is not a dotted-quad IPv4 address",
        ));
    }
    Ok(host)
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
