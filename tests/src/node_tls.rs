//! HTTPS on the node: a throwaway CA and server certificates made with the `openssl` command,
//! and a client (rustls) that trusts only that CA and reports which certificate it was served.

use crate::https::openssl;
use crate::{parse_response, Resp};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The name every test certificate is for (and the client asks for).
pub const SERVER_NAME: &str = "localhost";

/// A private CA in a temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
}

/// A certificate and key issued by a [`TestCa`].
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub cert: PathBuf,
    /// Its key, PEM.
    pub key: PathBuf,
}

impl Issued {
    /// The certificate's DER (what a client is served).
    pub fn der(&self) -> Vec<u8> {
        let pem = std::fs::read(&self.cert).unwrap();
        CertificateDer::from_pem_slice(&pem).unwrap().to_vec()
    }
}

impl TestCa {
    /// Makes a CA (EC P-256).
    pub fn new() -> TestCa {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=msm test CA",
            ],
        );
        TestCa { dir }
    }

    /// The CA's certificate file.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issues a certificate for [`SERVER_NAME`] and 127.0.0.1 with common name `cn`.
    pub fn issue(&self, cn: &str) -> Issued {
        self.issue_for(cn, "DNS:localhost,IP:127.0.0.1")
    }

    /// A certificate named `cn` for the subject alternative names `san` (`DNS:home.test`).
    pub fn issue_for(&self, cn: &str, san: &str) -> Issued {
        let d = self.dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        let (key, csr, cert) = (
            format!("{cn}.key"),
            format!("{cn}.csr"),
            format!("{cn}.pem"),
        );
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={cn}"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        Issued {
            cert: d.join(cert),
            key: d.join(key),
        }
    }

    /// A client configuration that trusts this CA only (no session resumption).
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        self.client_of(rustls::DEFAULT_VERSIONS)
    }

    /// [`TestCa::client`] speaking only the TLS `versions` given.
    pub fn client_of(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(self.ca_pem()).unwrap();
        for c in CertificateDer::pem_slice_iter(&pem) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = msmd::web::tls::provider();
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        // every connection makes a full handshake, so it is shown the certificate in service
        config.resumption = rustls::client::Resumption::disabled();
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// An answer over HTTPS, and the certificate the server presented.
pub struct TlsAnswer {
    /// The response.
    pub resp: Resp,
    /// The server's leaf certificate, DER.
    pub served: Vec<u8>,
}

/// One HTTPS request over a fresh connection (`Connection: close`), verified against the
/// client's roots for [`SERVER_NAME`].
pub fn https_request(
    client: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<TlsAnswer> {
    let name = ServerName::try_from(SERVER_NAME).unwrap();
    let conn =
        rustls::ClientConnection::new(client.clone(), name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {SERVER_NAME}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    tls.write_all(&bytes)?;
    let mut buf = Vec::new();
    match tls.read_to_end(&mut buf) {
        Ok(_) => {}
        // a server that closes without close_notify after a whole answer
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !buf.is_empty() => {}
        Err(e) => return Err(e),
    }
    let served = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let resp = parse_response(&buf).ok_or_else(|| {
        std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(&buf)))
    })?;
    Ok(TlsAnswer { resp, served })
}

/// A TLS connection to `addr` verified against the client's roots, to read and write freely
/// (a live stream); reads wait at most 10 s.
pub fn https_connect(
    client: &Arc<rustls::ClientConfig>,
    addr: SocketAddr,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from(SERVER_NAME).unwrap();
    let conn =
        rustls::ClientConnection::new(client.clone(), name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(rustls::StreamOwned::new(conn, sock))
}
