//! Requests of the Mastodon client API's tests: forms as apps post them, JSON calls with an
//! app's bearer token, multipart picture forms.

use crate::{Node, Resp};
use serde_json::Value;

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An `application/x-www-form-urlencoded` body of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POSTs `pairs` as a form.
pub fn post_form(node: &Node, path: &str, pairs: &[(&str, &str)]) -> Resp {
    node.http(
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&form(pairs)),
    )
}

/// A call with a JSON body (if any) and a bearer token (if any).
pub fn call(
    node: &Node,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    let b = body.map(|b| b.to_string());
    node.http(method, path, &h, b.as_deref())
}

/// The JSON of a 200 answer (fails with the body otherwise).
pub fn ok(r: Resp) -> Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}
