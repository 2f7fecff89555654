//! Request and response plumbing: bounded bodies, JSON, query strings, cookies.

use super::WebError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Cursor, Read};
use tiny_http::{Header, Request, Response};

/// A response with a JSON body.
pub type JsonResponse = Response<Cursor<Vec<u8>>>;

/// Reads a JSON body of at most `max` bytes into `T`. Refuses by the declared length before
/// reading; a chunked body is read to at most `max + 1` bytes.
pub fn read_json<T: DeserializeOwned>(req: &mut Request, max: usize) -> Result<T, WebError> {
    let is_json = header(req, "Content-Type")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(WebError::UnsupportedMediaType);
    }
    let body = read_body(req, max)?;
    serde_json::from_slice(&body).map_err(|e| WebError::BadRequest(format!("malformed JSON: {e}")))
}

/// Reads a body of at most `max` bytes. Refuses by the declared length before reading; a
/// chunked body is read to at most `max + 1` bytes.
pub fn read_body(req: &mut Request, max: usize) -> Result<Vec<u8>, WebError> {
    if let Some(n) = req.body_length() {
        if n > max {
            return Err(WebError::TooLarge(format!(
                "request body is {n} bytes, over the limit of {max}"
            )));
        }
    }
    let mut body = Vec::new();
    req.as_reader()
        .take(max as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| WebError::BadRequest(format!("could not read the body: {e}")))?;
    if body.len() > max {
        return Err(WebError::TooLarge(format!(
            "request body is over the limit of {max} bytes"
        )));
    }
    Ok(body)
}

/// The answer to a refused or failed request: logged (an internal error with its detail,
/// which the client never sees), `Retry-After` on a rate limit.
pub fn refusal(e: WebError) -> JsonResponse {
    if let WebError::Internal(detail) = &e {
        tracing::error!(error = %detail, "request failed");
    } else {
        tracing::debug!(status = e.status(), error = %e, "request refused");
    }
    let response = error_response(&e);
    match e {
        WebError::RateLimited { retry_after_s, .. } => {
            response.with_header(static_header("Retry-After", &retry_after_s.to_string()))
        }
        _ => response,
    }
}

/// A request header's value, if present and ASCII.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// A cookie's value from the `Cookie` header.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    header(req, "Cookie")?
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The value of `key` in a query string, percent-decoded.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
}

/// Decodes `%XX` escapes and `+` in a URL component; invalid escapes stay as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, value: &T) -> JsonResponse {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    Response::from_data(body)
        .with_status_code(status)
        .with_header(static_header("Content-Type", "application/json"))
        .with_header(static_header("Cache-Control", "no-store"))
        .with_header(static_header("X-Content-Type-Options", "nosniff"))
}

/// The JSON answer for an error.
pub fn error_response(e: &WebError) -> JsonResponse {
    json(e.status(), &serde_json::json!({ "error": e.to_string() }))
}

/// A header from a name and an ASCII value (values built here never hold control characters).
pub fn static_header(name: &str, value: &str) -> Header {
    #[allow(clippy::expect_used)]
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values built here are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("alice%40smith.family"), "alice@smith.family");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(
            query_param("limit=5&before=10", "before").as_deref(),
            Some("10")
        );
        assert_eq!(query_param("limit=5", "before"), None);
    }
}
