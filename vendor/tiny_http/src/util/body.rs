//! msm patch: request body framing (RFC 9112 §6) and reading a whole body into memory.
//!
//! Framing is strict, because two parsers that frame one byte stream differently are how
//! requests get smuggled: `Content-Length` and `Transfer-Encoding` together, two different
//! lengths, a length that is not plain digits or overflows, a transfer coding other than
//! `chunked`, `Transfer-Encoding` in HTTP/1.0, a chunk size that is not hex or overflows, chunk
//! data not followed by CRLF, over-long chunk or trailer lines: each is refused (400, 501),
//! and the connection closes after the answer.
//!
//! A body is read whole, under the connection's body deadline, before its request is handed
//! to a worker, so a slow client holds its own connection thread and never a worker. Memory:
//! the first [`BodyBudget`]'s `free` bytes of each body cost nothing from the shared budget
//! (a router's typical request is a log-in or a post of a few KB); bytes past that are leased
//! from one shared budget, so all bodies held at once cost at most
//! `connections × free + shared`. A body that cannot lease more is refused (503).

use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::{HTTPVersion, Header};

/// Most bytes read from the socket into a body in one step, and the first allocation.
const READ_STEP: usize = 8 * 1024;
/// Longest chunk-size line (size, extensions, CRLF).
pub const MAX_CHUNK_LINE: usize = 1024;
/// Most bytes of trailer fields after the last chunk (they are read and dropped).
pub const MAX_TRAILER_BYTES: usize = 4 * 1024;
/// Longest `Content-Length` value: 20 digits hold any `u64`.
const MAX_LENGTH_DIGITS: usize = 20;

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a body was refused; the connection closes after the answer.
#[derive(Debug)]
pub enum BodyError {
    /// 400: the framing is ambiguous or malformed.
    BadFraming(&'static str),
    /// 501: a transfer coding other than `chunked`.
    UnsupportedCoding,
    /// 413: the body is larger than the server takes.
    TooLarge,
    /// 503: the bytes all bodies may hold at once are in use.
    Busy,
    /// The socket failed, closed or timed out.
    Io(io::Error),
}

impl From<io::Error> for BodyError {
    fn from(e: io::Error) -> Self {
        BodyError::Io(e)
    }
}

impl BodyError {
    /// The status to answer with and why; `None` when the connection just closes.
    pub fn answer(&self) -> Option<(u16, &'static str)> {
        match self {
            BodyError::BadFraming(why) => Some((400, why)),
            BodyError::UnsupportedCoding => {
                Some((501, "only the chunked transfer coding is taken"))
            }
            BodyError::TooLarge => Some((413, "request body too large")),
            BodyError::Busy => Some((503, "server busy; try again")),
            BodyError::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
                Some((408, "request body not received in time"))
            }
            BodyError::Io(_) => None,
        }
    }
}

/// msm patch: a body of at least this many bytes is allocated whole at once.
const LARGE_BODY: usize = 1024 * 1024;

/// Bytes that request bodies may hold in memory at once.
#[derive(Debug)]
pub struct BodyBudget {
    free: usize,
    left: AtomicUsize,
}

impl BodyBudget {
    /// Each body holds its first `free` bytes without lease; past them, bodies share `shared`.
    pub fn new(free: usize, shared: usize) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            free,
            left: AtomicUsize::new(shared),
        })
    }

    fn take(&self, n: usize) -> bool {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| l.checked_sub(n))
            .is_ok()
    }

    /// Shared bytes not leased now.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }
}

/// Bytes a body leases from the shared budget; given back when the body is dropped.
#[derive(Debug)]
struct Lease {
    budget: Arc<BodyBudget>,
    leased: usize,
}

impl Lease {
    /// Leases what a body of `capacity` bytes needs past the free part.
    fn cover(&mut self, capacity: usize) -> Result<(), BodyError> {
        let need = capacity.saturating_sub(self.budget.free);
        if need > self.leased {
            if !self.budget.take(need - self.leased) {
                return Err(BodyError::Busy);
            }
            self.leased = need;
        }
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.budget.left.fetch_add(self.leased, Ordering::AcqRel);
    }
}

/// A body read whole, holding its lease until dropped.
#[derive(Debug)]
pub struct Body {
    data: Cursor<Vec<u8>>,
    _lease: Lease,
}

impl Body {
    /// Bytes in the body.
    pub fn len(&self) -> usize {
        self.data.get_ref().len()
    }

    /// msm patch: the bytes not read yet.
    pub fn unread(&self) -> &[u8] {
        let at = (self.data.position() as usize).min(self.len());
        &self.data.get_ref()[at..]
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.data.read(buf)
    }
}

