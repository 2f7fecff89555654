//! Links with other nodes, on tokio: they drive the sans-IO [`crate::proto::link`] types.
//!
//! - [`link`]: one TCP link: handshake, identity check, reader and writer, keep-alive.
//! - [`inbound`]: what a node does with each frame it receives.
//! - [`follow`]: follow requests and answers (approval of followers), both sides.
//! - [`media`]: pictures' bytes between nodes: serving chunks, fetching them
//!   ([`media_fetches`] is the sans-IO table of fetches in flight).
//! - [`outbox`]: delivers each new post once per subscribed server, with retries.
//! - [`pool`]: database connections for async code.
//! - [`claims`]: which authors are being subscribed to now (one Subscribe each).
//! - [`counters`]: what happened, for `/healthz` and tests.
//! - [`scratch`]: reads into one buffer per thread, so an idle connection holds none.
//! - [`sigcheck`]: signature checks of received messages on threads of their own.
//! - [`firehose`]: the multicast firehose, relay sessions and hub mode.
//! - [`fetch`]: the blocking HTTPS client for federation (ActivityPub GETs and inbox POSTs).
//!
//! Trust: a link proves possession of a node key. The key counts for a domain only when DNS
//! pins it (`TXT _msm.<domain>`) or when this node dialled that domain (found through DNS)
//! and remembered the key it proved (trust on first use; a later different key is refused).
//! Messages are trusted by their author's signature, with the author's key learned from the
//! author's own node over a link this node dialled.
//!
//! Bounds: at most `links.max_links` links, a share of them kept for links this node dials,
//! and unverified inbound links in a budget of their own ([`budget`]); each link queues at
//! most [`link::SEND_QUEUE`] frames and [`link::SEND_QUEUE_BYTES`] bytes and buffers at most
//! one frame; a peer that does not read is dropped after [`link::SEND_TIMEOUT`]. Backfills are
//! read and sent a page at a time ([`backfill`]). A subscription from a link that did not
//! prove its domain is kept only once this node has dialled that domain and met the same key
//! ([`verify`]); subscribers are capped in all and per server. A message that fails its
//! signature refreshes its author's key at most once per [`refresh::KEY_REFRESH_INTERVAL`].
//!
//! Blocked domains ([`Net::blocked_domains`], the owner's): no link is dialled to or accepted
//! from one (the handshake ends with a Close saying so), a link already open closes at its
//! next frame, and messages of their authors are refused whoever carries them.

pub mod ackbook;
pub mod addressed;
pub mod backfill;
pub mod budget;
pub mod claims;
pub mod counters;
pub mod fetch;
pub mod firehose;
pub mod follow;
pub mod inbound;
pub mod link;
pub mod media;
pub mod media_fetches;
pub mod outbox;
pub mod pool;
pub mod preview;
pub mod refresh;
pub mod scratch;
pub mod sigcheck;
pub mod verify;

use crate::discover::{DiscoverError, Discovery};
use crate::proto::{link as wire, Address, FrameType, NodeKey, ProtoError};
use crate::store::federation::FollowNeeds;
use crate::store::StoreError;
use counters::Counters;
use link::Link;
use pool::StorePool;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Notify;

/// How long dialling one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a Subscribe may wait for its answer.
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Times a Subscribe is sent when the link closes under it (see [`Net::subscribe`]).
pub const SUBSCRIBE_ATTEMPTS: usize = 3;
/// Pause before sending it again, times the attempt: the link table settles meanwhile.
pub const SUBSCRIBE_RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Retry delays grow from this...
pub const RETRY_BASE_MS: u64 = 1_000;
/// ...to at most this.
pub const RETRY_CAP_MS: u64 = 300_000;

