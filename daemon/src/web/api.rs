//! Routes and handlers.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/healthz` | liveness and database check |
//! | GET | `/metrics` | counters in the Prometheus text format, LAN only by default ([`super::metrics`]) |
//! | POST | `/api/v1/session` | log in: `{"name", "password"}` → token and cookie |
//! | GET | `/api/v1/session` | who am I |
//! | DELETE | `/api/v1/session` | log out |
//! | POST | `/api/v1/account/password` | `{"old_password"?, "new_password"}` → new session |
//! | POST | `/api/v1/posts` | `{"text", "audience"?, "reply_to"?, "summary"?}` → the stored post |
//! | POST | `/api/v1/reposts` | `{"of": "author/seq"}` → the stored repost |
//! | PUT, POST, DELETE, GET | `/api/v1/posts/…`, `/api/v1/notifications…`, `/api/v1/tags/{tag}` | edits, likes, reposts, history, notifications, hashtags ([`super::conversation`]) |
//! | GET, POST, DELETE | `/api/v1/bookmarks`, `/api/v1/lists…` | bookmarks and lists ([`super::lists`]) |
//! | DELETE | `/api/v1/posts/{seq}` | delete one's own post |
//! | GET | `/api/v1/timeline` | `?before=CURSOR&limit=N` → home timeline, newest first |
//! | GET | `/api/v1/discover` | `?before=CURSOR&limit=N` → the discover window, newest first |
//! | GET | `/api/v1/stream` | the home timeline live, Server-Sent Events ([`super::stream`]) |
//! | GET | `/api/v1/users/{address}` | profile: display name, bio, followed |
//! | GET | `/api/v1/users/{address}/posts` | `?before=SEQ&limit=N` → a page of posts, newest first (of someone nobody here follows, fetched first: [`crate::net::preview`]) |
//! | GET | `/api/v1/thread/{author}/{seq}` | a post and the replies stored here |
//! | GET | `/api/v1/search` | `?q=QUERY&limit=N&offset=K&scope=S` → full-text search, best first |
//! | GET | `/api/v1/search/people` | `?q=QUERY&limit=N` → users and known authors, exact address first |
//! | PUT | `/api/v1/profile` | `{"display_name"?, "bio"?}` |
//! | POST, GET | `/api/v1/follows` | follow `{"address"}`; list |
//! | DELETE | `/api/v1/follows/{address}` | unfollow |
//! | GET | `/api/v1/followers` | local followers and following servers |
//! | GET, PUT | `/api/v1/account/settings` | `{"locked"}` ([`super::follow_requests`]) |
//! | GET, DELETE | `/api/v1/account/apps[/{id}]` | apps holding one's Mastodon API tokens; revoke ([`super::oauth::apps`]) |
//! | GET, POST | `/api/v1/follow_requests[/{address}/authorize\|reject]` | approve followers |
//! | POST, GET | `/api/v1/mutes`, `/api/v1/blocks` | mute, block `{"address"}`; list ([`super::relations`]) |
//! | DELETE | `/api/v1/mutes/{address}`, `/api/v1/blocks/{address}` | unmute, unblock |
//! | GET, POST | `/api/v1/admin/domain_blocks` | owner only: list; block `{"domain"}` and its subdomains |
//! | DELETE | `/api/v1/admin/domain_blocks/{domain}` | owner only: unblock |
//! | GET, POST | `/api/v1/admin/users` | owner only: list; add `{"name", "role"?}` |
//! | DELETE | `/api/v1/admin/users/{name}` | owner only: remove |
//! | GET | `/.well-known/msm`, `/.well-known/webfinger` | node key and links; RFC 7033 JRD |
//! | GET | `/users/{name}` | ActivityPub actor (`Accept: application/activity+json`), else 302 to `/@name` |
//! | GET | `/users/{name}/{followers,following,outbox}`, `/users/{name}/collections/featured` | the actor's collections, with their sizes; `?page=…` pages of them ([`super::collections`]) |
//! | GET | `/users/{name}/statuses/{seq}` | a public post as an ActivityStreams `Note` (410 `Tombstone` once deleted) |
//! | POST | `/inbox`, `/users/{name}/inbox` | the fediverse's inboxes: signed activities ([`super::inbox`]) |
//! | POST | `/websub` | the WebSub hub of the users' Atom feeds: subscribe, unsubscribe ([`super::websub`]) |
//! | GET | `/actor` | the node's instance actor, which signs its fetches |
//! | GET | `/@{user}`, `/@{user}/feed.atom` | public profile page, Atom feed ([`super::public`]) |
//! | GET | `/tags/{tag}`, `/tags/{tag}/feed.atom` | public hashtag page, Atom feed ([`super::public`]) |
//! | GET | `/`, `/app.js`, `/app.css`, `/sw.js`, `/manifest.webmanifest`, icons | the web client ([`super::assets`]) |
//! | any | the Mastodon client API: `/api/v1/…` paths only it has (or shared ones with an app's token), `/api/v2/…`, `/oauth/…`, NodeInfo | [`super::mastodon`], [`super::oauth`] |