/// The framing a request's headers declare; a declared length over `max` is `TooLarge`.
pub fn framing(
    headers: &[Header],
    version: &HTTPVersion,
    max: usize,
) -> Result<Framing, BodyError> {
    let mut coding = None;
    let mut length: Option<u64> = None;
    for h in headers {
        if h.field.equiv("Transfer-Encoding") {
            if coding.is_some() {
                return Err(BodyError::BadFraming("Transfer-Encoding given twice"));
            }
            coding = Some(h.value.as_str());
        } else if h.field.equiv("Content-Length") {
            let v = h.value.as_str();
            if v.is_empty() || v.len() > MAX_LENGTH_DIGITS || !v.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(BodyError::BadFraming("Content-Length is not a length"));
            }
            let n: u64 = v
                .parse()
                .map_err(|_| BodyError::BadFraming("Content-Length is not a length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(BodyError::BadFraming("two different Content-Length values"));
            }
            length = Some(n);
        }
    }
    match (coding, length) {
        (Some(_), Some(_)) => Err(BodyError::BadFraming(
            "both Content-Length and Transfer-Encoding",
        )),
        (Some(_), None) if *version < HTTPVersion(1, 1) => Err(BodyError::BadFraming(
            "Transfer-Encoding in an HTTP/1.0 request",
        )),
        (Some(c), None) if c.trim().eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
        (Some(_), None) => Err(BodyError::UnsupportedCoding),
        (None, Some(n)) if n > max as u64 => Err(BodyError::TooLarge),
        (None, Some(0)) | (None, None) => Ok(Framing::None),
        (None, Some(n)) => Ok(Framing::Length(n as usize)),
    }
}

/// Reads a whole body framed by `framing` from `r`: at most `max` bytes, leasing from `budget`.
pub fn read_body<R: Read>(
    r: &mut R,
    framing: Framing,
    max: usize,
    budget: &Arc<BodyBudget>,
) -> Result<Body, BodyError> {
    let mut sink = Sink {
        buf: Vec::new(),
        lease: Lease {
            budget: budget.clone(),
            leased: 0,
        },
        max,
    };
    match framing {
        Framing::None => {}
        Framing::Length(n) => sink.read_exact_from(r, n)?,
        Framing::Chunked => read_chunked(r, &mut sink)?,
    }
    Ok(Body {
        data: Cursor::new(sink.buf),
        _lease: sink.lease,
    })
}

/// The body being read: grows by steps, leasing what it holds past the free part.
struct Sink {
    buf: Vec<u8>,
    lease: Lease,
    max: usize,
}

impl Sink {
    /// Appends exactly `n` more bytes from `r`.
    fn read_exact_from<R: Read>(&mut self, r: &mut R, n: usize) -> Result<(), BodyError> {
        let end = self
            .buf
            .len()
            .checked_add(n)
            .filter(|&e| e <= self.max)
            .ok_or(BodyError::TooLarge)?;
        while self.buf.len() < end {
            if self.buf.len() == self.buf.capacity() {
                // Double, bounded by what is declared: memory follows the bytes received.
                // msm patch: a large body (an upload) takes its whole declared length at
                // once: one allocation the allocator maps and unmaps on its own, so the
                // memory goes back when the body is dropped (growing by steps left the steps
                // in the allocator's arenas); pages are touched only as bytes arrive.
                let cap = if end >= LARGE_BODY && self.buf.capacity() == 0 {
                    end
                } else {
                    (self.buf.capacity() * 2).max(READ_STEP).min(end)
                };
                self.lease.cover(cap)?;
                self.buf.reserve_exact(cap - self.buf.len());
            }
            let old = self.buf.len();
            let step = (end - old).min(READ_STEP).min(self.buf.capacity() - old);
            self.buf.resize(old + step, 0);
            let got = match r.read(&mut self.buf[old..]) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e.into());
                }
            };
            self.buf.truncate(old + got);
            if got == 0 && step > 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut short").into());
            }
        }
        Ok(())
    }
}

