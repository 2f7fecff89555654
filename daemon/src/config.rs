//! Configuration: a TOML file, embedded defaults, and command-line overrides.
//!
//! Every key, its default and its meaning are in `packaging/msmd.toml` (the example file the
//! packages install). Unknown keys and bad values are refused at start with an error that names
//! the key. [`Config::parse`] takes a string (tests use it); [`Config::load`] reads a file.
//! With no file at all, the defaults run a node for `localhost` with data in `./msm-data` and
//! the web client on `127.0.0.1:8080`.

use crate::proto::address::canonical_domain;
use crate::proto::message::MAX_TEXT_LIMIT;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;

pub mod activitypub;
pub mod https;
pub mod media;
pub use activitypub::ActivityPubConfig;
pub use https::HttpsConfig;
pub use media::MediaConfig;
use tracing_subscriber::filter::Targets;

/// Largest configuration file read; a real one is a few hundred bytes.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;
/// Most HTTP worker threads (each holds a database connection and a stack).
pub const MAX_HTTP_WORKERS: usize = 64;
/// Port of node links by default (listening, and of a domain found without SRV).
pub const DEFAULT_LINK_PORT: u16 = 7450;
/// Most HTTP connections a node may be configured to hold (each holds a thread while open).
pub const MAX_HTTP_CONNECTIONS: usize = 4096;
/// Most links a node may be configured to hold (each costs a task, buffers and a socket).
pub const MAX_LINKS: usize = 20_000;
/// Most subscriber rows a node may be configured to keep (each adds an outbox row per post).
pub const MAX_SUBSCRIBERS: u64 = 1_000_000;
/// Most posts fetched when following someone new.
pub const MAX_BACKFILL_ON_FOLLOW: u32 = 1000;
/// Longest a log-in session may be configured to last, in days.
pub const MAX_SESSION_DAYS: u32 = 365;
/// Posts one person may publish at once by default (`limits.post_burst`): Mastodon's window
/// of 300 posts, so nobody who posts like a person ever meets it, and a script stops there.
pub const DEFAULT_POST_BURST: u32 = 300;
/// Posts one person may publish per hour by default (`limits.posts_per_hour`), Mastodon's rate
/// (300 per 3 hours). Every post is delivered to every follower server, so this also bounds
/// what one account can make this node send.
pub const DEFAULT_POSTS_PER_HOUR: u32 = 100;
/// Bytes of post text one person may publish in 24 hours by default (`limits.daily_post_bytes`):
/// 64 posts at the default size cap, or thousands of ordinary ones; a router's flash and its
/// followers' flash are what it protects.
pub const DEFAULT_DAILY_POST_BYTES: usize = 1024 * 1024;
/// Highest `limits.post_burst` and `limits.posts_per_hour`.
pub const MAX_POST_RATE: u32 = 100_000;
/// Highest `limits.daily_post_bytes`.
pub const MAX_DAILY_POST_BYTES: usize = 1 << 30;

/// Why a configuration was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("config file {0} is larger than 64 KiB")]
    TooLarge(String),
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("config: {0}")]
    Syntax(String),
    /// A key has a value outside what it allows.
    #[error("config key `{key}`: {why}")]
    Invalid {
        /// The full key, such as `http.listen`.
        key: &'static str,
        /// What is wrong with the value.
        why: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database and keys live.
    pub data_dir: PathBuf,
    /// The domain this node hosts. `None`: the one stored at `init`, or `localhost` on a fresh
    /// data directory.
    pub domain: Option<String>,
    /// The web client and client API.
    pub http: HttpConfig,
    /// The same over TLS (off unless `https.listen` is set).
    pub https: HttpsConfig,
    /// The fediverse: the outgoing client's trust and address policy.
    pub activitypub: ActivityPubConfig,
    /// Limits on what users may post.
    pub limits: LimitsConfig,
    /// Logging.
    pub log: LogConfig,
    /// Links with other nodes.
    pub links: LinksConfig,
    /// Finding other nodes.
    pub discovery: DiscoveryConfig,
    /// Delivering posts to followers' servers.
    pub delivery: DeliveryConfig,
    /// The firehose of public posts: multicast, relay sessions, hub mode.
    pub firehose: FirehoseConfig,
    /// Pictures: upload cap, quotas, the cache of other nodes' pictures.
    pub media: MediaConfig,
    /// The database.
    pub store: StoreConfig,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Page size of a new database, in bytes (a power of two, 512 to 65536); an existing
    /// database keeps its own. Small pages write fewer bytes to flash per message (routers),
    /// large ones cost less CPU (hubs).
    pub page_size: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            page_size: crate::store::PAGE_SIZE as u32,
        }
    }
}

