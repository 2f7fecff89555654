//! A remote actor document (`Person`, `Service`, `Application`, `Group`, `Organization`) read
//! into what an inbox and a deliverer need of it: its id, its inboxes, its key and who it is.
//!
//! Pure and hostile-input safe: the caller bounds the document's size before parsing
//! ([`MAX_ACTOR_BYTES`]); every IRI is checked like a note's ([`super::note::iri`]: `https:`
//! only unless a lab allows `http:`, bounded, no whitespace); the key must be owned by the
//! actor and its id must sit on the actor's host, so a server cannot hand out keys for actors
//! of another server. The address (`user@domain`) is `preferredUsername` at the actor's host,
//! as Mastodon derives it before WebFinger confirms it.

use super::keys::PublicKey;
use super::note::{host_of, iri, list, ReadOptions};
use super::SigError;
use crate::proto::Address;
use serde_json::Value;

/// Largest actor document read (Mastodon's are 3–10 KB; with a long bio and many fields, more).
pub const MAX_ACTOR_BYTES: usize = 128 * 1024;
/// Longest `publicKeyPem` read (an RSA-8192 SPKI PEM is ~1.5 KB).
pub const MAX_PEM_BYTES: usize = 4 * 1024;
/// Longest display name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// The actor types that may follow, post and be followed.
pub const ACTOR_TYPES: [&str; 5] = ["Person", "Service", "Application", "Group", "Organization"];

/// Why an actor document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActorError {
    /// Not an actor type.
    #[error("not an actor (type {0:?})")]
    NotAnActor(String),
    /// A required field is missing, malformed or unacceptable.
    #[error("missing or malformed field {0}")]
    Field(&'static str),
    /// The key named is not in the document, or not owned by the actor.
    #[error("the document has no key {0:?} of its actor")]
    NoSuchKey(String),
    /// The key does not parse.
    #[error(transparent)]
    Key(#[from] SigError),
}

/// What msm keeps of a remote actor.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    /// Its IRI.
    pub id: String,
    /// `preferredUsername@host`.
    pub address: Address,
    /// Its own inbox.
    pub inbox: String,
    /// Its server's shared inbox, if it names one.
    pub shared_inbox: Option<String>,
    /// Its followers collection (tells followers-only posts from direct ones).
    pub followers: Option<String>,
    /// Its display name ("" for none), cut at [`MAX_NAME_BYTES`].
    pub name: String,
    /// The key named by the signature that led here (or its main key).
    pub key: Option<(String, String)>,
}

impl RemoteActor {
    /// Where deliveries to this actor go: the shared inbox, else its own.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }
}

/// Reads `doc` as an actor; with `key_id`, also its key of that id (`publicKey`, one or a list,
/// or a FEP-521a `assertionMethod` Multikey), as `(key id, PEM)`.
pub fn read(
    doc: &Value,
    key_id: Option<&str>,
    allow_http: bool,
) -> Result<RemoteActor, ActorError> {
    let opts = ReadOptions {
        followers: None,
        max_text: 0,
        allow_http,
    };
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or("");
    if !ACTOR_TYPES.contains(&kind) {
        return Err(ActorError::NotAnActor(kind.chars().take(64).collect()));
    }
    let id = iri(doc.get("id"), "id", &opts).map_err(|_| ActorError::Field("id"))?;
    let host = host_of(&id)
        .ok_or(ActorError::Field("id"))?
        .to_ascii_lowercase();
    let user = doc
        .get("preferredUsername")
        .and_then(Value::as_str)
        .ok_or(ActorError::Field("preferredUsername"))?;
    let address = Address::parse(&format!("{user}@{host}"))
        .map_err(|_| ActorError::Field("preferredUsername"))?;
    let on_host = |field: &'static str, v: Option<&Value>| -> Result<String, ActorError> {
        let s = iri(v, field, &opts).map_err(|_| ActorError::Field(field))?;
        same_host(&s, &host)
            .then_some(s)
            .ok_or(ActorError::Field(field))
    };
    let inbox = on_host("inbox", doc.get("inbox"))?;
    let shared_inbox = match doc.get("endpoints").and_then(|e| e.get("sharedInbox")) {
        Some(v) => Some(on_host("sharedInbox", Some(v))?),
        None => None,
    };
    let followers = doc
        .get("followers")
        .and_then(|v| on_host("followers", Some(v)).ok());
    let mut name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.len() > MAX_NAME_BYTES {
        let n = super::html_text::cut(&name, MAX_NAME_BYTES).len();
        name.truncate(n);
    }
    let key = match key_id {
        Some(k) => Some(find_key(doc, &id, k)?),
        None => None,
    };
    Ok(RemoteActor {
        id,
        address,
        inbox,
        shared_inbox,
        followers,
        name,
        key,
    })
}

/// The key `key_id` of actor `id` in `doc`, as `(key id, PEM)`: checked to parse.
fn find_key(doc: &Value, id: &str, key_id: &str) -> Result<(String, String), ActorError> {
    let owned = |k: &Value, owner_field: &str| {
        k.get("id").and_then(Value::as_str) == Some(key_id)
            && k.get(owner_field).and_then(Value::as_str) == Some(id)
    };
    for k in list(doc.get("publicKey")) {
        if owned(k, "owner") {
            let pem = k
                .get("publicKeyPem")
                .and_then(Value::as_str)
                .filter(|p| p.len() <= MAX_PEM_BYTES)
                .ok_or(ActorError::Field("publicKeyPem"))?;
            PublicKey::from_pem(pem)?;
            return Ok((key_id.to_string(), pem.to_string()));
        }
    }
    for k in list(doc.get("assertionMethod")) {
        if owned(k, "controller") {
            let mb = k
                .get("publicKeyMultibase")
                .and_then(Value::as_str)
                .filter(|p| p.len() <= MAX_PEM_BYTES)
                .ok_or(ActorError::Field("publicKeyMultibase"))?;
            let key = PublicKey::from_multibase(mb)?;
            return Ok((key_id.to_string(), key.to_pem()));
        }
    }
    Err(ActorError::NoSuchKey(key_id.chars().take(128).collect()))
}

/// Whether `iri` is on `host` (any port; hosts compared without case).
pub fn same_host(iri: &str, host: &str) -> bool {
    host_of(iri).is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// The document part of a key id: what to fetch to find the key (`…/users/a#main-key` →
/// `…/users/a`; GoToSocial's `…/users/a/main-key` is fetched as it is).
pub fn key_document(key_id: &str) -> &str {
    key_id.split('#').next().unwrap_or(key_id)
}
