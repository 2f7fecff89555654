//! One link: handshake, identity check, then a reader (frames in order) and a writer (a
//! queue bounded in frames and in bytes), with keep-alive. A write that makes no progress for
//! [`SEND_TIMEOUT`] closes the link, and an unverified inbound link that sends nothing but
//! keep-alives for `links.unverified_idle_s` is closed (see [`super::budget`]).

use super::ackbook::{AckBook, Arrived};
use super::budget::{LinkSlot, Refusal};
use super::{scratch, Counters, Net, NetError, CONNECT_TIMEOUT};
use crate::proto::frame::{self, FrameDecoder};
use crate::proto::link::{self as wire, Hello, KeepAlive, KeepAliveAction, Role};
use crate::proto::{Address, FrameType, PublicKey};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Frames a link may queue for sending (~64 messages).
pub const SEND_QUEUE: usize = 64;
/// Bytes of payload a link may queue for sending: 64 KiB, a window's worth of typical posts.
/// A frame larger than this takes the whole budget. 256 links that all stop reading hold at
/// most 16 MiB in queues, and the unverified ones (`links.max_unverified`) a fraction of it.
pub const SEND_QUEUE_BYTES: usize = 64 * 1024;
/// A peer whose queue stays full, or whose socket takes no bytes, this long is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole handshake must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most frames handled as one run (see `run`).
const RUN: usize = 64;
/// Shortest wait between two keep-alive checks.
const KEEPALIVE_MIN_WAIT: Duration = Duration::from_millis(10);

type SubscribeAnswer = oneshot::Sender<Result<u64, NetError>>;

/// An established link.
pub struct Link {
    /// The domain the peer serves.
    pub peer_domain: String,
    /// The key it proved.
    pub peer_key: PublicKey,
    /// True if that key is the domain's key (DNS pin, or remembered from dialling it).
    pub verified: bool,
    /// Link protocol version both sides speak (the lower of the two Hellos).
    pub version: u32,
    /// Which end this node is.
    pub role: Role,
    tx: mpsc::Sender<(FrameType, Payload)>,
    /// Bytes still free in the send queue (see [`SEND_QUEUE_BYTES`]).
    queue_room: Semaphore,
    open: AtomicBool,
    closed: tokio::sync::Notify,
    acks: Mutex<AckBook>,
    /// Woken (one permit kept) whenever an awaited Ack arrives: the delivery to this peer.
    acked: tokio::sync::Notify,
    subscribes: Mutex<HashMap<String, SubscribeAnswer>>,
    pub(crate) backfill_asked: Mutex<HashMap<String, u64>>,
}

impl Link {
    /// True until the link closes.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Resolves when the link has closed.
    pub async fn wait_closed(&self) {
        while self.is_open() {
            let notified = self.closed.notified();
            if !self.is_open() {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
        }
    }

    fn mark_closed(&self) {
        self.open.store(false, Ordering::Relaxed);
        self.closed.notify_waiters();
    }

    /// Queues a frame; waits at most [`SEND_TIMEOUT`] for room (in frames and in bytes).
    pub async fn send(&self, kind: FrameType, payload: impl Into<Payload>) -> Result<(), NetError> {
        let payload = payload.into();
        let queued = async {
            self.queue_room
                .acquire_many(queue_cost(payload.len()))
                .await
                .map_err(|_| ())?
                .forget();
            self.tx.send((kind, payload)).await.map_err(|_| ())
        };
        match tokio::time::timeout(SEND_TIMEOUT, queued).await {
            Ok(Ok(())) => Ok(()),
            _ => {
                self.mark_closed();
                Err(NetError::LinkLost(self.peer_domain.clone()))
            }
        }
    }

    fn ack_book(&self) -> std::sync::MutexGuard<'_, AckBook> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a delivery of `(author, seq)` about to be sent: its Ack is kept for
    /// [`Link::take_acks`].
    pub fn expect_ack(&self, author: &Arc<str>, seq: u64) {
        self.ack_book().expect(author, seq);
    }

    /// True if a delivery of `(author, seq)` on this link waits for its Ack.
    pub(crate) fn awaits_ack(&self, author: &str, seq: u64) -> bool {
        self.ack_book().awaits(author, seq)
    }

    pub(crate) fn ack_arrived(&self, ack: &wire::AckView<'_>) {
        if self.ack_book().arrived(ack.author, ack.seq, ack.status) {
            self.acked.notify_one();
        }
    }

    /// Moves the Acks awaited through [`Link::expect_ack`] that arrived since the last call
    /// into `into`.
    pub fn take_acks(&self, into: &mut Vec<Arrived>) {
        self.ack_book().take(into);
    }

    /// Resolves once an Ack awaited through [`Link::expect_ack`] has arrived since the last
    /// time this resolved (an Ack that arrived in between is not missed).
    pub async fn ack_arrived_since(&self) {
        self.acked.notified().await;
    }

    /// Registers interest in the Subscribed answer for `author` (the author's newest seq, as
    /// their node answered).
    pub fn expect_subscribed(&self, author: &Address) -> oneshot::Receiver<Result<u64, NetError>> {
        let (tx, rx) = oneshot::channel();
        self.subscribes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(author.to_string(), tx);
        rx
    }

    pub(crate) fn subscribed_arrived(&self, author: &Address, result: Result<u64, NetError>) {
        if let Some(tx) = self
            .subscribes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(author.as_str())
        {
            let _ = tx.send(result);
        }
    }
}

/// A frame's payload in a link's send queue: made for this link, or shared with the other
/// links it goes to (a post's signed bytes, fanned out to every server without a copy each).
#[derive(Debug)]
pub enum Payload {
    /// Bytes of this frame alone.
    Own(Vec<u8>),
    /// Bytes shared with other frames.
    Shared(Arc<[u8]>),
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Payload::Own(v) => v,
            Payload::Shared(a) => a,
        }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(v: Vec<u8>) -> Self {
        Payload::Own(v)
    }
}

