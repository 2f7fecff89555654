//! `[activitypub]`: how the node speaks to the fediverse.
//!
//! Its outgoing HTTPS client trusts the system's CA bundle, plus `extra_ca` when set (a lab's
//! own CA). It refuses to connect to loopback, private and other non-public addresses, so a
//! remote actor cannot make the node fetch from the household's LAN (SSRF); `allow_private`
//! lifts that for labs and tests only.

use serde::Deserialize;

/// `[activitypub]`
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityPubConfig {
    /// A PEM file of CA certificates trusted besides the system's bundle ("" for none).
    pub extra_ca: String,
    /// Allow fetching from and delivering to loopback and private addresses (labs only).
    pub allow_private: bool,
}
