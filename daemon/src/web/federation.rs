//! Handlers for following, followers, deleting posts, profile updates and `/.well-known/msm`.

use super::api::{publish, Context};
use super::auth;
use super::io::{json, percent_decode, read_json, JsonResponse};
use super::WebError;
use crate::discover::DiscoverError;
use crate::net::{FollowState, NetError};
use crate::proto::{Address, Audience, Body};
use crate::store::{Store, User};
use serde::Deserialize;
use serde_json::json;
use tiny_http::Request;

/// Largest body of a follow or profile request.
pub const MAX_SMALL_BODY: usize = 8 * 1024;
/// How long a follow request may wait for the other node.
pub const FOLLOW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn net_error(e: NetError) -> WebError {
    match e {
        NetError::Discover(d @ (DiscoverError::NoSuchDomain(_) | DiscoverError::NoNode(_))) => {
            WebError::NotFound(d.to_string())
        }
        NetError::NoSuchUser(u) => WebError::NotFound(format!("{u} does not exist on its node")),
        NetError::Store(s) => s.into(),
        NetError::DomainBlocked(_) => WebError::Forbidden("that domain is blocked on this node"),
        other => WebError::BadGateway(other.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowBody {
    address: String,
}

/// What a follow came to: the HTTP status msm's API answers, `active` or `pending`, and why
/// it is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowResult {
    /// 201 (following) or 202 (waiting: for the author's approval or for their node).
    pub status: u16,
    /// `active` or `pending`.
    pub state: &'static str,
    /// Why it is pending.
    pub note: Option<String>,
}

/// `user` follows `author` (not themselves, a real user when local), through the network
/// when remote: what msm's `POST /api/v1/follows` and Mastodon's follow share.
pub fn follow_address(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    author: Address,
) -> Result<FollowResult, WebError> {
    if author == user.address {
        return Err(WebError::BadRequest("you cannot follow yourself".into()));
    }
    if author.domain() == ctx.domain && !store.is_local_user(&author)? {
        return Err(WebError::NotFound(format!("no user {author} on this node")));
    }
    let net = ctx.net.clone();
    let uid = user.id;
    let a = author.clone();
    let outcome = ctx
        .runtime
        .block_on(async move { tokio::time::timeout(FOLLOW_TIMEOUT, net.follow(uid, a)).await })
        .map_err(|_| WebError::BadGateway(format!("{} did not answer in time", author.domain())))?
        .map_err(net_error)?;
    let (status, state, note) = match &outcome {
        FollowState::Local => (201, "active", None),
        FollowState::Active => (201, "active", None),
        FollowState::Pending(why) => (202, "pending", Some(format!("{why}; msmd keeps trying"))),
    };
    // approval: name the follower to the author's node; say if the author must accept
    if matches!(outcome, FollowState::Active) {
        let (net, f, a) = (ctx.net.clone(), user.address.clone(), author.clone());
        if let Err(e) = ctx.runtime.block_on(crate::net::follow::ask(&net, &f, &a)) {
            tracing::info!(%author, error = %e, "follow request not sent yet; msmd keeps trying");
        }
    }
    let approval = match outcome {
        FollowState::Active => crate::net::follow::wait_answer(store, uid, &author)?,
        _ => store.unapproved_follows(uid)?.remove(author.as_str()),
    };
    // a rejection (the author blocked this person, or a bound) has removed the follow
    if approval.is_none() && !store.following(uid)?.iter().any(|f| f.0 == author.as_str()) {
        tracing::info!(user = %user.address, %author, "follow refused by the author's node");
        return Err(WebError::Forbidden("the author's node refused the follow"));
    }
    let (status, state, note) = match approval {
        Some(_) if status == 201 => (202, "pending", Some("waiting for approval".to_string())),
        _ => (status, state, note),
    };
    tracing::info!(user = %user.address, %author, state, "follow");
    Ok(FollowResult {
        status,
        state,
        note,
    })
}

/// `POST /api/v1/follows`
pub fn follow(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let body: FollowBody = read_json(req, MAX_SMALL_BODY)?;
    let author = super::follow_target::parse_follow_target(&body.address)?;
    let r = follow_address(ctx, store, &s.user, author.clone())?;
    Ok(json(
        r.status,
        &json!({ "address": author.as_str(), "state": r.state, "note": r.note }),
    ))
}

/// `GET /api/v1/follows`
pub fn following(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let mut unapproved = store.unapproved_follows(s.user.id)?;
    let list: Vec<_> = store
        .following(s.user.id)?
        .into_iter()
        .map(|(address, state, error)| {
            // "pending" too while the author has not accepted (store::approvals)
            let approval = unapproved
                .remove(&address)
                .map_or("accepted", |_| "pending");
            let state = match state {
                _ if approval == "pending" => "pending".into(),
                Some(st) => st,
                None => "active".into(),
            };
            json!({ "address": address, "state": state, "approval": approval, "error": error })
        })
        .collect();
    Ok(json(200, &json!({ "follows": list })))
}

/// `DELETE /api/v1/follows/{address}`
pub fn unfollow(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    who: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let author = Address::parse(&percent_decode(who))?;
    unfollow_address(ctx, store, &s.user, &author)?;
    Ok(json(
        200,
        &json!({ "address": author.as_str(), "state": "unfollowed" }),
    ))
}

/// `user` stops following `author` (telling a remote author's node); 404 when `user` does
/// not follow them. Shared by msm's API and Mastodon's unfollow.
pub fn unfollow_address(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    author: &Address,
) -> Result<(), WebError> {
    let (net, uid, a) = (ctx.net.clone(), user.id, author.clone());
    if author.domain() != ctx.domain && store.following(uid)?.iter().any(|f| f.0 == author.as_str())
    {
        let (n, f, a) = (net.clone(), user.address.clone(), author.clone());
        ctx.runtime
            .block_on(async move { crate::net::follow::undo(&n, &f, &a).await });
    }
    ctx.runtime
        .block_on(net.unfollow(uid, a))
        .map_err(|e| match e {
            NetError::Store(crate::store::StoreError::NotFollowing(a)) => {
                WebError::NotFound(format!("you do not follow {a}"))
            }
            other => net_error(other),
        })?;
    Ok(())
}

/// `GET /api/v1/followers`: local followers by address; remote ones by server (a server
/// subscribes once for all its followers), and the accepted remote followers by address.
pub fn followers(store: &Store, req: &Request, now: u64) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let (local, servers) = store.followers(&s.user.address)?;
    let remote = store.remote_followers(&s.user.address)?;
    Ok(json(
        200,
        &json!({ "local": local, "servers": servers, "remote": remote }),
    ))
}

/// `DELETE /api/v1/posts/{seq}`: publishes a delete of one's own post.
pub fn delete_post(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    seq: &str,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let target: u64 = seq
        .parse()
        .map_err(|_| WebError::BadRequest("the path ends in the post's seq number".into()))?;
    if store.message_wire(&s.user.address, target)?.is_none() {
        return Err(WebError::NotFound(format!("you have no post {target}")));
    }
    publish(ctx, s.user.id, Audience::Public, Body::Delete { target })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    bio: Option<String>,
    /// An uploaded picture's id; `null` removes the avatar; absent keeps it.
    #[serde(default)]
    avatar: Option<serde_json::Value>,
    /// As `avatar`, for the header.
    #[serde(default)]
    header: Option<serde_json::Value>,
}

/// A profile picture from the request: absent keeps `now`, `null` removes it, an upload's id
/// sets it.
fn profile_picture(
    store: &Store,
    user_id: i64,
    given: Option<serde_json::Value>,
    now: Option<crate::proto::attachment::Attachment>,
) -> Result<Option<crate::proto::attachment::Attachment>, WebError> {
    match given {
        None => Ok(now),
        Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(id)) => {
            let sha = crate::proto::attachment::parse_hex256(&id)
                .ok_or_else(|| WebError::BadRequest(format!("{id:?} is not a picture's id")))?;
            let info = store.own_upload(user_id, &sha)?;
            Ok(Some(info.reference(String::new(), String::new())))
        }
        Some(_) => Err(WebError::BadRequest(
            "avatar and header are a picture's id or null".into(),
        )),
    }
}

