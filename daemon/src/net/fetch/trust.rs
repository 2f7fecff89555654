//! The certificates the client trusts: the system bundle ([`SYSTEM_CA_BUNDLE`]) and an extra
//! PEM file a lab names, and the rustls configuration built on them (ring, TLS 1.2 and 1.3).

use super::FetchError;
use rustls::RootCertStore;
use rustls_pki_types::{pem::PemObject, CertificateDer};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The system's CA bundle (Debian's ca-certificates, OpenWrt's ca-bundle).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Largest CA file read (the system bundle is about 220 KiB).
pub const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The rustls client configuration trusting the system bundle (when present) and `extra`
/// (which must hold a usable certificate when given); an error when nothing is trusted.
pub fn client_config(
    system: &Path,
    extra: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, FetchError> {
    let mut roots = RootCertStore::empty();
    match std::fs::metadata(system) {
        Ok(_) => {
            add_pem(&mut roots, system)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && extra.is_some() => {}
        Err(e) => return Err(FetchError::Config(format!("{}: {e}", system.display()))),
    }
    if let Some(extra) = extra {
        if add_pem(&mut roots, extra)? == 0 {
            return Err(FetchError::Config(format!(
                "{}: no usable CA certificate",
                extra.display()
            )));
        }
    }
    if roots.is_empty() {
        return Err(FetchError::Config("no usable CA certificate".into()));
    }
    let provider = crate::web::tls::provider();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| FetchError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Adds the certificates of a PEM file; how many webpki could use (a bundle may hold some it
/// cannot, and the others still count).
fn add_pem(roots: &mut RootCertStore, path: &Path) -> Result<usize, FetchError> {
    let failed = |e: &dyn std::fmt::Display| FetchError::Config(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| failed(&e))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| failed(&e))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(failed(&"larger than 4 MiB"));
    }
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| failed(&e))?;
        if roots.add(cert).is_ok() {
            added += 1;
        }
    }
    Ok(added)
}
