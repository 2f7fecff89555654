//! The server name a TLS client asks for (SNI), read from its first record, sans IO.
//!
//! A hub routes each TLS connection on its HTTPS port by this name alone, down the relay
//! session of the node that proved that domain, without terminating TLS. The parser reads one
//! TLS record (`handshake`, at most [`MAX_RECORD`] bytes of body) holding a `ClientHello`, walks
//! its fixed fields and extensions with every length checked against what is left, and returns
//! the `host_name` of the `server_name` extension (RFC 6066), lowercased. It never panics on
//! any input: a short input asks for more ([`Sni::NeedMore`]), anything else malformed is an
//! error. A `ClientHello` split over several records is refused (no browser or TLS library
//! sends one that large at the start of a connection).

/// Most bytes of a TLS record body (RFC 8446 §5.1).
pub const MAX_RECORD: usize = 16 * 1024;
/// A TLS record header: type, version, length.
pub const RECORD_HEADER: usize = 5;
/// Longest host name taken (DNS).
pub const MAX_NAME: usize = 253;

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sni {
    /// At least this many bytes in all are needed.
    NeedMore(usize),
    /// The client names this host.
    Name(String),
    /// A `ClientHello` without a server name.
    NoName,
}

/// Why the first bytes are not a `ClientHello` msm routes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniError {
    /// Not a TLS handshake record, or not a `ClientHello`.
    #[error("not a TLS ClientHello")]
    NotClientHello,
    /// A length does not fit, or a field is malformed.
    #[error("malformed ClientHello: {0}")]
    Malformed(&'static str),
}

/// Reads the server name from the start of a TLS connection, `buf`.
pub fn server_name(buf: &[u8]) -> Result<Sni, SniError> {
    if buf.len() < RECORD_HEADER {
        return Ok(Sni::NeedMore(RECORD_HEADER));
    }
    if buf[0] != 0x16 || buf[1] != 0x03 {
        return Err(SniError::NotClientHello);
    }
    let len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    if len == 0 || len > MAX_RECORD {
        return Err(SniError::Malformed("record length"));
    }
    if buf.len() < RECORD_HEADER + len {
        return Ok(Sni::NeedMore(RECORD_HEADER + len));
    }
    let mut r = Reader(&buf[RECORD_HEADER..RECORD_HEADER + len]);
    if r.u8()? != 1 {
        return Err(SniError::NotClientHello);
    }
    let hello_len = r.u24()?;
    if hello_len > r.0.len() {
        return Err(SniError::Malformed("ClientHello spans records"));
    }
    let mut h = Reader(&r.0[..hello_len]);
    h.skip(2 + 32)?; // legacy version, random
    let session = usize::from(h.u8()?);
    h.skip(session)?;
    let suites = h.u16()?;
    h.skip(suites)?;
    let compression = usize::from(h.u8()?);
    h.skip(compression)?;
    if h.0.is_empty() {
        return Ok(Sni::NoName);
    }
    let ext_len = h.u16()?;
    let mut exts = Reader(h.take(ext_len)?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let n = exts.u16()?;
        let body = exts.take(n)?;
        if kind != 0 {
            continue;
        }
        let mut list = Reader(body);
        let list_len = list.u16()?;
        let mut names = Reader(list.take(list_len)?);
        while !names.0.is_empty() {
            let name_type = names.u8()?;
            let n = names.u16()?;
            let name = names.take(n)?;
            if name_type != 0 {
                continue;
            }
            if name.is_empty()
                || name.len() > MAX_NAME
                || !name
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
            {
                return Err(SniError::Malformed("host name"));
            }
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            return Ok(Sni::Name(name.trim_end_matches('.').to_string()));
        }
        return Ok(Sni::NoName);
    }
    Ok(Sni::NoName)
}

/// A cursor over bytes whose every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SniError> {
        if n > self.0.len() {
            return Err(SniError::Malformed("length past the end"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn skip(&mut self, n: usize) -> Result<(), SniError> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Result<u8, SniError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<usize, SniError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn u24(&mut self) -> Result<usize, SniError> {
        let b = self.take(3)?;
        Ok((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
}

#[cfg(test)]
#[path = "sni_tests.rs"]
mod tests;
