//! The owner's user administration: list, add (with a one-time password), remove.
//!
//! Only a user whose role is `owner` may call these; everyone else gets 403. A new user gets a
//! one-time password, shown once in the answer, that must be changed at the first log-in.

use super::api::{user_json, Context};
use super::auth::{self, Session};
use super::federation::MAX_SMALL_BODY;
use super::io::{json, percent_decode, read_json, JsonResponse};
use super::WebError;
use crate::identity;
use crate::store::{Role, Store};
use serde::Deserialize;
use serde_json::json;
use tiny_http::Request;

/// The session of the node's owner; 403 for anyone else.
pub(super) fn require_owner(store: &Store, req: &Request, now: u64) -> Result<Session, WebError> {
    let s = auth::require(store, req, now, false)?;
    if s.user.role != Role::Owner {
        return Err(WebError::Forbidden(
            "only the node's owner may manage users and blocked domains",
        ));
    }
    Ok(s)
}

/// `GET /api/v1/admin/users`
pub fn list(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    require_owner(store, req, now)?;
    let users: Vec<_> = store.list_users()?.iter().map(user_json).collect();
    Ok(json(200, &json!({ "users": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    #[serde(default)]
    role: Option<String>,
}

/// `POST /api/v1/admin/users {"name", "role"?}` → the user and its one-time password.
pub fn add(
    _ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    require_owner(store, req, now)?;
    let body: NewUser = read_json(req, MAX_SMALL_BODY)?;
    let role = match body.role.as_deref() {
        None | Some("member") => Role::Member,
        Some("owner") => Role::Owner,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "role {other:?} is not \"member\" or \"owner\""
            )))
        }
    };
    let otp = identity::one_time_password().map_err(|e| WebError::Internal(e.to_string()))?;
    let hash = identity::hash_password(&otp).map_err(|e| WebError::Internal(e.to_string()))?;
    let user = store.add_user(&body.name, role, &hash, true, now)?;
    tracing::info!(user = %user.address, role = role.as_str(), "user added by the owner");
    Ok(json(
        201,
        &json!({ "user": user_json(&user), "one_time_password": otp }),
    ))
}

/// `DELETE /api/v1/admin/users/{name}`
pub fn remove(
    store: &mut Store,
    req: &Request,
    name: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = require_owner(store, req, now)?;
    let name = percent_decode(name);
    if name == s.user.name {
        return Err(WebError::BadRequest(
            "the owner cannot remove their own account here".into(),
        ));
    }
    store.remove_user(&name)?;
    tracing::info!(%name, "user removed by the owner");
    Ok(json(200, &json!({ "removed": name })))
}
