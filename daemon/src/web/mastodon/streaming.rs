//! `/api/v1/streaming`: the Mastodon streaming API, as Server-Sent Events
//! (`/api/v1/streaming/{user,user/notification,public,public/local,hashtag,hashtag/local,list,
//! direct}`) and as a WebSocket (`/api/v1/streaming` with `Upgrade: websocket`), as
//! <https://docs.joinmastodon.org/methods/streaming/> documents it.
//!
//! The token comes as `Authorization: Bearer`, `?access_token=`, or (WebSocket) as
//! `Sec-WebSocket-Protocol`, which is then echoed back as masto.js expects. Events: `update`
//! (a Status), `status.update` (an edited Status), `delete` (a status id), `notification` (a
//! Notification) and, on `direct`, `conversation`. Over SSE an event is `event: <name>` and
//! `data: <JSON>`; over the WebSocket a text frame `{"stream": [...], "event": ..., "payload":
//! "<JSON as a string>"}`. The client subscribes with `{"type": "subscribe", "stream": ...,
//! "tag": ..., "list": ...}` (and `unsubscribe`), or at once with `?stream=`.
//!
//! Bounds are those of msm's own stream ([`super::super::stream`]), whose counters it shares
//! ([`StreamSlot`]): at most `http.max_streams` in all and `STREAMS_PER_USER` per person (503
//! past them); the database is the buffer, read after the writer's pulse; a client that stops
//! reading blocks a write until the socket timeout and is dropped; every [`PING`] a keep-alive
//! goes out and the token is checked again (revoked: the stream ends). A WebSocket adds a
//! reader thread of [`READER_STACK`] that feeds what the client sends to the sans-IO
//! [`Decoder`] (messages at most `MAX_MESSAGE` bytes; garbage or oversize frames close the
//! connection with 1002, 1007 or 1009) and hands requests to the stream thread, which looks
//! at them every [`TICK`]: at most [`MAX_PENDING`] waiting requests and [`MAX_SUBSCRIPTIONS`]
//! subscriptions.

use super::super::api::Context;
use super::super::io::{error_response, header, query_param, JsonResponse};
use super::super::stream::{spawn_stream, StreamSlot, BATCH, PING, SSE_HEAD_NO_RETRY};
use super::super::websocket::{self, Decoder, Message};
use super::super::{oauth, WebError};
use super::entities::Entities;
use crate::store::pulse::Pulse;
use crate::store::streaming::{ChangeKind, Reach};
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tiny_http::Request;

/// How often a WebSocket's stream thread looks at what the client sent.
pub const TICK: Duration = Duration::from_secs(1);
/// Stack of a WebSocket's reader thread: it only decodes frames into heap buffers.
pub const READER_STACK: usize = 64 * 1024;
/// Bytes read from a WebSocket client at once.
pub const READ_CHUNK: usize = 1024;
/// Client requests (subscribe, unsubscribe) waiting for the stream thread; one more closes
/// the connection (1008).
pub const MAX_PENDING: usize = 16;
/// Subscriptions one WebSocket may hold.
pub const MAX_SUBSCRIPTIONS: usize = 8;
/// Longest access token taken from a query or a header.
pub const MAX_TOKEN: usize = 256;
/// Longest hashtag or list id taken in a subscription.
pub const MAX_PARAM: usize = 256;

/// Is this request for the Mastodon streaming API?
pub fn is_streaming(req: &Request) -> bool {
    let url = req.url();
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    path.trim_end_matches('/').starts_with("/api/v1/streaming")
}

/// A stream a client may subscribe to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sub {
    /// The home timeline and notifications.
    User,
    /// Notifications only.
    UserNotification,
    /// Public posts, from here and elsewhere.
    Public,
    /// Public posts by this node's users.
    PublicLocal,
    /// Public posts with a hashtag (normalised).
    Hashtag(String),
    /// ... by this node's users.
    HashtagLocal(String),
    /// Posts of a list's members in the home timeline.
    List(i64),
    /// Direct posts to or from the user.
    Direct,
}

