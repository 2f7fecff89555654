//! Local posts to fediverse followers: a follower's server is an outbox server like an msm
//! node (its shared inbox URL stands where a domain would), so its cursors, followers-only
//! filtering, retries and give-up are `crate::net::outbox`'s; only the sending differs: each
//! message becomes an activity ([`activity_of`]) POSTed signed by its author, and the answer
//! is the ack (2xx stored, 410 unwanted, another 4xx dropped, anything else retried).

use super::Fediverse;
use crate::activitypub::keys::RsaSigningKey;
use crate::activitypub::note::Visibility;
use crate::activitypub::outbound::{
    addressing, create, delete, Iris, OutMention, OutNote, OutPicture,
};
use crate::delivery::Status;
use crate::net::Net;
use crate::proto::message::{Audience, Body, Message, SignedMessage};
use crate::proto::Address;
use crate::web::mastodon::html::{content, Links};
use serde_json::Value;
use std::sync::Arc;

/// The activity that carries `m` to the fediverse, or `None` for a kind not sent there yet
/// (likes and boosts of msm posts, edits, profiles). `actor_of` gives a mentioned person's
/// actor IRI when it is known.
pub fn activity_of(
    m: &Message,
    base: &str,
    domain: &str,
    actor_of: &dyn Fn(&Address) -> Option<String>,
) -> Option<Value> {
    let iris = Iris { base };
    let user = m.author.user();
    let (text, summary, reply_to, mentions, pictures) = match &m.body {
        Body::Post { text } => (text, "", None, None, None),
        Body::Reply { to, text } => (text, "", Some(to), None, None),
        Body::Note {
            text,
            summary,
            reply_to,
            mentions,
        } => (
            text,
            summary.as_str(),
            reply_to.as_ref(),
            Some(mentions),
            None,
        ),
        Body::Pictures {
            text,
            summary,
            reply_to,
            mentions,
            attachments,
        } => (
            text,
            summary.as_str(),
            reply_to.as_ref(),
            Some(mentions),
            Some(attachments),
        ),
        Body::Delete { target } => {
            let (to, cc) = addressing(&iris, &out_note(&iris, m, "", "", None, &[], &[], &[]));
            return Some(delete(&iris, user, *target, &to, &cc));
        }
        _ => return None,
    };
    let in_reply_to = reply_to
        .filter(|r| r.author.domain().eq_ignore_ascii_case(domain))
        .map(|r| iris.post(r.author.user(), r.seq));
    let addresses: Vec<(String, String)> = mentions
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let actor = if a.domain().eq_ignore_ascii_case(domain) {
                Some(iris.actor(a.user()))
            } else {
                actor_of(a)
            };
            actor.map(|x| (a.to_string(), x))
        })
        .collect();
    let out_mentions: Vec<OutMention<'_>> = addresses
        .iter()
        .map(|(address, actor)| OutMention { address, actor })
        .collect();
    let tags = crate::proto::text::tags(text);
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let out_pictures: Vec<OutPicture<'_>> = pictures
        .into_iter()
        .flat_map(|a| a.iter())
        .map(|a| OutPicture {
            url: format!("{base}/media/{}", a.hex()),
            media_type: a.media_type.mime(),
            alt: &a.alt,
            blurhash: &a.blurhash,
            width: a.width,
            height: a.height,
        })
        .collect();
    let links = Links {
        base,
        local_domain: domain,
        author_domain: domain,
    };
    let html = content(text, &links);
    let n = out_note(
        &iris,
        m,
        &html,
        summary,
        in_reply_to.as_deref(),
        &out_mentions,
        &tag_refs,
        &out_pictures,
    );
    let published = crate::web::public::rfc3339(m.time_ms);
    let url = format!("{base}/@{user}/{}", m.seq);
    Some(create(
        &iris,
        &OutNote {
            published: &published,
            url: &url,
            ..n
        },
    ))
}

#[allow(clippy::too_many_arguments)]
fn out_note<'a>(
    _iris: &Iris<'_>,
    m: &'a Message,
    content: &'a str,
    summary: &'a str,
    in_reply_to: Option<&'a str>,
    mentions: &'a [OutMention<'a>],
    tags: &'a [&'a str],
    pictures: &'a [OutPicture<'a>],
) -> OutNote<'a> {
    OutNote {
        user: m.author.user(),
        seq: m.seq,
        published: "",
        updated: None,
        content,
        summary,
        in_reply_to,
        visibility: match m.audience {
            Audience::Public => Visibility::Public,
            Audience::Followers => Visibility::Followers,
            Audience::Direct => Visibility::Direct,
        },
        mentions,
        tags,
        pictures,
        url: "",
    }
}

/// Sends one stored message to the fediverse inbox `inbox`: its ack, or `None` when it could
/// not be delivered now (retried later).
pub async fn send(net: &Arc<Net>, inbox: &str, wire: &[u8]) -> Option<Status> {
    let (fed, base) = net.fediverse.get()?.clone();
    let signed = match SignedMessage::decode(wire, &net.limits()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "an own message does not decode; not sent to the fediverse");
            return Some(Status::Stored);
        }
    };
    let domain = net.domain.clone();
    let b = base.clone();
    let prepared = net
        .pool
        .run(move |st| {
            let m = &signed.message;
            let user = st.user_by_name(m.author.user())?;
            let key = match &user {
                Some(u) => st.rsa_private_key(u.id)?,
                None => None,
            };
            let activity = activity_of(m, &b, &domain, &|a: &Address| {
                st.actor_by_address(a.as_str()).ok().flatten().map(|k| k.id)
            });
            Ok((m.author.user().to_string(), key, activity))
        })
        .await;
    let (name, key, activity) = match prepared {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "reading a post for the fediverse");
            return None;
        }
    };
    let Some(activity) = activity else {
        return Some(Status::Stored); // not a kind the fediverse is sent
    };
    let Some(key) = key.and_then(|k| RsaSigningKey::from_pkcs8(&k).ok()) else {
        return None; // the key is still being made
    };
    let (inbox, body) = (inbox.to_string(), activity.to_string().into_bytes());
    let key_id = format!("{}#main-key", Iris { base: &base }.actor(&name));
    let answer = tokio::task::spawn_blocking(move || {
        fed.post_signed(&key, &key_id, &inbox, &body, crate::now_ms())
            .map(|r| (r.status, fed))
            .map_err(|e| (e, inbox))
    })
    .await
    .ok()?;
    match answer {
        Ok((s, fed)) => status(&fed, s),
        Err((e, inbox)) => {
            tracing::info!(%inbox, error = %e, "fediverse delivery failed; will retry");
            None
        }
    }
}

fn status(fed: &Fediverse, s: u16) -> Option<Status> {
    use std::sync::atomic::Ordering::Relaxed;
    match s {
        200..=299 => {
            fed.delivered.fetch_add(1, Relaxed);
            Some(Status::Stored)
        }
        410 => {
            fed.failed.fetch_add(1, Relaxed);
            Some(Status::Unwanted)
        }
        408 | 429 => None,
        400..=499 => {
            fed.failed.fetch_add(1, Relaxed);
            Some(Status::Stored)
        }
        _ => {
            fed.failed.fetch_add(1, Relaxed);
            None
        }
    }
}

#[cfg(test)]
#[path = "posts_tests.rs"]
mod tests;
