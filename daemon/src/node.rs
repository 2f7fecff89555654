//! The running node: start-up, first run, reload and graceful shutdown.
//!
//! Start-up opens (and on a fresh data directory initialises) the store, creates the owner
//! account on first run, starts the post writer and the HTTP workers, then waits for signals on
//! a single-threaded tokio runtime:
//! - SIGTERM, SIGINT: stop taking requests, finish the ones in flight, commit every queued
//!   post, exit 0;
//! - SIGHUP: re-read the configuration file; apply what can change live (`log.filter`,
//!   `limits.max_post_bytes`), log what needs a restart; a bad file changes nothing. Also
//!   re-read the HTTPS certificate and key (`[https]`): a bad pair keeps the old one serving.

use crate::config::{Config, Overrides};
use crate::discover::{Discovery, DiscoverySettings, WebfingerSettings};
use crate::logging::LogHandle;
use crate::net::pool::StorePool;
use crate::net::{Net, NetSettings};
use crate::store::writer::PostWriter;
use crate::store::{Role, Store, StoreError};
use crate::web::api::Context;
use crate::web::auth::LoginLimiter;
use crate::web::server::{HttpServer, HttpsListener};
use crate::web::tls::CertFiles;
use crate::{identity, now_ms};
use anyhow::Context as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The domain of a node started on a fresh data directory with no domain configured.
pub const DEFAULT_DOMAIN: &str = "localhost";
/// Name of the account created on first run.
pub const FIRST_OWNER: &str = "owner";

/// Where the configuration came from, so SIGHUP can read it again.
pub struct ConfigSource {
    /// The file, if one was given.
    pub path: Option<PathBuf>,
    /// Command-line overrides, applied on every reload too.
    pub overrides: Overrides,
}

