//! The DNS client discovery asks (the I/O around [`super::message`]): one question at a time
//! over UDP to each name server in turn, again over TCP when the answer is truncated, every
//! exchange within [`Resolver::timeout`]; names in the hosts file answer addresses first.
//!
//! A datagram that is not the answer to the question in flight (another id, another
//! question, another sender: the socket is connected) is dropped and the wait goes on until
//! the deadline, so a spoofed or late packet cannot end a lookup.

use super::message::{self, Answer, DnsError, Qtype, Rcode, Record, MAX_MESSAGE};
use super::system;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

/// Largest UDP answer read (no EDNS is sent, so servers answer at most 512 bytes).
pub const MAX_UDP: usize = 512;
/// The system's resolver configuration.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// The system's hosts file.
pub const HOSTS: &str = "/etc/hosts";

/// Why a lookup has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The name does not exist.
    #[error("no such domain (NXDOMAIN)")]
    NxDomain,
    /// The name exists but has no record of the type asked.
    #[error("no record of that type")]
    NoRecords,
    /// No server answered well: timeouts, refusals, malformed answers.
    #[error("{0}")]
    Failed(String),
}

impl LookupError {
    /// Whether the name has no such record (it does not exist, or has none of the type).
    pub fn is_no_records_found(&self) -> bool {
        matches!(self, LookupError::NxDomain | LookupError::NoRecords)
    }
}

/// Records found, and how long they may be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Records of the type asked.
    pub records: Vec<Record>,
    /// Their smallest TTL.
    pub ttl: Duration,
}

/// A stub resolver: name servers to ask, the hosts file, a timeout and a number of rounds.
#[derive(Debug, Clone)]
pub struct Resolver {
    servers: Vec<SocketAddr>,
    hosts: Vec<(String, IpAddr)>,
    /// Time allowed for one exchange with one server.
    pub timeout: Duration,
    /// Rounds over the servers before a lookup fails.
    pub attempts: usize,
}

impl Resolver {
    /// The servers given, or else those of resolv.conf (or the local one when it names none);
    /// the hosts file in both cases.
    pub fn new(servers: &[SocketAddr], timeout: Duration, attempts: usize) -> Resolver {
        let mut servers = servers.to_vec();
        if servers.is_empty() {
            servers = system::nameservers(&read_bounded(RESOLV_CONF));
        }
        if servers.is_empty() {
            servers.push(system::FALLBACK);
        }
        Resolver {
            servers,
            hosts: system::hosts(&read_bounded(HOSTS)),
            timeout,
            attempts: attempts.max(1),
        }
    }

    /// The records of `qtype` for `name`.
    pub async fn lookup(&self, name: &str, qtype: Qtype) -> Result<Found, LookupError> {
        let mut last = LookupError::Failed("no name server".into());
        for _ in 0..self.attempts {
            for server in &self.servers {
                match self.exchange(*server, name, qtype).await {
                    Ok(a) => match a.rcode {
                        Rcode::NxDomain => return Err(LookupError::NxDomain),
                        Rcode::NoError if a.records.is_empty() => {
                            return Err(LookupError::NoRecords)
                        }
                        Rcode::NoError => {
                            return Ok(Found {
                                records: a.records,
                                ttl: Duration::from_secs(u64::from(a.ttl)),
                            })
                        }
                        Rcode::Other(n) => {
                            last = LookupError::Failed(format!("{server} answered rcode {n}"))
                        }
                    },
                    Err(why) => last = LookupError::Failed(format!("{server}: {why}")),
                }
            }
        }
        Err(last)
    }

    /// The addresses of `name`: from the hosts file, or its A and AAAA records.
    pub async fn ips(&self, name: &str) -> Result<(Vec<IpAddr>, Duration), LookupError> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        let listed: Vec<IpAddr> = self
            .hosts
            .iter()
            .filter(|(n, _)| *n == key)
            .map(|(_, ip)| *ip)
            .collect();
        if !listed.is_empty() {
            return Ok((listed, Duration::ZERO));
        }
        let (v4, v6) = tokio::join!(self.lookup(name, Qtype::A), self.lookup(name, Qtype::Aaaa));
        if v4 == Err(LookupError::NxDomain) {
            return Err(LookupError::NxDomain);
        }
        let mut ips = Vec::new();
        let mut ttl = Duration::MAX;
        for found in [&v4, &v6].into_iter().flatten() {
            ttl = ttl.min(found.ttl);
            ips.extend(found.records.iter().filter_map(|r| match r {
                Record::A(a) => Some(IpAddr::V4(*a)),
                Record::Aaaa(a) => Some(IpAddr::V6(*a)),
                _ => None,
            }));
        }
        if !ips.is_empty() {
            return Ok((ips, ttl));
        }
        for r in [v4, v6] {
            if let Err(e @ LookupError::Failed(_)) = r {
                return Err(e);
            }
        }
        Err(LookupError::NoRecords)
    }

    /// One question to one server, within the timeout.
    async fn exchange(
        &self,
        server: SocketAddr,
        name: &str,
        qtype: Qtype,
    ) -> Result<Answer, String> {
        let deadline = Instant::now() + self.timeout;
        let mut id = [0u8; 2];
        getrandom::getrandom(&mut id).map_err(|e| e.to_string())?;
        let id = u16::from_be_bytes(id);
        let query = message::query(id, name, qtype).map_err(|e| e.to_string())?;
        let answer = timeout_at(deadline, udp(server, &query, id, name, qtype))
            .await
            .map_err(|_| "timed out".to_string())??;
        if !answer.truncated {
            return Ok(answer);
        }
        timeout_at(deadline, tcp(server, &query, id, name, qtype))
            .await
            .map_err(|_| "timed out over TCP".to_string())?
    }
}

async fn udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &str,
    qtype: Qtype,
) -> Result<Answer, String> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    sock.send(query).await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; MAX_UDP];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
        match message::answer(&buf[..n], id, name, qtype) {
            Ok(a) => return Ok(a),
            // Not ours (late, spoofed, another question): keep waiting.
            Err(DnsError::Malformed(_)) if !is_ours(&buf[..n], id) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Whether a datagram carries the id of the query in flight (then a parse error is final).
fn is_ours(msg: &[u8], id: u16) -> bool {
    msg.len() >= 2 && u16::from_be_bytes([msg[0], msg[1]]) == id
}

async fn tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &str,
    qtype: Qtype,
) -> Result<Answer, String> {
    let mut s = TcpStream::connect(server)
        .await
        .map_err(|e| e.to_string())?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
    framed.extend_from_slice(query);
    s.write_all(&framed).await.map_err(|e| e.to_string())?;
    let len = usize::from(s.read_u16().await.map_err(|e| e.to_string())?);
    if len > MAX_MESSAGE {
        return Err(format!("a {len}-byte answer (at most {MAX_MESSAGE})"));
    }
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    let answer = message::answer(&buf, id, name, qtype).map_err(|e| e.to_string())?;
    if answer.truncated {
        // a cut answer is not read as "no records" (a missing key pin would pass unnoticed)
        return Err("truncated over TCP".into());
    }
    Ok(answer)
}

/// A system file's text, at most [`system::MAX_FILE`] bytes of it ("" when unreadable).
fn read_bounded(path: &str) -> String {
    let mut text = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(system::MAX_FILE).read_to_string(&mut text);
    }
    text
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
