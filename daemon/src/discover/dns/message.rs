//! DNS messages (RFC 1035), sans-IO: a query for one name and type, and the answer to it read
//! back with every length, pointer and count checked. Only what discovery asks is understood:
//! A, AAAA, SRV (RFC 2782), TXT and the CNAMEs that lead to them.
//!
//! An answer is taken only when it is a response to this query: same id, one question with
//! the same name (ASCII case-insensitive) and type. Records are kept when their owner is the
//! name asked or a name a CNAME in the answer leads to from it (a recursive server answers
//! `www → cname → A` in one message); everything else in the message is ignored.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest name, in presentation form without the final dot (RFC 1035 §2.3.4: 255 octets on
/// the wire).
pub const MAX_NAME: usize = 253;
/// Longest label.
pub const MAX_LABEL: usize = 63;
/// Compression pointers followed while reading one name (a loop is refused).
pub const MAX_POINTER_HOPS: usize = 16;
/// Records read from one answer; more is refused as hostile (discovery needs a handful).
pub const MAX_RECORDS: usize = 64;
/// CNAMEs followed from the name asked.
pub const MAX_CNAME_CHAIN: usize = 8;
/// Largest message read (a TCP answer; UDP answers without EDNS are at most 512 bytes).
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Longest TXT record kept, its strings joined.
pub const MAX_TXT: usize = 1024;

const HEADER: usize = 12;
const CLASS_IN: u16 = 1;
const TYPE_CNAME: u16 = 5;

/// A record type discovery asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qtype {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Service location.
    Srv,
    /// Text.
    Txt,
}

impl Qtype {
    fn code(self) -> u16 {
        match self {
            Qtype::A => 1,
            Qtype::Aaaa => 28,
            Qtype::Srv => 33,
            Qtype::Txt => 16,
        }
    }
}

/// Response codes discovery tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// NOERROR: records, or none of this type (NODATA).
    NoError,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// Any other (SERVFAIL, REFUSED, …), with its number.
    Other(u8),
}

/// One record kept from an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service target.
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Share within a priority.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host, without the final dot ("" for the root: no service).
        target: String,
    },
    /// A TXT record's strings joined (lossy UTF-8).
    Txt(String),
}

/// An answer to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The response code.
    pub rcode: Rcode,
    /// TC: the answer did not fit a UDP datagram; ask again over TCP.
    pub truncated: bool,
    /// Records of the type asked, owned by the name or its CNAME chain.
    pub records: Vec<Record>,
    /// Smallest TTL among them, in seconds (0 when there is none).
    pub ttl: u32,
}

/// Why a query could not be made or an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name cannot be asked (empty label, too long, not ASCII).
    #[error("bad name: {0}")]
    BadName(&'static str),
    /// The message is not a well-formed answer to this query.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
}