impl From<Arc<[u8]>> for Payload {
    fn from(a: Arc<[u8]>) -> Self {
        Payload::Shared(a)
    }
}

/// What a queued payload of `len` bytes costs of [`SEND_QUEUE_BYTES`] (at least 1, at most all).
fn queue_cost(len: usize) -> u32 {
    len.clamp(1, SEND_QUEUE_BYTES) as u32
}

/// Dials `domain`'s node (through discovery), trying each address in turn.
pub async fn dial(net: Arc<Net>, domain: &str) -> Result<Arc<Link>, NetError> {
    let record = net.discovery.find(domain).await?;
    let mut last = String::from("no address");
    for addr in &record.addrs {
        let permit = net.budget.dialled().ok_or(NetError::TooManyLinks)?;
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                last = format!("{addr}: {e}");
                continue;
            }
            Err(_) => {
                last = format!("{addr}: timed out");
                continue;
            }
        };
        let expect = Expect {
            domain: domain.to_string(),
            pinned: record.pinned_key,
            addr: *addr,
        };
        let _ = stream.set_nodelay(true);
        let peer_addr = stream.peer_addr()?;
        let (r, w) = stream.into_split();
        let parts = Parts {
            reader: FrameReader::new(r),
            w,
            peer_addr,
            first: None,
        };
        return establish(net, parts, Role::Dialer, Some(expect), permit).await;
    }
    Err(NetError::Unreachable {
        domain: domain.to_string(),
        why: last,
    })
}

/// Pause after a failed accept (out of descriptors, usually) before trying again.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// At most one warning about failed accepts per this interval.
pub const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(10);

/// Accepts links until the process ends.
pub async fn listen(net: Arc<Net>, listener: TcpListener) {
    // Out of descriptors, accept fails until some are freed: retried after a pause, logged
    // once per ACCEPT_WARN_EVERY with a count (a router's log is a small ring buffer).
    let (mut failed, mut warned_at) = (0u64, None::<std::time::Instant>);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                failed += 1;
                if warned_at.is_none_or(|t| t.elapsed() >= ACCEPT_WARN_EVERY) {
                    tracing::warn!(error = %e, failed, "accepting links failed; retrying");
                    (failed, warned_at) = (0, Some(std::time::Instant::now()));
                }
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let local = stream.local_addr().map_or(peer.ip(), |a| a.ip());
        let permit = match net.budget.inbound(peer.ip(), local) {
            Ok(p) => p,
            Err(why) => {
                Counters::bump(&net.counters.links_refused);
                let why = match why {
                    Refusal::Inbound => "every inbound link slot is taken",
                    Refusal::Unverified => "every handshake slot is taken",
                    Refusal::PerAddress => "this address holds its share of unverified links",
                };
                tracing::debug!(%peer, why, "link refused");
                continue;
            }
        };
        let net = net.clone();
        tokio::spawn(async move {
            if let Err(e) = accept(net, stream, permit).await {
                tracing::info!(%peer, error = %e, "inbound link failed");
            }
        });
    }
}

