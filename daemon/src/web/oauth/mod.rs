//! OAuth 2.0 as Mastodon does it, for the apps of the Mastodon client API ([`super::mastodon`]).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/api/v1/apps` | register an app: client id and secret ([`apps`]) |
//! | GET | `/api/v1/apps/verify_credentials` | the app of a token ([`apps`]) |
//! | GET, POST | `/oauth/authorize` | the node's log-in and consent page ([`page`]) |
//! | GET | `/oauth/authorize/native` | shows a code for `urn:ietf:wg:oauth:2.0:oob` ([`page`]) |
//! | POST | `/oauth/token` | authorization code (PKCE S256), password, client credentials ([`token`]) |
//! | POST | `/oauth/revoke` | revoke a token (RFC 7009) ([`token`]) |
//! | GET | `/.well-known/oauth-authorization-server` | RFC 8414 metadata |
//! | GET, DELETE | `/api/v1/account/apps[/{id}]` | msm's settings: apps holding tokens, revoke ([`apps`]) |
//!
//! Tokens, codes and client secrets are 32 random bytes in base64url ([`secrets`]); the store
//! keeps only their SHA-256 ([`crate::store::oauth`]). Every call of the Mastodon API names the
//! scope it needs ([`scopes`]); [`require`] checks the token's. An msm session (the web
//! client's) also works as a bearer token, with every scope: it is the account itself.
//! Passwords are checked only through the node's log-in limiter.

pub mod apps;
pub mod page;
pub mod redirect;
pub mod scopes;
pub mod secrets;
pub mod token;

use super::api::Context;
use super::io::{header, json, JsonResponse};
use super::mastodon::Call;
use super::WebError;
use crate::identity::token_hash;
use crate::store::{Store, User};
use serde_json::json;
use std::time::Instant;
use tiny_http::{Method, Request};

/// A token's `used_ms` is written at most this often (a write per call would wear a router's
/// flash for nothing).
pub const TOUCH_EVERY_MS: u64 = 60 * 1000;

/// What a valid app token grants: whose it is and which scopes.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The user the token acts for.
    pub user: User,
    /// The scopes granted, space-separated as Mastodon writes them.
    pub scopes: String,
    /// The stored hash of the token.
    pub token_hash: [u8; 32],
    /// The app's row id (`None` for an msm session used as a bearer token).
    pub app_id: Option<i64>,
}