/// Most relay sessions a hub may be configured to hold (each costs a task, a socket and a
/// bounded queue of shared datagrams).
pub const MAX_RELAY_SESSIONS: usize = 20_000;
/// Longest configurable multicast retry hold-down: a day.
pub const MAX_MULTICAST_RETRY_S: u64 = 24 * 3600;
/// Default `firehose.discover_keep`: a few hundred posts, small for a router's flash.
pub const DEFAULT_DISCOVER_KEEP: usize = 300;
/// Most `firehose.discover_keep`.
pub const MAX_DISCOVER_KEEP: usize = 100_000;
/// Most `firehose.global_prefixes` entries.
pub const MAX_GLOBAL_PREFIXES: usize = 64;

/// `[firehose]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirehoseConfig {
    /// `node` (receive the firehose) or `hub` (send it, take relay sessions).
    pub role: String,
    /// Multicast group and port, `ip:port`: IPv4 ASM (239/8), IPv4 SSM (232/8, joined for
    /// the hub's address only), or an IPv6 ff15::/ff3e:: group.
    pub group: String,
    /// Interface to multicast on; empty: the WAN interface (the default route's, else the first
    /// up non-loopback interface with an IPv4 address).
    pub interface: String,
    /// Multicast TTL (hops) of the hub's datagrams.
    pub ttl: u32,
    /// The upstream hub's relay address, `host:port` (nodes).
    pub hub: String,
    /// The upstream hub's stream key, `ed25519:...` (nodes); empty: no firehose.
    pub hub_key: String,
    /// Where a hub takes relay sessions.
    pub relay_listen: String,
    /// Most relay sessions a hub holds at once.
    pub max_relay_sessions: usize,
    /// Prefixes to treat as global WAN addresses (labs).
    pub global_prefixes: Vec<String>,
    /// Seconds after joining the group within which an announcement must arrive.
    pub announce_timeout_s: u64,
    /// Seconds on the relay before multicast is tried again; 0: a random hold-down of 3 to
    /// 10 minutes (DESIGN.md), so a hub's nodes do not all retry at once. Labs set a few seconds.
    pub multicast_retry_s: u64,
    /// Milliseconds a node NACKs a gap before it gives up and fetches the seqs from the hub
    /// by stream seq instead (labs set it short to exercise that path).
    pub give_up_ms: u64,
    /// Public posts of authors nobody here follows kept from the firehose for the discover
    /// view and search (oldest dropped first); 0: none.
    pub discover_keep: usize,
    /// Nodes: ask the hub to multicast this node's public posts (the hub subscribes to its
    /// users like any follower server and streams what they post).
    pub publish: bool,
    /// Nodes that nobody can dial (carrier NAT): keep a session to the hub open, and take the
    /// links other nodes open to this domain through it (the domain's SRV names the hub).
    pub via_hub: bool,
    /// Hubs: where HTTPS connections for the domains it carries come in (`[::]:443`), routed
    /// by their server name (SNI) down those nodes' relay sessions, never decrypted; empty:
    /// none. The hub's own domain, if named, goes to its own `[https]` listener.
    pub tls_listen: String,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        FirehoseConfig {
            role: "node".into(),
            group: "239.255.77.77:7451".into(),
            interface: String::new(),
            ttl: 8,
            hub: String::new(),
            hub_key: String::new(),
            relay_listen: "0.0.0.0:7452".into(),
            max_relay_sessions: 1000,
            global_prefixes: Vec::new(),
            announce_timeout_s: 15,
            multicast_retry_s: 0,
            give_up_ms: crate::proto::stream::event::GIVE_UP_MS,
            discover_keep: DEFAULT_DISCOVER_KEEP,
            publish: false,
            via_hub: false,
            tls_listen: String::new(),
        }
    }
}