/// Why a network operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// The domain's node could not be found.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// No address of the node answered.
    #[error("could not reach the node of {domain}: {why}")]
    Unreachable {
        /// The domain.
        domain: String,
        /// The last connection error.
        why: String,
    },
    /// The node proved a key that DNS or memory does not give for its domain.
    #[error(
        "the node of {domain} proved key {got}, but {expected} is expected ({source_of_truth})"
    )]
    KeyMismatch {
        /// The domain.
        domain: String,
        /// Key proved.
        got: String,
        /// Key expected.
        expected: String,
        /// Where the expected key comes from.
        source_of_truth: &'static str,
    },
    /// The node answers for another domain than the one dialled.
    #[error("the node at {domain}'s address says it serves {claimed}")]
    WrongDomain {
        /// Dialled.
        domain: String,
        /// Claimed.
        claimed: String,
    },
    /// The peer broke the protocol.
    #[error("protocol: {0}")]
    Proto(#[from] ProtoError),
    /// The author does not exist on their node.
    #[error("{0} does not exist on its node")]
    NoSuchUser(String),
    /// The owner blocked this domain (or a parent of it) for the node.
    #[error("{0} is blocked on this node")]
    DomainBlocked(String),
    /// Too many links open.
    #[error("too many links open")]
    TooManyLinks,
    /// The link closed or did not answer in time.
    #[error("link to {0} closed or timed out")]
    LinkLost(String),
    /// Following a fediverse account failed (its actor, or queuing the `Follow`).
    #[error("fediverse: {0}")]
    Fediverse(String),
    /// A database error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No message or profile of another node's author names the picture.
    #[error("picture {0} is not known here")]
    NoSuchMedia(String),
    /// Too many pictures are being fetched at once.
    #[error("too many pictures are being fetched; try again shortly")]
    MediaBusy,
    /// The author's node did not give a picture's bytes, or gave wrong ones (nothing kept).
    #[error("the node of {domain} did not give picture {sha}: {why}")]
    MediaRefused {
        /// The author's domain.
        domain: String,
        /// The picture's SHA-256, in hex.
        sha: String,
        /// What went wrong.
        why: String,
    },
    /// Socket I/O.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Settings the network layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct NetSettings {
    /// Posts fetched on a new follow.
    pub backfill_on_follow: u32,
    /// Deliveries older than this are given up.
    pub max_age_ms: u64,
    /// Most links.
    pub max_links: usize,
    /// Most inbound links that have not proved their domain (`links.max_unverified`).
    pub max_unverified: usize,
    /// Most unverified links from one address (`links.max_unverified_per_addr`).
    pub max_unverified_per_addr: usize,
    /// An unverified link sending nothing but keep-alives this long is closed.
    pub unverified_idle: Duration,
    /// Most subscriber rows in all (`links.max_subscribers`).
    pub max_subscribers: u64,
    /// Bytes of other nodes' pictures kept as a cache (`media.cache_bytes`).
    pub media_cache_bytes: u64,
}

/// The network side of a node, shared by its tasks and the web workers.
pub struct Net {
    /// This node's domain.
    pub domain: String,
    key: NodeKey,
    /// DNS discovery.
    pub discovery: Discovery,
    /// Database connections.
    pub pool: Arc<StorePool>,
    /// What happened.
    pub counters: Counters,
    /// What the firehose did.
    pub firehose: firehose::FirehoseCounters,
    /// Domains whose links this hub carries through their relay sessions.
    pub routes: firehose::tunnel::Routes,
    /// The group-commit writer (received messages, outbox bookkeeping).
    pub writer: crate::store::writer::WriterHandle,
    /// Cap on post text (shared with the web side, changed by SIGHUP).
    pub max_text: Arc<AtomicUsize>,
    settings: NetSettings,
    links: Mutex<HashMap<String, Arc<Link>>>,
    dialing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    budget: budget::LinkBudget,
    outbox_wake: Notify,
    /// Servers to retry now (a link to them came up, or they asked for what they are owed).
    outbox_kicks: Mutex<HashSet<String>>,
    /// Servers being delivered to now, and servers waiting for a retry (set by the outbox).
    pub outbox_servers: outbox::ServerGauges,
    /// The fediverse side and the node's base URL, set once the web side is up; servers that
    /// are fediverse inboxes (`https://…`) are delivered to through it.
    pub fediverse: std::sync::OnceLock<(Arc<crate::fediverse::Fediverse>, String)>,
    /// This node's HTTPS listener, on an address the node itself can dial (set once it
    /// listens): where TLS connections a hub routes here by SNI are piped.
    pub https_local: std::sync::OnceLock<std::net::SocketAddr>,
    subscriptions_wake: Notify,
    subscribing: Arc<claims::Subscribing>,
    /// Subscriptions from unverified links, waiting for their domain's verification.
    pub pending_subscribers: verify::PendingSubscribers,
    /// When each author's key was last refreshed.
    pub(crate) key_refresh: Mutex<refresh::RefreshGate>,
    /// Budgets of authors nobody here follows who address messages to people here.
    pub(crate) addressed: Mutex<addressed::AddressedBudget>,
    /// Key queries for authors nobody here follows.
    pub(crate) key_queries: Mutex<addressed::KeyQueries>,
    /// Profile previews of authors nobody here follows.
    pub(crate) previews: Mutex<preview::Previews>,
    /// Pictures being fetched from their authors' nodes.
    pub(crate) media_fetches: Mutex<media_fetches::MediaFetches>,
    /// Woken when an answer for a picture fetch arrives.
    pub(crate) media_arrived: Notify,
    /// Domains the owner blocked: no links, follows or messages with them.
    pub blocked_domains: crate::store::blocked_domains::BlockedDomains,
    /// Threads checking received messages' signatures, off the network thread.
    pub sigcheck: sigcheck::SigCheck,
}

