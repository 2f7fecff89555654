//! OAuth 2.0 as Mastodon does it, for the apps of the Mastodon client API ([`super::mastodon`]).
//!
//! (Skeleton: the endpoints are filled in by the OAuth work; the signatures are fixed.)

use super::api::Context;
use super::io::{header, JsonResponse};
use super::mastodon::Call;
use super::WebError;
use crate::identity::token_hash;
use crate::store::{Store, User};
use tiny_http::Request;

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

/// The grant of the request's bearer token, or 401; 403 when it does not cover `scope`.
pub fn require(store: &Store, req: &Request, now_ms: u64, scope: &str) -> Result<Grant, WebError> {
    let token = bearer(req).ok_or(WebError::Unauthorized("The access token is invalid"))?;
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
    let _ = scope;
    let hash = token_hash(token);
    let user = store
        .session_user(&hash, now_ms)?
        .ok_or(WebError::Unauthorized("The access token is invalid"))?;
    Ok(Grant {
        user,
        scopes: "read write follow push".into(),
        token_hash: hash,
        app_id: None,
    })
}

/// The grant of the request's bearer token, if valid.
pub fn optional(store: &Store, req: &Request, now_ms: u64) -> Option<Grant> {
    require(store, req, now_ms, "read").ok()
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
    let _ = (ctx, store, req, query, now_ms);
    Err(WebError::NotFound(format!(
        "no such path: /oauth/{}",
        rest.join("/")
    )))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub fn metadata(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// `POST /api/v1/apps`.
pub fn create_app(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// `GET /api/v1/apps/verify_credentials`.
pub fn verify_app(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}
