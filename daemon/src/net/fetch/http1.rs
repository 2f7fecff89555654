//! Sans-IO HTTP/1.1: the request head this client sends, and [`ResponseReader`], which takes
//! a response's bytes in pieces of any size (from any `Read`) and yields a [`Response`].
//!
//! Bounds: the head within [`MAX_HEAD_BYTES`] and [`MAX_HEADER_LINES`], at most
//! [`MAX_INTERIM`] interim (1xx) heads skipped, the body within the caller's `max_body`
//! (refused at once when `Content-Length` says more, and as soon as a chunk's size would pass
//! it), each chunk-size line within [`MAX_CHUNK_LINE`] and all chunked framing (size lines,
//! line ends, trailers) within [`MAX_FRAMING_BYTES`]. Refused: bodies with a `Content-Encoding`
//! (none is asked for), transfer codings other than `chunked`, `Content-Length` together with
//! `Transfer-Encoding`, conflicting lengths, folded header lines, bytes a header may not hold.

use super::{FetchError, Response};

/// Largest response head (status line, headers, blank line); real ones are under 2 KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines in a head.
pub const MAX_HEADER_LINES: usize = 64;
/// Most interim (1xx) responses skipped before the final one.
pub const MAX_INTERIM: usize = 4;
/// Longest chunk-size line (size, extensions, line end).
pub const MAX_CHUNK_LINE: usize = 256;
/// Most bytes of chunked framing around the data: enough for thousands of chunks.
pub const MAX_FRAMING_BYTES: usize = 64 * 1024;

/// The request head: request line, `Host`, `User-Agent`, `Connection: close`, the length of
/// a body if there is one, then the caller's headers. Refuses caller headers with bytes that
/// could end the line, and ones the client sets itself.
pub fn request_head(
    method: &str,
    authority: &str,
    path: &str,
    user_agent: &str,
    headers: &[(&str, &str)],
    body_len: Option<usize>,
) -> Result<Vec<u8>, FetchError> {
    const OWN: &[&str] = &[
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "accept-encoding",
        "user-agent",
    ];
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\n");
    if !user_agent.bytes().all(is_value_byte) {
        return Err(FetchError::BadHeader("User-Agent has a control byte"));
    }
    head.push_str(&format!(
        "User-Agent: {user_agent}\r\nConnection: close\r\n"
    ));
    if let Some(n) = body_len {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(FetchError::BadHeader("name is not a token"));
        }
        if OWN.iter().any(|o| name.eq_ignore_ascii_case(o)) {
            return Err(FetchError::BadHeader("the client sets this header itself"));
        }
        if !value.bytes().all(is_value_byte) {
            return Err(FetchError::BadHeader("value has a control byte"));
        }
        head.push_str(&format!("{name}: {}\r\n", value.trim_matches([' ', '\t'])));
    }
    head.push_str("\r\n");
    Ok(head.into_bytes())
}

/// A byte of a header name (RFC 9110 `tchar`).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte of a header value: visible ASCII, space, tab, or non-ASCII (`obs-text`).
fn is_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// How the body of the final response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// This many bytes are still to come.
    Length(usize),
    /// Chunked: reading a chunk-size line.
    ChunkSize,
    /// Chunked: this many data bytes of the current chunk are still to come.
    ChunkData(usize),
    /// Chunked: the line end after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer lines, up to a blank one.
    Trailers,
    /// Until the connection closes.
    UntilClose,
    /// Complete.
    Done,
}

/// Reads one HTTP/1.x response from pieces of bytes; see the module doc for its bounds.
#[derive(Debug)]
pub struct ResponseReader {
    max_body: usize,
    /// Bytes of the head (or of the current chunked framing line) not yet consumed.
    pending: Vec<u8>,
    /// The final head, once read.
    head: Option<(u16, Vec<(String, String)>)>,
    interim: usize,
    body_state: Body,
    body: Vec<u8>,
    framing: usize,
}

impl ResponseReader {
    /// A reader for a response whose body may hold at most `max_body` bytes.
    pub fn new(max_body: usize) -> ResponseReader {
        ResponseReader {
            max_body,
            pending: Vec::new(),
            head: None,
            interim: 0,
            body_state: Body::UntilClose,
            body: Vec::new(),
            framing: 0,
        }
    }

    /// Takes the next bytes; `Ok(true)` once the response is complete (later bytes are
    /// ignored: the request asked the server to close).
    pub fn push(&mut self, mut input: &[u8]) -> Result<bool, FetchError> {
        while !input.is_empty() && !self.is_done() {
            if self.head.is_none() {
                input = self.push_head(input)?;
            } else {
                input = self.push_body(input)?;
            }
        }
        Ok(self.is_done())
    }

    /// The connection ended: complete for a body read until close, an error otherwise
    /// unless the response was already complete.
    pub fn end(&mut self) -> Result<(), FetchError> {
        match (self.head.is_some(), self.body_state) {
            (_, Body::Done) => Ok(()),
            (true, Body::UntilClose) => {
                self.body_state = Body::Done;
                Ok(())
            }
            (false, _) => Err(FetchError::BadResponse("connection closed before the head")),
            _ => Err(FetchError::BadResponse("connection closed inside the body")),
        }
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        self.body_state == Body::Done
    }

