//! Notifications and markers.
//!
//! msm's notification kinds map to Mastodon's types ([`mastodon_type`]): a reply is reported as
//! a `mention`, as Mastodon does; a repost is a `reblog`, a like a `favourite`. Types msm never
//! makes (`status`, `update`, `poll`, ...) filter to nothing. Setting the `notifications`
//! marker also marks msm's notifications read up to it, so the web client's unread count
//! agrees with the app.

use super::super::io::{json, JsonResponse};
use super::super::WebError;
use super::accounts::range;
use super::entities::Entities;
use super::paging::{self, parse_id, Page};
use super::Call;
use crate::store::conversation::{NotificationView, NOTIFICATION_KINDS};
use crate::store::mastodon_accounts::MARKER_TIMELINES;
use serde_json::{json, Map, Value};

/// Most `types[]` or `exclude_types[]` values one request may name.
pub const MAX_TYPES: usize = 16;

/// Most unread notifications `unread_count` counts (Mastodon's cap).
pub const MAX_UNREAD_COUNT: u64 = 1000;

use super::entities::notification_type as mastodon_type;

/// msm's kinds that `types` (if any) include and `exclude` leaves in.
pub fn kinds_for(types: &[&str], exclude: &[&str]) -> Vec<&'static str> {
    NOTIFICATION_KINDS
        .iter()
        .copied()
        .filter(|k| types.is_empty() || types.contains(&mastodon_type(k)))
        .filter(|k| !exclude.contains(&mastodon_type(k)))
        .collect()
}

/// `user_id`'s notification `id` as stored, if it is theirs.
fn view(c: &Call<'_>, user_id: i64, id: i64) -> Result<Option<NotificationView>, WebError> {
    Ok(c.store
        .notifications(user_id, Some(id.saturating_add(1)), 1)?
        .into_iter()
        .find(|n| n.id == id))
}

/// `GET /api/v1/notifications`: `types[]`, `exclude_types[]`, `max_id`/`since_id`/`min_id`,
/// `limit`.
pub fn list(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:notifications")?;
    let p = c.params()?;
    let page = Page::of(&p)?;
    let (types, exclude) = (p.list("types"), p.list("exclude_types"));
    if types.len() > MAX_TYPES || exclude.len() > MAX_TYPES {
        return Err(WebError::Unprocessable(format!(
            "at most {MAX_TYPES} types at once"
        )));
    }
    let kinds = kinds_for(&types, &exclude);
    let mut ids = c.store.notification_ids(g.user.id, &kinds, range(&page))?;
    if page.oldest_first() {
        ids.reverse();
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut shown = Vec::with_capacity(ids.len());
    let mut e = Entities::new(c.store, c.base_url(), Some(g.user.id));
    for id in &ids {
        let Some(n) = view(c, g.user.id, *id)? else {
            continue;
        };
        if let Some(v) = e.notification(&n)? {
            out.push(v);
            shown.push(*id);
        }
    }
    let mut extra: Vec<String> = vec![format!("limit={}", page.limit)];
    extra.extend(types.iter().map(|t| format!("types[]={}", query_word(t))));
    extra.extend(
        exclude
            .iter()
            .map(|t| format!("exclude_types[]={}", query_word(t))),
    );
    let url = format!("{}/api/v1/notifications", c.base_url());
    // the page's bounds are the ids looked at, even those whose status is gone
    Ok(paging::link(json(200, &out), &url, &extra.join("&"), &ids))
}

/// A type name as it may go back into a query (anything else dropped).
fn query_word(t: &str) -> String {
    t.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .take(40)
        .collect()
}

/// `GET /api/v1/notifications/{id}`
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:notifications")?;
    let n = view(c, g.user.id, parse_id(id)?)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    let mut e = Entities::new(c.store, c.base_url(), Some(g.user.id));
    let v = e
        .notification(&n)?
        .ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    Ok(json(200, &v))
}

/// `POST /api/v1/notifications/{id}/dismiss`
pub fn dismiss(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:notifications")?;
    if !c.store.dismiss_notification(g.user.id, parse_id(id)?)? {
        return Err(WebError::NotFound("Record not found".into()));
    }
    Ok(json(200, &json!({})))
}

/// `POST /api/v1/notifications/clear`
pub fn clear(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:notifications")?;
    let n = c.store.clear_notifications(g.user.id)?;
    tracing::info!(user = %g.user.address, n, "notifications cleared");
    Ok(json(200, &json!({})))
}

/// `GET /api/v1/notifications/unread_count`
pub fn unread_count(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:notifications")?;
    let n = c.store.unread_notifications(g.user.id)?;
    Ok(json(200, &json!({ "count": n.min(MAX_UNREAD_COUNT) })))
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications` (none named: both).
pub fn markers(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("read:statuses")?;
    let p = c.params()?;
    let wanted = p.list("timeline");
    let mut out = Map::new();
    for m in c.store.markers(g.user.id)? {
        if wanted.is_empty() || wanted.contains(&m.timeline.as_str()) {
            out.insert(m.timeline.clone(), marker(&m));
        }
    }
    Ok(json(200, &Value::Object(out)))
}

fn marker(m: &crate::store::mastodon_accounts::Marker) -> Value {
    json!({
        "last_read_id": m.last_read_id.to_string(),
        "version": m.version,
        "updated_at": super::entities::time(m.updated_ms),
    })
}

/// `POST /api/v1/markers`: `home[last_read_id]`, `notifications[last_read_id]`.
pub fn set_markers(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:statuses")?;
    let p = c.params()?;
    let mut given = Vec::new();
    for t in MARKER_TIMELINES {
        if let Some(v) = p.text(&format!("{t}[last_read_id]")) {
            let id = v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                WebError::Unprocessable(format!("{t}[last_read_id] must be an id"))
            })?;
            given.push((t, id));
        }
    }
    if given.is_empty() {
        return Err(WebError::Unprocessable(
            "name home[last_read_id] or notifications[last_read_id]".into(),
        ));
    }
    for (t, id) in &given {
        c.store.set_marker(g.user.id, t, *id, c.now)?;
        if *t == "notifications" {
            c.store.mark_notifications_read(g.user.id, *id)?;
        }
    }
    let mut out = Map::new();
    for m in c.store.markers(g.user.id)? {
        if given.iter().any(|(t, _)| *t == m.timeline) {
            out.insert(m.timeline.clone(), marker(&m));
        }
    }
    Ok(json(200, &Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_msm_kinds() {
        assert_eq!(kinds_for(&["mention"], &[]), ["mention", "reply"]);
        assert_eq!(kinds_for(&["favourite", "reblog"], &[]), ["repost", "like"]);
        assert_eq!(
            kinds_for(&[], &["mention", "follow"]),
            ["repost", "like", "follow_request"]
        );
        assert!(kinds_for(&["status", "poll"], &[]).is_empty());
        assert_eq!(kinds_for(&[], &[]).len(), NOTIFICATION_KINDS.len());
    }

    #[test]
    fn type_names_in_links_are_plain() {
        assert_eq!(query_word("mention&x=<y>"), "mentionxy");
    }
}
