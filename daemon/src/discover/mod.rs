//! Domain → node: where to reach the node that serves a domain, and which key it must prove.
//!
//! Order (DESIGN.md): a static override from the configuration (labs); `SRV _msm._tcp.<domain>`
//! (targets ordered by priority, then weighted-random within a priority, RFC 2782), each target's
//! A/AAAA records in turn; if the domain has no SRV record, the domain's own A/AAAA on the
//! default port. `TXT _msm.<domain>` may pin the node key (`v=msm1 k=ed25519:<base64>`).
//! A domain that does not exist (NXDOMAIN) is an error the person following gets in words.
//!
//! Answers are cached for their DNS TTL (at least [`MIN_TTL`], at most [`MAX_TTL`]); failures for
//! [`NEGATIVE_TTL`]; at most [`MAX_CACHED_DOMAINS`] domains.
//!
//! A domain without an SRV record is next asked by WebFinger (RFC 7033, [`jrd`]) over HTTPS
//! when the `webfinger` feature is built and enabled: `https://<domain>/.well-known/webfinger`
//! with the resource `acct:<domain>@<domain>` (the domain's own account, as Mastodon names its
//! instance actor; a static JRD file answers any resource). A key named there pins the link.
//! Only then does the domain's own address on the default port count.

pub mod dns;
pub mod jrd;
mod record;
#[cfg(feature = "webfinger")]
mod webfinger;

pub use record::{order_srv, parse_pin, SrvTarget};

use crate::proto::PublicKey;
use dns::{Qtype, Record, Resolver};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Shortest time an answer is kept, whatever its TTL.
pub const MIN_TTL: Duration = Duration::from_secs(30);
/// Longest time an answer is kept, whatever its TTL: key changes show within the hour.
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// How long a failed lookup is remembered.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Domains kept in the cache (a household follows people on a few hundred domains at most;
/// ~200 bytes each).
pub const MAX_CACHED_DOMAINS: usize = 1024;
/// SRV targets tried per domain.
pub const MAX_TARGETS: usize = 8;
/// Timeout of one DNS query.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest one domain's discovery takes in all (its TXT, SRV and each target's addresses):
/// a domain whose SRV names many hosts on a silent server cannot hold a follow for minutes.
pub const LOOKUP_DEADLINE: Duration = Duration::from_secs(10);
/// Rounds over the name servers before a lookup fails.
pub const QUERY_ATTEMPTS: usize = 2;

/// Why a domain's node could not be found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// The domain does not exist in DNS.
    #[error("domain {0} does not exist (NXDOMAIN)")]
    NoSuchDomain(String),
    /// The domain exists but names no node: no SRV record and no address.
    #[error("domain {0} has no msm node: no SRV _msm._tcp record and no address")]
    NoNode(String),
    /// The TXT pin is present but malformed.
    #[error("domain {domain}: bad TXT _msm record: {why}")]
    BadPin {
        /// The domain.
        domain: String,
        /// What is wrong.
        why: String,
    },
    /// DNS did not answer (timeout, refused, no server).
    #[error("DNS lookup for {domain} failed: {why}")]
    Dns {
        /// The domain.
        domain: String,
        /// The resolver's words.
        why: String,
    },
}

/// Where a domain's node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// Addresses to try, in order.
    pub addrs: Vec<SocketAddr>,
    /// The key the node must prove, if DNS pins one.
    pub pinned_key: Option<PublicKey>,
}

/// Resolver settings (from the `[discovery]` configuration).
#[derive(Debug, Clone, Default)]
pub struct DiscoverySettings {
    /// Name servers to ask instead of the system's (`ip:port`).
    pub nameservers: Vec<SocketAddr>,
    /// Port of a node found without SRV.
    pub default_port: u16,
    /// Fixed answers: domain → address (labs and tests).
    pub overrides: HashMap<String, SocketAddr>,
    /// WebFinger lookups, when wanted (ignored by a build without the `webfinger` feature).
    pub webfinger: Option<WebfingerSettings>,
}