    /// Whether the body is delimited only by the end of the connection.
    pub fn reads_until_close(&self) -> bool {
        self.head.is_some() && self.body_state == Body::UntilClose
    }

    /// The response, once complete.
    pub fn into_response(self) -> Result<Response, FetchError> {
        match (self.head, self.body_state) {
            (Some((status, headers)), Body::Done) => Ok(Response {
                status,
                headers,
                body: self.body,
            }),
            _ => Err(FetchError::BadResponse("incomplete response")),
        }
    }

    /// Collects head bytes; returns what follows the head once it is complete.
    fn push_head<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], FetchError> {
        let before = self.pending.len();
        let take = input.len().min(MAX_HEAD_BYTES - before);
        self.pending.extend_from_slice(&input[..take]);
        // The blank line may begin up to three bytes back ("\r\n\r" + "\n").
        let from = before.saturating_sub(3);
        let Some(end) = find_head_end(&self.pending, from) else {
            if self.pending.len() >= MAX_HEAD_BYTES {
                return Err(FetchError::TooLarge("response head"));
            }
            return Ok(&input[take..]);
        };
        let used = end - before;
        let head = std::mem::take(&mut self.pending);
        let (status, headers) = parse_head(&head[..end])?;
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(FetchError::BadResponse("unexpected protocol switch"));
            }
            self.interim += 1;
            if self.interim > MAX_INTERIM {
                return Err(FetchError::BadResponse("too many interim responses"));
            }
            return Ok(&input[used..]);
        }
        self.body_state = framing(status, &headers, self.max_body)?;
        if let Body::Length(n) = self.body_state {
            self.body.reserve_exact(n);
        }
        self.head = Some((status, headers));
        Ok(&input[used..])
    }

    /// Takes body bytes (and chunked framing); returns the rest of `input`.
    fn push_body<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], FetchError> {
        match self.body_state {
            Body::Length(n) => {
                let take = n.min(input.len());
                self.body.extend_from_slice(&input[..take]);
                self.body_state = match n - take {
                    0 => Body::Done,
                    left => Body::Length(left),
                };
                Ok(&input[take..])
            }
            Body::UntilClose => {
                if input.len() > self.max_body - self.body.len() {
                    return Err(FetchError::TooLarge("body"));
                }
                self.body.extend_from_slice(input);
                Ok(&[])
            }
            Body::ChunkData(n) => {
                let take = n.min(input.len());
                self.body.extend_from_slice(&input[..take]);
                self.body_state = match n - take {
                    0 => Body::ChunkEnd,
                    left => Body::ChunkData(left),
                };
                Ok(&input[take..])
            }
            Body::ChunkSize | Body::ChunkEnd | Body::Trailers => self.push_framing_line(input),
            Body::Done => Ok(&[]),
        }
    }

    /// Collects one line of chunked framing and acts on it once complete.
    fn push_framing_line<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], FetchError> {
        let limit = match self.body_state {
            Body::Trailers => MAX_HEAD_BYTES,
            _ => MAX_CHUNK_LINE,
        };
        let (take, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (input.len(), false),
        };
        if self.pending.len() + take > limit {
            return Err(FetchError::TooLarge(match self.body_state {
                Body::Trailers => "trailer line",
                _ => "chunk-size line",
            }));
        }
        self.framing += take;
        if self.framing > MAX_FRAMING_BYTES {
            return Err(FetchError::TooLarge("chunked framing"));
        }
        self.pending.extend_from_slice(&input[..take]);
        if !complete {
            return Ok(&[]);
        }
        let line = std::mem::take(&mut self.pending);
        let line = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(&line);
        self.body_state = match self.body_state {
            Body::ChunkEnd if line.is_empty() => Body::ChunkSize,
            Body::ChunkEnd => return Err(FetchError::BadResponse("no line end after a chunk")),
            Body::Trailers if line.is_empty() => Body::Done,
            Body::Trailers => Body::Trailers,
            _ => match chunk_size(line)? {
                0 => Body::Trailers,
                n if n > self.max_body - self.body.len() => {
                    return Err(FetchError::TooLarge("body"))
                }
                n => Body::ChunkData(n),
            },
        };
        Ok(&input[take..])
    }
}

/// Where the head ends (just past its blank line), searching from `from`.
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let nl = i + p;
        let rest = &buf[nl + 1..];
        if rest.starts_with(b"\n") {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

/// The size on a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Result<usize, FetchError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    if digits == 0 || !(rest.is_empty() || matches!(rest[0], b';' | b' ' | b'\t')) {
        return Err(FetchError::BadResponse("bad chunk size"));
    }
    let hex = std::str::from_utf8(&line[..digits]).unwrap_or("");
    let hex = hex.trim_start_matches('0');
    if hex.len() > 16 {
        return Err(FetchError::TooLarge("body"));
    }
    match u64::from_str_radix(if hex.is_empty() { "0" } else { hex }, 16) {
        Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Err(_) => Err(FetchError::BadResponse("bad chunk size")),
    }
}

#[path = "http1_head.rs"]
mod head;
use head::{framing, parse_head};

#[cfg(test)]
#[path = "http1_tests.rs"]
mod tests;
