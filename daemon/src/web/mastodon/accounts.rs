//! Accounts: the logged-in person, profiles, followers, relationships, follow, block, mute,
//! follow requests.
//!
//! An account's id is its `authors` row id. Following, blocking, muting, deciding a follow
//! request, locking and the profile go through the same functions as msm's own API
//! ([`crate::web::federation`], [`crate::web::relations`], [`crate::web::follow_requests`]),
//! so both behave alike. What msm cannot do (remove a follower, private notes on accounts,
//! endorsements) is a 422 in words.
//!
//! Who follows whom is private in msm (its own API shows each person only their own
//! followers), so `followers` and `following` list an account's people only to the account
//! itself and an empty list to anyone else, as Mastodon does for an account that hides them.
//! Mutes, blocks and follow requests have no row ids, so they come as one page of at most
//! `limit` (newest first) without `Link`.

use super::super::federation::{follow_address, publish_profile, unfollow_address, ProfileChange};
use super::super::follow_requests::{decide_request, set_locked};
use super::super::io::{header, json, JsonResponse};
use super::super::relations::{check_target, relate, unrelate};
use super::super::WebError;
use super::entities::Entities;
use super::paging::{self, parse_id, Page};
use super::params::Params;
use super::Call;
use crate::proto::Address;
use crate::store::mastodon_accounts::IdRange;
use crate::store::relations::Relation;
use crate::store::{Store, User};
use serde_json::{json, Value};

/// Most accounts `relationships?id[]=` answers for at once.
pub const MAX_RELATIONSHIP_IDS: usize = 40;

/// The address of account `id`, or 404.
pub fn address_of(store: &Store, id: &str) -> Result<Address, WebError> {
    let n = parse_id(id)?;
    let a = store
        .account_address(n)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    Ok(Address::parse(&a)?)
}

/// The id range a Mastodon page asks for.
pub fn range(page: &Page) -> IdRange {
    IdRange {
        above: page.above(),
        below: page.below(),
        oldest_first: page.oldest_first(),
        limit: page.limit,
    }
}

/// The Relationship of `user` to `other` (account `id`), as Mastodon documents it.
pub fn relationship(
    store: &Store,
    user: &User,
    id: i64,
    other: &Address,
) -> Result<Value, WebError> {
    let f = store.relation_flags(user.id, &user.address, other)?;
    Ok(json!({
        "id": id.to_string(),
        "following": f.following,
        "showing_reblogs": f.following,
        "notifying": false,
        "languages": null,
        "followed_by": f.followed_by,
        "blocking": f.blocking,
        "blocked_by": f.blocked_by,
        "muting": f.muting,
        "muting_notifications": f.muting,
        "requested": f.requested,
        "requested_by": f.requested_by,
        "domain_blocking": f.domain_blocking,
        "endorsed": false,
        "note": "",
    }))
}

fn relationship_of(c: &Call<'_>, user: &User, other: &Address) -> Result<JsonResponse, WebError> {
    let id = c
        .store
        .account_id(other.as_str())?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    Ok(json(200, &relationship(c.store, user, id, other)?))
}

/// The Accounts of `addresses`, for `viewer`.
pub fn accounts_of(
    c: &Call<'_>,
    viewer: Option<i64>,
    addresses: &[String],
) -> Result<Vec<Value>, WebError> {
    let mut e = Entities::new(c.store, c.base_url(), viewer);
    addresses.iter().map(|a| e.account(a)).collect()
}

/// The logged-in person's Account with its `source`.
fn own_account(c: &Call<'_>, user: &User) -> Result<Value, WebError> {
    let mut e = Entities::new(c.store, c.base_url(), Some(user.id));
    let mut account = e.account(user.address.as_str())?;
    let bio = c
        .store
        .profile(&user.address, Some(user.id))?
        .map(|p| p.bio)
        .unwrap_or_default();
    let requests = c.store.follow_requests(&user.address)?.len();
    account["source"] = json!({
        "note": bio,
        "privacy": "public",
        "sensitive": false,
        "language": null,
        "fields": [],
        "follow_requests_count": requests,
    });
    Ok(account)
}

/// `GET /api/v1/accounts/verify_credentials`
pub fn verify_credentials(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:accounts profile")?;
    Ok(json(200, &own_account(c, &g.user)?))
}

/// `PATCH /api/v1/accounts/update_credentials`: `display_name`, `note` (the bio), `locked`.
pub fn update_credentials(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:accounts")?;
    let multipart = header(c.req, "Content-Type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (p, avatar, header_pic) = if multipart {
        multipart_credentials(c, &g.user)?
    } else {
        (c.params()?, None, None)
    };
    let locked = p.flag("locked");
    let change = ProfileChange {
        display_name: p.get("display_name").map(str::to_string),
        bio: p.get("note").map(str::to_string),
        avatar,
        header: header_pic,
    };
    let changes_profile = change.display_name.is_some()
        || change.bio.is_some()
        || change.avatar.is_some()
        || change.header.is_some();
    if changes_profile {
        publish_profile(c.ctx, c.store, &g.user, change)?;
    }
    if let Some(l) = locked {
        if l != c.store.is_locked(g.user.id)? {
            set_locked(c.ctx, c.store, &g.user, l)?;
        }
    }
    Ok(json(200, &own_account(c, &g.user)?))
}