/// Where WebFinger asks and whom it trusts.
#[derive(Debug, Clone)]
pub struct WebfingerSettings {
    /// HTTPS port of the domain's web site (443; another for labs).
    pub port: u16,
    /// PEM bundle of trusted CAs; `None` is the system's bundle, skipped with a warning when the
    /// system has none (a router without ca-bundle).
    pub ca_file: Option<std::path::PathBuf>,
}

/// A cached answer and when it expires.
type CacheEntry = (Result<NodeRecord, DiscoverError>, Instant);

/// Finds nodes; cheap to share behind an `Arc`.
pub struct Discovery {
    resolver: Resolver,
    settings: DiscoverySettings,
    cache: Mutex<HashMap<String, CacheEntry>>,
    #[cfg(feature = "webfinger")]
    webfinger: Option<webfinger::Fetcher>,
}

impl Discovery {
    /// A resolver with the system's configuration, or the name servers given.
    pub fn new(settings: DiscoverySettings) -> Result<Self, DiscoverError> {
        let resolver = Resolver::new(&settings.nameservers, QUERY_TIMEOUT, QUERY_ATTEMPTS);
        #[cfg(feature = "webfinger")]
        let webfinger = match &settings.webfinger {
            None => None,
            Some(w) => {
                let default = std::path::Path::new(webfinger::SYSTEM_CA_BUNDLE);
                match webfinger::Fetcher::new(w.ca_file.as_deref().unwrap_or(default), w.port) {
                    Ok(f) => Some(f),
                    Err(why) if w.ca_file.is_none() => {
                        tracing::warn!(%why, "WebFinger discovery off: no system CA bundle");
                        None
                    }
                    Err(why) => {
                        return Err(DiscoverError::Dns {
                            domain: String::new(),
                            why: format!("WebFinger CA bundle: {why}"),
                        })
                    }
                }
            }
        };
        Ok(Discovery {
            resolver,
            settings,
            cache: Mutex::new(HashMap::new()),
            #[cfg(feature = "webfinger")]
            webfinger,
        })
    }

    /// The node that `domain`'s web site names by WebFinger, if it names one.
    #[cfg(feature = "webfinger")]
    async fn ask_webfinger(&self, domain: &str) -> Option<jrd::JrdNode> {
        let fetcher = self.webfinger.as_ref()?;
        let ips: Vec<_> = match self.resolver.ips(domain).await {
            Ok((ips, _)) => ips,
            Err(_) => return None, // the fallback below explains a missing domain
        };
        let resource = format!("acct:{domain}@{domain}");
        let answer = match fetcher.fetch(domain, &ips, &resource).await {
            Ok(body) => jrd::parse(&body),
            Err(e) => Err(e),
        };
        match answer {
            Ok(node) => Some(node),
            Err(why) => {
                tracing::debug!(%domain, %why, "no node by WebFinger");
                None
            }
        }
    }

    #[cfg(not(feature = "webfinger"))]
    async fn ask_webfinger(&self, _domain: &str) -> Option<jrd::JrdNode> {
        None
    }

    /// Whether the configuration names `domain`'s msm node (`[discovery.static]`).
    pub fn is_static(&self, domain: &str) -> bool {
        self.settings.overrides.contains_key(domain)
    }

