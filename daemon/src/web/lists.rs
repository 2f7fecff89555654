//! Handlers of bookmarks and lists (private to the logged-in user; see `store::lists`).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST, DELETE | `/api/v1/posts/{author}/{seq}/bookmark` | bookmark, unbookmark |
//! | GET | `/api/v1/bookmarks` | `?before=CURSOR&limit=N` → `{posts, next_before}` |
//! | GET, POST | `/api/v1/lists` | the user's lists; make one `{"title"}` |
//! | DELETE | `/api/v1/lists/{id}` | delete a list |
//! | POST | `/api/v1/lists/{id}/members` | `{"address"}` add someone the user follows |
//! | DELETE | `/api/v1/lists/{id}/members/{address}` | take them out |
//! | GET | `/api/v1/lists/{id}/timeline` | `?before=CURSOR&limit=N` → the list's posts |

use super::api::{Context, MAX_CREDENTIALS_BODY};
use super::auth;
use super::io::{json, read_json, JsonResponse};
use super::reading::{address_in_path, entries_page, number_param, page_limit};
use super::WebError;
use crate::proto::{Address, MessageId};
use crate::store::Store;
use serde::Deserialize;
use serde_json::json;
use tiny_http::{Method, Request};

/// `POST` or `DELETE /api/v1/posts/{author}/{seq}/bookmark`
pub fn bookmark(
    store: &mut Store,
    req: &mut Request,
    id: MessageId,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    if *req.method() == Method::Delete {
        let gone = store.unbookmark(s.user.id, &id.author, id.seq)?;
        return Ok(json(200, &json!({ "bookmarked": false, "changed": gone })));
    }
    if store
        .thread(&id.author, id.seq, Some(s.user.id))?
        .0
        .is_none()
    {
        return Err(WebError::NotFound(format!(
            "no post {}/{} here to bookmark",
            id.author, id.seq
        )));
    }
    let added = store.bookmark(s.user.id, &id.author, id.seq, now)?;
    Ok(json(200, &json!({ "bookmarked": true, "changed": added })))
}

/// `GET /api/v1/bookmarks`
pub fn bookmarks(
    store: &Store,
    req: &Request,
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let before = number_param(query, "before")?.map(|b| b as i64);
    let limit = page_limit(query)?;
    Ok(entries_page(
        store.bookmarks(s.user.id, before, limit)?,
        limit,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewList {
    title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Member {
    address: String,
}

fn list_id(segment: &str) -> Result<i64, WebError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("no list {segment:?}")))
}

/// Routes `/api/v1/lists[/{id}[/members[/{address}]|/timeline]]`.
pub fn route(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    rest: &[&str],
    query: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let uid = s.user.id;
    match (rest, req.method().clone()) {
        ([], Method::Get) => Ok(json(200, &json!({ "lists": store.lists(uid)? }))),
        ([], Method::Post) => {
            let b: NewList = read_json(req, MAX_CREDENTIALS_BODY)?;
            let id = store.create_list(uid, &b.title)?;
            Ok(json(201, &json!({ "id": id, "title": b.title.trim() })))
        }
        ([id], Method::Delete) => {
            if !store.delete_list(uid, list_id(id)?)? {
                return Err(WebError::NotFound(format!("no list {id}")));
            }
            Ok(json(200, &json!({ "deleted": true })))
        }
        ([id, "members"], Method::Post) => {
            let b: Member = read_json(req, MAX_CREDENTIALS_BODY)?;
            let who = Address::parse(b.address.trim().trim_start_matches('@'))?;
            let added = store.set_list_member(uid, list_id(id)?, &who, true)?;
            Ok(json(
                200,
                &json!({ "address": who.as_str(), "changed": added }),
            ))
        }
        ([id, "members", who], Method::Delete) => {
            let who = address_in_path(ctx, who)?;
            let gone = store.set_list_member(uid, list_id(id)?, &who, false)?;
            Ok(json(
                200,
                &json!({ "address": who.as_str(), "changed": gone }),
            ))
        }
        ([id, "timeline"], Method::Get) => {
            let before = number_param(query, "before")?.map(|b| b as i64);
            let limit = page_limit(query)?;
            Ok(entries_page(
                store.list_timeline(uid, list_id(id)?, before, limit)?,
                limit,
            ))
        }
        ([] | [_] | [_, "members"] | [_, "members", _] | [_, "timeline"], _) => {
            Err(WebError::MethodNotAllowed)
        }
        _ => Err(WebError::NotFound("no such list path".into())),
    }
}