impl Sub {
    /// The stream named `name` (`tag` and `list` for those that need them).
    pub fn parse(name: &str, tag: Option<&str>, list: Option<&str>) -> Result<Sub, WebError> {
        let tag = || -> Result<String, WebError> {
            let raw = tag.unwrap_or("").trim_start_matches('#');
            (raw.len() <= MAX_PARAM)
                .then(|| crate::proto::text::tags(&format!("#{raw}")))
                .and_then(|t| t.into_iter().next())
                .ok_or_else(|| WebError::BadRequest("no valid tag given".into()))
        };
        Ok(match name {
            "user" => Sub::User,
            "user:notification" => Sub::UserNotification,
            "public" => Sub::Public,
            "public:local" => Sub::PublicLocal,
            "hashtag" => Sub::Hashtag(tag()?),
            "hashtag:local" => Sub::HashtagLocal(tag()?),
            "list" => Sub::List(
                list.and_then(|l| l.parse().ok())
                    .ok_or_else(|| WebError::BadRequest("no valid list given".into()))?,
            ),
            "direct" => Sub::Direct,
            _ => return Err(WebError::BadRequest("Unknown stream type".into())),
        })
    }

    /// Its name as the WebSocket's `stream` field gives it (`["hashtag", "fox"]`).
    fn names(&self) -> Value {
        match self {
            Sub::User => json!(["user"]),
            Sub::UserNotification => json!(["user:notification"]),
            Sub::Public => json!(["public"]),
            Sub::PublicLocal => json!(["public:local"]),
            Sub::Hashtag(t) => json!(["hashtag", t]),
            Sub::HashtagLocal(t) => json!(["hashtag:local", t]),
            Sub::List(l) => json!(["list", l.to_string()]),
            Sub::Direct => json!(["direct"]),
        }
    }

    /// The scope a token needs for it.
    fn scope(&self) -> &'static str {
        match self {
            Sub::UserNotification => "read:notifications",
            _ => "read:statuses",
        }
    }

    /// Does a change of a post that reaches the viewer as `reach` show on this stream?
    fn shows(
        &self,
        store: &Store,
        user: i64,
        kind: ChangeKind,
        reach: &Reach,
        status: i64,
    ) -> Result<bool, WebError> {
        let public = reach.public && !reach.repost;
        Ok(match self {
            Sub::User => reach.home_author && (kind != ChangeKind::New || reach.in_home),
            Sub::UserNotification => false,
            Sub::Public => public,
            Sub::PublicLocal => public && reach.local,
            Sub::Hashtag(t) => public && store.has_tag(status, t)?,
            Sub::HashtagLocal(t) => public && reach.local && store.has_tag(status, t)?,
            Sub::List(l) => {
                (kind != ChangeKind::New || reach.in_home)
                    && store.in_list(user, *l, &reach.author)?
            }
            Sub::Direct => reach.direct,
        })
    }

    fn notifies(&self) -> bool {
        matches!(self, Sub::User | Sub::UserNotification)
    }
}

/// Where a stream has got to.
struct Feed {
    user: i64,
    /// The last message row read.
    cursor: i64,
    /// The last notification sent.
    notified: i64,
    /// The token covers `read:notifications` (checked at the start and at every ping): the
    /// user stream carries notifications only then.
    may_notify: bool,
    base: String,
}

/// An event for one of the subscriptions (by index).
struct Out {
    sub: usize,
    event: &'static str,
    payload: String,
}

impl Feed {
    /// The events of up to [`BATCH`] messages after the cursor and of new notifications;
    /// true when there may be more messages.
    fn round(&mut self, store: &Store, subs: &[Sub]) -> Result<(Vec<Out>, bool), WebError> {
        let changes = store.changes_after(self.cursor, BATCH)?;
        let more = changes.len() as u32 == BATCH;
        let mut ent = Entities::new(store, self.base.clone(), Some(self.user));
        let mut out = Vec::new();
        for c in &changes {
            self.cursor = c.cursor;
            let Some(kind) = c.kind else { continue };
            if subs.iter().all(|s| *s == Sub::UserNotification) {
                continue;
            }
            let Some(reach) = store.reach(self.user, c.status)? else {
                continue;
            };
            let payload = match kind {
                ChangeKind::Delete => c.status.to_string(),
                _ => match store.stream_status(self.user, c.status)? {
                    Some(e) => ent.status(&e)?.to_string(),
                    None => continue,
                },
            };
            for (i, s) in subs.iter().enumerate() {
                if !s.shows(store, self.user, kind, &reach, c.status)? {
                    continue;
                }
                let (event, payload) = match (kind, s) {
                    (ChangeKind::Delete, _) => ("delete", payload.clone()),
                    (ChangeKind::Edit, _) => ("status.update", payload.clone()),
                    (ChangeKind::New, Sub::Direct) => ("conversation", conversation(&payload)),
                    (ChangeKind::New, _) => ("update", payload.clone()),
                };
                out.push(Out {
                    sub: i,
                    event,
                    payload,
                });
            }
        }
        if self.may_notify && subs.iter().any(Sub::notifies) {
            let list = store.notifications(self.user, None, BATCH)?;
            let from = self.notified;
            for n in list.iter().rev().filter(|n| n.id > from) {
                self.notified = n.id;
                let Some(v) = ent.notification(n)? else {
                    continue;
                };
                let payload = v.to_string();
                for (i, _) in subs.iter().enumerate().filter(|(_, s)| s.notifies()) {
                    out.push(Out {
                        sub: i,
                        event: "notification",
                        payload: payload.clone(),
                    });
                }
            }
        }
        Ok((out, more))
    }
}