/// An accepted connection: reads the dialler's Hello first. A Hello for a domain this node
/// carries links for (a hub standing in for a node behind carrier NAT) goes down that node's
/// relay session; any other goes on to the handshake.
async fn accept(net: Arc<Net>, stream: TcpStream, permit: LinkSlot) -> Result<(), NetError> {
    let _ = stream.set_nodelay(true);
    let peer_addr = stream.peer_addr()?;
    let (r, w) = stream.into_split();
    let mut reader = FrameReader::new(r);
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, reader.next())
        .await
        .map_err(|_| NetError::LinkLost(peer_addr.to_string()))??;
    if first.kind == FrameType::Hello {
        if let Ok(h) = Hello::decode(&first.payload) {
            if !h.to.is_empty() && h.to != net.domain {
                let Some(r) = reader.into_inner() else {
                    return Err(NetError::Proto(crate::proto::ProtoError::Malformed {
                        what: "handshake",
                        why: "bytes after the Hello before the answer".into(),
                    }));
                };
                let (permit, _share) = permit.carried();
                return super::firehose::tunnel::carry(&net, &h.to, r, w, first, permit).await;
            }
        }
    }
    let parts = Parts {
        reader,
        w,
        peer_addr,
        first: Some(first),
    };
    establish(net, parts, Role::Listener, None, permit)
        .await
        .map(|_| ())
}

/// A connection before the handshake: its halves, and the dialler's Hello if already read.
struct Parts {
    reader: FrameReader,
    w: OwnedWriteHalf,
    peer_addr: SocketAddr,
    first: Option<frame::OwnedFrame>,
}

/// What a dialler expects of the node it dialled.
struct Expect {
    domain: String,
    pinned: Option<PublicKey>,
    addr: SocketAddr,
}

/// The reading side of a link: the socket half and the frame decoder. No read buffer of its
/// own: reads go through the thread's scratch buffer ([`scratch`]), and the decoder holds
/// bytes only while a frame is in progress, so an idle link holds no buffer.
struct FrameReader {
    r: OwnedReadHalf,
    dec: FrameDecoder,
}

impl FrameReader {
    fn new(r: OwnedReadHalf) -> Self {
        FrameReader {
            r,
            dec: FrameDecoder::new(),
        }
    }

