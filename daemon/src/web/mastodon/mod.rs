//! The Mastodon client API, so the apps people already have (Tusky, Ivory, Elk, Phanpy, toot,
//! Mastodon.py, masto.js) use an msm node as they are.
//!
//! It shares `/api/v1/` with msm's own API ([`super::api`]). A path only Mastodon has goes here
//! always; a path both have (`/api/v1/notifications`, `/api/v1/lists`, `/api/v1/media`, ...)
//! goes here when the request carries an app's token ([`super::oauth::is_app_token`]): apps
//! never hold msm sessions, and the web client never holds app tokens. Apps authenticate only
//! with `Authorization: Bearer`, never a cookie, so no call here can be forged by another
//! site; that is also why CORS ([`cors`]) may let any origin call (without credentials).
//!
//! - [`params`]: parameters from the query, a form or JSON.
//! - [`entities`]: Account, Status, MediaAttachment, ... as Mastodon documents them.
//! - [`html`]: a post's plain text as the sanitised HTML `content` apps render.
//! - [`statuses`], [`timelines`], [`accounts`], [`notifications`], [`search`], [`lists`],
//!   [`media`], [`instance`]: the endpoints, by what they are about.
//! - [`streaming`]: `/api/v1/streaming` as Server-Sent Events and as a WebSocket.
//! - [`limits`]: Mastodon's rate limits and their `X-RateLimit-*` headers.
//!
//! Ids are strings that sort by time: a status is its stored message's row id (which grows with
//! every message stored), an account its `authors` row id, a notification its row id, a
//! picture its SHA-256 in hex.

pub mod accounts;
pub mod entities;
pub mod html;
pub mod instance;
pub mod limits;
pub mod lists;
pub mod media;
pub mod notifications;
pub mod paging;
pub mod params;
pub mod search;
pub mod statuses;
pub mod streaming;
pub mod timelines;

use super::api::Context;
use super::io::{error_response, static_header, JsonResponse};
use super::oauth::{self, Grant};
use super::WebError;
use crate::store::Store;
use params::Params;
use tiny_http::{Method, Request};

/// Largest body of a Mastodon call other than a picture: a status at the highest text cap,
/// JSON-escaped, with its other fields.
pub const MAX_BODY: usize = super::MAX_REQUEST_BODY;

/// One call being answered: what every handler gets.
pub struct Call<'a> {
    /// What every worker shares.
    pub ctx: &'a Context,
    /// This worker's database connection.
    pub store: &'a mut Store,
    /// The request.
    pub req: &'a mut Request,
    /// The query string (without `?`).
    pub query: &'a str,
    /// Unix milliseconds.
    pub now: u64,
}

impl Call<'_> {
    /// The app token's grant, or 401; 403 when its scopes do not cover `scope` (such as
    /// `read:statuses`).
    pub fn grant(&self, scope: &str) -> Result<Grant, WebError> {
        oauth::require(self.store, self.req, self.now, scope)
    }

    /// The grant if the request carries a valid token (public endpoints read better with it).
    pub fn viewer(&self) -> Option<Grant> {
        oauth::optional(self.store, self.req, self.now)
    }

    /// The query's and the body's parameters (body at most [`MAX_BODY`]).
    pub fn params(&mut self) -> Result<Params, WebError> {
        Params::read(self.req, self.query, MAX_BODY)
    }

    /// The `https://host` (or `http://`) this node's pages are served at.
    pub fn base_url(&self) -> String {
        self.ctx
            .public_url
            .get()
            .cloned()
            .unwrap_or_else(|| format!("https://{}", self.ctx.domain))
    }
}

/// Paths under `/api/v1/` that msm's own API also has; they come here only with an app token.
const SHARED: &[&str] = &[
    "notifications",
    "bookmarks",
    "lists",
    "media",
    "follow_requests",
    "mutes",
    "blocks",
    "tags",
    "search",
];