use super::auth::{self, LoginLimiter, SESSION_COOKIE};
use super::conversation as cv;
use super::federation as fed;
use super::follow_requests as fr;
use super::io::{json, read_json, static_header, JsonResponse};
use super::post_limits::{PostLimiter, Refusal};
use super::reading as rd;
use super::relations as rel;
use super::WebError;
use super::{admin, assets, public};
use crate::identity;
use crate::net::Net;
use crate::proto::{Address, Audience, Body, Limits, MessageId};
use crate::store::writer::WriterHandle;
use crate::store::{NewPost, Store, User};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tiny_http::{Method, Request};

/// Default number of posts in a page.
pub const DEFAULT_PAGE: u32 = 50;
/// Largest body of a log-in or password request.
pub const MAX_CREDENTIALS_BODY: usize = 4096;

/// What every worker shares.
pub struct Context {
    /// The node's domain.
    pub domain: String,
    /// Where own posts go.
    pub writer: WriterHandle,
    /// Cap on post text, changed by SIGHUP (shared with the network side).
    pub max_text: Arc<AtomicUsize>,
    /// Session lifetime.
    pub session_ttl_ms: u64,
    /// Log-in attempts per client.
    pub limiter: LoginLimiter,
    /// The network side.
    pub net: Arc<Net>,
    /// The async runtime, to wait on network work from a request thread.
    pub runtime: tokio::runtime::Handle,
    /// `links.listen`, published in `/.well-known/msm`.
    pub links_listen: String,
    /// Bumped by the writer after each commit; live streams wait on it.
    pub pulse: Arc<crate::store::pulse::Pulse>,
    /// Live streams open now.
    pub streams: AtomicUsize,
    /// Most live streams at once.
    pub max_streams: usize,
    /// Live streams open now per user (at most [`super::stream::STREAMS_PER_USER`] each; the
    /// map holds only users with a stream open, so at most `max_streams` entries).
    pub user_streams: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
    /// Mark the session cookie `Secure`.
    pub secure_cookies: bool,
    /// How much each person may publish.
    pub post_limits: PostLimiter,
    /// Failed password checks per session (password change).
    pub password_failures: auth::SessionFailures,
    /// `scheme://host[:port]` of the node's pages, from `http.public_url` or the domain (set
    /// once the listener is bound, so a port 0 listener gets its real port).
    pub public_url: std::sync::OnceLock<String>,
    /// Pictures' bounds (`[media]`).
    pub media: crate::config::MediaConfig,
    /// Rate limits of the Mastodon API.
    pub mastodon_limits: super::mastodon::limits::Limiter,
    /// The database connection the Mastodon streams share (opened by the first one).
    pub stream_store: std::sync::Mutex<Option<Arc<std::sync::Mutex<Store>>>>,
    /// `GET /metrics`: who may read it, the text last built.
    pub metrics: super::metrics::Metrics,
    /// The fediverse side; `None` when its client could not start (no CA certificates).
    pub fediverse: Option<Arc<crate::fediverse::Fediverse>>,
    /// The WebSub hub's counters (it runs when `fediverse` is on: it needs the same client).
    pub websub: Arc<crate::websub::Hub>,
}

