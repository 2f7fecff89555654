//! Local posts to fediverse followers: a follower's server is an outbox server like an msm
//! node (its shared inbox URL stands where a domain would), so its cursors, followers-only
//! filtering, retries and give-up are `crate::net::outbox`'s; only the sending differs: each
//! message becomes an activity ([`activity_of`]) POSTed signed by its author, and the answer
//! is the ack (2xx stored, 410 unwanted, another 4xx dropped, anything else retried). A profile
//! message (a new display name, bio or picture) becomes an `Update` of the author's `Person`
//! as it reads when sent, so every server that follows her hears of it once.

use super::Fediverse;
use crate::activitypub::keys::RsaSigningKey;
use crate::activitypub::note::Visibility;
use crate::activitypub::note::PUBLIC;
use crate::activitypub::outbound::{
    activity, addressing, create, delete, undo, update_person, Iris, OutMention, OutNote,
    OutPicture,
};
use crate::delivery::Status;
use crate::net::Net;
use crate::proto::message::{Audience, Body, Message, MessageId, SignedMessage};
use crate::proto::Address;
use crate::web::mastodon::html::{content, Links};
use serde_json::Value;
use std::sync::Arc;

/// What the mapping asks the store.
pub trait Lookup {
    /// A fediverse account's actor IRI, when known.
    fn actor(&self, address: &Address) -> Option<String>;
    /// The IRI of a post stored from the fediverse.
    fn object(&self, id: &MessageId) -> Option<String>;
    /// The kind of one of the author's messages and what it refers to.
    fn kind(&self, id: &MessageId) -> Option<(String, Option<MessageId>)>;
}

/// The IRI of post `id`: this node's own, or one stored from the fediverse.
fn post_iri(iris: &Iris<'_>, domain: &str, id: &MessageId, lookup: &dyn Lookup) -> Option<String> {
    if id.author.domain().eq_ignore_ascii_case(domain) {
        Some(iris.post(id.author.user(), id.seq))
    } else {
        lookup.object(id)
    }
}

/// The activity that carries `m` to the fediverse (an edit as an `Update` of its post), or
/// `None` for a kind not sent there (profiles, which [`send`] makes an `Update` of the
/// `Person`; acts on posts the fediverse has no IRI for).
pub fn activity_of(m: &Message, base: &str, domain: &str, lookup: &dyn Lookup) -> Option<Value> {
    let iris = Iris { base };
    let user = m.author.user();
    if let Some(a) = act_of(m, &iris, domain, lookup) {
        return a;
    }
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
        // an edit replaces the text of its target post: sent as an `Update` of that Note
        Body::Edit {
            text,
            summary,
            mentions,
            ..
        } => (text, summary.as_str(), None, Some(mentions), None),
        _ => return None,
    };
    let edited = match &m.body {
        Body::Edit { target, .. } => Some(*target),
        _ => None,
    };
    let in_reply_to = reply_to.and_then(|r| post_iri(&iris, domain, r, lookup));
    let addresses: Vec<(String, String)> = mentions
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let actor = if a.domain().eq_ignore_ascii_case(domain) {
                Some(iris.actor(a.user()))
            } else {
                lookup.actor(a)
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
        m,
        &html,
        summary,
        in_reply_to.as_deref(),
        &out_mentions,
        &tag_refs,
        &out_pictures,
    );
    let published = crate::web::public::rfc3339(m.time_ms);
    let seq = edited.unwrap_or(m.seq);
    let url = format!("{base}/@{user}/{seq}");
    Some(create(
        &iris,
        &OutNote {
            seq,
            published: &published,
            updated: edited.map(|_| published.as_str()),
            url: &url,
            ..n
        },
    ))
}