/// One byte from `r`; end of input is an error.
fn byte<R: Read>(r: &mut R) -> Result<u8, BodyError> {
    let mut b = [0u8];
    loop {
        match r.read(&mut b) {
            Ok(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body cut short").into())
            }
            Ok(_) => return Ok(b[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads a line ended by CRLF (returned without it) of at most `max` bytes.
fn line<R: Read>(r: &mut R, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    loop {
        match byte(r)? {
            b'\r' => {
                return match byte(r)? {
                    b'\n' => Ok(out),
                    _ => Err(BodyError::BadFraming(
                        "CR not followed by LF in chunked framing",
                    )),
                }
            }
            b'\n' => return Err(BodyError::BadFraming("bare LF in chunked framing")),
            b => {
                if out.len() + 2 >= max {
                    return Err(BodyError::BadFraming("chunked framing line too long"));
                }
                out.push(b);
            }
        }
    }
}

/// The size of a chunk from its size line: hex digits, then optional extensions.
fn chunk_size(line: &[u8]) -> Result<usize, BodyError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(BodyError::BadFraming("chunk size is not hex"));
    }
    let mut size: usize = 0;
    for &b in &line[..digits] {
        let d = (b as char).to_digit(16).unwrap_or(0) as usize;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(d))
            .ok_or(BodyError::TooLarge)?;
    }
    let rest = &line[digits..];
    let ext = rest.iter().position(|&b| b != b' ' && b != b'\t');
    match ext.map(|i| &rest[i..]) {
        None if rest.is_empty() => {}
        Some(e) if e[0] == b';' && e.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) => {}
        _ => return Err(BodyError::BadFraming("bad chunk size line")),
    }
    Ok(size)
}

/// Reads a chunked body (RFC 9112 §7.1) into `sink`; trailers are read and dropped.
fn read_chunked<R: Read>(r: &mut R, sink: &mut Sink) -> Result<(), BodyError> {
    loop {
        let size = chunk_size(&line(r, MAX_CHUNK_LINE)?)?;
        if size == 0 {
            break;
        }
        sink.read_exact_from(r, size)?;
        if byte(r)? != b'\r' || byte(r)? != b'\n' {
            return Err(BodyError::BadFraming("chunk data not followed by CRLF"));
        }
    }
    let mut trailers = 0;
    loop {
        let l = line(r, MAX_TRAILER_BYTES)?;
        if l.is_empty() {
            return Ok(());
        }
        trailers += l.len() + 2;
        if trailers > MAX_TRAILER_BYTES {
            return Err(BodyError::BadFraming("trailer fields too large"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn heads(lines: &[&str]) -> Vec<Header> {
        lines.iter().map(|l| Header::from_str(l).unwrap()).collect()
    }

    fn frame(lines: &[&str]) -> Result<Framing, BodyError> {
        framing(&heads(lines), &HTTPVersion(1, 1), 1000)
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        assert_eq!(frame(&["Content-Length: 5"]).unwrap(), Framing::Length(5));
        assert_eq!(
            frame(&["Content-Length: 5", "Content-Length: 5"]).unwrap(),
            Framing::Length(5)
        );
        assert_eq!(
            frame(&["Transfer-Encoding: chunked"]).unwrap(),
            Framing::Chunked
        );
        for bad in [
            &["Content-Length: 5", "Transfer-Encoding: chunked"][..],
            &["Content-Length: 5", "Content-Length: 6"],
            &["Content-Length: -5"],
            &["Content-Length: +5"],
            &["Content-Length: 5, 5"],
            &["Content-Length: 0x10"],
            &["Content-Length: 99999999999999999999999"],
            &["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
        ] {
            assert!(
                matches!(frame(bad), Err(BodyError::BadFraming(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            frame(&["Transfer-Encoding: gzip, chunked"]),
            Err(BodyError::UnsupportedCoding)
        ));
        assert!(matches!(
            frame(&["Content-Length: 1000000000000"]),
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(
            framing(
                &heads(&["Transfer-Encoding: chunked"]),
                &HTTPVersion(1, 0),
                10
            ),
            Err(BodyError::BadFraming(_))
        ));
    }

    fn chunked(input: &str, max: usize) -> Result<(Vec<u8>, Vec<u8>), BodyError> {
        let budget = BodyBudget::new(16, 1 << 20);
        let mut r = Cursor::new(input.as_bytes().to_vec());
        let mut body = read_body(&mut r, Framing::Chunked, max, &budget)?;
        let mut out = Vec::new();
        body.read_to_end(&mut out).unwrap();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        Ok((out, rest))
    }

    #[test]
    fn chunked_bodies_are_read_strictly() {
        let (b, rest) = chunked("5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nT: v\r\n\r\nGET", 100).unwrap();
        assert_eq!(b, b"hello!");
        assert_eq!(rest, b"GET");
        for bad in [
            "z\r\nhello\r\n0\r\n\r\n",
            "5\r\nhelloXX0\r\n\r\n",
            "5\nhello\r\n0\r\n\r\n",
            "-5\r\nhello\r\n0\r\n\r\n",
            "5 x\r\nhello\r\n0\r\n\r\n",
        ] {
            assert!(
                matches!(chunked(bad, 100), Err(BodyError::BadFraming(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            chunked("fffffffffffffffffffff\r\n", 100),
            Err(BodyError::TooLarge)
        ));
        assert!(matches!(chunked("65\r\n", 100), Err(BodyError::TooLarge)));
        assert!(matches!(chunked("5\r\nhel", 100), Err(BodyError::Io(_))));
    }

    #[test]
    fn the_shared_budget_bounds_what_bodies_hold() {
        let budget = BodyBudget::new(8 * 1024, 20 * 1024);
        let mut r = Cursor::new(vec![7u8; 64 * 1024]);
        let a = read_body(&mut r, Framing::Length(16 * 1024), 64 * 1024, &budget).unwrap();
        assert_eq!(a.len(), 16 * 1024);
        assert_eq!(budget.left(), 12 * 1024);
        let b = read_body(&mut r, Framing::Length(32 * 1024), 64 * 1024, &budget);
        assert!(matches!(b, Err(BodyError::Busy)));
        assert_eq!(budget.left(), 12 * 1024);
        drop(a);
        assert_eq!(budget.left(), 20 * 1024);
    }
}
