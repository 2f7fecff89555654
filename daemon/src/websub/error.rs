//! [`WebSubError`]: every way a hub request is refused.

/// Why a subscribe or unsubscribe request was refused (each answered 400, but the last two).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebSubError {
    /// The body is over [`super::request::MAX_BODY_BYTES`].
    #[error("the request body is over {0} bytes")]
    TooLarge(usize),
    /// The body is not well-formed `application/x-www-form-urlencoded` text.
    #[error("malformed form: {0}")]
    Malformed(&'static str),
    /// A required parameter is missing or empty.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A parameter is given twice.
    #[error("{0} is given more than once")]
    Repeated(&'static str),
    /// `hub.mode` is neither `subscribe` nor `unsubscribe`.
    #[error("hub.mode must be subscribe or unsubscribe")]
    BadMode,
    /// `hub.callback` is not a URL this hub calls (https only, public hosts, bounded).
    #[error("hub.callback: {0}")]
    BadCallback(String),
    /// `hub.secret` is not shorter than [`super::request::SECRET_LIMIT`] bytes.
    #[error(
        "hub.secret must be shorter than {} bytes",
        super::request::SECRET_LIMIT
    )]
    SecretTooLong,
    /// `hub.lease_seconds` is not a whole number of seconds.
    #[error("hub.lease_seconds is not a number of seconds")]
    BadLease,
    /// `hub.topic` is not the Atom feed of a user of this node.
    #[error("hub.topic is not a feed of this hub: {0}")]
    UnknownTopic(String),
    /// The hub holds all the subscriptions (or waiting requests) it may; answered 503.
    #[error("this hub takes no more subscriptions {0}")]
    Full(&'static str),
    /// The hub cannot call out (no HTTPS client on this node); answered 503.
    #[error("this hub is off: the node has no HTTPS client")]
    Off,
}
