//! Lists: `/api/v1/lists` and their members, on msm's lists ([`crate::store::lists`]).
//!
//! msm keeps a list's title and members only: `replies_policy` and `exclusive` are accepted
//! and answered as msm behaves (`list`: a list shows its members' replies; `exclusive` false:
//! their posts stay in Home too). A member must be someone the user follows, as in Mastodon;
//! an add or removal of several accounts checks them all before it changes anything.

use super::super::io::{json, JsonResponse};
use super::super::WebError;
use super::accounts::{accounts_of, address_of, range};
use super::paging::{self, parse_id, Page};
use super::Call;
use crate::proto::Address;
use crate::store::Store;
use serde_json::{json, Value};
use tiny_http::Method;

/// Most accounts one call adds to or takes from a list.
pub const MAX_ACCOUNT_IDS: usize = 40;

/// The List entity.
pub fn list_entity(id: i64, title: &str) -> Value {
    json!({
        "id": id.to_string(),
        "title": title,
        "replies_policy": "list",
        "exclusive": false,
    })
}

fn not_found() -> WebError {
    WebError::NotFound("Record not found".into())
}

/// `user_id`'s list `id`, or 404.
fn own_list(store: &Store, user_id: i64, id: &str) -> Result<(i64, String), WebError> {
    let n = parse_id(id)?;
    store
        .lists(user_id)?
        .into_iter()
        .find(|l| l.id == n)
        .map(|l| (l.id, l.title))
        .ok_or_else(not_found)
}

/// `GET /api/v1/accounts/{id}/lists`: the user's lists holding that account.
pub fn of_account(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:lists")?;
    let a = address_of(c.store, id)?;
    let lists: Vec<Value> = c
        .store
        .lists_holding(g.user.id, a.as_str())?
        .iter()
        .map(|(id, title)| list_entity(*id, title))
        .collect();
    Ok(json(200, &lists))
}

/// Routes `/api/v1/lists[/{id}[/accounts]]`.
pub fn route(c: &mut Call<'_>, rest: &[&str], method: &Method) -> Result<JsonResponse, WebError> {
    let scope = if *method == Method::Get {
        "read:lists"
    } else {
        "write:lists"
    };
    let g = c.grant(scope)?;
    let uid = g.user.id;
    match (rest, method) {
        ([], Method::Get) => {
            let lists: Vec<Value> = c
                .store
                .lists(uid)?
                .iter()
                .map(|l| list_entity(l.id, &l.title))
                .collect();
            Ok(json(200, &lists))
        }
        ([], Method::Post) => {
            let p = c.params()?;
            let title = p.get("title").unwrap_or("").trim().to_string();
            if title.is_empty() {
                return Err(WebError::Unprocessable("title can't be blank".into()));
            }
            let id = c
                .store
                .create_list(uid, &title)
                .map_err(|e| WebError::Unprocessable(e.to_string()))?;
            Ok(json(200, &list_entity(id, &title)))
        }
        ([id], Method::Get) => {
            let (n, title) = own_list(c.store, uid, id)?;
            Ok(json(200, &list_entity(n, &title)))
        }
        ([id], Method::Put) => {
            let (n, title) = own_list(c.store, uid, id)?;
            let p = c.params()?;
            let title = match p.get("title") {
                Some(t) => {
                    c.store
                        .rename_list(uid, n, t)
                        .map_err(|e| WebError::Unprocessable(e.to_string()))?;
                    t.trim().to_string()
                }
                None => title,
            };
            Ok(json(200, &list_entity(n, &title)))
        }
        ([id], Method::Delete) => {
            let (n, _) = own_list(c.store, uid, id)?;
            c.store.delete_list(uid, n)?;
            Ok(json(200, &json!({})))
        }
        ([id, "accounts"], Method::Get) => members(c, uid, id),
        ([id, "accounts"], Method::Post | Method::Delete) => {
            let (n, _) = own_list(c.store, uid, id)?;
            let add = *method == Method::Post;
            let who = accounts_named(c)?;
            if add {
                for a in &who {
                    let f = c.store.relation_flags(uid, &g.user.address, a)?;
                    if !f.following && !f.requested {
                        return Err(WebError::Unprocessable(format!(
                            "you can add only people you follow to a list, and you do not \
                             follow {a}"
                        )));
                    }
                }
            }
            for a in &who {
                c.store.set_list_member(uid, n, a, add)?;
            }
            Ok(json(200, &json!({})))
        }
        ([] | [_] | [_, "accounts"], _) => Err(WebError::MethodNotAllowed),
        _ => Err(WebError::NotFound("no such list path".into())),
    }
}

/// The accounts `account_ids[]` names (1 to [`MAX_ACCOUNT_IDS`], each known here).
fn accounts_named(c: &mut Call<'_>) -> Result<Vec<Address>, WebError> {
    let p = c.params()?;
    let ids = p.list("account_ids");
    if ids.is_empty() || ids.len() > MAX_ACCOUNT_IDS {
        return Err(WebError::Unprocessable(format!(
            "name 1 to {MAX_ACCOUNT_IDS} account_ids"
        )));
    }
    ids.iter().map(|id| address_of(c.store, id)).collect()
}

/// `GET /api/v1/lists/{id}/accounts`
fn members(c: &mut Call<'_>, uid: i64, id: &str) -> Result<JsonResponse, WebError> {
    let n = parse_id(id)?;
    let page = Page::of(&c.params()?)?;
    let mut rows = c
        .store
        .list_member_accounts(uid, n, range(&page))?
        .ok_or_else(not_found)?;
    if page.oldest_first() {
        rows.reverse();
    }
    let (ids, addresses): (Vec<i64>, Vec<String>) = rows.into_iter().unzip();
    let list = accounts_of(c, Some(uid), &addresses)?;
    let url = format!("{}/api/v1/lists/{n}/accounts", c.base_url());
    let extra = format!("limit={}", page.limit);
    Ok(paging::link(json(200, &list), &url, &extra, &ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_entity_has_mastodon_fields() {
        let v = list_entity(7, "friends");
        assert_eq!(v["id"], "7");
        assert_eq!(v["replies_policy"], "list");
        assert_eq!(v["exclusive"], false);
    }
}