/// `update_credentials` sent as `multipart/form-data` (apps send the avatar and header so):
/// its text fields, and the avatar's and header's upload ids. Each picture goes through msm's
/// upload path ([`crate::web::media::store_picture`]: bounds, metadata stripped, quotas).
fn multipart_credentials(
    c: &mut Call<'_>,
    user: &User,
) -> Result<(Params, Option<Value>, Option<Value>), WebError> {
    let p = c.params()?;
    let mut pictures = [None, None];
    let parts = super::media::picture_form(c.req)?;
    for (slot, field) in pictures.iter_mut().zip(["avatar", "header"]) {
        let file = parts
            .iter()
            .find(|part| part.name == field && part.filename.is_some());
        if let Some(file) = file {
            let info = crate::web::media::store_picture(c.ctx, c.store, user, file.data, c.now)?;
            *slot = Some(Value::String(crate::proto::attachment::hex(&info.sha256)));
        }
    }
    let [avatar, header] = pictures;
    Ok((p, avatar, header))
}

/// `GET /api/v1/accounts/lookup?acct=`: `name` (local) or `name@domain`; 404 for an address
/// this node knows nothing of.
pub fn lookup(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let p = c.params()?;
    let acct = p
        .text("acct")
        .ok_or_else(|| WebError::BadRequest("acct is missing".into()))?;
    let acct = acct.trim().trim_start_matches('@');
    let address = if acct.contains('@') {
        Address::parse(acct)
    } else {
        Address::parse(&format!("{acct}@{}", c.ctx.domain))
    }
    .map_err(|_| WebError::NotFound("Record not found".into()))?;
    if c.store.account_id(address.as_str())?.is_none() {
        return Err(WebError::NotFound("Record not found".into()));
    }
    let mut e = Entities::new(c.store, c.base_url(), viewer);
    Ok(json(200, &e.account(address.as_str())?))
}

/// `GET /api/v1/accounts/relationships?id[]=`
pub fn relationships(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:follows")?;
    let p = c.params()?;
    let ids = p.list("id");
    if ids.len() > MAX_RELATIONSHIP_IDS {
        return Err(WebError::Unprocessable(format!(
            "at most {MAX_RELATIONSHIP_IDS} ids at once"
        )));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Ok(n) = parse_id(id) else { continue };
        let Some(a) = c.store.account_address(n)? else {
            continue;
        };
        let Ok(a) = Address::parse(&a) else { continue };
        out.push(relationship(c.store, &g.user, n, &a)?);
    }
    Ok(json(200, &out))
}

/// `GET /api/v1/accounts/{id}`
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user.id);
    let a = address_of(c.store, id)?;
    // whom the household knows is theirs: to a caller without a token, local accounts only
    // (their public pages show them anyway)
    if viewer.is_none() && !c.store.is_local_user(&a)? {
        return Err(WebError::NotFound("Record not found".into()));
    }
    let mut e = Entities::new(c.store, c.base_url(), viewer);
    Ok(json(200, &e.account(a.as_str())?))
}

/// Followers or following of account `id`: the account's own, or nobody (see the module doc).
fn people(c: &mut Call<'_>, id: &str, followers: bool) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer().map(|g| g.user);
    let a = address_of(c.store, id)?;
    let p = c.params()?;
    let page = Page::of(&p)?;
    let rows = match &viewer {
        Some(u) if u.address == a => {
            if followers {
                c.store.follower_accounts(&a, range(&page))?
            } else {
                c.store.followed_accounts(u.id, range(&page))?
            }
        }
        _ => Vec::new(),
    };
    let mut rows = rows;
    if page.oldest_first() {
        rows.reverse();
    }
    let (ids, addresses): (Vec<i64>, Vec<String>) = rows.into_iter().unzip();
    let list = accounts_of(c, viewer.map(|u| u.id), &addresses)?;
    let what = if followers { "followers" } else { "following" };
    let url = format!("{}/api/v1/accounts/{id}/{what}", c.base_url());
    let limit = format!("limit={}", page.limit);
    Ok(paging::link(json(200, &list), &url, &limit, &ids))
}

/// `GET /api/v1/accounts/{id}/followers`
pub fn followers(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    people(c, id, true)
}

/// `GET /api/v1/accounts/{id}/following`
pub fn following(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    people(c, id, false)
}

/// The scope each account action needs, or `None` for an action that does not exist.
pub fn action_scope(action: &str) -> Option<&'static str> {
    Some(match action {
        "follow" | "unfollow" | "remove_from_followers" => "write:follows",
        "block" | "unblock" => "write:blocks",
        "mute" | "unmute" => "write:mutes",
        "note" | "pin" | "unpin" | "endorse" | "unendorse" => "write:accounts",
        _ => return None,
    })
}