/// Outcome of a follow, for the person asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowState {
    /// A local user: nothing to subscribe.
    Local,
    /// Subscribed at the author's node (or already was).
    Active,
    /// The author's node could not be reached; retried in the background.
    Pending(String),
}

impl Net {
    /// The network side for a node.
    pub fn new(
        domain: String,
        key: NodeKey,
        discovery: Discovery,
        pool: StorePool,
        writer: crate::store::writer::WriterHandle,
        max_text: Arc<AtomicUsize>,
        settings: NetSettings,
    ) -> Arc<Self> {
        Arc::new(Net {
            domain,
            key,
            discovery,
            pool: Arc::new(pool),
            counters: Counters::default(),
            firehose: Default::default(),
            routes: Default::default(),
            writer,
            max_text,
            budget: budget::LinkBudget::new(
                settings.max_links,
                settings.max_unverified,
                settings.max_unverified_per_addr,
            ),
            settings,
            links: Mutex::new(HashMap::new()),
            dialing: Mutex::new(HashMap::new()),
            outbox_wake: Notify::new(),
            outbox_kicks: Mutex::new(HashSet::new()),
            outbox_servers: Default::default(),
            subscriptions_wake: Notify::new(),
            subscribing: Arc::default(),
            pending_subscribers: Default::default(),
            key_refresh: Default::default(),
            addressed: Default::default(),
            key_queries: Default::default(),
            previews: Default::default(),
            media_fetches: Default::default(),
            media_arrived: Notify::new(),
            blocked_domains: Default::default(),
            sigcheck: sigcheck::SigCheck::start(sigcheck::VERIFY_WORKERS),
            fediverse: Default::default(),
            https_local: Default::default(),
        })
    }