/// Does this request belong to the Mastodon API (or its OAuth pages)?
pub fn claims(req: &Request, segments: &[&str]) -> bool {
    match segments {
        ["oauth", ..] => true,
        [".well-known", "oauth-authorization-server" | "nodeinfo"] => true,
        ["nodeinfo", _] => true,
        ["api", "v2", ..] => true,
        ["api", "v1", first, ..] => {
            if SHARED.contains(first) {
                // a browser app's CORS preflight carries no token: answer it here (msm's own
                // web client is on the node's origin and never asks one)
                *req.method() == Method::Options || oauth::presents_app_token(req)
            } else {
                MASTODON_ONLY.contains(first)
            }
        }
        _ => false,
    }
}

/// First segments under `/api/v1/` that only the Mastodon API has.
const MASTODON_ONLY: &[&str] = &[
    "apps",
    "instance",
    "accounts",
    "statuses",
    "timelines",
    "favourites",
    "markers",
    "custom_emojis",
    "filters",
    "streaming",
    "preferences",
    "announcements",
    "conversations",
    "followed_tags",
    "trends",
    "domain_blocks",
    "scheduled_statuses",
    "push",
    "suggestions",
];

/// Answers a request [`claims`] took, with CORS and rate-limit headers.
pub fn handle(ctx: &Context, store: &mut Store, req: &mut Request) -> JsonResponse {
    let now = crate::now_ms();
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let method = req.method().clone();
    if method == Method::Options {
        return limits::cors(tiny_http::Response::from_data(Vec::new()).with_status_code(204));
    }
    let limit = limits::take(ctx, store, req, path, now);
    let (limit, answer) = match limit {
        Err((standing, e)) => (Err(standing), Err(e)),
        Ok(standing) => {
            let mut call = Call {
                ctx,
                store,
                req,
                query,
                now,
            };
            (Ok(standing), route(&mut call, path, &method))
        }
    };
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            if let WebError::Internal(detail) = &e {
                tracing::error!(error = %detail, "request failed");
            } else {
                tracing::debug!(status = e.status(), error = %e, "request refused");
            }
            let r = error_response(&e);
            match e {
                WebError::RateLimited { retry_after_s, .. } => {
                    r.with_header(static_header("Retry-After", &retry_after_s.to_string()))
                }
                _ => r,
            }
        }
    };
    limits::cors(limits::headers(response, &limit))
}

