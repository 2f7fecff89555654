//! WebFinger (RFC 7033) over HTTPS: asks `https://<domain>/.well-known/webfinger` which node
//! serves the domain, for households whose web site is hosted elsewhere than their node.
//!
//! Built only with the `webfinger` cargo feature (the async TLS client, tokio-rustls, over the
//! rustls every build has for HTTPS). The
//! client is deliberately small: one HTTP/1.0 GET (so the answer is never chunked), certificates
//! checked against a PEM bundle (the system's, or one the configuration names), the whole
//! exchange bounded in bytes ([`MAX_RESPONSE_BYTES`]) and time ([`FETCH_TIMEOUT`]). Redirects
//! are not followed: a 3xx answer is an error that names where it pointed.

use super::jrd::{JRD_TYPE, MAX_JRD_BYTES, REL_NODE};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Largest HTTP answer read: headers plus the largest JRD.
pub const MAX_RESPONSE_BYTES: usize = MAX_JRD_BYTES + 8 * 1024;
/// Time for connecting, the TLS handshake and the whole answer.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The system's CA bundle (Debian's ca-certificates, OpenWrt's ca-bundle).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// An HTTPS client for WebFinger queries.
pub struct Fetcher {
    tls: TlsConnector,
    port: u16,
}

impl Fetcher {
    /// A client trusting the certificates in the PEM file `ca_file`, asking on `port`.
    pub fn new(ca_file: &Path, port: u16) -> Result<Fetcher, String> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(ca_file)
            .map_err(|e| format!("{}: {e}", ca_file.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("{}: {e}", ca_file.display()))?;
            // A bundle may hold a certificate webpki cannot use; the others still count.
            let _ = roots.add(c);
        }
        if roots.is_empty() {
            return Err(format!("{}: no usable certificate", ca_file.display()));
        }
        let config = ClientConfig::builder_with_provider(crate::web::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Fetcher {
            tls: TlsConnector::from(Arc::new(config)),
            port,
        })
    }

    /// The JRD body for `resource` from `domain`'s web site at one of `ips`.
    pub async fn fetch(
        &self,
        domain: &str,
        ips: &[IpAddr],
        resource: &str,
    ) -> Result<Vec<u8>, String> {
        let name = ServerName::try_from(domain.to_string()).map_err(|e| e.to_string())?;
        let mut last = String::from("no address");
        for ip in ips {
            let addr = SocketAddr::new(*ip, self.port);
            match tokio::time::timeout(
                FETCH_TIMEOUT,
                self.get(addr, name.clone(), domain, resource),
            )
            .await
            {
                Ok(Ok(body)) => return Ok(body),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: timed out"),
            }
        }
        Err(last)
    }

    async fn get(
        &self,
        addr: SocketAddr,
        name: ServerName<'static>,
        domain: &str,
        resource: &str,
    ) -> Result<Vec<u8>, String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let request = format!(
            "GET /.well-known/webfinger?resource={}&rel={} HTTP/1.0\r\nHost: {domain}\r\n\
             Accept: {JRD_TYPE}, application/json\r\nUser-Agent: msmd/{}\r\n\r\n",
            percent_encode(resource),
            percent_encode(REL_NODE),
            env!("CARGO_PKG_VERSION"),
        );
        tls.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::with_capacity(2048);
        let mut limited = (&mut tls).take(MAX_RESPONSE_BYTES as u64 + 1);
        // A server that closes without TLS close_notify still sent a complete HTTP/1.0 answer
        // if its Content-Length says so; `body_of` checks.
        if let Err(e) = limited.read_to_end(&mut answer).await {
            if e.kind() != std::io::ErrorKind::UnexpectedEof {
                return Err(e.to_string());
            }
        }
        body_of(&answer).map(<[u8]>::to_vec)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The body of a complete `200` HTTP answer, or why there is none.
fn body_of(answer: &[u8]) -> Result<&[u8], String> {
    if answer.len() > MAX_RESPONSE_BYTES {
        return Err(format!("answer larger than {MAX_RESPONSE_BYTES} bytes"));
    }
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete HTTP header")?;
    let head = std::str::from_utf8(&answer[..end]).map_err(|_| "HTTP header is not UTF-8")?;
    let body = &answer[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, status) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP answer: {status_line:?}"));
    }
    let mut length = None;
    let mut location = None;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "content-length" => {
                length = Some(v.parse::<usize>().map_err(|_| "bad Content-Length")?)
            }
            "transfer-encoding" if !v.eq_ignore_ascii_case("identity") => {
                return Err(format!("unsupported Transfer-Encoding {v:?}"))
            }
            "location" => location = Some(v.to_string()),
            _ => {}
        }
    }
    match status {
        "200" => {}
        s if s.starts_with('3') => {
            return Err(format!(
                "HTTP {s} redirect to {} (not followed)",
                location.unwrap_or_default()
            ))
        }
        s => return Err(format!("HTTP {s}")),
    }
    match length {
        Some(n) if body.len() < n => Err(format!("body cut short: {} of {n} bytes", body.len())),
        Some(n) => Ok(&body[..n]),
        None => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_strictly() {
        assert_eq!(
            body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}junk").unwrap(),
            b"{}"
        );
        assert_eq!(body_of(b"HTTP/1.0 200 OK\r\n\r\n{}").unwrap(), b"{}");
        let bad: &[(&[u8], &str)] = &[
            (b"HTTP/1.1 200 OK\r\n", "incomplete"),
            (b"SSH-2.0\r\n\r\n", "not an HTTP answer"),
            (b"HTTP/1.1 404 Not Found\r\n\r\n", "HTTP 404"),
            (
                b"HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n",
                "redirect to https://x/",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
                "cut short",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                "bad Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                "Transfer-Encoding",
            ),
        ];
        for (a, why) in bad {
            let e = body_of(a).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(a));
        }
        let huge = vec![b'a'; MAX_RESPONSE_BYTES + 1];
        assert!(body_of(&huge).unwrap_err().contains("larger"));
    }

    #[test]
    fn resources_are_percent_encoded() {
        assert_eq!(percent_encode("acct:a.b@c-d.test"), "acct%3Aa.b%40c-d.test");
        assert_eq!(percent_encode("urn:msm:node"), "urn%3Amsm%3Anode");
    }
}
