//! Search v2: accounts, statuses, hashtags; `resolve=true` finds a remote msm address.
//!
//! Accounts come from msm's people search (addresses, names, display names); with
//! `resolve=true` and a `user@domain` this node knows nothing of, the node asks that address's
//! node for the person's key and recent public posts (bounded by `net::preview`'s wait), so
//! the account exists here afterwards. Statuses come from the full-text search, with its
//! visibility rules; hashtags from the tags of stored posts. `offset` pages, `limit` ≤ 40.

use super::super::io::{json, JsonResponse};
use super::super::WebError;
use super::entities::Entities;
use super::params::Params;
use super::Call;
use crate::proto::Address;
use serde_json::{json, Value};

/// Results of each kind when the client does not say.
pub const DEFAULT_RESULTS: u32 = 20;
/// Most results of each kind.
pub const MAX_RESULTS: u32 = 40;
/// Deepest `offset` for accounts and hashtags (statuses: the store's own bound).
pub const MAX_OFFSET: u32 = 1000;
/// Longest hashtag name answered by `/api/v1/tags/{tag}`, in bytes.
pub const MAX_TAG_BYTES: usize = 100;

/// The Tag entity of `name`.
pub fn tag_entity(base: &str, name: &str) -> Value {
    json!({
        "name": name,
        "url": format!("{base}/tags/{name}"),
        "history": [],
        "following": false,
    })
}

/// A `user@domain` (or `@user@domain`) typed in full, as an address.
fn typed_address(q: &str) -> Option<Address> {
    let t = q.trim();
    let t = t.strip_prefix("acct:").unwrap_or(t);
    let t = t.strip_prefix('@').unwrap_or(t);
    if !t.contains('@') || t.contains(char::is_whitespace) {
        return None;
    }
    Address::parse(t).ok()
}

/// `(limit, offset)` of a search.
fn bounds(p: &Params) -> Result<(u32, u32), WebError> {
    let limit = p
        .number("limit")?
        .map_or(DEFAULT_RESULTS, |n| n.clamp(1, MAX_RESULTS as i64) as u32);
    let offset = p.number("offset")?.unwrap_or(0);
    if !(0..=MAX_OFFSET as i64).contains(&offset) {
        return Err(WebError::BadRequest(format!(
            "offset must be 0 to {MAX_OFFSET}"
        )));
    }
    Ok((limit, offset as u32))
}

/// Accounts matching `q` for `viewer`; `resolve` asks a remote node for a full address not
/// known here; `following` keeps only people the viewer follows.
fn find_accounts(
    c: &mut Call<'_>,
    q: &str,
    viewer: Option<i64>,
    resolve: bool,
    following: bool,
    (limit, offset): (u32, u32),
) -> Result<Vec<Value>, WebError> {
    if resolve && viewer.is_some() {
        if let Some(a) = typed_address(q) {
            let known = c.store.account_id(a.as_str())?.is_some();
            if !known
                && a.domain() != c.ctx.domain
                && !c.ctx.net.blocked_domains.matches(a.domain())
            {
                let (net, who) = (c.ctx.net.clone(), a.clone());
                if let Err(e) = c
                    .ctx
                    .runtime
                    .block_on(async move { net.preview(&who).await })
                {
                    tracing::info!(address = %a, error = %e, "search could not resolve");
                }
            }
        }
    }
    let wanted = (offset + limit).min(crate::store::people::MAX_PEOPLE_RESULTS);
    let people = c.store.search_people(q, viewer, wanted)?;
    let addresses: Vec<String> = people
        .into_iter()
        .filter(|p| !following || p.followed)
        .skip(offset as usize)
        .take(limit as usize)
        .map(|p| p.address)
        .collect();
    let mut e = Entities::new(c.store, c.base_url(), viewer);
    addresses.iter().map(|a| e.account(a)).collect()
}