/// Opens the store in the configured data directory and checks or sets its domain.
pub fn open_store(config: &Config, init_if_new: bool) -> anyhow::Result<Store> {
    let mut store = Store::open_with_page_size(&config.data_dir, config.store.page_size)
        .map_err(|e| match e {
            e if e.is_damage() => StoreError::Damaged(e.to_string()),
            e => e,
        })
        .with_context(|| format!("opening data directory {}", config.data_dir.display()))?;
    match store.node_info() {
        Ok(info) => {
            if let Some(d) = &config.domain {
                let asked = crate::proto::address::canonical_domain(d)?;
                if asked != info.domain {
                    return Err(StoreError::DomainMismatch {
                        stored: info.domain,
                        asked,
                    }
                    .into());
                }
            }
        }
        Err(StoreError::NotInitialised(_)) if init_if_new => {
            store.init_node(config.domain.as_deref().unwrap_or(DEFAULT_DOMAIN))?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(store)
}

/// Refuses to start on a damaged database ([`crate::store::integrity`]).
fn check_store(store: &Store) -> anyhow::Result<()> {
    use crate::store::integrity::{Checked, CHECK_BUDGET};
    match store.quick_check(CHECK_BUDGET)? {
        Checked::Sound => tracing::debug!("database check: sound"),
        Checked::Partly(took) => tracing::warn!(
            seconds = took.as_secs(),
            "database check stopped at its time budget; the part checked is sound"
        ),
    }
    Ok(())
}

/// `scheme://host[:port]` of the node's pages: `http.public_url`, else the domain with the
/// listen port (left out when it is the scheme's own).
pub fn public_url(config: &Config, domain: &str, listen: std::net::SocketAddr) -> String {
    let configured = config.http.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let scheme = if config.http.secure_cookies {
        "https"
    } else {
        "http"
    };
    match (scheme, listen.port()) {
        ("http", 80) | ("https", 443) => format!("{scheme}://{domain}"),
        (_, port) => format!("{scheme}://{domain}:{port}"),
    }
}

/// The posting limits of `[limits]`.
fn post_limits(config: &Config) -> crate::web::post_limits::PostLimits {
    crate::web::post_limits::PostLimits {
        burst: config.limits.post_burst,
        per_hour: config.limits.posts_per_hour,
        daily_bytes: config.limits.daily_post_bytes,
    }
}

/// Creates the owner account with a one-time password if the node has no users yet.
fn first_run(store: &mut Store, http: std::net::SocketAddr) -> anyhow::Result<()> {
    if !store.list_users()?.is_empty() {
        return Ok(());
    }
    let password = identity::one_time_password()?;
    let hash = identity::hash_password(&password)?;
    let user = store.add_user(FIRST_OWNER, Role::Owner, &hash, true, now_ms())?;
    tracing::warn!(
        "first run: created owner account {}; one-time password: {password} ; log in at http://{http}/ \
         (POST /api/v1/session) and change it (POST /api/v1/account/password)",
        user.address
    );
    Ok(())
}

/// Runs the node until SIGTERM or SIGINT.
pub fn run(config: Config, source: ConfigSource, log: LogHandle) -> anyhow::Result<()> {
    crate::fdlimit::ensure(&config)?;
    let _lock = crate::store::lock::DataDirLock::take(&config.data_dir)?;
    let mut store = open_store(&config, true)?;
    check_store(&store)?;
    let clean_stop = store.take_clean_stop()?;
    let info = store.node_info()?;
    tracing::info!(domain = %info.domain, node_key = %info.key.public(), data = %config.data_dir.display(), "msmd {} starting", env!("CARGO_PKG_VERSION"));
    let listen = config.listen_addr().map_err(anyhow::Error::msg)?;

    let links_addr: std::net::SocketAddr = config
        .links
        .listen
        .parse()
        .map_err(|_| anyhow::anyhow!("links.listen is not an address"))?;

    // One async worker thread is plenty for a household; SQLite calls go to the blocking pool.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(8)
        .thread_name("msmd-net")
        .enable_all()
        .build()?;
    let max_text = Arc::new(std::sync::atomic::AtomicUsize::new(
        config.limits.max_post_bytes,
    ));
    let node_key = info.key;
    crate::web::media::set_url_key(&node_key.to_bytes());
    let pulse = Arc::new(crate::store::pulse::Pulse::default());
    let firehose = &config.firehose;
    let (tap, tapped) = if firehose.is_hub() {
        let (tx, rx) = tokio::sync::mpsc::channel(crate::net::firehose::TAP_QUEUE);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let writer = PostWriter::start_with_tap(store.reopen()?, pulse.clone(), tap)?;
    make_actor_keys(store.reopen()?);
    let (net, links_bound) = runtime.block_on(async {
        let discovery = Discovery::new(DiscoverySettings {
            nameservers: config.nameservers().map_err(anyhow::Error::msg)?,
            default_port: config.discovery.default_port,
            overrides: config.static_nodes().map_err(anyhow::Error::msg)?,
            webfinger: config.discovery.webfinger.then(|| WebfingerSettings {
                port: config.discovery.webfinger_port,
                ca_file: Some(&config.discovery.webfinger_ca)
                    .filter(|p| !p.is_empty())
                    .map(std::path::PathBuf::from),
            }),
        })?;
        let settings = NetSettings {
            backfill_on_follow: config.delivery.backfill_on_follow,
            max_age_ms: u64::from(config.delivery.max_age_days) * 86_400_000,
            max_links: config.links.max_links,
            max_unverified: config.links.max_unverified,
            max_unverified_per_addr: config.links.max_unverified_per_addr,
            unverified_idle: std::time::Duration::from_secs(config.links.unverified_idle_s),
            max_subscribers: config.links.max_subscribers,
            media_cache_bytes: config.media.cache_bytes,
        };
        let net = Net::new(
            info.domain.clone(),
            node_key,
            discovery,
            StorePool::new(&store),
            writer.handle(),
            max_text.clone(),
            settings,
        );
        net.blocked_domains.reload(&store)?;
        let listener = tokio::net::TcpListener::bind(links_addr)
            .await
            .with_context(|| format!("cannot listen for links on {links_addr}"))?;
        let bound = listener.local_addr()?;
        tracing::info!(addr = %bound, "links listening");
        tokio::spawn(crate::net::link::listen(net.clone(), listener));
        tokio::spawn(crate::net::outbox::run(net.clone()));
        tokio::spawn(net.clone().subscription_loop());
        tokio::spawn(crate::net::follow::ask_loop(net.clone()));
        tokio::spawn(net.clone().announce(!clean_stop));
        start_firehose(&net, firehose, tapped, bound).await?;
        anyhow::Ok((net, bound))
    })?;

    let ctx = Arc::new(Context {
        domain: info.domain.clone(),
        writer: writer.handle(),
        max_text,
        session_ttl_ms: u64::from(config.http.session_days) * 86_400_000,
        limiter: LoginLimiter::default(),
        net: net.clone(),
        runtime: runtime.handle().clone(),
        links_listen: links_bound.to_string(),
        pulse,
        streams: Default::default(),
        max_streams: config.http.max_streams,
        secure_cookies: config.http.secure_cookies,
        post_limits: crate::web::post_limits::PostLimiter::new(post_limits(&config)),
        user_streams: Default::default(),
        password_failures: Default::default(),
        public_url: Default::default(),
        media: config.media.clone(),
        mastodon_limits: Default::default(),
        stream_store: Default::default(),
        metrics: crate::web::metrics::Metrics::new(config.http.metrics_access()),
        fediverse: fediverse(&config, &info.domain)?,
        websub: Default::default(),
    });
    // pictures a crash left half-written or unrecorded, and those nothing uses any more
    match crate::store::media_files::MediaFiles::of(&store).sweep(&store) {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "stray picture files removed"),
        Err(e) => tracing::warn!(error = %e, "picture files not swept"),
    }
    crate::web::media::collect(&mut store, config.media.cache_bytes, crate::now_ms());
    let bounds = crate::web::server::bounds(&config.http, &config.media);
    let (https, certs) = https_listener(&config)?;
    let http = HttpServer::start(
        listen,
        https,
        config.http.workers,
        bounds,
        ctx.clone(),
        &store,
    )?;
    if let Some(a) = http.https_addr() {
        // where TLS connections a hub routes here by name are piped (see net::firehose::sni_route)
        let ip = match a.ip() {
            std::net::IpAddr::V4(v) if v.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(v) if v.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        let _ = net.https_local.set(std::net::SocketAddr::new(ip, a.port()));
    }
    let _ = ctx
        .public_url
        .set(public_url(&config, &info.domain, http.addr()));
    first_run(&mut store, http.addr())?;
    if let (Some(fed), Some(base)) = (&ctx.fediverse, ctx.public_url.get()) {
        start_deliverer(fed.clone(), net.pool.clone(), base.clone());
        start_websub(&ctx, fed.client.clone(), net.pool.clone(), base.clone());
        let _ = net.fediverse.set((fed.clone(), base.clone()));
    }
    // nothing more of the start-up connection until the stop: its page cache, full from the
    // integrity check, and parsed schema are not kept for the node's life
    let db = store.db_path().to_path_buf();
    drop(store);

    runtime.block_on(wait_for_signals(
        &config,
        &source,
        &log,
        &ctx,
        certs.as_deref(),
    ))?;

    tracing::info!("shutting down: finishing requests in flight");
    http.stop();
    drop(ctx);
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    drop(net);
    if writer.finish() {
        if let Err(e) = Store::connect_to(&db).and_then(|s| s.mark_clean_stop()) {
            tracing::warn!(error = %e, "could not note the clean stop: the next start catches up");
        }
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Starts the hub's sender and relay listener, or a node's receiver when `hub_key` is set.
async fn start_firehose(
    net: &Arc<Net>,
    f: &crate::config::FirehoseConfig,
    tapped: Option<tokio::sync::mpsc::Receiver<Vec<u8>>>,
    links: std::net::SocketAddr,
) -> anyhow::Result<()> {
    use crate::net::firehose::{hub, node};
    let group = f.group_addr().map_err(anyhow::Error::msg)?;
    if let Some(tap) = tapped {
        let settings = hub::HubSettings {
            group,
            interface: f.interface.clone(),
            ttl: f.ttl,
            relay_listen: f
                .relay_listen
                .parse()
                .map_err(|_| anyhow::anyhow!("firehose.relay_listen is not an address"))?,
            max_sessions: f.max_relay_sessions,
            tls_listen: (!f.tls_listen.is_empty())
                .then(|| f.tls_listen.parse())
                .transpose()
                .map_err(|_| anyhow::anyhow!("firehose.tls_listen is not an address"))?,
        };
        let bound = hub::start(net.clone(), settings, tap)
            .await
            .with_context(|| format!("cannot listen for relay sessions on {}", f.relay_listen))?;
        tracing::info!(addr = %bound, "relay listening");
    } else if let Some(hub_key) = f.hub_key().map_err(anyhow::Error::msg)? {
        let settings = node::NodeSettings {
            group,
            interface: f.interface.clone(),
            hub: f.hub.clone(),
            hub_key,
            global_prefixes: f.prefixes().map_err(anyhow::Error::msg)?,
            announce_timeout: std::time::Duration::from_secs(f.announce_timeout_s),
            multicast_retry: (f.multicast_retry_s > 0)
                .then(|| std::time::Duration::from_secs(f.multicast_retry_s)),
            give_up_ms: f.give_up_ms,
            discover_keep: f.discover_keep,
            publish: f.publish,
            via_hub: f.via_hub,
            local_links: local_address(links),
        };
        tokio::spawn(node::run(net.clone(), settings));
    }
    Ok(())
}

/// Where this node reaches its own link listener bound at `bound` (loopback for a wildcard).
fn local_address(bound: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match bound.ip() {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, bound.port())
}

/// The HTTPS listener of `[https]`, with the certificate files it serves (watched for
/// changes); a certificate or key that cannot be used stops the start.
fn https_listener(
    config: &Config,
) -> anyhow::Result<(Option<HttpsListener>, Option<Arc<CertFiles>>)> {
    let Some(listen) = config
        .https
        .listen_addr()
        .filter(|_| config.https.enabled())
    else {
        return Ok((None, None));
    };
    let files = CertFiles::open(
        std::path::Path::new(&config.https.cert),
        std::path::Path::new(&config.https.key),
    )
    .context("https: certificate and key")?;
    let tls = files.server_config().context("https")?;
    files.watch().context("https: watching the certificate")?;
    Ok((Some(HttpsListener { listen, tls }), Some(files)))
}

async fn wait_for_signals(
    config: &Config,
    source: &ConfigSource,
    log: &LogHandle,
    ctx: &Context,
    certs: Option<&CertFiles>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM"); return Ok(()); }
            _ = int.recv() => { tracing::info!("SIGINT"); return Ok(()); }
            _ = hup.recv() => {
                if let Some(certs) = certs {
                    certs.reload();
                }
                reload(config, source, log, ctx);
            }
        }
    }
}

fn reload(running: &Config, source: &ConfigSource, log: &LogHandle, ctx: &Context) {
    let fresh = match &source.path {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
    .and_then(|c| c.with_overrides(&source.overrides));
    let fresh = match fresh {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: configuration refused; nothing changed");
            return;
        }
    };
    log.set_filter(&fresh.log.filter);
    ctx.max_text
        .store(fresh.limits.max_post_bytes, Ordering::Relaxed);
    ctx.post_limits.set_limits(post_limits(&fresh));
    tracing::info!(
        max_post_bytes = fresh.limits.max_post_bytes,
        "SIGHUP: configuration reloaded"
    );
    if fresh.data_dir != running.data_dir
        || fresh.domain != running.domain
        || fresh.http != running.http
        || fresh.https != running.https
    {
        tracing::warn!(
            "SIGHUP: data_dir, domain, [http] and [https] changes take effect after a restart"
        );
    }
}

/// Makes, on a thread of its own and one at a time ([`crate::web::actor::KEY_MAKER`]), the
/// RSA keys users do not have yet (accounts made before the fediverse, or since the last
/// start), so that no fediverse server waits for one; an actor asked for first makes its own
/// ([`crate::store::actor_keys`]).
/// The fediverse side: its client trusts the system's CA bundle and `activitypub.extra_ca`. An
/// unreadable `extra_ca` stops msmd; a node without any CA certificate runs without the
/// fediverse (logged), as a router without the `ca-bundle` package would.
fn fediverse(
    config: &Config,
    domain: &str,
) -> anyhow::Result<Option<Arc<crate::fediverse::Fediverse>>> {
    use crate::net::fetch::{Client, ClientConfig};
    let ap = &config.activitypub;
    let extra_ca = (!ap.extra_ca.is_empty()).then(|| std::path::PathBuf::from(&ap.extra_ca));
    let client = Client::new(ClientConfig {
        extra_ca: extra_ca.clone(),
        allow_private: ap.allow_private,
        user_agent: format!("msmd/{} (+https://{domain}/)", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    });
    match client {
        Ok(c) => Ok(Some(Arc::new(crate::fediverse::Fediverse::new(Arc::new(
            c,
        ))))),
        Err(e) if extra_ca.is_some() => Err(anyhow::anyhow!("activitypub.extra_ca: {e}")),
        Err(e) => {
            tracing::warn!(error = %e, "no CA certificates: the fediverse is off");
            Ok(None)
        }
    }
}

/// Starts the fediverse deliverer on its own thread, with connections of the async side's pool.
fn start_deliverer(fed: Arc<crate::fediverse::Fediverse>, pool: Arc<StorePool>, base: String) {
    let spawned = std::thread::Builder::new()
        .name("ap-deliver".into())
        .stack_size(crate::web::server::WORKER_STACK)
        .spawn(move || crate::fediverse::deliver::run(fed, pool, base));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "starting the fediverse deliverer");
    }
}

/// Starts the WebSub hub's thread (verifications and deliveries), with connections of the async
/// side's pool.
fn start_websub(
    ctx: &Context,
    client: Arc<crate::net::fetch::Client>,
    pool: Arc<StorePool>,
    base: String,
) {
    let hub = crate::websub::deliver::Deliverer {
        hub: ctx.websub.clone(),
        client,
        base,
        domain: ctx.domain.clone(),
        pulse: ctx.pulse.clone(),
    };
    let spawned = std::thread::Builder::new()
        .name("websub".into())
        .stack_size(crate::web::server::WORKER_STACK)
        .spawn(move || hub.run(pool));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "starting the WebSub hub");
    }
}

fn make_actor_keys(store: Store) {
    let spawned = std::thread::Builder::new()
        .name("actor-keys".into())
        .stack_size(crate::web::server::WORKER_STACK)
        .spawn(move || {
            let users = match store.users_without_rsa_key() {
                Ok(u) => u,
                Err(e) => return tracing::warn!(error = %e, "listing users without RSA keys"),
            };
            for id in users {
                let made = {
                    let _making = crate::web::actor::KEY_MAKER
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    store.rsa_public_key(id, crate::web::actor::make_key)
                };
                if let Err(e) = made {
                    tracing::warn!(error = %e, user = id, "making an RSA key");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "starting the RSA key maker");
    }
}
