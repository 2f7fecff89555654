//! Hub requests (W3C WebSub §5.1), sans-IO: an `application/x-www-form-urlencoded` body
//! parsed and checked into a [`HubRequest`], or a [`WebSubError`] saying what is wrong.
//!
//! Bounded and strict, since anyone may send one: the body is at most [`MAX_BODY_BYTES`];
//! each parameter once; percent-escapes well-formed and the text UTF-8. `hub.callback` must be
//! a URL the node's outgoing client calls: `https` only (the client speaks nothing else, and an
//! `http` callback would carry the signed content and the secret's HMAC in clear), at most
//! [`MAX_CALLBACK_BYTES`], with room left for the verification query (the client's URL limit);
//! its host is checked against private addresses when it is called (the client's SSRF guard).
//! `hub.topic` must be `{base}/@{user}/feed.atom` of this node. `hub.secret` must be shorter
//! than [`SECRET_LIMIT`] bytes (the spec's limit). `hub.lease_seconds` is clamped into
//! [`MIN_LEASE_S`]..=[`MAX_LEASE_S`] ([`DEFAULT_LEASE_S`] when absent). Other parameters are
//! ignored, as the spec allows.

use super::WebSubError;
pub use crate::store::websub::Mode;

/// Largest request body: the parameters below fit many times over.
pub const MAX_BODY_BYTES: usize = 4096;
/// Longest callback URL.
pub const MAX_CALLBACK_BYTES: usize = 2048;
/// A secret must be shorter than this many bytes (WebSub §5.1).
pub const SECRET_LIMIT: usize = 200;
/// Shortest lease granted: a subscriber asking for less is verified again needlessly often.
pub const MIN_LEASE_S: u32 = 3600;
/// Longest lease granted: a subscriber that went away stops being called after this.
pub const MAX_LEASE_S: u32 = 30 * 86_400;
/// The lease when the subscriber asks for none (what Google's hub grants).
pub const DEFAULT_LEASE_S: u32 = 10 * 86_400;
/// Most parameters read from one body.
pub const MAX_PARAMS: usize = 32;

/// A checked subscribe or unsubscribe request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// The topic, exactly as the feed names itself.
    pub topic: String,
    /// The local user whose feed the topic is (a well-formed name; whether it exists is the
    /// caller's to check).
    pub user: String,
    /// The subscriber's callback URL, as given.
    pub callback: String,
    /// The callback's host (lower-cased), for the per-host bound.
    pub callback_host: String,
    /// The lease granted (clamped), in seconds; for an unsubscribe, unused.
    pub lease_s: u32,
    /// The HMAC secret (subscribe only).
    pub secret: Option<Vec<u8>>,
}

/// Parses and checks a hub request body against this node's `base` URL and `domain`.
pub fn parse(body: &[u8], base: &str, domain: &str) -> Result<HubRequest, WebSubError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebSubError::TooLarge(MAX_BODY_BYTES));
    }
    let mut mode = None;
    let mut topic = None;
    let mut callback = None;
    let mut lease = None;
    let mut secret = None;
    for (n, pair) in body.split(|b| *b == b'&').enumerate() {
        if pair.is_empty() {
            continue;
        }
        if n >= MAX_PARAMS {
            return Err(WebSubError::Malformed("too many parameters"));
        }
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let slot = match form_decode(key)?.as_slice() {
            b"hub.mode" => (&mut mode, "hub.mode"),
            b"hub.topic" => (&mut topic, "hub.topic"),
            b"hub.callback" => (&mut callback, "hub.callback"),
            b"hub.lease_seconds" => (&mut lease, "hub.lease_seconds"),
            b"hub.secret" => (&mut secret, "hub.secret"),
            _ => continue,
        };
        if slot.0.is_some() {
            return Err(WebSubError::Repeated(slot.1));
        }
        *slot.0 = Some(form_decode(value)?);
    }
    let text = |v: Option<Vec<u8>>, name: &'static str| -> Result<String, WebSubError> {
        let v = v
            .filter(|v| !v.is_empty())
            .ok_or(WebSubError::Missing(name))?;
        String::from_utf8(v).map_err(|_| WebSubError::Malformed("text is not UTF-8"))
    };
    let mode = match text(mode, "hub.mode")?.as_str() {
        "subscribe" => Mode::Subscribe,
        "unsubscribe" => Mode::Unsubscribe,
        _ => return Err(WebSubError::BadMode),
    };
    let topic = text(topic, "hub.topic")?;
    let user = topic_user(&topic, base, domain)
        .ok_or_else(|| WebSubError::UnknownTopic(shorten(&topic)))?;
    let callback = text(callback, "hub.callback")?;
    if callback.len() > MAX_CALLBACK_BYTES {
        return Err(WebSubError::BadCallback(format!(
            "longer than {MAX_CALLBACK_BYTES} bytes"
        )));
    }
    let target = crate::net::fetch::parse_url(&callback)
        .map_err(|e| WebSubError::BadCallback(e.to_string()))?;
    let probe =
        super::verify::verification_url(&callback, mode, &topic, &"0".repeat(64), MAX_LEASE_S);
    if probe.len() > crate::net::fetch::url::MAX_URL_LEN {
        return Err(WebSubError::BadCallback(
            "too long to add the verification query to".into(),
        ));
    }
    let lease_s = match lease.filter(|l| !l.is_empty()) {
        None => DEFAULT_LEASE_S,
        Some(l) => lease_seconds(&l)?,
    };
    let secret = match (mode, secret.filter(|s| !s.is_empty())) {
        (Mode::Subscribe, Some(s)) if s.len() >= SECRET_LIMIT => {
            return Err(WebSubError::SecretTooLong)
        }
        (Mode::Subscribe, s) => s,
        (Mode::Unsubscribe, _) => None,
    };
    Ok(HubRequest {
        mode,
        topic,
        user,
        callback,
        callback_host: target.host,
        lease_s,
        secret,
    })
}

/// The lease granted for an asked `hub.lease_seconds`: digits only, clamped.
fn lease_seconds(v: &[u8]) -> Result<u32, WebSubError> {
    if v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return Err(WebSubError::BadLease);
    }
    let asked: u64 = std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(WebSubError::BadLease)?;
    Ok(asked.clamp(u64::from(MIN_LEASE_S), u64::from(MAX_LEASE_S)) as u32)
}

/// The user whose feed `topic` is, when it is `{base}/@{user}/feed.atom` with a well-formed
/// user name.
pub fn topic_user(topic: &str, base: &str, domain: &str) -> Option<String> {
    let user = topic
        .strip_prefix(base)?
        .strip_prefix("/@")?
        .strip_suffix("/feed.atom")?;
    // exactly the name the feed calls itself by (not another spelling of it)
    let address = crate::proto::Address::new(user, domain).ok()?;
    (address.user() == user).then(|| user.to_string())
}

/// `s` cut to a length fit for an error message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Decodes one form component: `+` is a space, `%XX` a byte; a broken escape is an error.
pub fn form_decode(s: &[u8]) -> Result<Vec<u8>, WebSubError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
                match (hex(s.get(i + 1)), hex(s.get(i + 2))) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(WebSubError::Malformed("a broken percent-escape")),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Encodes one form or query component: every byte but the unreserved ones as `%XX`.
pub fn form_encode(s: &str) -> String {
    crate::web::public::percent_encode(s)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