/// `[links]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksConfig {
    /// Address and port for links from other nodes.
    pub listen: String,
    /// Most links open at once (in and out).
    pub max_links: usize,
    /// Most inbound links at once that have not proved their domain's key.
    pub max_unverified: usize,
    /// Most unverified inbound links from one address.
    pub max_unverified_per_addr: usize,
    /// Seconds an unverified link may send nothing but keep-alives before it is closed.
    pub unverified_idle_s: u64,
    /// Most remote subscriptions to this node's users, in all.
    pub max_subscribers: u64,
}

/// `[discovery]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// DNS servers (`ip:port`) to ask instead of the system's.
    pub nameservers: Vec<String>,
    /// Port of a node found without an SRV record.
    pub default_port: u16,
    /// Ask the domain's web site by WebFinger when it has no SRV record (builds with the
    /// `webfinger` feature; ignored otherwise).
    pub webfinger: bool,
    /// HTTPS port WebFinger asks on.
    pub webfinger_port: u16,
    /// PEM file of CAs WebFinger trusts; empty: the system's bundle.
    pub webfinger_ca: String,
    /// Fixed answers for labs: domain = "ip:port".
    #[serde(rename = "static")]
    pub static_nodes: std::collections::BTreeMap<String, String>,
}

/// `[delivery]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Days a delivery is retried before it is given up (with a log line).
    pub max_age_days: u32,
    /// Recent posts fetched when a person is newly followed.
    pub backfill_on_follow: u32,
}

impl Default for LinksConfig {
    fn default() -> Self {
        LinksConfig {
            listen: "127.0.0.1:7450".into(),
            max_links: 256,
            max_unverified: 32,
            max_unverified_per_addr: 8,
            unverified_idle_s: 60,
            max_subscribers: 4096,
        }
    }
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            nameservers: Vec::new(),
            default_port: DEFAULT_LINK_PORT,
            webfinger: true,
            webfinger_port: 443,
            webfinger_ca: String::new(),
            static_nodes: Default::default(),
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_age_days: 7,
            backfill_on_follow: 50,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Request threads.
    pub workers: usize,
    /// How long a log-in session lasts, in days.
    pub session_days: u32,
    /// Most HTTP connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Most live streams (`/api/v1/stream` and the Mastodon streaming API) open at once.
    pub max_streams: usize,
    /// Seconds a client may stall a read or a write before its connection is closed.
    pub timeout_s: u64,
    /// Seconds within which a request head must arrive whole (a slowloris client that sends
    /// a byte now and then loses its connection after this).
    pub head_timeout_s: u64,
    /// Seconds within which a request body must arrive whole after its head.
    pub body_timeout_s: u64,
    /// Mark the session cookie `Secure` (set when a TLS proxy serves the node as https).
    pub secure_cookies: bool,
    /// The node's web address as people reach it (`https://smith.family`), used for the links
    /// in pages, feeds and WebFinger; empty: `http(s)://<domain>` (with the listen port unless
    /// it is 80 or 443). Never taken from a request's Host header, which any client sets.
    pub public_url: String,
    /// Who may read `GET /metrics`: `off`, `lan` (loopback and private addresses, see
    /// [`MetricsAccess::Lan`]) or `any`.
    pub metrics: String,
}

/// Who may read `GET /metrics` (`http.metrics`); everyone else gets 404, as for a path that
/// does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Nobody.
    Off,
    /// Clients on loopback or a private or link-local address (`crate::web::metrics::is_lan`),
    /// and not through a proxy that says it forwarded the request.
    Lan,
    /// Everyone.
    Any,
}