/// `GET /api/v2/search` (and v1): `q`, `type`, `resolve`, `limit`, `offset`, `following`.
pub fn v2(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let viewer = c.viewer();
    if viewer.is_some() {
        c.grant("read:search")?;
    }
    let viewer = viewer.map(|g| g.user.id);
    let p = c.params()?;
    let q = p.get("q").unwrap_or("").trim().to_string();
    let kind = p.text("type");
    if let Some(k) = kind {
        if !matches!(k, "accounts" | "statuses" | "hashtags") {
            return Err(WebError::BadRequest(
                "type is accounts, statuses or hashtags".into(),
            ));
        }
    }
    let wants = |k: &str| kind.is_none_or(|t| t == k);
    let b = bounds(&p)?;
    let resolve = p.flag("resolve").unwrap_or(false);
    let following = p.flag("following").unwrap_or(false);
    let mut accounts = Vec::new();
    let mut statuses = Vec::new();
    let mut hashtags = Vec::new();
    // whom the household knows is theirs: accounts only to a logged-in caller
    if !q.is_empty() && wants("accounts") && viewer.is_some() {
        accounts = find_accounts(c, &q, viewer, resolve, following, b)?;
    }
    if !q.is_empty() && wants("statuses") && viewer.is_some() {
        let posts = c.store.search(&q, viewer, b.1, b.0)?;
        let mut e = Entities::new(c.store, c.base_url(), viewer);
        for post in posts {
            if let Some(entry) = c.store.entry_at(&post.author, post.seq, viewer)? {
                statuses.push(e.status(&entry)?);
            }
        }
    }
    let tag_q = q.trim_start_matches('#');
    if !tag_q.is_empty() && wants("hashtags") && !tag_q.contains(char::is_whitespace) {
        let names = c.store.hashtags(tag_q, b.0 + b.1)?;
        let base = c.base_url();
        hashtags = names
            .iter()
            .skip(b.1 as usize)
            .map(|n| tag_entity(&base, n))
            .collect();
    }
    Ok(json(
        200,
        &json!({ "accounts": accounts, "statuses": statuses, "hashtags": hashtags }),
    ))
}

/// `GET /api/v1/accounts/search`: `q`, `limit`, `offset`, `resolve`, `following`.
pub fn accounts(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:accounts")?;
    let p = c.params()?;
    let q = p.get("q").unwrap_or("").trim().to_string();
    if q.is_empty() {
        return Ok(json(200, &json!([])));
    }
    let b = bounds(&p)?;
    let resolve = p.flag("resolve").unwrap_or(false);
    let following = p.flag("following").unwrap_or(false);
    let found = find_accounts(c, &q, Some(g.user.id), resolve, following, b)?;
    Ok(json(200, &found))
}

/// `GET /api/v1/tags/{tag}`: the Tag (any well-formed name; msm keeps no history).
pub fn tag(c: &mut Call<'_>, tag: &str) -> Result<JsonResponse, WebError> {
    let name = super::super::io::percent_decode(tag);
    let name = name.trim_start_matches('#').to_lowercase();
    if name.is_empty()
        || name.len() > MAX_TAG_BYTES
        || !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
    {
        return Err(WebError::NotFound("Record not found".into()));
    }
    Ok(json(200, &tag_entity(&c.base_url(), &name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_address_is_resolved() {
        assert_eq!(
            typed_address("@bob@b.test").map(|a| a.to_string()),
            Some("bob@b.test".into())
        );
        assert!(typed_address("bob").is_none());
        assert!(typed_address("bob @b.test").is_none());
        assert!(typed_address("not an@address at all").is_none());
    }

    #[test]
    fn search_bounds_clamp_and_refuse_deep_offsets() {
        let p = Params::from_form("limit=500&offset=3").unwrap();
        assert_eq!(bounds(&p).unwrap(), (MAX_RESULTS, 3));
        let p = Params::from_form("offset=99999").unwrap();
        assert!(bounds(&p).is_err());
        assert_eq!(bounds(&Params::default()).unwrap(), (DEFAULT_RESULTS, 0));
    }
}