/// Answers one request.
pub fn handle(ctx: &Context, store: &mut Store, req: &mut Request) -> JsonResponse {
    let url = req.url().to_string();
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if super::mastodon::claims(req, &segments) {
        return super::mastodon::handle(ctx, store, req);
    }
    let now = crate::now_ms();
    route(ctx, store, req, now).unwrap_or_else(super::io::refusal)
}

fn route(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["healthz"], Method::Get) => health(ctx, store),
        (["metrics"], _) => super::metrics::serve(ctx, store, req, path),
        (["api", "v1", "session"], Method::Post) => log_in(ctx, store, req, now),
        (["api", "v1", "session"], Method::Get) => {
            let s = auth::require(store, req, now, true)?;
            let limits = json!({ "max_post_bytes": ctx.max_text.load(Ordering::Relaxed) });
            Ok(json(
                200,
                &json!({ "user": user_json(&s.user), "limits": limits }),
            ))
        }
        (["api", "v1", "session"], Method::Delete) => {
            let s = auth::require(store, req, now, true)?;
            store.delete_session(&s.token_hash)?;
            Ok(json(200, &json!({ "logged_out": true })).with_header(session_cookie(ctx, "", 0)))
        }
        (["api", "v1", "account", "password"], Method::Post) => {
            change_password(ctx, store, req, now)
        }
        (["api", "v1", "posts"], Method::Post) => cv::create_post(ctx, store, req, now),
        (["api", "v1", "media"], Method::Post) => super::media::upload(ctx, store, req, now),
        (["api", "v1", "posts", seq], Method::Put) => cv::edit_post(ctx, store, req, seq, now),
        (["api", "v1", "posts", who, seq, what], Method::Post | Method::Delete | Method::Get) => {
            cv::on_post(ctx, store, req, (who, seq, what), now)
        }
        (["api", "v1", "reposts"], Method::Post) => cv::repost(ctx, store, req, now),
        (["api", "v1", "notifications"], Method::Get) => cv::notifications(store, req, query, now),
        (["api", "v1", "notifications", "read"], Method::Post) => {
            cv::mark_read(ctx, store, req, now)
        }
        (["api", "v1", "notifications", "settings"], Method::Get | Method::Put) => {
            cv::settings(store, req, now)
        }
        (["api", "v1", "tags", tag], Method::Get) => cv::tag(store, req, tag, query, now),
        (["api", "v1", "bookmarks"], Method::Get) => {
            super::lists::bookmarks(store, req, query, now)
        }
        (["api", "v1", "lists", rest @ ..], _) => {
            super::lists::route(ctx, store, req, rest, query, now)
        }
        (["api", "v1", "timeline"], Method::Get) => rd::timeline(store, req, query, now),
        (["api", "v1", "discover"], Method::Get) => rd::discover(store, req, query, now),
        (["api", "v1", "users", who], Method::Get) => rd::profile(ctx, store, req, who, now),
        (["api", "v1", "users", who, "posts"], Method::Get) => {
            user_posts(ctx, store, req, who, query, now)
        }
        (["api", "v1", "thread", who, seq], Method::Get) => {
            rd::thread(ctx, store, req, who, seq, now)
        }
        (["api", "v1", "search"], Method::Get) => rd::search(store, req, query, now),
        (["api", "v1", "search", "people"], Method::Get) => {
            rd::search_people(store, req, query, now)
        }
        (["api", "v1", "admin", "users"], Method::Get) => admin::list(store, req, now),
        (["api", "v1", "admin", "users"], Method::Post) => admin::add(ctx, store, req, now),
        (["api", "v1", "admin", "users", name], Method::Delete) => {
            admin::remove(store, req, name, now)
        }
        ([".well-known", "webfinger"], Method::Get) => Ok(public::webfinger(ctx, store, query)),
        (["users", name], Method::Get) => super::actor::actor(ctx, store, req, name),
        (["users", name, "statuses", seq], Method::Get) => {
            super::actor::status(ctx, store, req, name, seq)
        }
        (["users", name, "inbox"], Method::Post) => super::inbox::post(ctx, store, req, Some(name)),
        (["inbox"], Method::Post) => super::inbox::post(ctx, store, req, None),
        (["actor"], Method::Get) => super::inbox::instance_actor(ctx, store),
        (["websub"], Method::Post) => super::websub::post(ctx, store, req),
        (["users", name, which @ ("followers" | "following" | "outbox")], Method::Get) => {
            super::collections::collection(ctx, store, name, which, query)
        }
        (["users", name, "collections", "featured"], Method::Get) => {
            super::collections::collection(ctx, store, name, "featured", query)
        }
        ([at], Method::Get) if at.starts_with('@') => {
            public::profile_page(ctx, store, &at[1..], None, query)
        }
        ([at, "feed.atom"], Method::Get) if at.starts_with('@') => {
            public::atom(ctx, store, &at[1..])
        }
        ([at, seq], Method::Get) if at.starts_with('@') => {
            public::profile_page(ctx, store, &at[1..], Some(seq), query)
        }
        (["tags", tag], Method::Get) => public::tag_page(ctx, store, tag, query),
        (["tags", tag, "feed.atom"], Method::Get) => public::tag_feed(ctx, store, tag),
        (
            [""]
            | ["index.html"]
            | ["app.js"]
            | ["app.css"]
            | ["favicon.ico"]
            | ["manifest.webmanifest"]
            | ["sw.js"]
            | ["icon-192.png"]
            | ["icon-512.png"]
            | ["icon-maskable-512.png"],
            Method::Get | Method::Head,
        ) => assets::serve(path, req),
        (["api", "v1", "posts", seq], Method::Delete) => {
            let answer = fed::delete_post(ctx, store, req, seq, now);
            if answer.is_ok() {
                // the post's pictures go with it, if nothing else uses them
                super::media::collect(store, ctx.media.cache_bytes, now);
            }
            answer
        }
        (["api", "v1", "profile"], Method::Put) => fed::update_profile(ctx, store, req, now),
        (["api", "v1", "follows"], Method::Post) => fed::follow(ctx, store, req, now),
        (["api", "v1", "follows"], Method::Get) => fed::following(store, req, now),
        (["api", "v1", "follows", who], Method::Delete) => fed::unfollow(ctx, store, req, who, now),
        (["api", "v1", "followers"], Method::Get) => fed::followers(store, req, now),
        (["api", "v1", "account", "settings"], Method::Get) => fr::settings(store, req, now),
        (["api", "v1", "account", "settings"], Method::Put) => {
            fr::set_settings(ctx, store, req, now)
        }
        (["api", "v1", "account", "apps"], Method::Get) => {
            super::oauth::apps::list_authorised(store, req, now)
        }
        (["api", "v1", "account", "apps", id], Method::Delete) => {
            super::oauth::apps::revoke_authorised(store, req, id, now)
        }
        (["api", "v1", "follow_requests"], Method::Get) => fr::list(store, req, now),
        (["api", "v1", "follow_requests", who, action], Method::Post) => {
            fr::decide(ctx, store, req, who, action, now)
        }
        ([".well-known", "msm"], Method::Get) => Ok(fed::well_known(ctx)),
        (["api", "v1", c @ ("mutes" | "blocks")], Method::Post) => {
            rel::add(ctx, store, req, rel::kind_of(c), now)
        }
        (["api", "v1", c @ ("mutes" | "blocks")], Method::Get) => {
            rel::list(store, req, rel::kind_of(c), now)
        }
        (["api", "v1", c @ ("mutes" | "blocks"), who], Method::Delete) => {
            rel::remove(ctx, store, req, rel::kind_of(c), who, now)
        }
        (["api", "v1", "admin", "domain_blocks"], Method::Get) => {
            rel::list_domains(store, req, now)
        }
        (["api", "v1", "admin", "domain_blocks"], Method::Post) => {
            rel::add_domain(ctx, store, req, now)
        }
        (["api", "v1", "admin", "domain_blocks", d], Method::Delete) => {
            rel::remove_domain(ctx, store, req, d, now)
        }
        (["healthz"], _)
        | (["api", "v1", "session"], _)
        | (["api", "v1", "account", "password"], _)
        | (["api", "v1", "posts"], _)
        | (["api", "v1", "reposts"], _)
        | (["api", "v1", "posts", _, _, _], _)
        | (["api", "v1", "notifications"], _)
        | (["api", "v1", "notifications", "read"], _)
        | (["api", "v1", "notifications", "settings"], _)
        | (["api", "v1", "tags", _], _)
        | (["api", "v1", "bookmarks"], _)
        | (["api", "v1", "timeline"], _)
        | (["api", "v1", "discover"], _)
        | (["api", "v1", "users", _], _)
        | (["api", "v1", "users", _, "posts"], _)
        | (["api", "v1", "thread", _, _], _)
        | (["api", "v1", "search"], _)
        | (["api", "v1", "search", "people"], _)
        | (["api", "v1", "admin", "users"], _)
        | (["api", "v1", "admin", "users", _], _)
        | ([".well-known", "webfinger"], _)
        | (["tags", _], _)
        | (["tags", _, "feed.atom"], _)
        | (["api", "v1", "posts", _], _)
        | (["api", "v1", "profile"], _)
        | (["api", "v1", "follows"], _)
        | (["api", "v1", "follows", _], _)
        | (["api", "v1", "followers"], _)
        | (["api", "v1", "account", "settings"], _)
        | (["api", "v1", "account", "apps"], _)
        | (["api", "v1", "account", "apps", _], _)
        | (["api", "v1", "follow_requests"], _)
        | (["api", "v1", "follow_requests", _, _], _)
        | (["api", "v1", "mutes" | "blocks"], _)
        | (["api", "v1", "mutes" | "blocks", _], _)
        | (["api", "v1", "admin", "domain_blocks"], _)
        | (["api", "v1", "admin", "domain_blocks", _], _)
        | (["websub"], _)
        | ([".well-known", "msm"], _) => Err(WebError::MethodNotAllowed),
        _ => Err(WebError::NotFound(format!("no such path: {path}"))),
    }
}