impl MetricsAccess {
    /// `off`, `lan` or `any`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(MetricsAccess::Off),
            "lan" => Some(MetricsAccess::Lan),
            "any" => Some(MetricsAccess::Any),
            _ => None,
        }
    }
}

impl HttpConfig {
    /// `http.metrics` (checked by [`Config::validate`]; anything else reads as `off`).
    pub fn metrics_access(&self) -> MetricsAccess {
        MetricsAccess::parse(&self.metrics).unwrap_or(MetricsAccess::Off)
    }
}

/// `[limits]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Cap on a post's text, in bytes.
    pub max_post_bytes: usize,
    /// Posts (replies, reposts, deletes and profile updates too) one person may publish in a
    /// burst before the hourly rate applies.
    pub post_burst: u32,
    /// Posts one person may publish per hour once the burst is spent.
    pub posts_per_hour: u32,
    /// Bytes of post text one person may publish in 24 hours.
    pub daily_post_bytes: usize,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A filter such as `info` or `info,msmd::store=debug`; `MSMD_LOG` overrides it.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./msm-data"),
            domain: None,
            http: HttpConfig::default(),
            https: HttpsConfig::default(),
            activitypub: ActivityPubConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            links: LinksConfig::default(),
            discovery: DiscoveryConfig::default(),
            delivery: DeliveryConfig::default(),
            firehose: FirehoseConfig::default(),
            media: MediaConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            workers: 4,
            session_days: 30,
            max_connections: 64,
            max_streams: 32,
            timeout_s: 30,
            head_timeout_s: 10,
            body_timeout_s: 20,
            secure_cookies: false,
            public_url: String::new(),
            metrics: "lan".into(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_post_bytes: crate::proto::message::DEFAULT_MAX_TEXT,
            post_burst: DEFAULT_POST_BURST,
            posts_per_hour: DEFAULT_POSTS_PER_HOUR,
            daily_post_bytes: DEFAULT_DAILY_POST_BYTES,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
        }
    }
}

/// Values given on the command line; each replaces the file's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--data`
    pub data_dir: Option<PathBuf>,
    /// `--domain`
    pub domain: Option<String>,
    /// `--listen`
    pub listen: Option<String>,
    /// `--log`
    pub log_filter: Option<String>,
    /// `--links`
    pub links_listen: Option<String>,
}

