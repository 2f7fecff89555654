//! Posts and acts from the fediverse, stored as msm messages of their author.
//!
//! A `Note` (or `Article`, `Page`, `Question`) read by [`crate::activitypub::note`] becomes a
//! message of its author (`bob@peer.test`), numbered here in the order received, stored through
//! the group-commit writer like any received message: it reaches the timelines of the local
//! people who follow the author, and mentions and replies notify as msm's do. It carries no msm
//! signature ([`UNSIGNED`]: its HTTP signature was checked at the inbox), so it is never
//! relayed to msm nodes or the firehose. A `Like` or `Announce` of a local post becomes a like
//! or a repost by its author; `Update` an edit; `Delete` (of a post, or `Undo` of a like or a
//! boost) a delete. `ap_objects` maps the fediverse's IRIs to the messages stored.
//!
//! Only what concerns someone here is kept: posts of authors a local person follows, and
//! posts that mention or answer a local person who has not blocked the author (likes and
//! boosts likewise). The rest is answered and dropped.

use super::inbox::Node;
use super::InboxError;
use crate::activitypub::note::{self, ReadOptions, Visibility};
use crate::proto::keys::SIGNATURE_LEN;
use crate::proto::message::{Audience, Body, Mentions, Message, MessageId, SignedMessage};
use crate::proto::Address;
use crate::store::activitypub::KnownActor;
use crate::store::writer::WriterHandle;
use crate::store::Store;
use std::sync::Mutex;

/// The signature of a message taken from the fediverse: none (see the module doc and
/// [`SignedMessage::is_unsigned`]).
pub const UNSIGNED: [u8; SIGNATURE_LEN] = [0; SIGNATURE_LEN];

/// Held while a fediverse message is numbered and stored, so two never take one seq.
static STORING: Mutex<()> = Mutex::new(());

/// Where fediverse messages are stored.
pub struct Sink<'a> {
    /// The group-commit writer.
    pub writer: &'a WriterHandle,
    /// The runtime the writer's answers come through.
    pub runtime: &'a tokio::runtime::Handle,
    /// The longest text kept (the node's post cap).
    pub max_text: usize,
    /// The owner's blocked domains: their activities are answered and dropped unread.
    pub blocked: &'a crate::store::blocked_domains::BlockedDomains,
}

/// The msm message a post IRI names: a local post (`{base}/users/{name}/statuses/{seq}`) or
/// one stored from the fediverse.
pub fn message_of(
    store: &Store,
    node: Node<'_>,
    iri: &str,
) -> Result<Option<MessageId>, InboxError> {
    if let Some(rest) = iri
        .strip_prefix(node.base)
        .and_then(|r| r.strip_prefix("/users/"))
    {
        let Some((name, seq)) = rest.split_once("/statuses/") else {
            return Ok(None);
        };
        let (Ok(author), Ok(seq)) = (
            Address::parse(&format!("{name}@{}", node.domain)),
            seq.parse(),
        ) else {
            return Ok(None);
        };
        return Ok(Some(MessageId { author, seq }));
    }
    Ok(store.ap_object(iri)?.and_then(|(a, seq)| {
        Address::parse(&a)
            .ok()
            .map(|author| MessageId { author, seq })
    }))
}

/// Stores `body` as `actor`'s next message (with `iri` recorded for it); false if `iri` was
/// stored already.
fn store(
    store: &mut Store,
    sink: &Sink<'_>,
    actor: &KnownActor,
    iri: &str,
    audience: Audience,
    body: Body,
    now_ms: u64,
) -> Result<bool, InboxError> {
    let author =
        Address::parse(&actor.address).map_err(|_| InboxError::BadRequest("actor address"))?;
    let _one = STORING.lock().unwrap_or_else(|e| e.into_inner());
    if store.ap_object(iri)?.is_some() {
        return Ok(false);
    }
    let seq = store.next_ap_seq(author.as_str())?;
    let msg = SignedMessage {
        message: Message {
            author: author.clone(),
            seq,
            time_ms: now_ms,
            audience,
            body,
        },
        signature: UNSIGNED,
    };
    sink.runtime.block_on(sink.writer.receive(msg))?;
    store.remember_ap_object(iri, author.as_str(), seq)?;
    Ok(true)
}

