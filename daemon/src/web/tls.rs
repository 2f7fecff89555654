//! HTTPS: the node's certificate and key, and the rustls configuration of the TLS listener.
//!
//! The certificate chain and key come from outside msmd (an ACME client: OpenWrt's `acme`
//! package, certbot, ...) as two PEM files. [`CertStore`] holds the pair rustls serves and
//! swaps it whole: [`CertFiles::reload`] reads both files again (on SIGHUP), and
//! [`CertFiles::watch`] does so when either file's identity, size or modification time has
//! changed, checked every [`CERT_POLL`]. A pair that cannot be read, parsed or that does not
//! match (the key is not the certificate's) is logged and the old pair stays in service; at
//! start-up the same failure is an error that stops msmd.
//!
//! TLS 1.2 and 1.3 with ring, no client certificates, ALPN `http/1.1`. The handshake runs in
//! the connection's thread under the request head deadline (`vendor/tiny_http/src/tls.rs`).

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use thiserror::Error;

/// How often the certificate and key files are checked for a change.
pub const CERT_POLL: Duration = Duration::from_secs(5);
/// Largest PEM file read: a chain of a few certificates is a few KiB.
pub const MAX_PEM_BYTES: u64 = 256 * 1024;
/// Stack of the thread that watches the files (PEM and key parsing keep their data on the heap).
pub const WATCH_STACK: usize = 128 * 1024;
/// TLS sessions remembered for resumption (each a few hundred bytes; the oldest go first).
pub const SESSION_CACHE: usize = 256;
/// Most certificates in a chain (leaf and intermediates).
pub const MAX_CHAIN: usize = 8;

/// Why a certificate and key were refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_PEM_BYTES`].
    #[error("{0}: larger than 256 KiB")]
    TooLarge(String),
    /// The certificate file holds no PEM certificate, a bad one, or more than [`MAX_CHAIN`].
    #[error("{path}: {why}")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The key file holds no PEM private key, or one rustls cannot use.
    #[error("{path}: {why}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The key is not the certificate's.
    #[error("the key in {key} does not match the certificate in {cert}: {why}")]
    Mismatch {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls's words.
        why: String,
    },
}

/// The crypto provider of every TLS connection msmd makes or accepts: ring.
///
/// rustls 0.23.48 marks ring's provider deprecated because it has no post-quantum key
/// exchange (X25519MLKEM768), which rustls offers only with aws-lc-rs: a large C library
/// built with CMake, to be cross-built for each router target and carried in a binary that
/// must fit a router's flash. ring stays until it gains ML-KEM; its X25519 exchange is what
/// every fediverse server accepts today.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let err = |source| TlsError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge(path.display().to_string()));
    }
    Ok(bytes)
}

/// Reads and checks a certificate chain and its key.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_name = cert.display().to_string();
    let key_name = key.display().to_string();
    let bad_cert = |why: String| TlsError::Certificate {
        path: cert_name.clone(),
        why,
    };
    let pem = read_pem(cert)?;
    let mut chain = Vec::new();
    for c in CertificateDer::pem_slice_iter(&pem) {
        let c = c.map_err(|e| bad_cert(format!("bad PEM: {e}")))?;
        if chain.len() == MAX_CHAIN {
            return Err(bad_cert(format!("more than {MAX_CHAIN} certificates")));
        }
        chain.push(c);
    }
    if chain.is_empty() {
        return Err(bad_cert("no PEM certificate".into()));
    }
    let pem = read_pem(key)?;
    let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Key {
        path: key_name.clone(),
        why: format!("no usable PEM private key: {e}"),
    })?;
    let signing = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| TlsError::Key {
            path: key_name.clone(),
            why: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::Mismatch {
        cert: cert_name,
        key: key_name,
        why: e.to_string(),
    })?;
    Ok(certified)
}

/// The certificate and key in service, swapped whole.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    fn set(&self, key: CertifiedKey) {
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

/// What tells a changed file from the same one: device, inode, size, modification time.
type Stamp = Option<(u64, u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// The two files and the store they feed.
#[derive(Debug)]
pub struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    store: Arc<CertStore>,
    /// The files' stamps when last read (whether or not that read was taken).
    seen: Mutex<(Stamp, Stamp)>,
}

impl CertFiles {
    /// Reads the pair for the first time; any failure is an error.
    pub fn open(cert: &Path, key: &Path) -> Result<Arc<CertFiles>, TlsError> {
        let seen = (stamp(cert), stamp(key));
        let first = load(cert, key)?;
        Ok(Arc::new(CertFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            store: Arc::new(CertStore {
                current: RwLock::new(Arc::new(first)),
            }),
            seen: Mutex::new(seen),
        }))
    }

    /// The rustls configuration of the listener, serving whatever the store holds.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Certificate {
                path: self.cert.display().to_string(),
                why: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(self.store.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.session_storage = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
        Ok(Arc::new(config))
    }

    /// Reads both files again; a pair that fails is logged and the old one stays.
    /// Returns whether the new pair was taken.
    pub fn reload(&self) -> bool {
        let now = (stamp(&self.cert), stamp(&self.key));
        if let Ok(mut seen) = self.seen.lock() {
            *seen = now;
        }
        match load(&self.cert, &self.key) {
            Ok(k) => {
                self.store.set(k);
                tracing::info!(cert = %self.cert.display(), "HTTPS certificate loaded");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "HTTPS certificate not reloaded; the old one is still served");
                false
            }
        }
    }

    /// Reloads when either file changed since it was last read.
    pub fn reload_if_changed(&self) {
        let now = (stamp(&self.cert), stamp(&self.key));
        let changed = self.seen.lock().map(|s| *s != now).unwrap_or(false);
        if changed {
            self.reload();
        }
    }

    /// Starts the thread that checks the files every [`CERT_POLL`] for as long as msmd runs.
    pub fn watch(self: &Arc<Self>) -> std::io::Result<()> {
        let files = self.clone();
        std::thread::Builder::new()
            .name("https-certs".into())
            .stack_size(WATCH_STACK)
            .spawn(move || loop {
                std::thread::sleep(CERT_POLL);
                files.reload_if_changed();
            })
            .map(|_| ())
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