/// The answer to a request when no database connection could be opened for it (`e`): for
/// `GET /healthz` the damaged or unavailable health, else the error as any route gives it.
pub fn without_store(ctx: &Context, req: &Request, e: crate::store::StoreError) -> JsonResponse {
    let url = req.url();
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    if path.trim_matches('/') == "healthz" && (e.is_damage() || crate::store::damaged()) {
        return damaged_health(ctx);
    }
    super::io::refusal(e.into())
}

/// `GET /healthz`: 200 `ok`, or 503 `damaged` once any read or write of this process has met
/// a damaged database (the node keeps answering what it can; its owner must restore the file).
fn health(ctx: &Context, store: &Store) -> Result<JsonResponse, WebError> {
    let counts = store
        .message_count()
        .and_then(|m| Ok((m, store.outbox_len()?)));
    if crate::store::damaged() || counts.as_ref().is_err_and(|e| e.is_damage()) {
        return Ok(damaged_health(ctx));
    }
    let (messages, outbox) = counts?;
    Ok(json(
        200,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "domain": ctx.domain,
            "messages": messages,
            "outbox": outbox,
            "links": ctx.net.link_count(),
            "counters": ctx.net.counters.snapshot(),
            "firehose": ctx.net.firehose.snapshot(),
        }),
    ))
}