/// The query `id` for `name` (no final dot needed) and `qtype`, recursion desired.
pub fn query(id: u16, name: &str, qtype: Qtype) -> Result<Vec<u8>, DnsError> {
    let mut out = Vec::with_capacity(HEADER + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00]); // RD
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    encode_name(&mut out, name)?;
    out.extend_from_slice(&qtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

fn encode_name(out: &mut Vec<u8>, name: &str) -> Result<(), DnsError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(DnsError::BadName("empty or longer than 253 characters"));
    }
    if !name.is_ascii() {
        return Err(DnsError::BadName("not ASCII (IDNA-encode it first)"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err(DnsError::BadName("a label is empty or longer than 63"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// Reads `msg` as the answer to query `id` for `name` and `qtype`.
pub fn answer(msg: &[u8], id: u16, name: &str, qtype: Qtype) -> Result<Answer, DnsError> {
    if msg.len() < HEADER || msg.len() > MAX_MESSAGE {
        return Err(DnsError::Malformed("size"));
    }
    let u16_at = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    if u16_at(0) != id {
        return Err(DnsError::Malformed("another query's id"));
    }
    let flags = u16_at(2);
    if flags & 0x8000 == 0 {
        return Err(DnsError::Malformed("a query, not a response"));
    }
    let truncated = flags & 0x0200 != 0;
    let rcode = match flags & 0x000f {
        0 => Rcode::NoError,
        3 => Rcode::NxDomain,
        n => Rcode::Other(n as u8),
    };
    if u16_at(4) != 1 {
        return Err(DnsError::Malformed("not exactly one question"));
    }
    let ancount = usize::from(u16_at(6));
    if ancount > MAX_RECORDS {
        return Err(DnsError::Malformed("too many records"));
    }
    let mut pos = HEADER;
    let (qname, next) = read_name(msg, pos)?;
    pos = next;
    let qfields = msg
        .get(pos..pos + 4)
        .ok_or(DnsError::Malformed("question cut short"))?;
    pos += 4;
    let asked = name.strip_suffix('.').unwrap_or(name);
    if !qname.eq_ignore_ascii_case(asked)
        || u16::from_be_bytes([qfields[0], qfields[1]]) != qtype.code()
        || u16::from_be_bytes([qfields[2], qfields[3]]) != CLASS_IN
    {
        return Err(DnsError::Malformed("an answer to another question"));
    }
    let mut out = Answer {
        rcode,
        truncated,
        records: Vec::new(),
        ttl: 0,
    };
    if truncated {
        return Ok(out); // asked again over TCP; a cut answer is not read
    }
    // First the records' headers and the CNAMEs among them (a server may list a record
    // before the CNAME that leads to it), then the chain from the name asked, then the
    // records of the type asked that it owns.
    struct Rr {
        owner: String,
        rtype: u16,
        ttl: u32,
        at: usize,
        len: usize,
    }
    let mut rrs = Vec::with_capacity(ancount);
    let mut cnames: Vec<(String, String)> = Vec::new();
    for _ in 0..ancount {
        let (owner, next) = read_name(msg, pos)?;
        pos = next;
        let fixed = msg
            .get(pos..pos + 10)
            .ok_or(DnsError::Malformed("record cut short"))?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        pos += 10;
        let at = pos;
        msg.get(pos..pos + len)
            .ok_or(DnsError::Malformed("record data cut short"))?;
        pos += len;
        if class != CLASS_IN {
            continue;
        }
        let owner = owner.to_ascii_lowercase();
        if rtype == TYPE_CNAME {
            let (target, end) = read_name(msg, at)?;
            if end != pos {
                return Err(DnsError::Malformed("CNAME length"));
            }
            cnames.push((owner, target.to_ascii_lowercase()));
        } else if rtype == qtype.code() {
            rrs.push(Rr {
                owner,
                rtype,
                ttl,
                at,
                len,
            });
        }
    }
    let mut owners: Vec<String> = vec![asked.to_ascii_lowercase()];
    while let Some((_, target)) = cnames.iter().find(|(from, _)| Some(from) == owners.last()) {
        if owners.contains(target) {
            return Err(DnsError::Malformed("CNAME loop"));
        }
        if owners.len() > MAX_CNAME_CHAIN {
            return Err(DnsError::Malformed("CNAME chain too long"));
        }
        owners.push(target.clone());
    }
    let mut ttl = u32::MAX;
    for rr in rrs.iter().filter(|rr| owners.contains(&rr.owner)) {
        debug_assert_eq!(rr.rtype, qtype.code());
        let (rdata, end) = (&msg[rr.at..rr.at + rr.len], rr.at + rr.len);
        let record = match qtype {
            Qtype::A => {
                let b: [u8; 4] = rdata
                    .try_into()
                    .map_err(|_| DnsError::Malformed("A length"))?;
                Record::A(Ipv4Addr::from(b))
            }
            Qtype::Aaaa => {
                let b: [u8; 16] = rdata
                    .try_into()
                    .map_err(|_| DnsError::Malformed("AAAA length"))?;
                Record::Aaaa(Ipv6Addr::from(b))
            }
            Qtype::Srv => {
                if rr.len < 7 {
                    return Err(DnsError::Malformed("SRV length"));
                }
                let (target, after) = read_name(msg, rr.at + 6)?;
                if after != end {
                    return Err(DnsError::Malformed("SRV length"));
                }
                Record::Srv {
                    priority: u16::from_be_bytes([rdata[0], rdata[1]]),
                    weight: u16::from_be_bytes([rdata[2], rdata[3]]),
                    port: u16::from_be_bytes([rdata[4], rdata[5]]),
                    target,
                }
            }
            Qtype::Txt => Record::Txt(read_txt(rdata)?),
        };
        ttl = ttl.min(rr.ttl);
        out.records.push(record);
    }
    out.ttl = if out.records.is_empty() { 0 } else { ttl };
    Ok(out)
}

/// A TXT record's character-strings, joined.
fn read_txt(rdata: &[u8]) -> Result<String, DnsError> {
    let mut joined = Vec::with_capacity(rdata.len());
    let mut i = 0;
    while i < rdata.len() {
        let len = usize::from(rdata[i]);
        let s = rdata
            .get(i + 1..i + 1 + len)
            .ok_or(DnsError::Malformed("TXT string cut short"))?;
        joined.extend_from_slice(s);
        i += 1 + len;
    }
    if joined.len() > MAX_TXT {
        return Err(DnsError::Malformed("TXT record too long"));
    }
    Ok(String::from_utf8_lossy(&joined).into_owned())
}

/// The name at `pos` (following compression pointers, RFC 1035 §4.1.4) and the position
/// after it in the message. The root name reads as "".
fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), DnsError> {
    let mut name = String::new();
    let mut end = None;
    let mut hops = 0;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Malformed("name cut short"))?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok((name, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(DnsError::Malformed("label cut short"))?;
                if !name.is_empty() {
                    name.push('.');
                }
                // Bytes outside printable ASCII cannot be in a host name; they are refused
                // rather than escaped.
                if !label.iter().all(|b| b.is_ascii_graphic() && *b != b'.') {
                    return Err(DnsError::Malformed("a label is not a host name"));
                }
                name.extend(label.iter().map(|&b| b as char));
                if name.len() > MAX_NAME {
                    return Err(DnsError::Malformed("name too long"));
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *msg
                    .get(pos + 1)
                    .ok_or(DnsError::Malformed("pointer cut short"))?;
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(DnsError::Malformed("compression loop"));
                }
                end.get_or_insert(pos + 2);
                pos = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
            }
            _ => return Err(DnsError::Malformed("reserved label type")),
        }
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