/// `POST /api/v1/accounts/{id}/{follow|unfollow|block|unblock|mute|unmute|...}`: the
/// Relationship after.
pub fn act(c: &mut Call<'_>, id: &str, action: &str) -> Result<JsonResponse, WebError> {
    let scope = action_scope(action)
        .ok_or_else(|| WebError::NotFound(format!("no such path: {action}")))?;
    let g = c.grant(scope)?;
    let who = address_of(c.store, id)?;
    let user = &g.user;
    match action {
        "follow" => {
            let f = c.store.relation_flags(user.id, &user.address, &who)?;
            if !f.following && !f.requested {
                follow_address(c.ctx, c.store, user, who.clone())?;
            }
        }
        "unfollow" => {
            let f = c.store.relation_flags(user.id, &user.address, &who)?;
            if f.following || f.requested {
                unfollow_address(c.ctx, c.store, user, &who)?;
            }
        }
        "block" | "mute" => {
            check_target(c.ctx, c.store, &user.address, &who)
                .map_err(|e| WebError::Unprocessable(e.to_string()))?;
            let kind = if action == "block" {
                Relation::Block
            } else {
                Relation::Mute
            };
            relate(c.ctx, c.store, user, kind, &who, c.now)?;
        }
        "unblock" => {
            if c.store.relation(user.id, &who)? == Some(Relation::Block) {
                unrelate(c.ctx, c.store, user, Relation::Block, &who)?;
            }
        }
        "unmute" => {
            if c.store.relation(user.id, &who)? == Some(Relation::Mute) {
                unrelate(c.ctx, c.store, user, Relation::Mute, &who)?;
            }
        }
        "remove_from_followers" => {
            return Err(WebError::Unprocessable(
                "msm cannot remove a follower; block them instead (a block also ends their \
                 following)"
                    .into(),
            ))
        }
        _ => {
            return Err(WebError::Unprocessable(format!(
                "msm has no {action} for accounts (no private notes or endorsements)"
            )))
        }
    }
    relationship_of(c, user, &who)
}

/// The addresses in `all`, newest last in `all`, as one page of at most `limit`, newest first.
fn newest<T>(mut all: Vec<T>, limit: u32) -> Vec<T> {
    all.reverse();
    all.truncate(limit as usize);
    all
}

/// `GET /api/v1/follow_requests`
pub fn follow_requests(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:follows")?;
    let page = Page::of(&c.params()?)?;
    let asking: Vec<String> = c
        .store
        .follow_requests(&g.user.address)?
        .into_iter()
        .map(|r| r.address)
        .collect();
    let asking = newest(asking, page.limit);
    Ok(json(200, &accounts_of(c, Some(g.user.id), &asking)?))
}

/// `POST /api/v1/follow_requests/{id}/authorize|reject`: the Relationship after.
pub fn decide_follow_request(
    c: &mut Call<'_>,
    id: &str,
    action: &str,
) -> Result<JsonResponse, WebError> {
    let accept = match action {
        "authorize" => true,
        "reject" => false,
        _ => return Err(WebError::NotFound(format!("no such path: {action}"))),
    };
    let g = c.grant("write:follows")?;
    let follower = address_of(c.store, id)?;
    if !decide_request(c.ctx, c.store, &g.user, &follower, accept)? {
        return Err(WebError::NotFound("Record not found".into()));
    }
    relationship_of(c, &g.user, &follower)
}

fn related(c: &mut Call<'_>, kind: Relation, scope: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant(scope)?;
    let page = Page::of(&c.params()?)?;
    let rows: Vec<String> = c
        .store
        .relations(g.user.id, kind)?
        .into_iter()
        .map(|r| r.address)
        .collect();
    let rows = newest(rows, page.limit);
    Ok(json(200, &accounts_of(c, Some(g.user.id), &rows)?))
}

/// `GET /api/v1/mutes`
pub fn mutes(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    related(c, Relation::Mute, "read:mutes")
}

/// `GET /api/v1/blocks`
pub fn blocks(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    related(c, Relation::Block, "read:blocks")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_has_its_scope_and_unknown_ones_none() {
        assert_eq!(action_scope("follow"), Some("write:follows"));
        assert_eq!(action_scope("unblock"), Some("write:blocks"));
        assert_eq!(action_scope("mute"), Some("write:mutes"));
        assert_eq!(action_scope("note"), Some("write:accounts"));
        assert_eq!(action_scope("statuses"), None);
    }

    #[test]
    fn a_page_of_unpaged_rows_is_the_newest_first() {
        assert_eq!(newest(vec![1, 2, 3, 4], 2), [4, 3]);
        assert_eq!(newest(Vec::<i32>::new(), 2), Vec::<i32>::new());
    }
}