    /// The next whole frame. Cancel-safe: bytes are only taken once a read completes.
    async fn next(&mut self) -> Result<frame::OwnedFrame, NetError> {
        loop {
            if let Some(f) = self.dec.next_frame()? {
                return Ok(f);
            }
            if scratch::read_into(&mut self.r, &mut self.dec).await? == 0 {
                return Err(NetError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// The socket half back, if no bytes wait in the decoder.
    fn into_inner(self) -> Option<OwnedReadHalf> {
        self.dec.is_empty().then_some(self.r)
    }

    /// A frame already buffered, if any (no waiting).
    fn buffered(&mut self) -> Option<frame::OwnedFrame> {
        self.dec.next_frame().ok().flatten()
    }
}

async fn write_frame(
    w: &mut OwnedWriteHalf,
    kind: FrameType,
    payload: &[u8],
) -> Result<(), NetError> {
    super::write_frame(w, kind, payload).await
}

/// Runs the handshake, checks identity, registers the link and spawns its tasks.
async fn establish(
    net: Arc<Net>,
    parts: Parts,
    role: Role,
    expect: Option<Expect>,
    mut permit: LinkSlot,
) -> Result<Arc<Link>, NetError> {
    let Parts {
        mut reader,
        mut w,
        peer_addr,
        first,
    } = parts;
    let to = expect.as_ref().map_or("", |e| e.domain.as_str());
    let hs = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake(&net, role, to, first, &mut reader, &mut w),
    )
    .await;
    let (peer_hello, peer_key) = match hs {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            Counters::bump(&net.counters.handshake_failures);
            return Err(e);
        }
        Err(_) => {
            Counters::bump(&net.counters.handshake_failures);
            return Err(NetError::LinkLost(peer_addr.to_string()));
        }
    };
    if net.blocked_domains.matches(&peer_hello.domain) {
        Counters::bump(&net.counters.links_refused);
        let reason = wire::encode(&wire::Close {
            reason: format!("{} is blocked on this node", peer_hello.domain),
        });
        let _ = write_frame(&mut w, FrameType::Close, &reason).await;
        tracing::info!(peer = %peer_addr, domain = %peer_hello.domain, "link from a blocked domain refused");
        return Err(NetError::DomainBlocked(peer_hello.domain));
    }
    let verified = match check_identity(&net, &peer_hello.domain, &peer_key, expect.as_ref()).await
    {
        Ok(v) => v,
        Err(e) => {
            Counters::bump(&net.counters.key_mismatches);
            let reason = wire::encode(&wire::Close {
                reason: e.to_string(),
            });
            let _ = write_frame(&mut w, FrameType::Close, &reason).await;
            tracing::warn!(peer = %peer_addr, domain = %peer_hello.domain, error = %e, "link refused");
            return Err(e);
        }
    };
    if !verified && permit.unverified(&net.budget).is_err() {
        Counters::bump(&net.counters.links_refused);
        let reason = wire::encode(&wire::Close {
            reason: "too many unverified links: prove your domain (DNS TXT pin) or try later"
                .into(),
        });
        let _ = write_frame(&mut w, FrameType::Close, &reason).await;
        tracing::debug!(peer = %peer_addr, domain = %peer_hello.domain, "unverified link refused");
        return Err(NetError::TooManyLinks);
    }
    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    let link = Arc::new(Link {
        peer_domain: peer_hello.domain.clone(),
        peer_key,
        verified,
        version: peer_hello.version,
        role,
        tx,
        queue_room: Semaphore::new(SEND_QUEUE_BYTES),
        open: AtomicBool::new(true),
        closed: tokio::sync::Notify::new(),
        acks: Mutex::new(AckBook::default()),
        acked: tokio::sync::Notify::new(),
        subscribes: Mutex::new(HashMap::new()),
        backfill_asked: Mutex::new(HashMap::new()),
    });
    match role {
        Role::Dialer => Counters::bump(&net.counters.links_out),
        Role::Listener => Counters::bump(&net.counters.links_in),
    }
    // Deliveries and subscriptions always use links this node dialled to the address DNS
    // gives; a verified inbound link only tells that the peer is back, so its deliveries are due.
    if verified {
        permit.verified();
        if role == Role::Dialer {
            net.register(&link);
        }
        net.kick_outbox(&link.peer_domain);
    }
    tracing::info!(peer = %peer_addr, domain = %link.peer_domain, ?role, verified, "link up");
    let span = tracing::info_span!("link", peer = %peer_addr, domain = %link.peer_domain);
    tokio::spawn(tracing::Instrument::instrument(
        run(net, link.clone(), reader, w, rx, permit),
        span,
    ));
    Ok(link)
}

/// The link handshake: the dialler's Hello (naming the domain `to` it dialled) goes first;
/// the listener answers once it has read it (`first`, if the caller read it already).
async fn handshake(
    net: &Net,
    role: Role,
    to: &str,
    first: Option<frame::OwnedFrame>,
    reader: &mut FrameReader,
    w: &mut OwnedWriteHalf,
) -> Result<(Hello, PublicKey), NetError> {
    let mut nonce = [0u8; 32];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| NetError::Io(std::io::Error::other(e.to_string())))?;
    let mut hello = Hello::new(&net.domain, net.key(), nonce).to(to);
    let mut mine = wire::encode(&hello);
    if role == Role::Dialer {
        write_frame(w, FrameType::Hello, &mine).await?;
    }
    let f = match first {
        Some(f) => f,
        None => reader.next().await?,
    };
    if role == Role::Listener {
        // answer an older dialler in its own version (see `wire::LINK_VERSION`)
        if let Some(v) = Hello::decode(&f.payload).ok().map(|p| p.version) {
            hello.version = hello.version.min(v);
            mine = wire::encode(&hello);
        }
        write_frame(w, FrameType::Hello, &mine).await?;
    }
    if f.kind != FrameType::Hello {
        return Err(NetError::Proto(crate::proto::ProtoError::Malformed {
            what: "handshake",
            why: format!("expected Hello, got {:?}", f.kind),
        }));
    }
    let mut peer = Hello::decode(&f.payload)?;
    // the link speaks the lower version; `peer.version` carries it to the Link
    peer.version = peer.version.min(hello.version);
    let peer_key = peer.public_key()?;
    let (dialer, listener) = match role {
        Role::Dialer => (&mine, &f.payload),
        Role::Listener => (&f.payload, &mine),
    };
    write_frame(
        w,
        FrameType::Auth,
        &wire::auth(net.key(), role, dialer, listener),
    )
    .await?;
    let a = reader.next().await?;
    if a.kind != FrameType::Auth {
        return Err(NetError::Proto(crate::proto::ProtoError::Malformed {
            what: "handshake",
            why: format!("expected Auth, got {:?}", a.kind),
        }));
    }
    let peer_role = match role {
        Role::Dialer => Role::Listener,
        Role::Listener => Role::Dialer,
    };
    wire::verify_auth(&peer_key, peer_role, dialer, listener, &a.payload)?;
    Ok((peer, peer_key))
}

/// Decides whether the proved key belongs to the claimed domain. For a dialled node a
/// mismatch is an error; for an inbound link an unknown key is merely unverified, a key that
/// contradicts a pin or memory is an error.
async fn check_identity(
    net: &Arc<Net>,
    domain: &str,
    key: &PublicKey,
    expect: Option<&Expect>,
) -> Result<bool, NetError> {
    let mismatch = |expected: &PublicKey, source_of_truth| NetError::KeyMismatch {
        domain: domain.to_string(),
        got: key.to_text(),
        expected: expected.to_text(),
        source_of_truth,
    };
    if let Some(e) = expect {
        if e.domain != domain {
            return Err(NetError::WrongDomain {
                domain: e.domain.clone(),
                claimed: domain.to_string(),
            });
        }
    }
    let pinned = match expect {
        Some(e) => e.pinned,
        None => net
            .discovery
            .find(domain)
            .await
            .ok()
            .and_then(|r| r.pinned_key),
    };
    if let Some(p) = pinned {
        if &p != key {
            net.discovery.forget(domain);
            return Err(mismatch(&p, "DNS TXT pin or WebFinger key"));
        }
        return Ok(true);
    }
    let d = domain.to_string();
    let remembered = net.pool.run(move |s| s.peer_key(&d)).await?;
    match (remembered, expect) {
        (Some(k), _) if &k != key => Err(mismatch(&k, "key remembered from an earlier link")),
        (Some(_), _) => Ok(true),
        (None, Some(e)) => {
            let (d, addr, k) = (domain.to_string(), e.addr, *key);
            net.pool
                .run(move |s| s.remember_peer(&d, &addr, &k, crate::now_ms()))
                .await?;
            Ok(true)
        }
        (None, None) => Ok(false),
    }
}

/// Runs an established link until it closes, then unregisters it and frees its slot: one task
/// reads frames, writes the send queue and keeps the link alive (no writer task of its own,
/// nothing that wakes while idle but the keep-alive timer). Not an `async fn`: an async block
/// uses its captures in place, where an `async fn` keeps a second copy of its arguments in
/// every idle link's task.
#[allow(clippy::manual_async_fn)]
fn run(
    net: Arc<Net>,
    link: Arc<Link>,
    mut reader: FrameReader,
    mut w: OwnedWriteHalf,
    mut rx: mpsc::Receiver<(FrameType, Payload)>,
    permit: LinkSlot,
) -> impl std::future::Future<Output = ()> {
    async move {
        let mut keep = KeepAlive::new(crate::now_ms());
        // An unverified link is closed when it has sent nothing but keep-alives this long.
        let idle_limit = (!link.verified).then_some(net.settings.unverified_idle);
        let mut last_useful = tokio::time::Instant::now();
        loop {
            let deadline = keep.next_deadline();
            let mut wait = Duration::from_millis(deadline.saturating_sub(crate::now_ms()))
                .max(KEEPALIVE_MIN_WAIT);
            if let Some(limit) = idle_limit {
                let left = limit.saturating_sub(last_useful.elapsed());
                if left.is_zero() {
                    tracing::info!("unverified link idle too long");
                    break;
                }
                wait = wait.min(left);
            }
            tokio::select! {
                f = reader.next() => match f {
                    Ok(f) => {
                        keep.received(crate::now_ms());
                        // Frames that are already buffered are handled together, so that a run of
                        // messages is stored in one commit instead of one fsync each.
                        let mut frames = vec![f];
                        while frames.len() < RUN {
                            match reader.buffered() {
                                Some(g) => frames.push(g),
                                None => break,
                            }
                        }
                        if frames.iter().any(|f| !matches!(f.kind, FrameType::Ping | FrameType::Pong)) {
                            last_useful = tokio::time::Instant::now();
                        }
                        if let Err(e) = Box::pin(handle_writing(&net, &link, frames, &mut w, &mut rx, &mut keep)).await {
                            tracing::info!(error = %e, "closing link");
                            break;
                        }
                    }
                    Err(e) => {
                        if !matches!(&e, NetError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof) {
                            if matches!(e, NetError::Proto(_)) {
                                Counters::bump(&net.counters.malformed);
                            }
                            tracing::info!(error = %e, "link read ended");
                        }
                        break;
                    }
                },
                // cancel-safe: a frame is taken only when recv returns it, and written in the arm
                next = rx.recv() => match next {
                    Some(first) => {
                        if write_run(&link, &mut w, &mut keep, first, &mut rx).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep(wait) => match keep.poll(crate::now_ms()) {
                    KeepAliveAction::Wait => {}
                    KeepAliveAction::Ping => {
                        if write_kept(&mut w, &mut keep, FrameType::Ping, &[]).await.is_err() {
                            break;
                        }
                    }
                    KeepAliveAction::Dead => {
                        tracing::info!("peer silent too long");
                        break;
                    }
                },
            }
        }
        link.mark_closed();
        net.unregister(&link);
        drop(permit);
        tracing::info!("link down");
    }
}

/// Handles a run of frames while writing what the send queue holds meanwhile: a handler may
/// queue more than fits (a backfill answer) and wait for room that only this task makes.
/// `run` boxes this future, so an idle link's task does not carry the handlers' state.
async fn handle_writing(
    net: &Arc<Net>,
    link: &Arc<Link>,
    frames: Vec<frame::OwnedFrame>,
    w: &mut OwnedWriteHalf,
    rx: &mut mpsc::Receiver<(FrameType, Payload)>,
    keep: &mut KeepAlive,
) -> Result<(), NetError> {
    let mut handling = std::pin::pin!(super::inbound::handle_all(net, link, frames));
    loop {
        tokio::select! {
            r = &mut handling => return r,
            Some(first) = rx.recv() => write_run(link, w, keep, first, rx).await?,
        }
    }
}

/// Most bytes of queued frames written with one system call: under fan-out a link's queue
/// holds several posts at once, and one write for them costs one trip through the kernel's
/// TCP path instead of one per frame.
const WRITE_RUN_BYTES: usize = 16 * 1024;

/// Writes `first` and whatever else the send queue holds already (up to [`WRITE_RUN_BYTES`])
/// as one write, and gives their bytes back to the queue.
async fn write_run(
    link: &Link,
    w: &mut OwnedWriteHalf,
    keep: &mut KeepAlive,
    first: (FrameType, Payload),
    rx: &mut mpsc::Receiver<(FrameType, Payload)>,
) -> Result<(), NetError> {
    let (kind, payload) = first;
    let mut freed = queue_cost(payload.len()) as usize;
    let mut out = Vec::with_capacity(payload.len() + crate::proto::frame::HEADER_LEN);
    crate::proto::frame::encode(kind, &payload, &mut out)?;
    while out.len() < WRITE_RUN_BYTES {
        let Ok((kind, payload)) = rx.try_recv() else {
            break;
        };
        crate::proto::frame::encode(kind, &payload, &mut out)?;
        freed += queue_cost(payload.len()) as usize;
    }
    let written = tokio::time::timeout(SEND_TIMEOUT, async {
        use tokio::io::AsyncWriteExt;
        w.write_all(&out).await
    })
    .await
    .unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the peer took no bytes for SEND_TIMEOUT",
        ))
    });
    if let Err(e) = written {
        tracing::info!(error = %e, "write failed");
        return Err(NetError::Io(e));
    }
    keep.sent(crate::now_ms());
    link.queue_room.add_permits(freed);
    Ok(())
}

/// Writes one frame and notes it for keep-alive; a peer that does not take the frame within
/// [`SEND_TIMEOUT`] (it does not read) fails the write, which closes the link.
async fn write_kept(
    w: &mut OwnedWriteHalf,
    keep: &mut KeepAlive,
    kind: FrameType,
    payload: &[u8],
) -> Result<(), NetError> {
    let written = tokio::time::timeout(SEND_TIMEOUT, write_frame(w, kind, payload))
        .await
        .unwrap_or_else(|_| {
            Err(NetError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the peer took no bytes for SEND_TIMEOUT",
            )))
        });
    if let Err(e) = written {
        tracing::info!(error = %e, "write failed");
        return Err(e);
    }
    keep.sent(crate::now_ms());
    Ok(())
}