/// Likes, boosts and deletes: `Some(None)` for one that is not sent, `None` for a post.
fn act_of(
    m: &Message,
    iris: &Iris<'_>,
    domain: &str,
    lookup: &dyn Lookup,
) -> Option<Option<Value>> {
    let user = m.author.user();
    let me = iris.actor(user);
    let own = iris.post(user, m.seq);
    let act = |kind: &str, id: String, of: &MessageId| -> Option<Value> {
        let object = post_iri(iris, domain, of, lookup)?;
        let author = if of.author.domain().eq_ignore_ascii_case(domain) {
            iris.actor(of.author.user())
        } else {
            lookup.actor(&of.author)?
        };
        Some(if kind == "Like" {
            activity("Like", id, me.clone(), object.into(), &[author], &[])
        } else {
            let cc = [author, iris.followers(user)];
            activity(
                "Announce",
                id,
                me.clone(),
                object.into(),
                &[PUBLIC[0].to_string()],
                &cc,
            )
        })
    };
    Some(match &m.body {
        Body::Like { of } => act("Like", own, of),
        Body::Repost { of } => act("Announce", own, of),
        Body::Delete { target } => {
            let this = MessageId {
                author: m.author.clone(),
                seq: *target,
            };
            match lookup.kind(&this) {
                Some((kind, Some(of))) if kind == "like" || kind == "repost" => {
                    let what = if kind == "like" { "Like" } else { "Announce" };
                    let earlier = act(what, iris.post(user, *target), &of)?;
                    let (to, cc) = (
                        earlier["to"].as_array().cloned().unwrap_or_default(),
                        earlier["cc"].as_array().cloned().unwrap_or_default(),
                    );
                    let strs = |v: Vec<Value>| -> Vec<String> {
                        v.into_iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    };
                    Some(undo(
                        format!("{own}/undo"),
                        me,
                        earlier,
                        &strs(to),
                        &strs(cc),
                    ))
                }
                _ => {
                    let (to, cc) = addressing(iris, &out_note(m, "", "", None, &[], &[], &[]));
                    Some(delete(iris, user, *target, &to, &cc))
                }
            }
        }
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn out_note<'a>(
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
                Some(u) => super::deliver::signing_key(st, u.id)?,
                None => None,
            };
            let activity = match (&m.body, &user) {
                (Body::Profile { .. } | Body::Portrait { .. }, Some(u)) => {
                    person_update(st, &b, &domain, u, m.seq)?
                }
                _ => activity_of(m, &b, &domain, &StoreLookup(st)),
            };
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
    let slots = fed.clone();
    let _slot = slots.sends.acquire().await.ok()?;
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

/// `Update` of local `user`'s `Person` as it reads now (the document `GET /users/{name}`
/// serves), for a profile message with seq `seq`; `None` if the account or its key is gone.
fn person_update(
    st: &crate::store::Store,
    base: &str,
    domain: &str,
    user: &crate::store::User,
    seq: u64,
) -> Result<Option<Value>, crate::store::StoreError> {
    let (Some(profile), Some(pem)) = (
        st.profile(&user.address, None)?,
        st.stored_rsa_public(user.id)?,
    ) else {
        return Ok(None);
    };
    let person = crate::web::actor::person_of(st, base, domain, user, &profile, &pem)?;
    Ok(person.map(|p| update_person(&Iris { base }, user.address.user(), seq, p)))
}

/// [`Lookup`] in the store.
pub struct StoreLookup<'a>(pub &'a crate::store::Store);

impl Lookup for StoreLookup<'_> {
    fn actor(&self, address: &Address) -> Option<String> {
        self.0
            .actor_by_address(address.as_str())
            .ok()
            .flatten()
            .map(|k| k.id)
    }
    fn object(&self, id: &MessageId) -> Option<String> {
        self.0
            .ap_object_iri(id.author.as_str(), id.seq)
            .ok()
            .flatten()
    }
    fn kind(&self, id: &MessageId) -> Option<(String, Option<MessageId>)> {
        let (kind, of) = self
            .0
            .message_ref(id.author.as_str(), id.seq)
            .ok()
            .flatten()?;
        let of = of.and_then(|(a, seq)| {
            Address::parse(&a)
                .ok()
                .map(|author| MessageId { author, seq })
        });
        Some((kind, of))
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
        // 401: the server could not fetch our key yet (Mastodon retries it too)
        401 | 408 | 429 => None,
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