impl Config {
    /// Parses and validates a configuration from TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Syntax(e.to_string().trim().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let read_err = |source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge(path.display().to_string()));
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        Self::parse(&text)
    }

    /// Applies command-line overrides, then validates again.
    pub fn with_overrides(mut self, o: &Overrides) -> Result<Self, ConfigError> {
        if let Some(d) = &o.data_dir {
            self.data_dir = d.clone();
        }
        if let Some(d) = &o.domain {
            self.domain = Some(d.clone());
        }
        if let Some(l) = &o.listen {
            self.http.listen = l.clone();
        }
        if let Some(f) = &o.log_filter {
            self.log.filter = f.clone();
        }
        if let Some(l) = &o.links_listen {
            self.links.listen = l.clone();
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks every value; the error names the first bad key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, why: String| Err(ConfigError::Invalid { key, why });
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty".into());
        }
        if let Some(d) = &self.domain {
            if let Err(e) = canonical_domain(d) {
                return invalid("domain", e.to_string());
            }
        }
        if let Err(e) = self.listen_addr() {
            return invalid("http.listen", e);
        }
        if !(1..=MAX_HTTP_WORKERS).contains(&self.http.workers) {
            return invalid("http.workers", format!("must be 1 to {MAX_HTTP_WORKERS}"));
        }
        if !(self.http.workers..=MAX_HTTP_CONNECTIONS).contains(&self.http.max_connections) {
            return invalid(
                "http.max_connections",
                format!("must be http.workers to {MAX_HTTP_CONNECTIONS}"),
            );
        }
        if !(1..=self.http.max_connections / 2).contains(&self.http.max_streams) {
            return invalid(
                "http.max_streams",
                "must be 1 to half of http.max_connections".into(),
            );
        }
        if !(5..=600).contains(&self.http.timeout_s) {
            return invalid("http.timeout_s", "must be 5 to 600".into());
        }
        if !(1..=120).contains(&self.http.head_timeout_s) {
            return invalid("http.head_timeout_s", "must be 1 to 120".into());
        }
        if !(1..=600).contains(&self.http.body_timeout_s) {
            return invalid("http.body_timeout_s", "must be 1 to 600".into());
        }
        if !(1..=MAX_SESSION_DAYS).contains(&self.http.session_days) {
            return invalid(
                "http.session_days",
                format!("must be 1 to {MAX_SESSION_DAYS}"),
            );
        }
        if !(1..=MAX_TEXT_LIMIT).contains(&self.limits.max_post_bytes) {
            return invalid(
                "limits.max_post_bytes",
                format!("must be 1 to {MAX_TEXT_LIMIT}"),
            );
        }
        if !(1..=MAX_POST_RATE).contains(&self.limits.post_burst) {
            return invalid("limits.post_burst", format!("must be 1 to {MAX_POST_RATE}"));
        }
        if !(1..=MAX_POST_RATE).contains(&self.limits.posts_per_hour) {
            return invalid(
                "limits.posts_per_hour",
                format!("must be 1 to {MAX_POST_RATE}"),
            );
        }
        if !(self.limits.max_post_bytes..=MAX_DAILY_POST_BYTES)
            .contains(&self.limits.daily_post_bytes)
        {
            return invalid(
                "limits.daily_post_bytes",
                format!("must be limits.max_post_bytes to {MAX_DAILY_POST_BYTES}"),
            );
        }
        if let Err((key, why)) = self.https.validate() {
            return invalid(key, why);
        }
        if let Err((key, why)) = self.media.validate() {
            return invalid(key, why);
        }
        if let Err(e) = public_url(&self.http.public_url) {
            return invalid("http.public_url", e);
        }
        if MetricsAccess::parse(&self.http.metrics).is_none() {
            return invalid("http.metrics", "must be \"off\", \"lan\" or \"any\"".into());
        }
        if let Err(e) = log_targets(&self.log.filter) {
            return invalid("log.filter", e);
        }
        if SocketAddr::from_str(&self.links.listen).is_err() {
            return invalid(
                "links.listen",
                format!(
                    "{:?} is not an address:port such as 0.0.0.0:7450",
                    self.links.listen
                ),
            );
        }
        if !(1..=MAX_LINKS).contains(&self.links.max_links) {
            return invalid("links.max_links", format!("must be 1 to {MAX_LINKS}"));
        }
        if !(1..=self.links.max_links).contains(&self.links.max_unverified) {
            return invalid(
                "links.max_unverified",
                "must be 1 to links.max_links".into(),
            );
        }
        if !(1..=self.links.max_unverified).contains(&self.links.max_unverified_per_addr) {
            return invalid(
                "links.max_unverified_per_addr",
                "must be 1 to links.max_unverified".into(),
            );
        }
        if !(1..=3600).contains(&self.links.unverified_idle_s) {
            return invalid("links.unverified_idle_s", "must be 1 to 3600".into());
        }
        if !(1..=MAX_SUBSCRIBERS).contains(&self.links.max_subscribers) {
            return invalid(
                "links.max_subscribers",
                format!("must be 1 to {MAX_SUBSCRIBERS}"),
            );
        }
        if let Err(e) = self.nameservers() {
            return invalid("discovery.nameservers", e);
        }
        if self.discovery.default_port == 0 {
            return invalid("discovery.default_port", "must not be 0".into());
        }
        if self.discovery.webfinger_port == 0 {
            return invalid("discovery.webfinger_port", "must not be 0".into());
        }
        if let Err(e) = self.static_nodes() {
            return invalid("discovery.static", e);
        }
        if !(1..=365).contains(&self.delivery.max_age_days) {
            return invalid("delivery.max_age_days", "must be 1 to 365".into());
        }
        if self.delivery.backfill_on_follow > MAX_BACKFILL_ON_FOLLOW {
            return invalid(
                "delivery.backfill_on_follow",
                format!("must be 0 to {MAX_BACKFILL_ON_FOLLOW}"),
            );
        }
        if let Err((key, why)) = self.firehose.check() {
            return invalid(key, why);
        }
        if !crate::store::valid_page_size(self.store.page_size) {
            return invalid(
                "store.page_size",
                format!(
                    "must be a power of two from {} to {}",
                    crate::store::MIN_PAGE_SIZE,
                    crate::store::MAX_PAGE_SIZE
                ),
            );
        }
        Ok(())
    }

    /// `http.listen` as a socket address.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        SocketAddr::from_str(&self.http.listen).map_err(|_| {
            format!(
                "{:?} is not an address:port such as 127.0.0.1:8080 or [::]:8080",
                self.http.listen
            )
        })
    }

    /// `discovery.nameservers` as socket addresses (port 53 when none is given).
    pub fn nameservers(&self) -> Result<Vec<SocketAddr>, String> {
        self.discovery
            .nameservers
            .iter()
            .map(|n| {
                SocketAddr::from_str(n)
                    .or_else(|_| {
                        n.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| format!("{n:?} is not an ip or ip:port"))
            })
            .collect()
    }

    /// `discovery.static` as canonical domain → address.
    pub fn static_nodes(&self) -> Result<std::collections::HashMap<String, SocketAddr>, String> {
        self.discovery
            .static_nodes
            .iter()
            .map(|(d, a)| {
                let domain = canonical_domain(d).map_err(|e| e.to_string())?;
                let addr = SocketAddr::from_str(a)
                    .map_err(|_| format!("{a:?} for {d} is not an address:port"))?;
                Ok((domain, addr))
            })
            .collect()
    }

    /// The protocol limits this configuration sets.
    pub fn limits(&self) -> crate::proto::Limits {
        crate::proto::Limits {
            max_text: self.limits.max_post_bytes,
        }
    }
}