/// `PUT /api/v1/profile`: publishes a profile update.
pub fn update_profile(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let b: ProfileBody = read_json(req, MAX_SMALL_BODY)?;
    publish_profile(
        ctx,
        store,
        &s.user,
        ProfileChange {
            display_name: b.display_name,
            bio: b.bio,
            avatar: b.avatar,
            header: b.header,
        },
    )
}

/// A change of profile: a field left `None` keeps its value; `avatar` and `header` are as in
/// `PUT /api/v1/profile` (an upload's id, `null` to remove).
#[derive(Debug, Default)]
pub struct ProfileChange {
    /// The new display name.
    pub display_name: Option<String>,
    /// The new bio.
    pub bio: Option<String>,
    /// The new avatar.
    pub avatar: Option<serde_json::Value>,
    /// The new header.
    pub header: Option<serde_json::Value>,
}

/// Publishes `user`'s profile with `change` applied: what msm's profile update and
/// Mastodon's `update_credentials` share.
pub fn publish_profile(
    ctx: &Context,
    store: &mut Store,
    user: &User,
    change: ProfileChange,
) -> Result<JsonResponse, WebError> {
    let b = change;
    // A field left out keeps its value.
    let now_shown = store.profile(&user.address, Some(user.id))?;
    let (name, bio) = now_shown.map_or((String::new(), String::new()), |p| (p.display_name, p.bio));
    if let Some(given) = &b.display_name {
        check_display_name(given)?;
    }
    let (avatar_now, header_now) = store.profile_pictures(user.address.as_str())?;
    let avatar = profile_picture(store, user.id, b.avatar, avatar_now)?;
    let header = profile_picture(store, user.id, b.header, header_now)?;
    let (display_name, bio) = (b.display_name.unwrap_or(name), b.bio.unwrap_or(bio));
    let body = if avatar.is_none() && header.is_none() {
        Body::Profile { display_name, bio }
    } else {
        Body::Portrait {
            display_name,
            bio,
            avatar,
            header,
        }
    };
    publish(ctx, user.id, Audience::Public, body)
}