/// A Conversation of a direct status (its JSON): the status, its author, unread.
fn conversation(status: &str) -> String {
    let s: Value = serde_json::from_str(status).unwrap_or(Value::Null);
    json!({
        "id": s["id"],
        "unread": true,
        "accounts": [s["account"]],
        "last_status": s,
    })
    .to_string()
}

/// Where a stream's events go: SSE or a WebSocket.
trait Sink {
    /// The subscriptions now.
    fn subs(&self) -> &[Sub];
    /// Sends an event of subscription `sub`.
    fn send(&mut self, sub: usize, event: &str, payload: &str) -> std::io::Result<()>;
    /// Sends a keep-alive.
    fn ping(&mut self) -> std::io::Result<()>;
    /// Pushes what was sent to the client.
    fn flush(&mut self) -> std::io::Result<()>;
    /// Takes in what the client sent; `Err(why)` ends the stream.
    fn poll(&mut self, stores: &Mutex<Store>, grant: &Access) -> Result<(), &'static str>;
    /// How long to sleep between looks at the client.
    fn tick(&self) -> Duration;
}

/// The token of a stream and the scope it was opened with, checked again every [`PING`].
struct Access {
    token: String,
    scope: &'static str,
    user: i64,
}

impl Access {
    fn check(&self, store: &Store, scope: &str) -> Result<(), WebError> {
        oauth::require_token(store, &self.token, crate::now_ms(), scope).and_then(|g| {
            (g.user.id == self.user)
                .then_some(())
                .ok_or(WebError::Unauthorized("The access token is invalid"))
        })
    }
}

/// The one database connection every Mastodon stream reads through, opened by the first
/// stream: a connection holds its schema, page cache and statements (a few hundred KiB), so
/// twenty streams on twenty connections would hold several MB of a router's memory. Each
/// stream locks it only while it reads, never while it writes to its client.
fn shared_store(ctx: &Context, store: &Store) -> Result<Arc<Mutex<Store>>, WebError> {
    let mut slot = ctx.stream_store.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = &*slot {
        return Ok(s.clone());
    }
    let s = Arc::new(Mutex::new(store.reopen_light()?));
    *slot = Some(s.clone());
    Ok(s)
}

fn lock_store(s: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends events as they are stored, until the client, the token or the database goes.
fn run(
    pulse: &Pulse,
    stores: &Mutex<Store>,
    sink: &mut dyn Sink,
    feed: &mut Feed,
    access: &Access,
) -> &'static str {
    let mut pinged = Instant::now();
    let mut read_at: Option<u64> = None;
    let mut more = false;
    loop {
        if let Err(why) = sink.poll(stores, access) {
            return why;
        }
        let seen = pulse.now();
        if read_at != Some(seen) || more {
            // the shared connection only while reading; never while writing to a client
            let round = feed.round(&lock_store(stores), sink.subs());
            let (outs, m) = match round {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!(error = %e, "Mastodon stream cannot read");
                    return "database error";
                }
            };
            for o in &outs {
                if sink.send(o.sub, o.event, &o.payload).is_err() {
                    return "client gone";
                }
            }
            if sink.flush().is_err() {
                return "client gone";
            }
            read_at = Some(seen);
            more = m;
            if more {
                continue;
            }
        }
        if pinged.elapsed() >= PING {
            let (valid, may_notify) = {
                let store = lock_store(stores);
                (
                    access.check(&store, access.scope).is_ok(),
                    access.check(&store, "read:notifications").is_ok(),
                )
            };
            if !valid {
                return "token no longer valid";
            }
            feed.may_notify = may_notify;
            if sink.ping().and_then(|()| sink.flush()).is_err() {
                return "client gone";
            }
            pinged = Instant::now();
        }
        let wait = sink.tick().min(PING.saturating_sub(pinged.elapsed()));
        pulse.wait(seen, wait.max(Duration::from_millis(1)));
    }
}

