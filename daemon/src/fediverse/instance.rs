//! The node's own actor, `{base}/actor`: an `Application` whose RSA key signs what the node
//! fetches (actors and keys), as Mastodon's instance actor does, so servers that answer only
//! signed GETs (authorized fetch, GoToSocial) answer the node without it speaking as a user.

use crate::activitypub::keys::RsaSigningKey;
use crate::activitypub::outbound::{context, Iris};
use crate::store::Store;
use crate::web::actor::{make_key, KEY_MAKER};
use serde_json::{json, Value};

/// The instance actor's key, made (holding [`KEY_MAKER`]) on first need.
pub fn signing_key(store: &Store) -> Result<RsaSigningKey, String> {
    let der = store
        .instance_rsa_key(|| {
            let _making = KEY_MAKER.lock().unwrap_or_else(|e| e.into_inner());
            make_key().map(|k| k.private_der)
        })
        .map_err(|e| e.to_string())?;
    RsaSigningKey::from_pkcs8(&der).map_err(|e| e.to_string())
}

/// The key id the instance actor signs with.
pub fn key_id(iris: &Iris<'_>) -> String {
    format!("{}#main-key", iris.instance_actor())
}

/// The instance actor's document.
pub fn document(iris: &Iris<'_>, domain: &str, public_pem: &str) -> Value {
    let id = iris.instance_actor();
    json!({
        "@context": context(),
        "id": id,
        "type": "Application",
        "preferredUsername": domain,
        "name": domain,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "endpoints": {"sharedInbox": iris.shared_inbox()},
        "manuallyApprovesFollowers": true,
        "publicKey": {"id": key_id(iris), "owner": id, "publicKeyPem": public_pem},
    })
}
