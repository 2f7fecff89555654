//! `GET /users/{name}`: an account's ActivityPub actor, for servers that ask for
//! `application/activity+json` (or `application/ld+json`); a browser is sent to the profile
//! page, as Mastodon does.
//!
//! The collections the actor names (outbox, followers, following, featured) are
//! served by [`super::collections`].
//!
//! The actor is public and unauthenticated, like the profile page and WebFinger. It carries
//! the user's RSA public key (made on first need and kept: [`crate::store::actor_keys`]),
//! the shared inbox and the collections, so any fediverse server can look the account up.

use super::api::Context;
use super::io::{static_header, JsonResponse};
use super::mastodon::html::{content, Links};
use super::public::{base_url, local_user, percent_encode, rfc3339};
use super::WebError;
use crate::activitypub::keygen::generate_rsa_2048;
use crate::activitypub::keys::{ed25519_multibase, RsaSigningKey};
use crate::activitypub::outbound::{person, Iris, OutPerson};
use crate::store::actor_keys::MadeKey;
use crate::store::Store;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tiny_http::{Request, Response};

/// The media type of ActivityStreams documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// Whether the request asks for an ActivityStreams document.
pub fn wants_activity_json(req: &Request) -> bool {
    req.headers()
        .iter()
        .filter(|h| h.field.equiv("Accept"))
        .any(|h| {
            let v = h.value.as_str();
            v.contains(ACTIVITY_JSON) || v.contains("application/ld+json")
        })
}

/// Held while an RSA key is made: one at a time in the whole process (the start-up maker and
/// the actors asked for), so requests for accounts without a key cannot fill the CPU.
pub static KEY_MAKER: Mutex<()> = Mutex::new(());

/// Makes a 2048-bit RSA key (seconds of CPU on a router: hold [`KEY_MAKER`]).
pub fn make_key() -> Result<MadeKey, String> {
    let der = generate_rsa_2048().map_err(|e| e.to_string())?;
    let public = RsaSigningKey::from_pkcs8(&der).map_err(|e| e.to_string())?;
    Ok(MadeKey {
        public_pem: public.public_key().to_pem(),
        private_der: der,
    })
}

/// How long a request waits for another key being made before it is answered 503.
pub const KEY_WAIT: Duration = Duration::from_secs(10);