/// Server-Sent Events of one stream.
struct Sse {
    out: Box<dyn Write + Send>,
    subs: [Sub; 1],
}

impl Sink for Sse {
    fn subs(&self) -> &[Sub] {
        &self.subs
    }
    fn send(&mut self, _sub: usize, event: &str, payload: &str) -> std::io::Result<()> {
        write!(self.out, "event: {event}\ndata: {payload}\n\n")
    }
    fn ping(&mut self) -> std::io::Result<()> {
        self.out.write_all(b":thump\n\n")
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
    fn poll(&mut self, _: &Mutex<Store>, _: &Access) -> Result<(), &'static str> {
        Ok(())
    }
    fn tick(&self) -> Duration {
        PING
    }
}

/// What a WebSocket's reader thread hands to its stream thread.
#[derive(Default)]
struct FromClient {
    /// Text messages (requests) not yet handled.
    requests: VecDeque<String>,
    /// The payload of the last ping to answer.
    pong: Option<Vec<u8>>,
    /// Close with this code.
    close: Option<u16>,
    /// The connection broke.
    gone: bool,
    /// The stream thread has ended: the reader stops.
    done: bool,
}

type Shared = Arc<Mutex<FromClient>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, FromClient> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A WebSocket's writing side, on the stream thread.
struct Ws {
    out: Box<dyn Write + Send>,
    subs: Vec<Sub>,
    shared: Shared,
    user: i64,
}

impl Ws {
    fn frame(&mut self, bytes: &[u8]) -> Result<(), &'static str> {
        self.out.write_all(bytes).map_err(|_| "client gone")
    }

    fn error(&mut self, e: &WebError) -> Result<(), &'static str> {
        let m = json!({ "error": e.to_string(), "status": e.status() }).to_string();
        self.frame(&websocket::text(&m))
    }

    /// Handles one request: subscribe or unsubscribe.
    fn request(&mut self, store: &Store, access: &Access, text: &str) -> Result<(), WebError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|_| WebError::BadRequest("a request is a JSON object".into()))?;
        let field = |k: &str| -> Option<String> {
            match &v[k] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let (tag, list) = (field("tag"), field("list"));
        let sub = Sub::parse(
            v["stream"].as_str().unwrap_or(""),
            tag.as_deref(),
            list.as_deref(),
        )?;
        match v["type"].as_str() {
            Some("subscribe") => {
                if self.subs.contains(&sub) {
                    return Ok(());
                }
                if self.subs.len() >= MAX_SUBSCRIPTIONS {
                    return Err(WebError::Busy("too many subscriptions on this connection"));
                }
                access.check(store, sub.scope())?;
                if let Sub::List(l) = sub {
                    if !store.own_list(self.user, l)? {
                        return Err(WebError::NotFound("no such list".into()));
                    }
                }
                self.subs.push(sub);
            }
            Some("unsubscribe") => self.subs.retain(|s| *s != sub),
            _ => return Err(WebError::BadRequest("Unknown message type".into())),
        }
        Ok(())
    }
}

impl Sink for Ws {
    fn subs(&self) -> &[Sub] {
        &self.subs
    }
    fn send(&mut self, sub: usize, event: &str, payload: &str) -> std::io::Result<()> {
        let names = self.subs.get(sub).map_or(Value::Null, Sub::names);
        let m = json!({ "stream": names, "event": event, "payload": payload }).to_string();
        self.out.write_all(&websocket::text(&m))
    }
    fn ping(&mut self) -> std::io::Result<()> {
        self.out
            .write_all(&websocket::encode(websocket::Opcode::Ping, b""))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
    fn poll(&mut self, stores: &Mutex<Store>, access: &Access) -> Result<(), &'static str> {
        let (requests, pong, close, gone) = {
            let mut s = lock(&self.shared);
            (
                std::mem::take(&mut s.requests),
                s.pong.take(),
                s.close,
                s.gone,
            )
        };
        if gone {
            return Err("client gone");
        }
        if let Some(p) = pong {
            self.frame(&websocket::encode(websocket::Opcode::Pong, &p))?;
        }
        for r in requests {
            // the database only while the request is read; its answer is written after
            let answer = self.request(&lock_store(stores), access, &r);
            if let Err(e) = answer {
                self.error(&e)?;
            }
        }
        if let Some(code) = close {
            self.frame(&websocket::close(code))?;
            let _ = self.out.flush();
            return Err("closed");
        }
        self.out.flush().map_err(|_| "client gone")
    }
    fn tick(&self) -> Duration {
        TICK
    }
}

