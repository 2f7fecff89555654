//! `POST /oauth/token` and `POST /oauth/revoke`, with form or JSON bodies.
//!
//! Grants: `authorization_code` (the code is used once; `redirect_uri` must be the one it was
//! issued for; a code issued with a PKCE S256 challenge needs the matching `code_verifier`; a
//! client without its secret, a public client, is taken only when PKCE was used), `password`
//! (a name or address on this node, through the log-in limiter; some CLI clients still log in
//! this way) and `client_credentials` (a token of the app itself, acting for nobody).
//! `refresh_token` is not offered: tokens do not expire, as Mastodon's.
//!
//! The client authenticates with HTTP Basic (`client_secret_basic`) or `client_id` and
//! `client_secret` in the body (`client_secret_post`). Errors are RFC 6749's JSON
//! `{"error": "invalid_grant", "error_description": "..."}`, 400 or 401 ([`OAuthError`]).

use super::super::io::{error_response, header, json, percent_decode, JsonResponse};
use super::super::mastodon::Call;
use super::super::WebError;
use super::{check_login, is_app_token, scopes, secrets};
use crate::identity::token_hash;
use crate::store::oauth::App;
use crate::store::StoreError;
use base64ct::{Base64, Encoding};
use serde_json::json;

/// Longest `Authorization: Basic` value decoded (client id and secret are 43 characters).
pub const MAX_BASIC: usize = 512;

/// Why a token request is refused, as RFC 6749 section 5.2 names it.
#[derive(Debug)]
pub enum OAuthError {
    /// 400 `invalid_request`: a parameter is missing or malformed.
    InvalidRequest(String),
    /// 401 `invalid_client`: unknown client or wrong secret.
    InvalidClient(&'static str),
    /// 400 `invalid_grant`: the code, verifier, redirect URI or password is wrong.
    InvalidGrant(&'static str),
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 400 `invalid_scope`.
    InvalidScope(String),
    /// Anything else (a rate limit, the store), answered as the rest of the API answers it.
    Web(WebError),
}

impl From<WebError> for OAuthError {
    fn from(e: WebError) -> Self {
        OAuthError::Web(e)
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        OAuthError::Web(e.into())
    }
}

impl OAuthError {
    /// The JSON answer.
    pub fn response(&self) -> JsonResponse {
        let (status, error, description) = match self {
            OAuthError::InvalidRequest(d) => (400, "invalid_request", d.clone()),
            OAuthError::InvalidClient(d) => (401, "invalid_client", d.to_string()),
            OAuthError::InvalidGrant(d) => (400, "invalid_grant", d.to_string()),
            OAuthError::UnsupportedGrantType => (
                400,
                "unsupported_grant_type",
                "grant_type must be authorization_code, password or client_credentials".into(),
            ),
            OAuthError::InvalidScope(d) => (400, "invalid_scope", d.clone()),
            OAuthError::Web(e) => {
                if let WebError::Internal(detail) = e {
                    tracing::error!(error = %detail, "token request failed");
                }
                return error_response(e);
            }
        };
        json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }
}

/// How the client proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// With its secret.
    Secret,
    /// By its id alone (a public client; only with PKCE).
    Public,
}

/// The client id and secret from `Authorization: Basic`, if sent that way.
fn basic(c: &Call<'_>) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = header(c.req, "Authorization") else {
        return Ok(None);
    };
    let Some((scheme, creds)) = v.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || OAuthError::InvalidClient("malformed Basic credentials");
    let creds = creds.trim();
    if creds.len() > MAX_BASIC {
        return Err(bad());
    }
    let raw = Base64::decode_vec(creds).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    Ok(Some((percent_decode(id), percent_decode(secret))))
}

/// The app making the request, and how it proved itself.
fn client(
    c: &Call<'_>,
    p: &super::super::mastodon::params::Params,
) -> Result<(App, ClientAuth), OAuthError> {
    let (id, secret) = match basic(c)? {
        Some((id, secret)) => (id, Some(secret)),
        None => (
            p.text("client_id")
                .ok_or(OAuthError::InvalidClient("client_id is required"))?
                .to_string(),
            p.text("client_secret").map(str::to_string),
        ),
    };
    let app = c
        .store
        .oauth_app_by_client_id(&id)?
        .ok_or(OAuthError::InvalidClient("unknown client"))?;
    match secret {
        None => Ok((app, ClientAuth::Public)),
        Some(s) if secrets::ct_eq(&token_hash(&s), &app.secret_hash) => {
            Ok((app, ClientAuth::Secret))
        }
        Some(_) => Err(OAuthError::InvalidClient("wrong client secret")),
    }
}

