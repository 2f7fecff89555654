//! `multipart/form-data` (RFC 7578) over a body already in memory, sans-IO: the parts' names,
//! file names, types and byte ranges, without copying the bytes.
//!
//! Mastodon apps upload pictures this way (`POST /api/v2/media`, avatars and headers in
//! `PATCH /api/v1/accounts/update_credentials`). The body was bounded by the listener before
//! it got here; the parser bounds what it finds in it: at most [`MAX_PARTS`] parts, each
//! part's headers at most [`MAX_PART_HEAD`] bytes, a boundary of 1–70 characters (RFC 2046).
//! Anything else is a [`MultipartError`], never a panic.

use thiserror::Error;

/// Most parts in one form (a picture, its description, focus, thumbnail and a few more).
pub const MAX_PARTS: usize = 16;
/// Most bytes of one part's header block.
pub const MAX_PART_HEAD: usize = 4096;
/// Longest boundary (RFC 2046).
pub const MAX_BOUNDARY: usize = 70;

/// Why a form could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The `Content-Type` has no usable boundary.
    #[error("multipart/form-data needs a boundary of 1 to {MAX_BOUNDARY} characters")]
    Boundary,
    /// The body does not have the shape of a form.
    #[error("malformed multipart form: {0}")]
    Malformed(&'static str),
    /// Too many parts.
    #[error("too many parts in the form (at most {MAX_PARTS})")]
    TooManyParts,
}

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The `name` of its `Content-Disposition`.
    pub name: String,
    /// The `filename`, when the part is a file.
    pub filename: Option<String>,
    /// Its `Content-Type`, when given.
    pub content_type: Option<String>,
    /// Its bytes.
    pub data: &'a [u8],
}

impl Part<'_> {
    /// The part's bytes as text (lossy: a form field is text).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.data).into_owned()
    }
}

/// The boundary of a `multipart/form-data` content type, or `None` when it is not one.
pub fn boundary(content_type: &str) -> Option<Result<String, MultipartError>> {
    let mut fields = content_type.split(';');
    let kind = fields.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let b = fields
        .filter_map(|f| f.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string());
    Some(match b {
        Some(b) if !b.is_empty() && b.len() <= MAX_BOUNDARY && b.is_ascii() => Ok(b),
        _ => Err(MultipartError::Boundary),
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A parameter (`name="x"`) of a header value; quoted strings may hold `;`.
fn param(value: &str, key: &str) -> Option<String> {
    let mut rest = value;
    while let Some(i) = rest.find(';') {
        rest = rest[i + 1..].trim_start();
        let (k, v) = rest.split_once('=')?;
        let v = v.trim_start();
        let (val, after) = if let Some(q) = v.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = v.find(';').unwrap_or(v.len());
            (v[..end].trim(), &v[end..])
        };
        if k.trim().eq_ignore_ascii_case(key) {
            return Some(val.to_string());
        }
        rest = after;
    }
    None
}

/// Splits `body` into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut at = find(body, delim, 0).ok_or(MultipartError::Malformed("no first boundary"))?;
    let mut parts = Vec::new();
    loop {
        at += delim.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(MultipartError::Malformed(
                "a boundary is not followed by a line end",
            ));
        }
        at += 2;
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let head_end = find(body, b"\r\n\r\n", at)
            .filter(|e| e - at <= MAX_PART_HEAD)
            .ok_or(MultipartError::Malformed(
                "a part's headers are missing or too long",
            ))?;
        let head = std::str::from_utf8(&body[at..head_end])
            .map_err(|_| MultipartError::Malformed("a part's headers are not UTF-8"))?;
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once(':')
                .ok_or(MultipartError::Malformed("a part's header has no colon"))?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                if !v.trim_start().to_ascii_lowercase().starts_with("form-data") {
                    return Err(MultipartError::Malformed("a part is not form-data"));
                }
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            }
        }
        let name = name.ok_or(MultipartError::Malformed("a part has no name"))?;
        let data_start = head_end + 4;
        let mut end_delim = Vec::with_capacity(delim.len() + 2);
        end_delim.extend_from_slice(b"\r\n");
        end_delim.extend_from_slice(delim);
        let data_end = find(body, &end_delim, data_start)
            .ok_or(MultipartError::Malformed("a part has no closing boundary"))?;
        parts.push(Part {
            name,
            filename,
            content_type,
            data: &body[data_start..data_end],
        });
        at = data_end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\na cat; on a mat\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c;at.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x00--Xy\r\n--XyZ--\r\n";

    #[test]
    fn parts_are_found_with_their_bytes() {
        let b = boundary("multipart/form-data; boundary=\"XyZ\"")
            .unwrap()
            .unwrap();
        let parts = parse(FORM, &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "description");
        assert_eq!(parts[0].text(), "a cat; on a mat");
        assert_eq!(parts[1].filename.as_deref(), Some("c;at.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, b"\x89PNG\r\n\x00--Xy");
    }

    #[test]
    fn hostile_forms_are_refused() {
        assert!(boundary("application/json").is_none());
        assert_eq!(
            boundary("multipart/form-data").unwrap(),
            Err(MultipartError::Boundary)
        );
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))).unwrap(),
            Err(MultipartError::Boundary)
        );
        // every truncation of a good form before its closing `--` is an error or fewer
        // parts, never a panic
        for n in 0..FORM.len() - 2 {
            if let Ok(p) = parse(&FORM[..n], "XyZ") {
                assert!(p.len() < 2, "a cut form at {n} gave {p:?}");
            }
        }
        let mut many = Vec::new();
        for i in 0..=MAX_PARTS {
            many.extend_from_slice(
                format!("--B\r\nContent-Disposition: form-data; name=\"k{i}\"\r\n\r\nv\r\n")
                    .as_bytes(),
            );
        }
        many.extend_from_slice(b"--B--");
        assert_eq!(parse(&many, "B"), Err(MultipartError::TooManyParts));
        let nameless = b"--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--";
        assert!(parse(nameless, "B").is_err());
    }
}