/// A WebSocket's reader thread: decodes what the client sends and hands it on, until the
/// connection or the stream ends.
fn read_client(mut from: Box<dyn Read + Send>, shared: Shared) {
    let mut decoder = Decoder::new();
    let mut buf = [0u8; READ_CHUNK];
    loop {
        if lock(&shared).done {
            return;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => {
                lock(&shared).gone = true;
                return;
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => {
                lock(&shared).gone = true;
                return;
            }
        };
        let messages = decoder.push(&buf[..n]);
        let mut s = lock(&shared);
        match messages {
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket client refused");
                s.close = Some(e.close_code());
                return;
            }
            Ok(messages) => {
                for m in messages {
                    match m {
                        Message::Text(t) if s.requests.len() < MAX_PENDING => {
                            s.requests.push_back(t)
                        }
                        Message::Text(_) => {
                            s.close = Some(websocket::CLOSE_POLICY);
                            return;
                        }
                        Message::Ping(p) => s.pong = Some(p),
                        Message::Close(_) => {
                            s.close = Some(websocket::CLOSE_NORMAL);
                            return;
                        }
                        Message::Binary(_) | Message::Pong(_) => {}
                    }
                }
            }
        }
    }
}

/// What a streaming request asks for.
enum Kind {
    Health,
    Sse(Sub),
    WebSocket {
        key: String,
        first: Option<Sub>,
        protocol: Option<String>,
    },
}

/// Reads what the request asks for (no database).
fn kind_of(req: &Request, query: &str) -> Result<Kind, WebError> {
    if *req.method() != tiny_http::Method::Get {
        return Err(WebError::MethodNotAllowed);
    }
    let url = req.url();
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    let rest = path
        .trim_end_matches('/')
        .trim_start_matches("/api/v1/streaming");
    let tag = query_param(query, "tag");
    let list = query_param(query, "list");
    let sub = |name: &str| Sub::parse(name, tag.as_deref(), list.as_deref());
    Ok(match rest {
        "/health" => Kind::Health,
        "" => {
            let upgrade =
                header(req, "Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
            if !upgrade {
                return Err(WebError::BadRequest(
                    "use a WebSocket, or /api/v1/streaming/<stream> for Server-Sent Events".into(),
                ));
            }
            if header(req, "Sec-WebSocket-Version").map(str::trim) != Some("13") {
                return Err(WebError::BadRequest(
                    "Sec-WebSocket-Version must be 13".into(),
                ));
            }
            let key = header(req, "Sec-WebSocket-Key")
                .filter(|k| websocket::valid_key(k))
                .ok_or_else(|| WebError::BadRequest("no valid Sec-WebSocket-Key".into()))?;
            let first = query_param(query, "stream").map(|s| sub(&s)).transpose()?;
            let protocol = header(req, "Sec-WebSocket-Protocol")
                .and_then(|p| p.split(',').next())
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
            Kind::WebSocket {
                key: key.trim().to_string(),
                first,
                protocol,
            }
        }
        "/user" => Kind::Sse(Sub::User),
        "/user/notification" => Kind::Sse(Sub::UserNotification),
        "/public" => Kind::Sse(Sub::Public),
        "/public/local" => Kind::Sse(Sub::PublicLocal),
        "/hashtag" => Kind::Sse(sub("hashtag")?),
        "/hashtag/local" => Kind::Sse(sub("hashtag:local")?),
        "/list" => Kind::Sse(sub("list")?),
        "/direct" => Kind::Sse(Sub::Direct),
        _ => return Err(WebError::NotFound("no such stream".into())),
    })
}

/// The token of a request: `Authorization: Bearer`, `?access_token=`, or the WebSocket
/// subprotocol; only characters a token has, at most [`MAX_TOKEN`].
fn token_of(req: &Request, query: &str, protocol: Option<&str>) -> Result<String, WebError> {
    let t = oauth::bearer(req)
        .map(str::to_string)
        .or_else(|| query_param(query, "access_token"))
        .or_else(|| protocol.map(str::to_string))
        .ok_or(WebError::Unauthorized("Missing access token"))?;
    let fine = t.len() <= MAX_TOKEN
        && !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b));
    fine.then_some(t)
        .ok_or(WebError::Unauthorized("The access token is invalid"))
}