fn damaged_health(ctx: &Context) -> JsonResponse {
    json(
        503,
        &json!({
            "status": "damaged",
            "error": WebError::StoreDamaged.to_string(),
            "version": env!("CARGO_PKG_VERSION"),
            "domain": ctx.domain,
        }),
    )
}

/// A user as the API shows it.
pub fn user_json(u: &User) -> serde_json::Value {
    json!({
        "name": u.name,
        "address": u.address.as_str(),
        "role": u.role.as_str(),
        "must_change_password": u.must_change_password,
        "public_key": u.public_key.to_text(),
    })
}

fn session_cookie(ctx: &Context, token: &str, max_age_s: u64) -> tiny_http::Header {
    let secure = if ctx.secure_cookies { "; Secure" } else { "" };
    static_header(
        "Set-Cookie",
        &format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
        ),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogIn {
    name: String,
    password: String,
}

fn log_in(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let ip = client_ip(req);
    if !ctx.limiter.allow(ip, Instant::now()) {
        tracing::warn!(%ip, "log-in rate limit reached");
        return Err(WebError::TooManyRequests);
    }
    let body: LogIn = read_json(req, MAX_CREDENTIALS_BODY)?;
    // Accept "alice" and "alice@<this domain>".
    let name = match body.name.split_once('@') {
        Some((user, domain))
            if crate::proto::address::canonical_domain(domain)
                .ok()
                .as_deref()
                == Some(&ctx.domain) =>
        {
            user
        }
        Some(_) => return Err(WebError::Unauthorized("wrong name or password")),
        None => body.name.as_str(),
    };
    let user = store.user_by_name(name)?;
    let ok = match &user {
        Some(u) => identity::verify_password(&body.password, &store.password_hash(u.id)?)
            .map_err(|e| WebError::Internal(e.to_string()))?,
        None => {
            // Spend the same time as a real check, so names cannot be probed by timing.
            let _ = identity::verify_password(&body.password, DUMMY_HASH);
            false
        }
    };
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            tracing::info!(%ip, "failed log-in");
            return Err(WebError::Unauthorized("wrong name or password"));
        }
    };
    new_session(ctx, store, &user, now, 200)
}

