//! An incoming activity read into what the inbox acts on: who did what to which object.
//!
//! Pure and hostile-input safe: the caller bounds the body ([`MAX_ACTIVITY_BYTES`]) and parses
//! it once; here the id, the actor and every object IRI are checked like a note's (`https:`
//! only unless a lab allows `http:`, bounded, no whitespace), and the activity's id and any
//! embedded object's id must sit on the actor's host (Mastodon's origin check): a server can
//! speak only for its own actors and objects. Activities of other kinds are read as
//! [`Act::Other`] so the inbox can answer them and count them without acting.

use super::actor_doc::same_host;
use super::note::{host_of, iri, ReadOptions};
use serde_json::Value;

/// Largest activity body an inbox reads (Mastodon's own are under 10 KB; a long post with
/// its HTML and tags stays far under this).
pub const MAX_ACTIVITY_BYTES: usize = 256 * 1024;

/// Why an activity is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActivityError {
    /// A required field is missing, malformed or unacceptable.
    #[error("missing or malformed field {0}")]
    Field(&'static str),
    /// The id or an embedded object is not on the actor's host.
    #[error("{0} is not on the actor's host")]
    Origin(&'static str),
}

/// What an activity does.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// Asks to follow `object` (an actor here).
    Follow {
        /// The actor followed.
        object: String,
    },
    /// Takes back an earlier activity of the same actor.
    Undo {
        /// The kind of the activity undone (`Follow`, `Like`, `Announce`, `Block`).
        kind: String,
        /// Its id.
        id: Option<String>,
        /// Its object.
        object: Option<String>,
    },
    /// Accepts (`true`) or rejects a follow this node sent.
    Answer {
        /// Accepted.
        accept: bool,
        /// The follow's id, when given.
        follow: Option<String>,
    },
    /// A new post (the object, embedded).
    Create(Value),
    /// A changed post or actor (the object, embedded).
    Update(Value),
    /// A post (or the actor itself) is gone.
    Delete {
        /// The object deleted.
        object: String,
    },
    /// Likes a post.
    Like {
        /// The post.
        object: String,
    },
    /// Boosts a post.
    Announce {
        /// The post.
        object: String,
    },
    /// Blocks an actor.
    Block {
        /// The actor blocked.
        object: String,
    },
    /// Anything else (`Add`, `Move`, `Flag`, …): answered, counted, not acted on.
    Other(String),
}

/// An activity, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Its id (replays are dropped by it).
    pub id: String,
    /// The actor IRI that did it (the signature's key must belong to it).
    pub actor: String,
    /// What it does.
    pub act: Act,
}

/// Reads `doc` as an activity.
pub fn read(doc: &Value, allow_http: bool) -> Result<Activity, ActivityError> {
    let opts = ReadOptions {
        followers: None,
        max_text: 0,
        allow_http,
    };
    let get =
        |v: Option<&Value>, f: &'static str| iri(v, f, &opts).map_err(|_| ActivityError::Field(f));
    let kind = doc
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ActivityError::Field("type"))?;
    let actor = get(doc.get("actor"), "actor")?;
    let host = host_of(&actor)
        .ok_or(ActivityError::Field("actor"))?
        .to_string();
    let id = get(doc.get("id"), "id")?;
    if !same_host(&id, &host) {
        return Err(ActivityError::Origin("id"));
    }
    let object = doc.get("object");
    let embedded = |f: &'static str| -> Result<Value, ActivityError> {
        let o = object
            .filter(|o| o.is_object())
            .ok_or(ActivityError::Field(f))?;
        let oid = get(o.get("id"), "object.id")?;
        if !same_host(&oid, &host) {
            return Err(ActivityError::Origin("object"));
        }
        Ok(o.clone())
    };
    let act = match kind {
        "Follow" => Act::Follow {
            object: get(object, "object")?,
        },
        "Undo" => {
            let o = object.ok_or(ActivityError::Field("object"))?;
            let inner_kind = o
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let inner_actor = o
                .get("actor")
                .map(|a| get(Some(a), "object.actor"))
                .transpose()?;
            if inner_actor.is_some_and(|a| a != actor) {
                return Err(ActivityError::Origin("object.actor"));
            }
            let inner_id = match o {
                Value::String(_) => Some(get(Some(o), "object")?),
                _ => o.get("id").map(|i| get(Some(i), "object.id")).transpose()?,
            };
            if inner_id.as_deref().is_some_and(|i| !same_host(i, &host)) {
                return Err(ActivityError::Origin("object.id"));
            }
            Act::Undo {
                kind: inner_kind.chars().take(32).collect(),
                id: inner_id,
                object: o
                    .get("object")
                    .and_then(|x| get(Some(x), "object.object").ok()),
            }
        }
        "Accept" | "Reject" => Act::Answer {
            accept: kind == "Accept",
            follow: object.and_then(|o| get(Some(o), "object").ok()),
        },
        "Create" => Act::Create(embedded("object")?),
        "Update" => Act::Update(embedded("object")?),
        "Delete" => {
            let o = get(object, "object")?;
            if !same_host(&o, &host) {
                return Err(ActivityError::Origin("object"));
            }
            Act::Delete { object: o }
        }
        "Like" | "EmojiReact" => Act::Like {
            object: get(object, "object")?,
        },
        "Announce" => Act::Announce {
            object: get(object, "object")?,
        },
        "Block" => Act::Block {
            object: get(object, "object")?,
        },
        other => Act::Other(other.chars().take(32).collect()),
    };
    Ok(Activity { id, actor, act })
}
