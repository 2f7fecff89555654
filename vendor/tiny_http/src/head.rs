//! msm patch: reading and checking a request head (RFC 9112 §2-§5), over any `Read`.
//!
//! Bounds: a line is at most [`MAX_HEADER_LINE`] bytes, a head at most [`MAX_HEAD_BYTES`] and
//! [`MAX_HEADERS`] fields (431 past them). Strict where a lax parser would let two servers
//! read one head differently: exactly three parts in the request line, no control characters
//! (a bare CR or LF) in a line, no whitespace in a field name (`Content-Length : 5`), no
//! obsolete line folding, one `Host`. A version above 1.1 gets 505. Every refusal closes the
//! connection, since where the next request starts is not known.

use std::io::{self, ErrorKind, Read};
use std::str::FromStr;

use crate::common::{HTTPVersion, Header, Method};

/// Longest request or header line.
pub const MAX_HEADER_LINE: usize = 8 * 1024;
/// Largest request head (request line and all headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines in a request.
pub const MAX_HEADERS: usize = 64;
/// Empty lines taken before a request line (RFC 9112 §2.2: some clients send a CRLF after a
/// body); they count in the head's bytes too.
const MAX_LEADING_EMPTY_LINES: usize = 4;

/// A request head.
#[derive(Debug)]
pub struct Head {
    /// The method.
    pub method: Method,
    /// The request target.
    pub path: String,
    /// The version.
    pub version: HTTPVersion,
    /// The header fields, in order.
    pub headers: Vec<Header>,
}

/// Why no head was read.
#[derive(Debug)]
pub enum HeadError {
    /// The connection ended (closed, failed or timed out) before a byte of a request.
    Closed,
    /// The socket failed or timed out within a head.
    Io(io::Error),
    /// 400: malformed.
    Bad(&'static str),
    /// 431: over a bound.
    TooLarge,
    /// 505: a version above HTTP/1.1.
    Version,
}

impl HeadError {
    /// The status to answer with and why; `None` when the connection just closes.
    pub fn answer(&self) -> Option<(u16, &'static str)> {
        match self {
            HeadError::Closed => None,
            HeadError::Io(e) if e.kind() == ErrorKind::TimedOut => {
                Some((408, "request head not received in time"))
            }
            HeadError::Io(_) => None,
            HeadError::Bad(why) => Some((400, why)),
            HeadError::TooLarge => Some((431, "request header too large")),
            HeadError::Version => Some((505, "only HTTP/1.0 and HTTP/1.1 are served")),
        }
    }
}

/// Reads lines of one head, counting its bytes; calls `started` at the first byte.
struct Lines<'a, R, F> {
    r: &'a mut R,
    bytes: usize,
    started: Option<F>,
}

impl<R: Read, F: FnOnce()> Lines<'_, R, F> {
    /// The next line without its CRLF; `Ok(None)` when the input ends before any byte.
    fn next(&mut self) -> Result<Option<Vec<u8>>, HeadError> {
        let mut buf = Vec::new();
        let mut b = [0u8];
        loop {
            if buf.len() >= MAX_HEADER_LINE || self.bytes >= MAX_HEAD_BYTES {
                return Err(HeadError::TooLarge);
            }
            match self.r.read(&mut b) {
                Ok(0) if self.bytes == 0 => return Ok(None),
                Ok(0) => {
                    let e = io::Error::new(ErrorKind::UnexpectedEof, "head cut short");
                    return Err(HeadError::Io(e));
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) if self.bytes == 0 => return Err(HeadError::Closed),
                Err(e) => return Err(HeadError::Io(e)),
            }
            self.bytes += 1;
            if let Some(f) = self.started.take() {
                f();
            }
            if b[0] == b'\n' && buf.last() == Some(&b'\r') {
                buf.pop();
                return Ok(Some(buf));
            }
            buf.push(b[0]);
        }
    }
}