    /// The node of `domain` (canonical, IDNA ASCII), from the cache when fresh.
    pub async fn find(&self, domain: &str) -> Result<NodeRecord, DiscoverError> {
        if let Some(addr) = self.settings.overrides.get(domain) {
            return Ok(NodeRecord {
                addrs: vec![*addr],
                pinned_key: None,
            });
        }
        let now = Instant::now();
        if let Some((answer, until)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(domain)
        {
            if *until > now {
                return answer.clone();
            }
        }
        let (answer, ttl) = match tokio::time::timeout(LOOKUP_DEADLINE, self.lookup(domain)).await {
            Ok(found) => found,
            Err(_) => (
                Err(DiscoverError::Dns {
                    domain: domain.into(),
                    why: format!("no answer within {} s", LOOKUP_DEADLINE.as_secs()),
                }),
                NEGATIVE_TTL,
            ),
        };
        let ttl = if answer.is_ok() {
            ttl.clamp(MIN_TTL, MAX_TTL)
        } else {
            NEGATIVE_TTL
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_CACHED_DOMAINS {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_CACHED_DOMAINS {
                cache.clear();
            }
        }
        cache.insert(domain.to_string(), (answer.clone(), now + ttl));
        match &answer {
            Ok(r) => {
                tracing::debug!(%domain, addrs = ?r.addrs, pinned = r.pinned_key.is_some(), "discovered node")
            }
            Err(e) => tracing::info!(%domain, error = %e, "discovery failed"),
        }
        answer
    }

    /// Forgets what is cached for `domain` (after a link to it failed verification).
    pub fn forget(&self, domain: &str) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(domain);
    }

    async fn lookup(&self, domain: &str) -> (Result<NodeRecord, DiscoverError>, Duration) {
        let mut ttl = MAX_TTL;
        let mut pinned_key = match self
            .resolver
            .lookup(&format!("_msm.{domain}"), Qtype::Txt)
            .await
        {
            Ok(found) => {
                ttl = ttl.min(found.ttl);
                let texts: Vec<String> = found
                    .records
                    .into_iter()
                    .filter_map(|r| match r {
                        Record::Txt(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                match parse_pin(&texts) {
                    Ok(k) => k,
                    Err(why) => {
                        return (
                            Err(DiscoverError::BadPin {
                                domain: domain.into(),
                                why,
                            }),
                            ttl,
                        )
                    }
                }
            }
            Err(e) if e.is_no_records_found() => None,
            Err(e) => {
                return (
                    Err(DiscoverError::Dns {
                        domain: domain.into(),
                        why: e.to_string(),
                    }),
                    ttl,
                )
            }
        };
        let targets = match self
            .resolver
            .lookup(&format!("_msm._tcp.{domain}"), Qtype::Srv)
            .await
        {
            Ok(found) => {
                ttl = ttl.min(found.ttl);
                let srvs: Vec<SrvTarget> = found
                    .records
                    .into_iter()
                    .filter_map(|r| match r {
                        Record::Srv {
                            priority,
                            weight,
                            port,
                            target,
                        } => Some(SrvTarget {
                            priority,
                            weight,
                            port,
                            host: target,
                        }),
                        _ => None,
                    })
                    .collect();
                let mut random = [0u8; 16];
                let _ = getrandom::getrandom(&mut random);
                order_srv(srvs, &random)
            }
            Err(e) if e.is_no_records_found() => match self.ask_webfinger(domain).await {
                Some(node) => {
                    pinned_key = node.key.or(pinned_key);
                    vec![SrvTarget {
                        priority: 0,
                        weight: 0,
                        port: node.port,
                        host: node.host,
                    }]
                }
                None => vec![SrvTarget {
                    priority: 0,
                    weight: 0,
                    port: self.settings.default_port,
                    host: domain.to_string(),
                }],
            },
            Err(e) => {
                return (
                    Err(DiscoverError::Dns {
                        domain: domain.into(),
                        why: e.to_string(),
                    }),
                    ttl,
                )
            }
        };
        let mut addrs = Vec::new();
        let mut nx = false;
        for t in targets.iter().take(MAX_TARGETS) {
            if t.host.is_empty() || t.host == "." {
                continue; // "service not available here" (RFC 2782)
            }
            if let Ok(ip) = t.host.parse::<std::net::IpAddr>() {
                addrs.push(SocketAddr::new(ip, t.port)); // a WebFinger href may name an IP
                continue;
            }
            match self.resolver.ips(&t.host).await {
                Ok((ips, _)) => addrs.extend(ips.into_iter().map(|ip| SocketAddr::new(ip, t.port))),
                Err(e) => {
                    nx |= e == dns::LookupError::NxDomain && t.host == domain;
                    tracing::debug!(host = %t.host, error = %e, "SRV target has no address");
                }
            }
        }
        if addrs.is_empty() {
            let err = if nx {
                DiscoverError::NoSuchDomain(domain.into())
            } else {
                DiscoverError::NoNode(domain.into())
            };
            return (Err(err), ttl);
        }
        (Ok(NodeRecord { addrs, pinned_key }), ttl)
    }
}
