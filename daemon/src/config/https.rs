//! `[https]`: the node's own TLS listener, in front of the same handlers as `[http]`.
//!
//! Off unless `listen` is set; then `cert` and `key` name PEM files that an ACME client
//! (OpenWrt's `acme` package, certbot, ...) keeps renewed. msmd reads them again on SIGHUP and
//! when they change (`crate::web::tls`). Plain HTTP stays on `[http]` for the LAN.

use serde::Deserialize;
use std::net::SocketAddr;

/// `[https]`
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpsConfig {
    /// Address and port of the TLS listener (`[::]:443`, `0.0.0.0:8443`); empty: no HTTPS.
    pub listen: String,
    /// The certificate chain, PEM (leaf first, then intermediates: `fullchain.pem`).
    pub cert: String,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
}

impl HttpsConfig {
    /// Whether HTTPS is on.
    pub fn enabled(&self) -> bool {
        !self.listen.is_empty()
    }

    /// The listen address, when HTTPS is on (checked by [`HttpsConfig::validate`]).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// Checks the values; the error is `(key, why)`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !self.enabled() {
            if !self.cert.is_empty() || !self.key.is_empty() {
                return Err((
                    "https.listen",
                    "must be set when https.cert or https.key is".into(),
                ));
            }
            return Ok(());
        }
        if self.listen_addr().is_none() {
            return Err((
                "https.listen",
                "must be an address and port, such as \"[::]:443\"".into(),
            ));
        }
        if self.cert.is_empty() {
            return Err(("https.cert", "must name the certificate's PEM file".into()));
        }
        if self.key.is_empty() {
            return Err(("https.key", "must name the key's PEM file".into()));
        }
        Ok(())
    }
}
