//! The response head: status line and header lines, and how they say the body is delimited.

use super::{is_token_byte, is_value_byte, Body, MAX_HEADER_LINES};
use crate::net::fetch::FetchError;

/// Status and headers of a complete head (its blank line included in `head`).
pub(super) fn parse_head(head: &[u8]) -> Result<(u16, Vec<(String, String)>), FetchError> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = status_line(lines.next().unwrap_or_default())?;
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADER_LINES {
            return Err(FetchError::TooLarge("header lines"));
        }
        headers.push(header_line(line)?);
    }
    Ok((status, headers))
}

/// `HTTP/1.x SSS reason` → the status.
fn status_line(line: &[u8]) -> Result<u16, FetchError> {
    const BAD: FetchError = FetchError::BadResponse("bad status line");
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))
        .ok_or(BAD)?;
    let (code, reason) = rest.split_at(rest.len().min(3));
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(BAD);
    }
    if !(reason.is_empty() || reason[0] == b' ') || !reason.iter().copied().all(is_value_byte) {
        return Err(BAD);
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(BAD);
    }
    Ok(status)
}

/// `Name: value` → (name, value without surrounding whitespace).
fn header_line(line: &[u8]) -> Result<(String, String), FetchError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(FetchError::BadResponse("folded header line"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(FetchError::BadResponse("header line without a colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().copied().all(is_token_byte) {
        return Err(FetchError::BadResponse("bad header name"));
    }
    if !value.iter().copied().all(is_value_byte) {
        return Err(FetchError::BadResponse("control byte in a header value"));
    }
    let value = String::from_utf8_lossy(value);
    Ok((
        String::from_utf8_lossy(name).into_owned(),
        value.trim_matches([' ', '\t']).to_string(),
    ))
}

/// How the body of a final response with `status` and `headers` is delimited; refuses
/// framings this client does not read and a `Content-Length` over `max_body`.
pub(super) fn framing(
    status: u16,
    headers: &[(String, String)],
    max_body: usize,
) -> Result<Body, FetchError> {
    let all = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if all("content-encoding").any(|v| !v.eq_ignore_ascii_case("identity")) {
        return Err(FetchError::BadResponse(
            "compressed body (Content-Encoding)",
        ));
    }
    if status == 204 || status == 304 {
        return Ok(Body::Done);
    }
    let mut te = all("transfer-encoding");
    let chunked = match (te.next(), te.next()) {
        (None, _) => false,
        (Some(v), None) if v.eq_ignore_ascii_case("chunked") => true,
        _ => {
            return Err(FetchError::BadResponse(
                "transfer coding other than chunked",
            ))
        }
    };
    let mut length: Option<u64> = None;
    for v in all("content-length") {
        if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FetchError::BadResponse("bad Content-Length"));
        }
        let n = v
            .parse::<u64>()
            .map_err(|_| FetchError::BadResponse("bad Content-Length"))?;
        if length.is_some_and(|l| l != n) {
            return Err(FetchError::BadResponse("conflicting Content-Length"));
        }
        length = Some(n);
    }
    match (chunked, length) {
        (true, Some(_)) => Err(FetchError::BadResponse(
            "both Transfer-Encoding and Content-Length",
        )),
        (true, None) => Ok(Body::ChunkSize),
        (false, Some(n)) if n > max_body as u64 => Err(FetchError::TooLarge("body")),
        (false, Some(0)) => Ok(Body::Done),
        (false, Some(n)) => Ok(Body::Length(n as usize)),
        (false, None) => Ok(Body::UntilClose),
    }
}