/// Refuses a display name holding a bidirectional embedding, override or isolate control
/// ([`crate::proto::message::is_bidi_control`]): shown beside an address, it could make the
/// address read backwards. Names from other nodes may still hold one; the web client isolates
/// every name it shows.
pub fn check_display_name(name: &str) -> Result<(), WebError> {
    match name
        .chars()
        .find(|c| crate::proto::message::is_bidi_control(*c))
    {
        Some(c) => Err(WebError::BadRequest(format!(
            "a display name may not hold the text direction control U+{:04X}",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// `GET /.well-known/msm`: the node's key and link endpoint.
pub fn well_known(ctx: &Context) -> JsonResponse {
    json(
        200,
        &json!({
            "domain": ctx.domain,
            "key": ctx.net.key().public().to_text(),
            "links": ctx.links_listen,
            "version": env!("CARGO_PKG_VERSION"),
            "txt": format!("v=msm1 k={}", ctx.net.key().public().to_text()),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_with_direction_controls_are_refused() {
        for ok in [
            "Bob Builder",
            "דוד",
            "علي",
            "Anna \u{200F}(mum)\u{200E}",
            "",
        ] {
            assert!(check_display_name(ok).is_ok(), "{ok:?}");
        }
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'] {
            let name = format!("Eve{c}moc.elgoog");
            assert!(matches!(
                check_display_name(&name),
                Err(WebError::BadRequest(_))
            ));
        }
        for c in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(
                check_display_name(&format!("{c}x")).is_err(),
                "U+{:04X}",
                c as u32
            );
        }
        let e = check_display_name("a\u{202E}b").unwrap_err().to_string();
        assert!(e.contains("U+202E"), "{e}");
    }
}