    /// The node key.
    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    /// The message limits in force.
    pub fn limits(&self) -> crate::proto::Limits {
        crate::proto::Limits {
            max_text: self.max_text.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Wakes the outbox (a post was stored).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Makes the outbox retry `server` now and wakes it.
    pub fn kick_outbox(&self, server: &str) {
        {
            let mut k = self.outbox_kicks.lock().unwrap_or_else(|p| p.into_inner());
            if k.len() < outbox::MAX_KICKS {
                k.insert(server.to_string());
            }
        }
        self.outbox_wake.notify_one();
    }

    /// The servers kicked since the last call.
    fn take_kicks(&self) -> HashSet<String> {
        std::mem::take(&mut *self.outbox_kicks.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A live, verified link to `domain`'s node, dialling it if needed (one dial at a time per
    /// domain).
    pub async fn link_to(self: &Arc<Self>, domain: &str) -> Result<Arc<Link>, NetError> {
        if self.blocked_domains.matches(domain) {
            return Err(NetError::DomainBlocked(domain.to_string()));
        }
        if let Some(l) = self.live_link(domain) {
            return Ok(l);
        }
        let gate = self
            .dialing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(domain.to_string())
            .or_default()
            .clone();
        let _one_dial = gate.lock().await;
        if let Some(l) = self.live_link(domain) {
            return Ok(l);
        }
        link::dial(self.clone(), domain).await
    }

    fn live_link(&self, domain: &str) -> Option<Arc<Link>> {
        let links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.get(domain).filter(|l| l.is_open()).cloned()
    }

    pub(crate) fn register(&self, link: &Arc<Link>) {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(link.peer_domain.clone(), link.clone());
    }

    pub(crate) fn unregister(&self, link: &Arc<Link>) {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        if links
            .get(&link.peer_domain)
            .is_some_and(|l| Arc::ptr_eq(l, link))
        {
            links.remove(&link.peer_domain);
        }
    }

    /// Number of open links.
    pub fn link_count(&self) -> usize {
        self.budget.open()
    }

    /// `user_id` follows `author`: records it and, for a remote author this node is not yet
    /// subscribed to, subscribes at the author's node. A domain that does not exist or an
    /// author unknown there is an error and nothing is kept; an unreachable node leaves the
    /// follow pending and retried.
    pub async fn follow(
        self: &Arc<Self>,
        user_id: i64,
        author: Address,
    ) -> Result<FollowState, NetError> {
        if self.blocked_domains.matches(author.domain()) {
            return Err(NetError::DomainBlocked(author.domain().to_string()));
        }
        let backfill = self.settings.backfill_on_follow;
        // Claimed before the subscription row exists, so the retry loop cannot find it due
        // and subscribe a second time while this one is under way.
        let _claim = self.subscribing.claim(author.as_str());
        let a = author.clone();
        let needs = self
            .pool
            .run(move |s| s.follow(user_id, &a, backfill, crate::now_ms()))
            .await?;
        if author.domain() == self.domain {
            return Ok(FollowState::Local);
        }
        if needs == FollowNeeds::Nothing {
            // The node is subscribed already, or still trying: say which.
            let a = author.clone();
            let state = self
                .pool
                .run(move |s| {
                    Ok(s.following(user_id)?
                        .into_iter()
                        .find(|(addr, _, _)| *addr == a.as_str()))
                })
                .await?;
            return Ok(match state {
                Some((_, Some(st), err)) if st != "active" => {
                    FollowState::Pending(err.unwrap_or_else(|| {
                        format!("the subscription at {} is {st}", author.domain())
                    }))
                }
                _ => FollowState::Active,
            });
        }
        match self.subscribe_any(&author).await {
            Ok(()) => Ok(FollowState::Active),
            Err(
                e @ (NetError::Discover(DiscoverError::NoSuchDomain(_))
                | NetError::Discover(DiscoverError::NoNode(_))
                | NetError::NoSuchUser(_)),
            ) => {
                let a = author.clone();
                self.pool.run(move |s| s.drop_follows_of(&a)).await?;
                Err(e)
            }
            Err(e) => {
                let why = e.to_string();
                self.subscription_failed(&author, &why, 0).await;
                Ok(FollowState::Pending(why))
            }
        }
    }

    /// Hub: streams `author`'s public posts from now on (their small node asked), subscribing
    /// at their node like a follower; a failed subscription is retried in the background.
    pub async fn stream_author(self: &Arc<Self>, author: Address) -> Result<(), NetError> {
        let a = author.clone();
        let needs = self
            .pool
            .run(move |s| s.stream_author(&a, crate::now_ms()))
            .await?;
        if needs == FollowNeeds::Nothing {
            return Ok(());
        }
        if let Err(e) = self.subscribe(&author).await {
            tracing::info!(%author, error = %e, "streaming: subscription failed; will retry");
            self.subscription_failed(&author, &e.to_string(), 0).await;
        }
        Ok(())
    }

    /// Stops `user_id` following `author`; the last local follower's unfollow unsubscribes.
    pub async fn unfollow(self: &Arc<Self>, user_id: i64, author: Address) -> Result<(), NetError> {
        let fed = self.fediverse.get().cloned();
        let a = author.clone();
        let (last, fediverse) = self
            .pool
            .run(move |s| {
                // a fediverse account hears of it by an Undo of the Follow
                let mut fediverse = false;
                if let Some((fed, base)) = &fed {
                    match crate::fediverse::follow::undo(fed, s, base, user_id, &a) {
                        Ok(known) => fediverse = known,
                        Err(e) => tracing::warn!(author = %a, error = %e,
                            "could not queue the Undo of a fediverse follow"),
                    }
                }
                Ok((s.unfollow(user_id, &a)?, fediverse))
            })
            .await?;
        if last && author.domain() != self.domain && !fediverse {
            if let Ok(l) = self.link_to(author.domain()).await {
                let _ = l
                    .send(
                        FrameType::Unsubscribe,
                        wire::encode(&wire::Unsubscribe { author }),
                    )
                    .await;
            }
        }
        Ok(())
    }

    /// Subscribes to `author`: on the fediverse if its domain's WebFinger names an actor
    /// (`crate::fediverse::follow`), else at its msm node ([`Net::subscribe`]).
    pub async fn subscribe_any(self: &Arc<Self>, author: &Address) -> Result<(), NetError> {
        if self.discovery.is_static(author.domain()) {
            // the configuration names this domain's msm node
            return self.subscribe(author).await;
        }
        match crate::fediverse::follow::subscribe(self, author).await {
            Some(Ok(())) => {
                tracing::info!(%author, "followed on the fediverse");
                Ok(())
            }
            Some(Err(e)) => Err(NetError::Fediverse(e)),
            None => self.subscribe(author).await,
        }
    }

    /// Subscribes at the author's node and waits for the answer (which the link stores).
    ///
    /// The first subscription asks for the author's `backfill_on_follow` newest posts. Later
    /// ones (a key refresh, a retry after the node was away) ask for none: this node holds
    /// the author's posts up to its contiguous seq, and asks for what follows it, up to the
    /// newest seq the answer names, as a gap ([`inbound::ask_backfill`]).
    pub async fn subscribe(self: &Arc<Self>, author: &Address) -> Result<(), NetError> {
        let a = author.clone();
        let held = self.pool.run(move |s| s.contiguous_seq(&a)).await?;
        let backfill = if held > 0 {
            0
        } else {
            self.settings.backfill_on_follow
        };
        // A link may close under a Subscribe in flight without any fault of the peer's: when
        // the author's node dials back to verify this node's domain, one of the two links
        // between the nodes gives way, and the link table may still hold the closing one for
        // a moment. The Subscribe then goes again on the link that stays, after a short pause.
        let last = SUBSCRIBE_ATTEMPTS - 1;
        for attempt in 0..SUBSCRIBE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(SUBSCRIBE_RETRY_PAUSE * attempt as u32).await;
            }
            let link = self.link_to(author.domain()).await?;
            let answer = link.expect_subscribed(author);
            let sent = link
                .send(
                    FrameType::Subscribe,
                    wire::encode(&wire::Subscribe {
                        author: author.clone(),
                        backfill,
                    }),
                )
                .await;
            match sent {
                Err(_) if attempt < last => continue,
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            let answered = tokio::time::timeout(SUBSCRIBE_TIMEOUT, async {
                tokio::select! {
                    a = answer => a.ok(),
                    _ = link.wait_closed() => None,
                }
            })
            .await;
            match answered {
                Ok(Some(Ok(newest))) if held > 0 => {
                    // The answer stored the key and skipped what is older than the floor.
                    // Asking for the rest failing does not undo the subscription: the next
                    // message of the author shows the gap again.
                    let gap = async {
                        let a = author.clone();
                        let now = self.pool.run(move |s| s.contiguous_seq(&a)).await?;
                        if now < newest {
                            inbound::ask_backfill(self, &link, author, now + 1, newest).await?;
                        }
                        Ok::<(), NetError>(())
                    };
                    if let Err(e) = gap.await {
                        tracing::info!(%author, error = %e, "asking for what follows the stored posts failed");
                    }
                    return Ok(());
                }
                Ok(Some(Ok(_))) => return Ok(()),
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) if attempt < last => {
                    tracing::debug!(%author, attempt, "link closed under a Subscribe; again");
                }
                _ => break,
            }
        }
        Err(NetError::LinkLost(author.domain().to_string()))
    }

    async fn subscription_failed(&self, author: &Address, why: &str, attempts: u32) {
        let a = author.clone();
        let why = why.to_string();
        let next = crate::now_ms() + retry_delay_ms(attempts);
        if let Err(e) = self
            .pool
            .run(move |s| s.subscription_failed(&a, &why, next))
            .await
        {
            tracing::warn!(error = %e, "could not record a failed subscription");
        }
    }

    /// Retries pending subscriptions whose time has come; runs until the process ends.
    pub async fn subscription_loop(self: Arc<Self>) {
        loop {
            let _ =
                tokio::time::timeout(Duration::from_secs(2), self.subscriptions_wake.notified())
                    .await;
            let due = match self
                .pool
                .run(|s| s.due_subscriptions(crate::now_ms(), 32))
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "reading pending subscriptions");
                    continue;
                }
            };
            for (author, attempts) in due {
                let Some(claim) = self.subscribing.claim(author.as_str()) else {
                    continue;
                };
                let net = self.clone();
                tokio::spawn(async move {
                    let _claim = claim;
                    match net.subscribe_any(&author).await {
                        Ok(()) => {
                            tracing::info!(%author, "subscribed");
                            follow::ask_author(&net, &author).await;
                        }
                        Err(
                            NetError::NoSuchUser(_)
                            | NetError::Discover(DiscoverError::NoSuchDomain(_)),
                        ) => {
                            tracing::warn!(%author, "no such author; dropping the follows");
                            let a = author.clone();
                            let _ = net.pool.run(move |s| s.drop_follows_of(&a)).await;
                        }
                        Err(e) => {
                            tracing::info!(%author, error = %e, attempts, "subscription failed; will retry");
                            net.subscription_failed(&author, &e.to_string(), attempts + 1)
                                .await;
                        }
                    }
                });
            }
        }
    }

    /// Dials every domain this node is subscribed at, so that their outboxes flush now
    /// (after a restart, what was posted meanwhile arrives at once). With `catch_up` (the last
    /// stop was not clean), also asks each of them for every followed author's messages after
    /// the author's contiguous seq: received messages are answered before their commit
    /// (`store::writer`), and the author's node no longer owes what was answered.
    pub async fn announce(self: Arc<Self>, catch_up: bool) {
        let domains = self
            .pool
            .run(|s| s.subscribed_domains())
            .await
            .unwrap_or_default();
        for d in domains {
            let net = self.clone();
            tokio::spawn(async move {
                match net.link_to(&d).await {
                    Ok(link) if catch_up => {
                        if let Err(e) = net.catch_up(&link).await {
                            tracing::info!(domain = %d, error = %e, "catching up failed; the next gap asks again");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(domain = %d, error = %e, "announce failed"),
                }
            });
        }
    }

    /// Asks `link`'s node for what follows each followed author's contiguous seq there.
    async fn catch_up(self: &Arc<Self>, link: &Arc<Link>) -> Result<(), NetError> {
        let d = link.peer_domain.clone();
        let points = self.pool.run(move |s| s.catch_up_points(&d)).await?;
        tracing::info!(domain = %link.peer_domain, authors = points.len(), "unclean stop: asking for what came after the last stored posts");
        for (author, seq) in points {
            inbound::ask_backfill(self, link, &author, seq + 1, seq + wire::MAX_BACKFILL).await?;
        }
        Ok(())
    }
}

/// Writes one frame (links, relay sessions and tunnels all frame alike).
pub async fn write_frame<W, E>(w: &mut W, kind: FrameType, payload: &[u8]) -> Result<(), E>
where
    W: tokio::io::AsyncWrite + Unpin,
    E: From<ProtoError> + From<std::io::Error>,
{
    use tokio::io::AsyncWriteExt;
    let mut out = Vec::with_capacity(payload.len() + crate::proto::frame::HEADER_LEN);
    crate::proto::frame::encode(kind, payload, &mut out)?;
    w.write_all(&out).await?;
    Ok(())
}

/// Capped exponential backoff with ±25% jitter.
pub fn retry_delay_ms(attempts: u32) -> u64 {
    let base = RETRY_BASE_MS
        .saturating_mul(1u64 << attempts.min(20))
        .min(RETRY_CAP_MS);
    let mut r = [0u8; 2];
    let _ = getrandom::getrandom(&mut r);
    let jitter = u64::from(u16::from_le_bytes(r)) * (base / 2) / u64::from(u16::MAX);
    base - base / 4 + jitter
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        let d0 = super::retry_delay_ms(0);
        assert!((750..=1250).contains(&d0), "{d0}");
        let d3 = super::retry_delay_ms(3);
        assert!((6000..=10000).contains(&d3), "{d3}");
        assert!(super::retry_delay_ms(40) <= super::RETRY_CAP_MS * 5 / 4);
    }
}
