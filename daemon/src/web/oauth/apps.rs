//! Apps: registration (`POST /api/v1/apps`, open to anyone as on Mastodon, bounded by
//! [`crate::store::oauth::MAX_APPS`]), `GET /api/v1/apps/verify_credentials`, and msm's own
//! settings calls that list the apps holding a user's tokens and revoke them.
//!
//! Fields are bounded: a name of at most [`MAX_NAME`] bytes, a web site of at most
//! [`redirect::MAX_URI_LEN`] as an http(s) URL, the redirect URIs as [`redirect`] takes them,
//! known scopes only ([`scopes`]).

use super::super::auth;
use super::super::io::{json, JsonResponse};
use super::super::mastodon::Call;
use super::super::WebError;
use super::{bearer, is_app_token, redirect, scopes, secrets};
use crate::identity::token_hash;
use crate::store::oauth::{App, NewApp};
use crate::store::{Store, StoreError};
use serde_json::{json, Value};
use tiny_http::Request;

/// Longest app name.
pub const MAX_NAME: usize = 200;

/// The Application entity (with the secret only when just registered).
pub fn entity(app: &App, secret: Option<&str>) -> Value {
    let mut v = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "vapid_key": "",
    });
    if let Some(secret) = secret {
        v["client_id"] = json!(app.client_id);
        v["client_secret"] = json!(secret);
        v["client_secret_expires_at"] = json!(0);
    }
    v
}

fn unprocessable(what: impl std::fmt::Display) -> WebError {
    WebError::Unprocessable(format!("Validation failed: {what}"))
}

/// `POST /api/v1/apps`.
pub fn create(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let p = c.params()?;
    let name = p.text("client_name").unwrap_or("").trim();
    if name.is_empty() {
        return Err(unprocessable("client_name can't be blank"));
    }
    if name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(unprocessable(format!(
            "client_name must be at most {MAX_NAME} bytes of text"
        )));
    }
    let website = p.text("website").map(str::trim).filter(|w| !w.is_empty());
    if let Some(w) = website {
        let web = (w.starts_with("https://") || w.starts_with("http://"))
            && w.len() <= redirect::MAX_URI_LEN
            && w.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if !web {
            return Err(unprocessable("website must be an http(s) URL"));
        }
    }
    let uris = redirect::parse_list(&p.list("redirect_uris")).map_err(unprocessable)?;
    let scopes = scopes::parse(&p.list("scopes").join(" ")).map_err(unprocessable)?;
    let random = |_| WebError::Internal("no random numbers".into());
    let client_id = secrets::random_token().map_err(random)?;
    let secret = secrets::random_token().map_err(random)?;
    let new = NewApp {
        client_id: &client_id,
        secret_hash: token_hash(&secret),
        name,
        website,
        redirect_uris: &uris,
        scopes: &scopes::join(&scopes),
    };
    let app = match c.store.oauth_create_app(&new, c.now) {
        Err(StoreError::Full { .. }) => {
            return Err(WebError::Busy(
                "this node has as many apps registered as it keeps; try again tomorrow",
            ))
        }
        other => other?,
    };
    tracing::info!(app = %app.name, id = app.id, "OAuth app registered");
    Ok(json(200, &entity(&app, Some(&secret))))
}

/// `GET /api/v1/apps/verify_credentials`: any token of the app (with a user or not).
pub fn verify(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let app = token_app(c.store, c.req)?;
    Ok(json(200, &entity(&app, None)))
}

/// The app of the request's app token, or 401.
fn token_app(store: &Store, req: &Request) -> Result<App, WebError> {
    let invalid = WebError::Unauthorized(super::INVALID_TOKEN);
    let token = bearer(req).filter(|t| is_app_token(t)).ok_or(invalid)?;
    let row = store
        .oauth_token(&token_hash(token))?
        .ok_or(WebError::Unauthorized(super::INVALID_TOKEN))?;
    store
        .oauth_app(row.app_id)?
        .ok_or(WebError::Unauthorized(super::INVALID_TOKEN))
}

/// `GET /api/v1/account/apps` (msm's API, a session): the apps holding the user's tokens.
pub fn list_authorised(
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let apps: Vec<Value> = store
        .oauth_user_apps(s.user.id)?
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id,
                "name": a.name,
                "website": a.website,
                "scopes": a.scopes,
                "created_ms": a.created_ms,
                "used_ms": a.used_ms,
            })
        })
        .collect();
    Ok(json(200, &json!({ "apps": apps })))
}

/// `DELETE /api/v1/account/apps/{id}`: revokes that app's tokens of the user.
pub fn revoke_authorised(
    store: &mut Store,
    req: &mut Request,
    id: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::NotFound("no such app".into()))?;
    let n = store.oauth_revoke_user_app(s.user.id, id)?;
    if n == 0 {
        return Err(WebError::NotFound("no such app holds your tokens".into()));
    }
    tracing::info!(user = %s.user.address, app = id, tokens = n, "OAuth app revoked");
    Ok(json(200, &json!({ "revoked": n })))
}