impl FirehoseConfig {
    /// True for `role = "hub"`.
    pub fn is_hub(&self) -> bool {
        self.role == "hub"
    }

    /// `group` as a multicast socket address.
    pub fn group_addr(&self) -> Result<SocketAddr, String> {
        let a = SocketAddr::from_str(&self.group).map_err(|_| {
            format!(
                "{:?} is not a group:port such as 239.255.77.77:7451",
                self.group
            )
        })?;
        let ok = match a.ip() {
            std::net::IpAddr::V4(v4) => v4.is_multicast(),
            std::net::IpAddr::V6(v6) => v6.is_multicast(),
        };
        if !ok || a.port() == 0 {
            return Err(format!(
                "{} is not a multicast group with a port",
                self.group
            ));
        }
        Ok(a)
    }

    /// `hub_key` as a key, if set.
    pub fn hub_key(&self) -> Result<Option<crate::proto::PublicKey>, String> {
        if self.hub_key.is_empty() {
            return Ok(None);
        }
        crate::proto::PublicKey::from_text(&self.hub_key)
            .map(Some)
            .map_err(|e| format!("{:?}: {e}", self.hub_key))
    }

    /// `global_prefixes` parsed.
    pub fn prefixes(&self) -> Result<Vec<crate::proto::stream::Prefix>, String> {
        self.global_prefixes
            .iter()
            .map(|p| crate::proto::stream::Prefix::parse(p).map_err(|e| format!("{p:?}: {e}")))
            .collect()
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        if !matches!(self.role.as_str(), "node" | "hub") {
            return Err(("firehose.role", "must be \"node\" or \"hub\"".into()));
        }
        self.group_addr().map_err(|e| ("firehose.group", e))?;
        if self.interface.len() > 15 || self.interface.contains(['/', ' ']) {
            return Err(("firehose.interface", "is not an interface name".into()));
        }
        if !(1..=255).contains(&self.ttl) {
            return Err(("firehose.ttl", "must be 1 to 255".into()));
        }
        if !self.hub.is_empty() && !self.hub.contains(':') {
            return Err(("firehose.hub", format!("{:?} is not host:port", self.hub)));
        }
        self.hub_key().map_err(|e| ("firehose.hub_key", e))?;
        if SocketAddr::from_str(&self.relay_listen).is_err() {
            return Err((
                "firehose.relay_listen",
                format!("{:?} is not an address:port", self.relay_listen),
            ));
        }
        if !self.tls_listen.is_empty() && SocketAddr::from_str(&self.tls_listen).is_err() {
            return Err((
                "firehose.tls_listen",
                format!("{:?} is not an address:port", self.tls_listen),
            ));
        }
        if !(1..=MAX_RELAY_SESSIONS).contains(&self.max_relay_sessions) {
            return Err((
                "firehose.max_relay_sessions",
                format!("must be 1 to {MAX_RELAY_SESSIONS}"),
            ));
        }
        if self.global_prefixes.len() > MAX_GLOBAL_PREFIXES {
            return Err((
                "firehose.global_prefixes",
                format!("at most {MAX_GLOBAL_PREFIXES} prefixes"),
            ));
        }
        self.prefixes()
            .map_err(|e| ("firehose.global_prefixes", e))?;
        if !(5..=600).contains(&self.announce_timeout_s) {
            return Err(("firehose.announce_timeout_s", "must be 5 to 600".into()));
        }
        if self.multicast_retry_s > MAX_MULTICAST_RETRY_S {
            return Err((
                "firehose.multicast_retry_s",
                format!("must be 0 (random 3 to 10 min) to {MAX_MULTICAST_RETRY_S}"),
            ));
        }
        if !(10..=600_000).contains(&self.give_up_ms) {
            return Err(("firehose.give_up_ms", "must be 10 to 600000".into()));
        }
        if self.discover_keep > MAX_DISCOVER_KEEP {
            return Err((
                "firehose.discover_keep",
                format!("must be 0 to {MAX_DISCOVER_KEEP}"),
            ));
        }
        let ssm = self
            .group_addr()
            .is_ok_and(|g| crate::net::firehose::socket::is_ssm_v4(g.ip()));
        if ssm && !self.is_hub() && !self.hub_key.is_empty() && self.hub.is_empty() {
            return Err((
                "firehose.group",
                "a source-specific group (232/8) needs firehose.hub: its address is the source"
                    .into(),
            ));
        }
        if (self.publish || self.via_hub) && (self.hub.is_empty() || self.hub_key.is_empty()) {
            return Err((
                if self.publish {
                    "firehose.publish"
                } else {
                    "firehose.via_hub"
                },
                "needs firehose.hub and firehose.hub_key".into(),
            ));
        }
        Ok(())
    }
}

/// Log levels a filter may name.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Checks `http.public_url`: empty, or `http://` / `https://` and a host (optionally a port),
/// with no path, query or anything a page could be tricked with.
pub fn public_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let ok = !rest.is_empty()
        && rest.len() <= 255
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{url:?} must be a scheme and a host, such as https://smith.family"
        ))
    }
}

/// Parses a log filter: `level` or `level,target=level,...` (levels: off, error, warn, info,
/// debug, trace). Stricter than `Targets` itself, which would take a typo for a target name.
pub fn log_targets(filter: &str) -> Result<Targets, String> {
    let bad = |why: &str| {
        format!("{filter:?} is not a log filter such as `info` or `info,msmd::store=debug`: {why}")
    };
    if filter.trim().is_empty() {
        return Err(bad("it is empty"));
    }
    for directive in filter.split(',') {
        let level = match directive.split_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level,
            Some(_) => return Err(bad("a directive has no target before '='")),
            None => directive,
        };
        if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
            return Err(bad(&format!(
                "{:?} is not one of {}",
                level.trim(),
                LEVELS.join(", ")
            )));
        }
    }
    Targets::from_str(filter).map_err(|e| bad(&e.to_string()))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