/// The address a request came from (unspecified if unknown).
fn client_ip(req: &Request) -> std::net::IpAddr {
    req.remote_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
}

/// A valid argon2id hash of a random string, used to equalise timing for unknown names.
pub(super) const DUMMY_HASH: &str = "$argon2id$v=19$m=12288,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$Qx5g4nH9VvC8lNMbMlbBhjvSkVU9yGdzZfNOj7FKa2U";

fn new_session(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    now: u64,
    status: u16,
) -> Result<JsonResponse, WebError> {
    let (token, hash) =
        identity::new_session_token().map_err(|e| WebError::Internal(e.to_string()))?;
    let expires = now + ctx.session_ttl_ms;
    store.create_session(user.id, &hash, now, expires)?;
    Ok(json(
        status,
        &json!({ "token": token, "expires_ms": expires, "user": user_json(user) }),
    )
    .with_header(session_cookie(ctx, &token, ctx.session_ttl_ms / 1000)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    /// May be left out while the account still has its one-time password: every session of
    /// such an account was opened with that password (see [`change_password`]).
    #[serde(default)]
    old_password: Option<String>,
    new_password: String,
}

fn change_password(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, true)?;
    let ip = client_ip(req);
    if !ctx.limiter.allow(ip, Instant::now()) {
        tracing::warn!(%ip, user = %s.user.address, "password change rate limit reached");
        return Err(WebError::TooManyRequests);
    }
    let body: PasswordChange = read_json(req, MAX_CREDENTIALS_BODY)?;
    let stored = store.password_hash(s.user.id)?;
    let check = |pw: &str| {
        identity::verify_password(pw, &stored).map_err(|e| WebError::Internal(e.to_string()))
    };
    // A one-time password is set only on a new account or with the account's sessions ended
    // (`Store::set_password`), so a session of an account that still has one was opened with
    // it a moment ago: asking for it again proves nothing.
    let ok = match (&body.old_password, s.user.must_change_password) {
        (Some(old), _) => check(old)?,
        (None, true) => {
            if check(&body.new_password)? {
                return Err(WebError::BadRequest(
                    "the new password must differ from the one-time password".into(),
                ));
            }
            true
        }
        (None, false) => {
            return Err(WebError::BadRequest(
                "old_password is required to change a password".into(),
            ))
        }
    };
    if !ok {
        tracing::warn!(%ip, user = %s.user.address, "wrong old password in a password change");
        if ctx.password_failures.fail(&s.token_hash) {
            store.delete_session(&s.token_hash)?;
            return Err(WebError::Unauthorized(
                "old password is wrong; too many tries: this session has ended, log in again",
            ));
        }
        return Err(WebError::Unauthorized("old password is wrong"));
    }
    ctx.password_failures.clear(&s.token_hash);
    if Some(&body.new_password) == body.old_password.as_ref() {
        return Err(WebError::BadRequest(
            "the new password must differ from the old one".into(),
        ));
    }
    let hash = identity::hash_password(&body.new_password)
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    store.set_password(&s.user.name, &hash, false)?;
    let user = store
        .user_by_name(&s.user.name)?
        .ok_or_else(|| WebError::Internal("user vanished".into()))?;
    new_session(ctx, store, &user, now, 200)
}

/// Parses `author/seq`.
pub fn parse_message_id(s: &str) -> Result<MessageId, WebError> {
    let bad = || {
        WebError::BadRequest(format!(
            "{s:?} is not a message id of the form user@domain/seq"
        ))
    };
    let (author, seq) = s.rsplit_once('/').ok_or_else(bad)?;
    let seq: u64 = seq.parse().map_err(|_| bad())?;
    Ok(MessageId {
        author: Address::parse(author)?,
        seq,
    })
}

/// Signs, stores and queues a message of local user `user_id`; answers 201 with it.
pub fn publish(
    ctx: &Context,
    user_id: i64,
    audience: Audience,
    body: Body,
) -> Result<JsonResponse, WebError> {
    Ok(created(&publish_view(ctx, user_id, audience, body)?))
}

/// 201 with a published message and its `Location`, as msm's API answers a publication.
pub fn created(view: &crate::store::PostView) -> JsonResponse {
    let location = format!(
        "/api/v1/users/{}/posts?before={}&limit=1",
        view.author,
        view.seq + 1
    );
    json(201, view).with_header(static_header("Location", &location))
}

/// Signs, stores and queues a message of local user `user_id` within the posting limits
/// ([`super::post_limits`]); the stored message.
pub fn publish_view(
    ctx: &Context,
    user_id: i64,
    audience: Audience,
    body: Body,
) -> Result<crate::store::PostView, WebError> {
    let limits = Limits {
        max_text: ctx.max_text.load(Ordering::Relaxed),
    };
    let body = with_line_feeds(body);
    let bytes = text_bytes(&body);
    ctx.post_limits
        .take(user_id, bytes, Instant::now())
        .map_err(|r| {
            tracing::info!(user_id, ?r, "posting limit reached");
            WebError::RateLimited {
                what: match r {
                    Refusal::Rate { .. } => "posting too fast (limits.posts_per_hour)",
                    Refusal::Bytes { .. } => "daily posting budget spent (limits.daily_post_bytes)",
                },
                retry_after_s: r.retry_after_s(),
            }
        })?;
    let view = ctx
        .writer
        .post(
            NewPost {
                user_id,
                audience,
                body,
            },
            limits,
        )
        .inspect_err(|_| ctx.post_limits.give_back(user_id, bytes))?;
    tracing::info!(author = %view.author, seq = view.seq, "post stored");
    ctx.net.wake_outbox();
    Ok(view)
}

/// The body with its line breaks as `\n` (see [`crate::proto::message::normalize_line_breaks`]).
fn with_line_feeds(body: Body) -> Body {
    use crate::proto::message::normalize_line_breaks as lf;
    match body {
        Body::Post { text } => Body::Post { text: lf(&text) },
        Body::Reply { to, text } => Body::Reply {
            to,
            text: lf(&text),
        },
        Body::Profile { display_name, bio } => Body::Profile {
            display_name: lf(&display_name),
            bio: lf(&bio),
        },
        Body::Note {
            text,
            summary,
            reply_to,
            mentions,
        } => Body::Note {
            text: lf(&text),
            summary: lf(&summary),
            reply_to,
            mentions,
        },
        Body::Edit {
            target,
            text,
            summary,
            mentions,
        } => Body::Edit {
            target,
            text: lf(&text),
            summary: lf(&summary),
            mentions,
        },
        Body::Pictures {
            text,
            summary,
            reply_to,
            mentions,
            attachments,
        } => Body::Pictures {
            text: lf(&text),
            summary: lf(&summary),
            reply_to,
            mentions,
            attachments,
        },
        Body::Portrait {
            display_name,
            bio,
            avatar,
            header,
        } => Body::Portrait {
            display_name: lf(&display_name),
            bio: lf(&bio),
            avatar,
            header,
        },
        other => other,
    }
}

/// Bytes of text a message publishes, for the daily budget.
fn text_bytes(body: &Body) -> usize {
    match body {
        Body::Post { text } | Body::Reply { text, .. } => text.len(),
        Body::Note { text, summary, .. } | Body::Edit { text, summary, .. } => {
            text.len() + summary.len()
        }
        Body::Pictures {
            text,
            summary,
            attachments,
            ..
        } => text.len() + summary.len() + attachments.iter().map(|a| a.alt.len()).sum::<usize>(),
        Body::Profile { display_name, bio }
        | Body::Portrait {
            display_name, bio, ..
        } => display_name.len() + bio.len(),
        Body::Repost { .. } | Body::Delete { .. } | Body::Like { .. } => 0,
    }
}

fn user_posts(
    ctx: &Context,
    store: &Store,
    req: &Request,
    who: &str,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let address = rd::address_in_path(ctx, who)?;
    let viewer = auth::optional(store, req, now).map(|u| u.id);
    let before = rd::number_param(query, "before")?;
    let limit = rd::page_limit(query)?;
    // a person here looks at someone nobody here follows: fetch their recent public posts
    // from their node first (bounded: see `net::preview`)
    if viewer.is_some()
        && before.is_none()
        && !store.is_local_user(&address)?
        && !store.is_followed(&address)?
    {
        let (net, a) = (ctx.net.clone(), address.clone());
        if let Err(e) = ctx.runtime.block_on(async move { net.preview(&a).await }) {
            tracing::info!(author = %address, error = %e, "no preview of their posts");
        }
    }
    if !store.author_known(&address)? && !store.is_local_user(&address)? {
        return Err(WebError::NotFound(format!("no posts known from {address}")));
    }
    let posts = store.posts_by(&address, viewer, before, limit)?;
    let next = (posts.len() as u32 == limit)
        .then(|| posts.last().map(|p| p.seq))
        .flatten();
    Ok(json(
        200,
        &json!({ "author": address.as_str(), "posts": posts, "next_before": next }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_real_hash_that_matches_nothing() {
        assert_eq!(identity::verify_password("anything", DUMMY_HASH), Ok(false));
    }

    #[test]
    fn message_ids_parse() {
        let id = parse_message_id("alice@smith.family/12").unwrap();
        assert_eq!((id.author.as_str(), id.seq), ("alice@smith.family", 12));
        for bad in [
            "alice@smith.family",
            "alice@smith.family/x",
            "alice/3",
            "/3",
        ] {
            assert!(parse_message_id(bad).is_err(), "{bad}");
        }
    }
}