/// A `Create` (or, with `edit`, an `Update`) of a post by `actor`.
pub fn create(
    db: &mut Store,
    sink: &Sink<'_>,
    node: Node<'_>,
    actor: &KnownActor,
    obj: &serde_json::Value,
    edit: bool,
    now_ms: u64,
) -> Result<bool, InboxError> {
    let opts = ReadOptions {
        followers: actor.followers.as_deref(),
        max_text: sink.max_text,
        allow_http: false,
    };
    let n = note::read(obj, &opts)?;
    if n.attributed_to != actor.id {
        return Err(InboxError::NotTheActor);
    }
    let mut mentions = Mentions::new();
    for m in &n.mentions {
        let local = m
            .href
            .strip_prefix(node.base)
            .and_then(|r| r.strip_prefix("/users/"))
            .and_then(|name| Address::parse(&format!("{name}@{}", node.domain)).ok());
        if let Some(a) = local.or_else(|| m.address.clone()) {
            if !mentions.contains(&a) {
                let _ = mentions.push(a);
            }
        }
    }
    let reply_to = match &n.in_reply_to {
        Some(iri) => message_of(db, node, iri)?,
        None => None,
    };
    let is_local = |a: &Address| a.domain().eq_ignore_ascii_case(node.domain);
    let mut named: Vec<&Address> = mentions.iter().filter(|a| is_local(a)).collect();
    named.extend(reply_to.iter().map(|r| &r.author).filter(|a| is_local(a)));
    if !db.followed_here(&actor.address)? && !named_unblocked(db, actor, &named)? {
        return Ok(false);
    }
    let mut text = n.text.clone();
    for p in &n.pictures {
        let alt = if p.alt.is_empty() {
            "picture"
        } else {
            p.alt.as_str()
        };
        let line = format!("\n\n{alt} ({})", p.url);
        if text.len() + line.len() <= sink.max_text {
            text.push_str(&line);
        }
    }
    let audience = match n.visibility {
        Visibility::Public | Visibility::Unlisted => Audience::Public,
        Visibility::Followers => Audience::Followers,
        Visibility::Direct => Audience::Direct,
    };
    if edit {
        let Some((_, target)) = db.ap_object(&n.id)? else {
            return Ok(false);
        };
        let iri = format!("{}#edit/{now_ms}", n.id);
        let body = Body::Edit {
            target,
            text,
            summary: n.summary,
            mentions,
        };
        return store(db, sink, actor, &iri, audience, body, now_ms);
    }
    let body = Body::Note {
        text,
        summary: n.summary,
        reply_to,
        mentions,
    };
    store(db, sink, actor, &n.id, audience, body, now_ms)
}

/// Whether one of the local people `named` (by a mention, a reply, an act on their post) has
/// not blocked `actor`: what it sends them is kept only then.
fn named_unblocked(db: &Store, actor: &KnownActor, named: &[&Address]) -> Result<bool, InboxError> {
    let author =
        Address::parse(&actor.address).map_err(|_| InboxError::BadRequest("actor address"))?;
    for local in named {
        if !db.block_between(local, &author)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A `Like` (or, with `repost`, an `Announce`) by `actor`, with id `id`, of the post `object`.
#[allow(clippy::too_many_arguments)]
pub fn react(
    db: &mut Store,
    sink: &Sink<'_>,
    node: Node<'_>,
    actor: &KnownActor,
    id: &str,
    object: &str,
    repost: bool,
    now_ms: u64,
) -> Result<bool, InboxError> {
    let Some(of) = message_of(db, node, object)? else {
        return Ok(false);
    };
    if !of.author.domain().eq_ignore_ascii_case(node.domain) {
        return Ok(false); // only acts on our own posts are kept
    }
    if !named_unblocked(db, actor, &[&of.author])? {
        return Ok(false); // the post's author blocked the actor
    }
    let body = if repost {
        Body::Repost { of }
    } else {
        Body::Like { of }
    };
    store(db, sink, actor, id, Audience::Public, body, now_ms)
}

/// A `Delete` of `actor`'s post `object`, or an `Undo` of its like or boost `object`.
pub fn delete(
    db: &mut Store,
    sink: &Sink<'_>,
    actor: &KnownActor,
    object: &str,
    now_ms: u64,
) -> Result<bool, InboxError> {
    let Some((author, target)) = db.ap_object(object)? else {
        return Ok(false);
    };
    if author != actor.address {
        return Err(InboxError::NotTheActor);
    }
    let iri = format!("{object}#delete");
    store(
        db,
        sink,
        actor,
        &iri,
        Audience::Public,
        Body::Delete { target },
        now_ms,
    )
}
