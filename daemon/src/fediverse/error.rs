//! The one error type of the fediverse edge: why an inbox POST was refused, each with the
//! label it is counted under in `/metrics` and the HTTP status it is answered with.

use crate::activitypub::activity::ActivityError;
use crate::activitypub::actor_doc::ActorError;
use crate::activitypub::SigError;
use crate::net::fetch::FetchError;
use crate::store::StoreError;

/// Why an inbox POST was refused.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The signature is absent, malformed, stale, or does not verify.
    #[error("signature refused: {0}")]
    Signature(#[from] SigError),
    /// The signing key is not the activity's actor's.
    #[error("the signing key is not the actor's")]
    NotTheActor,
    /// The activity was taken in already.
    #[error("activity already received")]
    Replay,
    /// The sender's key could not be fetched.
    #[error("the signing key could not be fetched: {0}")]
    KeyFetch(String),
    /// The sender's actor document is refused.
    #[error("the signer's actor is refused: {0}")]
    Actor(#[from] ActorError),
    /// Too many key fetches in flight; the sender should retry.
    #[error("busy; retry later")]
    Busy,
    /// The body is not an activity msm reads.
    #[error("malformed activity: {0}")]
    Activity(#[from] ActivityError),
    /// The activity's post is not one msm reads.
    #[error("malformed post: {0}")]
    Note(#[from] crate::activitypub::note::NoteError),
    /// The body is not JSON, or not `application/activity+json`.
    #[error("{0}")]
    BadRequest(&'static str),
    /// The body is over [`crate::activitypub::activity::MAX_ACTIVITY_BYTES`].
    #[error("activity too large")]
    TooLarge,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FetchError> for InboxError {
    fn from(e: FetchError) -> Self {
        InboxError::KeyFetch(e.to_string())
    }
}

impl InboxError {
    /// The HTTP status answered.
    pub fn status(&self) -> u16 {
        match self {
            InboxError::Signature(_)
            | InboxError::NotTheActor
            | InboxError::Replay
            | InboxError::KeyFetch(_)
            | InboxError::Actor(_) => 401,
            InboxError::Busy => 503,
            InboxError::Activity(_) | InboxError::Note(_) | InboxError::BadRequest(_) => 400,
            InboxError::TooLarge => 413,
            InboxError::Store(_) => 500,
        }
    }

    /// The label it is counted under (one of [`super::inbox::OUTCOMES`]).
    pub fn label(&self) -> &'static str {
        match self {
            InboxError::Signature(SigError::Unsigned) => "unsigned",
            InboxError::Signature(SigError::BadDigest | SigError::MissingDigest) => "digest",
            InboxError::Signature(SigError::Stale | SigError::FromFuture | SigError::Expired) => {
                "date"
            }
            InboxError::Signature(SigError::BadSignature) => "bad_signature",
            InboxError::Signature(_) => "malformed_signature",
            InboxError::NotTheActor => "not_the_actor",
            InboxError::Replay => "replay",
            InboxError::KeyFetch(_) | InboxError::Actor(_) => "unknown_key",
            InboxError::Busy => "busy",
            InboxError::Activity(_)
            | InboxError::Note(_)
            | InboxError::BadRequest(_)
            | InboxError::TooLarge => "malformed",
            InboxError::Store(_) => "error",
        }
    }
}