/// The user's public key; made here if it was not yet. While another key is being made (the
/// start-up maker, or another request) this waits up to [`KEY_WAIT`], then answers 503.
fn public_key(store: &Store, user_id: i64) -> Result<String, WebError> {
    let start = Instant::now();
    loop {
        if let Some(pem) = store.stored_rsa_public(user_id)? {
            return Ok(pem);
        }
        if let Ok(_making) = KEY_MAKER.try_lock() {
            return Ok(store.rsa_public_key(user_id, make_key)?);
        }
        if start.elapsed() > KEY_WAIT {
            return Err(WebError::Busy("the account's key is being made"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET /users/{name}`.
pub fn actor(
    ctx: &Context,
    store: &Store,
    req: &Request,
    name: &str,
) -> Result<JsonResponse, WebError> {
    let (address, profile) = local_user(ctx, store, name)?;
    if !wants_activity_json(req) {
        let to = format!("/@{}", percent_encode(address.user()));
        return Ok(Response::from_data(Vec::new())
            .with_status_code(302)
            .with_header(static_header("Location", &to)));
    }
    let user = store
        .user_by_name(address.user())?
        .ok_or_else(|| WebError::NotFound(format!("no user {name} here")))?;
    let public = public_key(store, user.id)?;
    let base = base_url(ctx);
    let doc = person_of(store, &base, &ctx.domain, &user, &profile, &public)?
        .ok_or_else(|| WebError::NotFound(format!("no user {name} here")))?;
    Ok(Response::from_data(doc.to_string().into_bytes())
        .with_header(static_header("Content-Type", ACTIVITY_JSON))
        .with_header(static_header("Vary", "Accept"))
        .with_header(static_header("Access-Control-Allow-Origin", "*")))
}

/// The `Person` of local `user` (whose profile is `profile`, RSA public key `public_pem`) as
/// `GET /users/{name}` serves it and `Update` sends it; `None` if the account is gone.
pub fn person_of(
    store: &Store,
    base: &str,
    domain: &str,
    user: &crate::store::User,
    profile: &crate::store::timeline::Profile,
    public_pem: &str,
) -> Result<Option<serde_json::Value>, crate::store::StoreError> {
    let address = &user.address;
    let Some(row) = store.account_row(address.as_str())? else {
        return Ok(None);
    };
    let url = format!("{base}/@{}", address.user());
    let published = rfc3339(row.created_ms);
    let links = Links {
        base,
        local_domain: domain,
        author_domain: domain,
    };
    let summary = content(&profile.bio, &links);
    let (avatar, header) = store.profile_pictures(address.as_str())?;
    let media = |a: &Option<crate::proto::attachment::Attachment>| {
        a.as_ref()
            .map(|a| (format!("{base}/media/{}", a.hex()), a.media_type.mime()))
    };
    let (icon, image) = (media(&avatar), media(&header));
    Ok(Some(person(
        &Iris { base },
        &OutPerson {
            user: address.user(),
            name: &profile.display_name,
            summary: &summary,
            url: &url,
            manually_approves: row.locked,
            rsa_public_pem: public_pem,
            ed25519_multibase: Some(&ed25519_multibase(&user.public_key.to_bytes())),
            icon: icon.as_ref().map(|(u, t)| (u.as_str(), *t)),
            image: image.as_ref().map(|(u, t)| (u.as_str(), *t)),
            published: &published,
        },
    )))
}

/// `GET /users/{name}/statuses/{seq}`: a public post as its ActivityStreams `Note`, for
/// servers that fetch it (a reply, a like, a boost names it); a browser is sent to its page.
/// Followers-only and direct posts are not served (404); a deleted one is a `Tombstone` (410).
pub fn status(
    ctx: &Context,
    store: &Store,
    req: &Request,
    name: &str,
    seq: &str,
) -> Result<JsonResponse, WebError> {
    let (address, _) = local_user(ctx, store, name)?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| WebError::NotFound(format!("no post {seq}")))?;
    if !wants_activity_json(req) {
        let to = format!("/@{}/{seq}", percent_encode(address.user()));
        return Ok(Response::from_data(Vec::new())
            .with_status_code(302)
            .with_header(static_header("Location", &to)));
    }
    let not_found = || WebError::NotFound(format!("no post {seq} of {name}"));
    let stored = store
        .local_message(address.as_str(), seq)?
        .ok_or_else(not_found)?;
    let deleted = stored.deleted;
    let base = base_url(ctx);
    let iris = Iris { base: &base };
    let (status, doc) = if deleted {
        let id = iris.post(address.user(), seq);
        (
            410,
            serde_json::json!({"@context": crate::activitypub::outbound::context(), "id": id, "type": "Tombstone"}),
        )
    } else {
        let activity = stored_activity(&base, &ctx.domain, store, &stored)
            .filter(|a| a["type"] == "Create")
            .ok_or_else(not_found)?;
        let mut note = activity["object"].clone();
        note["@context"] = crate::activitypub::outbound::context();
        (200, note)
    };
    Ok(Response::from_data(doc.to_string().into_bytes())
        .with_status_code(status)
        .with_header(static_header("Content-Type", ACTIVITY_JSON))
        .with_header(static_header("Vary", "Accept"))
        .with_header(static_header("Access-Control-Allow-Origin", "*")))
}

/// The activity of a stored public message as the fediverse reads it now: a `Create` of its
/// note (an edited post with its new text and `updated`), or an `Announce` of a boost; `None`
/// for another kind or audience, or a message that does not decode.
pub fn stored_activity(
    base: &str,
    domain: &str,
    store: &Store,
    stored: &crate::store::activitypub::LocalMessage,
) -> Option<serde_json::Value> {
    let limits = crate::proto::Limits {
        max_text: crate::proto::message::MAX_TEXT_LIMIT,
    };
    let mut signed = crate::proto::message::SignedMessage::decode(&stored.wire, &limits).ok()?;
    if let Some((text, summary, _)) = &stored.edited {
        // an edited post is served as it reads now
        with_text(&mut signed.message.body, text, summary);
    }
    let m = &signed.message;
    if m.audience != crate::proto::message::Audience::Public {
        return None;
    }
    let lookup = crate::fediverse::posts::StoreLookup(store);
    let mut activity = crate::fediverse::posts::activity_of(m, base, domain, &lookup)
        .filter(|a| a["type"] == "Create" || a["type"] == "Announce")?;
    if let (Some((_, _, at)), Some("Create")) = (&stored.edited, activity["type"].as_str()) {
        activity["object"]["updated"] = rfc3339(*at).into();
    }
    Some(activity)
}

/// Replaces the text (and warning, where the kind has one) of a post's body.
fn with_text(body: &mut crate::proto::message::Body, text: &str, summary: &str) {
    use crate::proto::message::Body;
    match body {
        Body::Post { text: t } | Body::Reply { text: t, .. } => *t = text.to_string(),
        Body::Note {
            text: t,
            summary: s,
            ..
        }
        | Body::Pictures {
            text: t,
            summary: s,
            ..
        } => {
            *t = text.to_string();
            *s = summary.to_string();
        }
        _ => {}
    }
}
