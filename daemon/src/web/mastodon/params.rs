//! The parameters of a Mastodon API call, wherever the client put them.
//!
//! Mastodon reads a call's parameters from the query string, a form body
//! (`application/x-www-form-urlencoded`, or `multipart/form-data`'s text fields) or a JSON body
//! alike, and clients use all three:
//! toot posts forms, masto posts JSON, Mastodon.py sends forms with `media_ids[]` arrays. One
//! [`Params`] holds them flat: a JSON object `{"source": {"privacy": "x"}}` becomes the key
//! `source[privacy]`, and `key[]=a&key[]=b` or `{"key": ["a", "b"]}` becomes the list `key`.
//!
//! Bounded: at most [`MAX_PARAMS`] pairs, [`MAX_DEPTH`] levels of JSON, and the body limit of
//! the caller; anything past is a 400 or 413, never a panic.

use super::super::io::{header, percent_decode};
use super::super::WebError;
use std::io::Read;
use tiny_http::Request;

/// Most parameters one call may carry (a status with four media ids and a poll of four
/// options has a dozen).
pub const MAX_PARAMS: usize = 64;
/// Deepest nesting of a JSON body.
pub const MAX_DEPTH: usize = 4;

/// A call's parameters: `(key, value)` pairs in order; a list's key has no `[]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// How many pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// No pairs at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, if present and not empty.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Every value of `key` (a list sent as `key[]=`, `key=` repeated or a JSON array).
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `key` as a boolean: `true`, `1`, `on` are true; absent is `None`.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key)
            .map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "on" | "yes"))
    }

    /// `key` as a number, or 400 when present but not one.
    pub fn number(&self, key: &str) -> Result<Option<i64>, WebError> {
        match self.text(key) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| WebError::BadRequest(format!("{key} must be a number"))),
        }
    }

    /// Adds a pair, refusing more than [`MAX_PARAMS`].
    pub fn push(&mut self, key: &str, value: String) -> Result<(), WebError> {
        if self.pairs.len() >= MAX_PARAMS {
            return Err(WebError::BadRequest(format!(
                "too many parameters (at most {MAX_PARAMS})"
            )));
        }
        let key = key.strip_suffix("[]").unwrap_or(key);
        self.pairs.push((key.to_string(), value));
        Ok(())
    }

    /// Parses a query string or a form body.
    pub fn from_form(s: &str) -> Result<Params, WebError> {
        let mut p = Params::default();
        p.add_form(s)?;
        Ok(p)
    }

    fn add_form(&mut self, s: &str) -> Result<(), WebError> {
        for kv in s.split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            self.push(&percent_decode(k), percent_decode(v))?;
        }
        Ok(())
    }

    /// Parses a JSON body (an object).
    pub fn from_json(body: &[u8]) -> Result<Params, WebError> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| WebError::BadRequest(format!("malformed JSON: {e}")))?;
        let mut p = Params::default();
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    p.add_json(&k, v, 1)?;
                }
            }
            serde_json::Value::Null => {}
            _ => {
                return Err(WebError::BadRequest(
                    "the JSON body must be an object".into(),
                ))
            }
        }
        Ok(p)
    }

    fn add_json(&mut self, key: &str, v: serde_json::Value, depth: usize) -> Result<(), WebError> {
        if depth > MAX_DEPTH {
            return Err(WebError::BadRequest(format!(
                "JSON nested deeper than {MAX_DEPTH} levels"
            )));
        }
        use serde_json::Value as V;
        match v {
            V::Null => Ok(()),
            V::Bool(b) => self.push(key, b.to_string()),
            V::Number(n) => self.push(key, n.to_string()),
            V::String(s) => self.push(key, s),
            V::Array(items) => {
                for item in items {
                    self.add_json(key, item, depth + 1)?;
                }
                Ok(())
            }
            V::Object(map) => {
                for (k, v) in map {
                    self.add_json(&format!("{key}[{k}]"), v, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    /// The query string's parameters, then the body's (form or JSON; any other type, or none,
    /// adds nothing), reading at most `max` bytes of body.
    pub fn read(req: &mut Request, query: &str, max: usize) -> Result<Params, WebError> {
        let mut p = Params::from_form(query)?;
        let ctype = header(req, "Content-Type")
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let is_form = ctype == "application/x-www-form-urlencoded";
        let is_json = ctype == "application/json";
        if ctype == "multipart/form-data" {
            // the text fields of a form that also carries a file (a profile with its avatar);
            // the handler reads the files itself
            let full = header(req, "Content-Type").unwrap_or("");
            let boundary = crate::web::multipart::boundary(full)
                .into_iter()
                .flatten()
                .next()
                .ok_or_else(|| WebError::BadRequest("a multipart form needs a boundary".into()))?;
            let parts = crate::web::multipart::parse(req.body_bytes(), &boundary)
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            for part in parts.iter().filter(|p| p.filename.is_none()) {
                p.push(&part.name, part.text())?;
            }
            return Ok(p);
        }
        if !is_form && !is_json {
            return Ok(p);
        }
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
        if is_form {
            let s = std::str::from_utf8(&body)
                .map_err(|_| WebError::BadRequest("the form is not UTF-8".into()))?;
            p.add_form(s)?;
        } else if !body.iter().all(u8::is_ascii_whitespace) {
            for (k, v) in Params::from_json(&body)?.pairs {
                p.push(&k, v)?;
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_lists_and_json_flatten_alike() {
        let f = Params::from_form("status=hi+there&media_ids[]=a&media_ids[]=b&sensitive=true")
            .unwrap();
        let j =
            Params::from_json(br#"{"status":"hi there","media_ids":["a","b"],"sensitive":true}"#)
                .unwrap();
        for p in [&f, &j] {
            assert_eq!(p.get("status"), Some("hi there"));
            assert_eq!(p.list("media_ids"), vec!["a", "b"]);
            assert_eq!(p.flag("sensitive"), Some(true));
        }
        let n = Params::from_json(br#"{"source":{"privacy":"private"},"limit":5}"#).unwrap();
        assert_eq!(n.get("source[privacy]"), Some("private"));
        assert_eq!(n.number("limit").unwrap(), Some(5));
    }

    #[test]
    fn hostile_shapes_are_refused() {
        let many = (0..MAX_PARAMS + 1)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(Params::from_form(&many).is_err());
        assert!(Params::from_json(br#"{"a":{"b":{"c":{"d":{"e":1}}}}}"#).is_err());
        assert!(Params::from_json(b"[1,2]").is_err());
        assert!(Params::from_json(b"{").is_err());
        assert!(Params::from_form("limit=x")
            .unwrap()
            .number("limit")
            .is_err());
    }
}