/// The scopes asked for (`scope`, default `read`), within the app's.
fn asked_scopes(
    p: &super::super::mastodon::params::Params,
    app: &App,
) -> Result<String, OAuthError> {
    let asked = scopes::parse(p.get("scope").unwrap_or(""))
        .map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
    if !scopes::covers_all(&app.scopes, &asked) {
        return Err(OAuthError::InvalidScope(format!(
            "the app was registered for {:?} only",
            app.scopes
        )));
    }
    Ok(scopes::join(&asked))
}

/// `POST /oauth/token`.
pub fn exchange(c: &mut Call<'_>) -> JsonResponse {
    match grant(c) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = ?e, "token request refused");
            e.response()
        }
    }
}

fn grant(c: &mut Call<'_>) -> Result<JsonResponse, OAuthError> {
    let p = c.params().map_err(|e| match e {
        WebError::BadRequest(d) => OAuthError::InvalidRequest(d),
        other => OAuthError::Web(other),
    })?;
    let kind = p.text("grant_type").unwrap_or("");
    if !matches!(
        kind,
        "authorization_code" | "password" | "client_credentials"
    ) {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let (app, auth) = client(c, &p)?;
    match kind {
        "authorization_code" => {
            let code = p
                .text("code")
                .ok_or_else(|| OAuthError::InvalidRequest("code is required".into()))?;
            let stored = c
                .store
                .oauth_take_code(&token_hash(code), c.now)?
                .filter(|s| s.app_id == app.id)
                .ok_or(OAuthError::InvalidGrant(
                    "the code is unknown, used or expired",
                ))?;
            if p.get("redirect_uri") != Some(stored.redirect_uri.as_str()) {
                return Err(OAuthError::InvalidGrant(
                    "redirect_uri differs from the authorization's",
                ));
            }
            match &stored.challenge {
                Some(challenge) => {
                    let verifier = p.get("code_verifier").unwrap_or("");
                    if !secrets::pkce_s256_matches(verifier, challenge) {
                        return Err(OAuthError::InvalidGrant(
                            "code_verifier does not match the code_challenge",
                        ));
                    }
                }
                None if auth == ClientAuth::Public => {
                    return Err(OAuthError::InvalidClient(
                        "client_secret is required without PKCE",
                    ))
                }
                None => {}
            }
            issue(c, &app, Some(stored.user_id), &stored.scopes)
        }
        "password" => {
            if auth != ClientAuth::Secret {
                return Err(OAuthError::InvalidClient("client_secret is required"));
            }
            let scopes = asked_scopes(&p, &app)?;
            let (name, password) = match (p.text("username"), p.get("password")) {
                (Some(n), Some(pw)) => (n, pw),
                _ => {
                    return Err(OAuthError::InvalidRequest(
                        "username and password are required".into(),
                    ))
                }
            };
            let user = check_login(c.ctx, c.store, c.req, name, password)?
                .ok_or(OAuthError::InvalidGrant("wrong name or password"))?;
            if user.must_change_password {
                return Err(OAuthError::InvalidGrant(
                    "this account still has its one-time password: log in on the node's web \
                     page and choose your own first",
                ));
            }
            issue(c, &app, Some(user.id), &scopes)
        }
        _ => {
            if auth != ClientAuth::Secret {
                return Err(OAuthError::InvalidClient("client_secret is required"));
            }
            let scopes = asked_scopes(&p, &app)?;
            issue(c, &app, None, &scopes)
        }
    }
}

/// Stores a new token and answers it.
fn issue(
    c: &mut Call<'_>,
    app: &App,
    user_id: Option<i64>,
    scopes: &str,
) -> Result<JsonResponse, OAuthError> {
    let token = secrets::random_token()
        .map_err(|_| OAuthError::Web(WebError::Internal("no random numbers".into())))?;
    c.store
        .oauth_create_token(&token_hash(&token), app.id, user_id, scopes, c.now)?;
    tracing::info!(app = %app.name, user = ?user_id, "OAuth token issued");
    Ok(json(
        200,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "scope": scopes,
            "created_at": c.now / 1000,
        }),
    ))
}

/// `POST /oauth/revoke` (RFC 7009): 200 `{}` whether or not the token existed; a token of
/// another app is left alone.
pub fn revoke(c: &mut Call<'_>) -> JsonResponse {
    let answer = (|| -> Result<JsonResponse, OAuthError> {
        let p = c.params()?;
        let (app, _) = client(c, &p)?;
        if let Some(token) = p.text("token").filter(|t| is_app_token(t)) {
            if c.store.oauth_revoke_token(&token_hash(token), app.id)? {
                tracing::info!(app = %app.name, "OAuth token revoked");
            }
        }
        Ok(json(200, &json!({})))
    })();
    answer.unwrap_or_else(|e| e.response())
}