/// Takes over a streaming request: checks it, answers the head and hands the connection to a
/// thread of its own; a refused request is answered with the reason.
pub fn open(ctx: &Arc<Context>, store: &Store, mut req: Request) {
    match start(ctx, store, &mut req) {
        Ok(Some(go)) => go(req),
        Ok(None) => {}
        Err(e) => {
            tracing::debug!(status = e.status(), error = %e, "Mastodon stream refused");
            let _ = req.respond(error_response(&e));
        }
    }
}

type Go = Box<dyn FnOnce(Request)>;

/// Checks the request; what to do with it once accepted (`None`: answered already).
fn start(ctx: &Arc<Context>, store: &Store, req: &mut Request) -> Result<Option<Go>, WebError> {
    let query = req.url().split_once('?').map_or("", |(_, q)| q).to_string();
    let kind = kind_of(req, &query)?;
    if let Kind::Health = kind {
        return Ok(Some(Box::new(|req: Request| {
            let r: JsonResponse = tiny_http::Response::from_data(b"OK".to_vec());
            let r = match tiny_http::Header::from_bytes("Content-Type", "text/plain") {
                Ok(h) => r.with_header(h),
                Err(()) => r,
            };
            let _ = req.respond(r);
        })));
    }
    let protocol = match &kind {
        Kind::WebSocket { protocol, .. } => protocol.clone(),
        _ => None,
    };
    let token = token_of(req, &query, protocol.as_deref())?;
    let scope = match &kind {
        Kind::Sse(s) => s.scope(),
        _ => "read:statuses",
    };
    let grant = oauth::require_token(store, &token, crate::now_ms(), scope)?;
    let user = grant.user.id;
    let conn = shared_store(ctx, store)?;
    let mut feed = Feed {
        user,
        cursor: store.timeline_head(user)?,
        notified: store.notification_head(user)?,
        may_notify: oauth::scopes::covers(&grant.scopes, "read:notifications"),
        base: ctx
            .public_url
            .get()
            .cloned()
            .unwrap_or_else(|| format!("https://{}", ctx.domain)),
    };
    let access = Access {
        token: token.clone(),
        scope,
        user,
    };
    let (sink_kind, first) = match kind {
        Kind::Sse(s) => (None, Some(s)),
        Kind::WebSocket { key, first, .. } => {
            if let Some(Sub::List(l)) = &first {
                if !store.own_list(user, *l)? {
                    return Err(WebError::NotFound("no such list".into()));
                }
            }
            (Some(key), first)
        }
        Kind::Health => return Ok(None),
    };
    let slot = StreamSlot::take(ctx, user)?;
    let upgrade = req.take_upgrade_reader();
    let pulse = ctx.pulse.clone();
    let address = grant.user.address.clone();
    Ok(Some(Box::new(move |req: Request| {
        let mut out = req.into_writer();
        let head = match &sink_kind {
            None => SSE_HEAD_NO_RETRY.to_string(),
            Some(key) => {
                let echo = protocol
                    .filter(|p| *p == token)
                    .map(|p| format!("Sec-WebSocket-Protocol: {p}\r\n"))
                    .unwrap_or_default();
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{echo}\r\n",
                    websocket::accept_key(key)
                )
            }
        };
        spawn_stream(slot, move || {
            if out
                .write_all(head.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return;
            }
            tracing::debug!(user = %address, "Mastodon stream opened");
            let why = match (sink_kind, upgrade) {
                (None, _) => {
                    let subs = [first.unwrap_or(Sub::User)];
                    run(&pulse, &conn, &mut Sse { out, subs }, &mut feed, &access)
                }
                (Some(_), Some(from)) => {
                    let shared = Shared::default();
                    let s2 = shared.clone();
                    let reader = std::thread::Builder::new()
                        .name("ws-read".into())
                        .stack_size(READER_STACK)
                        .spawn(move || read_client(from, s2));
                    let mut ws = Ws {
                        out,
                        subs: first.into_iter().collect(),
                        shared: shared.clone(),
                        user,
                    };
                    let why = match reader {
                        Ok(_) => run(&pulse, &conn, &mut ws, &mut feed, &access),
                        Err(_) => "no reader thread",
                    };
                    lock(&shared).done = true;
                    drop(ws);
                    if let Ok(r) = reader {
                        let _ = r.join();
                    }
                    why
                }
                (Some(_), None) => "no socket to read",
            };
            tracing::debug!(user = %address, why, "Mastodon stream closed");
        });
    })))
}