/// Is `token` shaped like an app's access token (43 characters of base64url, as Mastodon's)
/// rather than an msm session (64 hex digits)?
pub fn is_app_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The bearer token of a request, if any.
pub fn bearer(req: &Request) -> Option<&str> {
    let (scheme, token) = header(req, "Authorization")?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Does the request carry an app's token?
pub fn presents_app_token(req: &Request) -> bool {
    bearer(req).is_some_and(is_app_token)
}

/// The message of a missing, unknown or revoked token.
const INVALID_TOKEN: &str = "The access token is invalid";

/// The grant of the request's bearer token, or 401; 403 when it does not cover `scope` (one
/// scope, or several separated by spaces of which any suffices: [`scopes::covers`]).
///
/// An app token must act for a user (a client-credentials token is 401 here) whose one-time
/// password has been replaced. An msm session token is that user with every scope.
pub fn require(store: &Store, req: &Request, now_ms: u64, scope: &str) -> Result<Grant, WebError> {
    let token = bearer(req).ok_or(WebError::Unauthorized(INVALID_TOKEN))?;
    require_token(store, token, now_ms, scope)
}

/// The grant of `token` however it came (a bearer header, the streaming API's
/// `?access_token=` or `Sec-WebSocket-Protocol`), or 401; 403 when it does not cover `scope`.
pub fn require_token(
    store: &Store,
    token: &str,
    now_ms: u64,
    scope: &str,
) -> Result<Grant, WebError> {
    let hash = token_hash(token);
    if !is_app_token(token) {
        let user = store
            .session_user(&hash, now_ms)?
            .ok_or(WebError::Unauthorized(INVALID_TOKEN))?;
        if user.must_change_password {
            return Err(WebError::Forbidden(
                "change the one-time password on the node's web page first",
            ));
        }
        return Ok(Grant {
            user,
            scopes: "read write follow push".into(),
            token_hash: hash,
            app_id: None,
        });
    }
    let row = store
        .oauth_token(&hash)?
        .ok_or(WebError::Unauthorized(INVALID_TOKEN))?;
    let user_id = row.user_id.ok_or(WebError::Unauthorized(
        "This method requires an authenticated user",
    ))?;
    let user = match store.oauth_user_name(user_id)? {
        Some(name) => store.user_by_name(&name)?,
        None => None,
    }
    .ok_or(WebError::Unauthorized(INVALID_TOKEN))?;
    if user.must_change_password {
        return Err(WebError::Forbidden(
            "change the one-time password on the node's web page first",
        ));
    }
    if !scopes::covers(&row.scopes, scope) {
        return Err(WebError::Forbidden(
            "This action is outside the authorized scopes",
        ));
    }
    if now_ms.saturating_sub(row.used_ms) >= TOUCH_EVERY_MS {
        store.oauth_touch_token(&hash, now_ms)?;
    }
    Ok(Grant {
        user,
        scopes: row.scopes,
        token_hash: hash,
        app_id: Some(row.app_id),
    })
}

/// The grant of the request's bearer token, if valid and it may read statuses (a viewer
/// whose token may not read is served as anonymous).
pub fn optional(store: &Store, req: &Request, now_ms: u64) -> Option<Grant> {
    require(store, req, now_ms, "read:statuses").ok()
}

/// `/oauth/authorize`, `/oauth/token`, `/oauth/revoke`.
pub fn route(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    rest: &[&str],
    query: &str,
    now_ms: u64,
) -> Result<JsonResponse, WebError> {
    let method = req.method().clone();
    let mut c = Call {
        ctx,
        store,
        req,
        query,
        now: now_ms,
    };
    match (rest, &method) {
        (["authorize"], Method::Get) => page::show(&mut c),
        (["authorize"], Method::Post) => page::submit(&mut c),
        (["authorize", "native"], Method::Get) => Ok(page::native(&c)),
        (["token"], Method::Post) => Ok(token::exchange(&mut c)),
        (["revoke"], Method::Post) => Ok(token::revoke(&mut c)),
        (["authorize"] | ["authorize", "native"] | ["token"] | ["revoke"], _) => {
            Err(WebError::MethodNotAllowed)
        }
        _ => Err(WebError::NotFound(format!(
            "no such path: /oauth/{}",
            rest.join("/")
        ))),
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub fn metadata(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let base = c.base_url();
    Ok(json(
        200,
        &json!({
            "issuer": format!("{base}/"),
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": format!("{base}/oauth/authorize"),
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "app_registration_endpoint": format!("{base}/api/v1/apps"),
            "scopes_supported": scopes::KNOWN,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "password", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
        }),
    ))
}

/// `POST /api/v1/apps`.
pub fn create_app(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    apps::create(c)
}

/// `GET /api/v1/apps/verify_credentials`.
pub fn verify_app(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    apps::verify(c)
}

/// The address a request came from (unspecified if unknown).
fn client_ip(req: &Request) -> std::net::IpAddr {
    req.remote_addr()
        .map(|a| a.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
}

/// Checks a name (or address on this node) and password through the log-in limiter: the user,
/// `None` when wrong, 429 when the client has no attempt left. An unknown name costs the same
/// time as a known one.
fn check_login(
    ctx: &Context,
    store: &Store,
    req: &Request,
    name: &str,
    password: &str,
) -> Result<Option<User>, WebError> {
    let ip = client_ip(req);
    if !ctx.limiter.allow(ip, Instant::now()) {
        tracing::warn!(%ip, "log-in rate limit reached (OAuth)");
        return Err(WebError::TooManyRequests);
    }
    let local = match name.trim().split_once('@') {
        Some((user, domain))
            if crate::proto::address::canonical_domain(domain)
                .ok()
                .as_deref()
                == Some(&ctx.domain) =>
        {
            Some(user)
        }
        Some(_) => None,
        None => Some(name.trim()),
    };
    let user = match local {
        Some(n) => store.user_by_name(n)?,
        None => None,
    };
    let ok = match &user {
        Some(u) => crate::identity::verify_password(password, &store.password_hash(u.id)?)
            .map_err(|e| WebError::Internal(e.to_string()))?,
        None => {
            let _ = crate::identity::verify_password(password, super::api::DUMMY_HASH);
            false
        }
    };
    if !ok {
        tracing::info!(%ip, "failed log-in (OAuth)");
    }
    Ok(user.filter(|_| ok))
}