/// A line's text: ASCII with no control character but HTAB.
fn text(line: Vec<u8>) -> Result<String, HeadError> {
    if line.iter().any(|&b| b >= 0x7f || (b < b' ' && b != b'\t')) {
        return Err(HeadError::Bad(
            "control or non-ASCII byte in the request head",
        ));
    }
    String::from_utf8(line).map_err(|_| HeadError::Bad("request head is not ASCII"))
}

/// Reads one request head from `r`; `started` is called once its first byte has arrived.
pub fn read_head<R: Read>(r: &mut R, started: impl FnOnce()) -> Result<Head, HeadError> {
    let mut lines = Lines {
        r,
        bytes: 0,
        started: Some(started),
    };
    let mut request_line = None;
    for _ in 0..=MAX_LEADING_EMPTY_LINES {
        match lines.next()? {
            None => return Err(HeadError::Closed),
            Some(l) if l.is_empty() => continue,
            Some(l) => {
                request_line = Some(l);
                break;
            }
        }
    }
    let request_line = text(request_line.ok_or(HeadError::Bad("no request line"))?)?;
    let (method, path, version) = parse_request_line(&request_line)?;
    let mut headers: Vec<Header> = Vec::new();
    loop {
        let line = lines
            .next()?
            .ok_or(HeadError::Bad("request head cut short"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HeadError::TooLarge);
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(HeadError::Bad("obsolete line folding in the request head"));
        }
        let line = text(line)?;
        let (name, _) = line
            .split_once(':')
            .ok_or(HeadError::Bad("header line without a colon"))?;
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(HeadError::Bad("malformed header name"));
        }
        let h = Header::from_str(&line).map_err(|()| HeadError::Bad("malformed header"))?;
        if h.field.equiv("Host") && headers.iter().any(|o| o.field.equiv("Host")) {
            return Err(HeadError::Bad("two Host headers"));
        }
        headers.push(h);
    }
    Ok(Head {
        method,
        path,
        version,
        headers,
    })
}

/// A `tchar` of RFC 9110 §5.6.2.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `METHOD TARGET HTTP/x.y`, exactly.
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), HeadError> {
    let bad = HeadError::Bad("malformed request line");
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad);
    };
    if method.is_empty() || !method.bytes().all(is_token) || path.is_empty() {
        return Err(bad);
    }
    let version = match version {
        "HTTP/1.0" => HTTPVersion(1, 0),
        "HTTP/1.1" => HTTPVersion(1, 1),
        v if v.starts_with("HTTP/") && v.len() == 8 && v.as_bytes()[5] > b'1' => {
            return Err(HeadError::Version)
        }
        _ => return Err(bad),
    };
    let method = Method::from_str(method).map_err(|()| HeadError::Bad("malformed method"))?;
    Ok((method, path.to_owned(), version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn head(s: &str) -> Result<Head, HeadError> {
        read_head(&mut Cursor::new(s.as_bytes().to_vec()), || {})
    }

    #[test]
    fn heads_are_read_strictly() {
        let h = head("\r\nGET /a HTTP/1.1\r\nHost: x\r\nA:  b \r\n\r\n").unwrap();
        assert_eq!(h.path, "/a");
        assert_eq!(h.headers.len(), 2);
        assert_eq!(h.headers[1].value.as_str(), "b");
        for bad in [
            "GET /a HTTP/1.1 x\r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\rc\r\n\r\n",
            "GET /a HTTP/1.1\nA: b\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET /a HTTP/0.9\r\n\r\n",
            "GET /a HTTP/1.1\r\n: b\r\n\r\n",
        ] {
            assert!(matches!(head(bad), Err(HeadError::Bad(_))), "{bad:?}");
        }
        assert!(matches!(
            head("GET / HTTP/2.0\r\n\r\n"),
            Err(HeadError::Version)
        ));
        assert!(matches!(head(""), Err(HeadError::Closed)));
        assert!(matches!(head("GET / HT"), Err(HeadError::Io(_))));
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEADER_LINE));
        assert!(matches!(head(&long), Err(HeadError::TooLarge)));
    }
}