fn route(c: &mut Call<'_>, path: &str, method: &Method) -> Result<JsonResponse, WebError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    use Method::{Delete, Get, Patch, Post, Put};
    match (segments.as_slice(), method) {
        // OAuth and discovery
        (["oauth", rest @ ..], _) => oauth::route(c.ctx, c.store, c.req, rest, c.query, c.now),
        ([".well-known", "oauth-authorization-server"], Get) => oauth::metadata(c),
        (["api", "v1", "apps"], Post) => oauth::create_app(c),
        (["api", "v1", "apps", "verify_credentials"], Get) => oauth::verify_app(c),
        ([".well-known", "nodeinfo"], Get) => instance::nodeinfo_links(c),
        (["nodeinfo", version], Get) => instance::nodeinfo(c, version),
        (["api", "v1", "instance"], Get) => instance::v1(c),
        (["api", "v2", "instance"], Get) => instance::v2(c),
        (["api", "v1", "instance", "peers"], Get) => instance::peers(c),
        (["api", "v1", "instance", "activity"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "instance", "rules"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "custom_emojis"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "announcements"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "trends", ..], Get) => Ok(instance::empty_list()),
        (["api", "v1", "suggestions"], Get) | (["api", "v2", "suggestions"], Get) => {
            Ok(instance::empty_list())
        }
        (["api", "v1", "followed_tags"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "conversations"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "scheduled_statuses"], Get) => Ok(instance::empty_list()),
        (["api", "v1", "filters"], Get) | (["api", "v2", "filters"], Get) => {
            c.grant("read:filters")?;
            Ok(instance::empty_list())
        }
        (["api", "v1", "preferences"], Get) => instance::preferences(c),
        (["api", "v1", "markers"], Get) => notifications::markers(c),
        (["api", "v1", "markers"], Post) => notifications::set_markers(c),
        // accounts
        (["api", "v1", "accounts", "verify_credentials"], Get) => accounts::verify_credentials(c),
        (["api", "v1", "accounts", "update_credentials"], Patch | Put | Post) => {
            accounts::update_credentials(c)
        }
        (["api", "v1", "accounts", "lookup"], Get) => accounts::lookup(c),
        (["api", "v1", "accounts", "search"], Get) => search::accounts(c),
        (["api", "v1", "accounts", "relationships"], Get) => accounts::relationships(c),
        (["api", "v1", "accounts", id], Get) => accounts::get(c, id),
        (["api", "v1", "accounts", id, "statuses"], Get) => timelines::account_statuses(c, id),
        (["api", "v1", "accounts", id, "followers"], Get) => accounts::followers(c, id),
        (["api", "v1", "accounts", id, "following"], Get) => accounts::following(c, id),
        (["api", "v1", "accounts", id, "lists"], Get) => lists::of_account(c, id),
        (["api", "v1", "accounts", id, action], Post) => accounts::act(c, id, action),
        (["api", "v1", "follow_requests"], Get) => accounts::follow_requests(c),
        (["api", "v1", "follow_requests", id, action], Post) => {
            accounts::decide_follow_request(c, id, action)
        }
        (["api", "v1", "mutes"], Get) => accounts::mutes(c),
        (["api", "v1", "blocks"], Get) => accounts::blocks(c),
        (["api", "v1", "domain_blocks"], Get) => Ok(instance::empty_list()),
        // statuses
        (["api", "v1", "statuses"], Post) => statuses::create(c),
        (["api", "v1", "statuses", id], Get) => statuses::get(c, id),
        (["api", "v1", "statuses", id], Delete) => statuses::delete(c, id),
        (["api", "v1", "statuses", id], Put) => statuses::edit(c, id),
        (["api", "v1", "statuses", id, "context"], Get) => statuses::context(c, id),
        (["api", "v1", "statuses", id, "source"], Get) => statuses::source(c, id),
        (["api", "v1", "statuses", id, "history"], Get) => statuses::history(c, id),
        (["api", "v1", "statuses", id, "favourited_by" | "reblogged_by"], Get) => {
            let who = segments[4];
            statuses::acted_by(c, id, who)
        }
        (["api", "v1", "statuses", id, action], Post) => statuses::act(c, id, action),
        // timelines
        (["api", "v1", "timelines", "home"], Get) => timelines::home(c),
        (["api", "v1", "timelines", "public"], Get) => timelines::public(c),
        (["api", "v1", "timelines", "tag", tag], Get) => timelines::tag(c, tag),
        (["api", "v1", "timelines", "list", id], Get) => timelines::list(c, id),
        (["api", "v1", "bookmarks"], Get) => timelines::bookmarks(c),
        (["api", "v1", "favourites"], Get) => timelines::favourites(c),
        (["api", "v1", "tags", tag], Get) => search::tag(c, tag),
        // notifications
        (["api", "v1", "notifications"], Get) => notifications::list(c),
        (["api", "v1", "notifications", "clear"], Post) => notifications::clear(c),
        (["api", "v1", "notifications", "unread_count"], Get) => notifications::unread_count(c),
        (["api", "v1", "notifications", id], Get) => notifications::get(c, id),
        (["api", "v1", "notifications", id, "dismiss"], Post) => notifications::dismiss(c, id),
        // search
        (["api", "v2", "search"], Get) | (["api", "v1", "search"], Get) => search::v2(c),
        // media
        (["api", "v1", "media"], Post) | (["api", "v2", "media"], Post) => media::upload(c),
        (["api", "v1", "media", id], Get) => media::get(c, id),
        (["api", "v1", "media", id], Put) => media::update(c, id),
        // lists
        (["api", "v1", "lists", rest @ ..], _) => lists::route(c, rest, method),
        (["api", "v1", "streaming", ..], _) => Err(WebError::BadRequest(
            "the streaming API needs a streaming request (Accept: text/event-stream or a \
             WebSocket upgrade)"
                .into(),
        )),
        _ => Err(WebError::NotFound(format!("no such path: {path}"))),
    }
}
