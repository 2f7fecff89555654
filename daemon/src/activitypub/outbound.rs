//! msm's posts and acts written as ActivityStreams objects and activities, the way Mastodon
//! writes them (so every server that reads Mastodon reads msm).
//!
//! Pure: the caller gives the node's base URL, the post's fields and its HTML `content` (the
//! web layer renders text to HTML once, for the apps and for this); nothing here reads a
//! clock or the store.
//!
//! Where things live ([`Iris`]): an account is `{base}/users/{user}` with its `inbox`,
//! `outbox`, `followers`, `following` and `featured` below it, a post is
//! `{actor}/statuses/{seq}` and the activity that made it `{post}/activity`; the node's shared
//! inbox is `{base}/inbox`, its instance actor `{base}/actor`.

use super::note::{Visibility, PUBLIC};
use serde_json::{json, Value};

/// The JSON-LD contexts of every document msm writes: ActivityStreams, security (keys), and
/// the few extension terms Mastodon's readers look for. The DID and Multikey contexts are what
/// makes a JSON-LD reader see the FEP-521a `assertionMethod` key: Fedify drops it without the
/// DID context (tried with Fedify 2.3.6, whose own actors carry the same list).
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        "https://w3id.org/security/data-integrity/v1",
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "blurhash": "toot:blurhash"
        }
    ])
}

/// The IRIs of a node's accounts and posts.
#[derive(Debug, Clone, Copy)]
pub struct Iris<'a> {
    /// `https://host` (no trailing slash).
    pub base: &'a str,
}

impl Iris<'_> {
    /// An account's actor.
    pub fn actor(&self, user: &str) -> String {
        format!("{}/users/{user}", self.base)
    }
    /// An account's followers collection.
    pub fn followers(&self, user: &str) -> String {
        format!("{}/users/{user}/followers", self.base)
    }
    /// An account's following collection.
    pub fn following(&self, user: &str) -> String {
        format!("{}/users/{user}/following", self.base)
    }
    /// An account's outbox.
    pub fn outbox(&self, user: &str) -> String {
        format!("{}/users/{user}/outbox", self.base)
    }
    /// An account's featured (pinned) posts.
    pub fn featured(&self, user: &str) -> String {
        format!("{}/users/{user}/collections/featured", self.base)
    }
    /// A post.
    pub fn post(&self, user: &str, seq: u64) -> String {
        format!("{}/users/{user}/statuses/{seq}", self.base)
    }
    /// The node's shared inbox.
    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }
    /// The node's instance actor, which signs the node's own fetches.
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }
}

/// Someone a post mentions.
#[derive(Debug, Clone)]
pub struct OutMention<'a> {
    /// `user@domain`.
    pub address: &'a str,
    /// Their actor IRI.
    pub actor: &'a str,
}

/// A picture of a post.
#[derive(Debug, Clone)]
pub struct OutPicture<'a> {
    /// Where its bytes are served.
    pub url: String,
    /// `image/jpeg`, ...
    pub media_type: &'a str,
    /// Alt text.
    pub alt: &'a str,
    /// Blurhash, "" for none.
    pub blurhash: &'a str,
    /// Size in pixels as shown.
    pub width: u32,
    /// Size in pixels as shown.
    pub height: u32,
}

/// A post of a local account.
#[derive(Debug, Clone)]
pub struct OutNote<'a> {
    /// The author's user name on this node.
    pub user: &'a str,
    /// The post's seq in the author's log.
    pub seq: u64,
    /// When it was written, as RFC 3339.
    pub published: &'a str,
    /// When it was last edited, as RFC 3339.
    pub updated: Option<&'a str>,
    /// Its HTML content.
    pub content: &'a str,
    /// Its content warning, "" for none.
    pub summary: &'a str,
    /// The id of the post it answers.
    pub in_reply_to: Option<&'a str>,
    /// Who may read it.
    pub visibility: Visibility,
    /// The people it names.
    pub mentions: &'a [OutMention<'a>],
    /// Its hashtags (without `#`).
    pub tags: &'a [&'a str],
    /// Its pictures.
    pub pictures: &'a [OutPicture<'a>],
    /// Its public page.
    pub url: &'a str,
}

/// `to` and `cc` of a post, as Mastodon addresses each visibility.
pub fn addressing(iris: &Iris<'_>, n: &OutNote<'_>) -> (Vec<String>, Vec<String>) {
    let followers = iris.followers(n.user);
    let mentioned = n.mentions.iter().map(|m| m.actor.to_string());
    match n.visibility {
        Visibility::Public => (
            vec![PUBLIC[0].into()],
            [followers].into_iter().chain(mentioned).collect(),
        ),
        Visibility::Unlisted => (
            vec![followers],
            [PUBLIC[0].to_string()]
                .into_iter()
                .chain(mentioned)
                .collect(),
        ),
        Visibility::Followers => (vec![followers], mentioned.collect()),
        Visibility::Direct => (mentioned.collect(), Vec::new()),
    }
}

/// The `Note` of a post.
pub fn note(iris: &Iris<'_>, n: &OutNote<'_>) -> Value {
    let (to, cc) = addressing(iris, n);
    let mut tag: Vec<Value> = n
        .mentions
        .iter()
        .map(|m| json!({"type": "Mention", "href": m.actor, "name": format!("@{}", m.address)}))
        .collect();
    tag.extend(n.tags.iter().map(|t| {
        json!({"type": "Hashtag", "href": format!("{}/tags/{t}", iris.base), "name": format!("#{t}")})
    }));
    let attachment: Vec<Value> = n
        .pictures
        .iter()
        .map(|p| {
            let mut a = json!({
                "type": "Document",
                "mediaType": p.media_type,
                "url": p.url,
                "name": if p.alt.is_empty() { Value::Null } else { p.alt.into() },
                "width": p.width,
                "height": p.height,
            });
            if !p.blurhash.is_empty() {
                a["blurhash"] = p.blurhash.into();
            }
            a
        })
        .collect();
    let mut v = json!({
        "id": iris.post(n.user, n.seq),
        "type": "Note",
        "attributedTo": iris.actor(n.user),
        "published": n.published,
        "url": n.url,
        "to": to,
        "cc": cc,
        "inReplyTo": n.in_reply_to,
        "summary": if n.summary.is_empty() { Value::Null } else { n.summary.into() },
        "sensitive": !n.summary.is_empty(),
        "content": n.content,
        "tag": tag,
        "attachment": attachment,
    });
    if let Some(u) = n.updated {
        v["updated"] = u.into();
    }
    v
}

/// An activity by `actor` about `object`, addressed like the post it concerns.
pub fn activity(
    kind: &str,
    id: String,
    actor: String,
    object: Value,
    to: &[String],
    cc: &[String],
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// `Create` (or `Update` when edited) of a post.
pub fn create(iris: &Iris<'_>, n: &OutNote<'_>) -> Value {
    let (to, cc) = addressing(iris, n);
    let (kind, id) = match n.updated {
        None => ("Create", format!("{}/activity", iris.post(n.user, n.seq))),
        Some(when) => (
            "Update",
            format!("{}/updates/{when}", iris.post(n.user, n.seq)),
        ),
    };
    let mut a = activity(kind, id, iris.actor(n.user), note(iris, n), &to, &cc);
    a["published"] = n.updated.unwrap_or(n.published).into();
    a
}

/// `Delete` of a post, sent to whoever received it (Mastodon's `Tombstone` form).
pub fn delete(iris: &Iris<'_>, user: &str, seq: u64, to: &[String], cc: &[String]) -> Value {
    let post = iris.post(user, seq);
    activity(
        "Delete",
        format!("{post}#delete"),
        iris.actor(user),
        json!({"id": post, "type": "Tombstone"}),
        to,
        cc,
    )
}

/// `Follow` of a remote actor; `id` is the follow's own IRI (kept, so `Undo` names it).
pub fn follow(id: String, actor: String, target: &str) -> Value {
    activity(
        "Follow",
        id,
        actor,
        target.into(),
        &[target.to_string()],
        &[],
    )
}

/// `Accept` or `Reject` of a remote actor's `Follow` (given whole, as received: Mastodon
/// matches the follow by its id, GoToSocial by its fields).
pub fn answer_follow(accept: bool, id: String, actor: String, follow: &Value) -> Value {
    let follower = follow
        .get("actor")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let object = json!({
        "id": follow.get("id"),
        "type": "Follow",
        "actor": follower,
        "object": follow.get("object"),
    });
    let kind = if accept { "Accept" } else { "Reject" };
    activity(kind, id, actor, object, &[follower], &[])
}

/// `Undo` of one of `actor`'s earlier activities (a follow, a like, a boost), given whole.
pub fn undo(id: String, actor: String, earlier: Value, to: &[String], cc: &[String]) -> Value {
    activity("Undo", id, actor, earlier, to, cc)
}

/// What an account's actor document says of it.
#[derive(Debug, Clone)]
pub struct OutPerson<'a> {
    /// Its user name on this node.
    pub user: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Bio, as HTML.
    pub summary: &'a str,
    /// Its profile page.
    pub url: &'a str,
    /// Whether follows wait for approval.
    pub manually_approves: bool,
    /// Its RSA public key, SPKI PEM (the key HTTP signatures are checked with).
    pub rsa_public_pem: &'a str,
    /// Its Ed25519 key as a multibase `z6Mk…` Multikey (FEP-521a), if published.
    pub ed25519_multibase: Option<&'a str>,
    /// Avatar: URL and media type.
    pub icon: Option<(&'a str, &'a str)>,
    /// Header picture: URL and media type.
    pub image: Option<(&'a str, &'a str)>,
    /// When the account was made, RFC 3339.
    pub published: &'a str,
}

/// The `Person` actor of an account.
pub fn person(iris: &Iris<'_>, p: &OutPerson<'_>) -> Value {
    let actor = iris.actor(p.user);
    let mut v = json!({
        "@context": context(),
        "id": actor,
        "type": "Person",
        "preferredUsername": p.user,
        "name": p.name,
        "summary": p.summary,
        "url": p.url,
        "published": p.published,
        "manuallyApprovesFollowers": p.manually_approves,
        "discoverable": true,
        "inbox": format!("{actor}/inbox"),
        "outbox": iris.outbox(p.user),
        "followers": iris.followers(p.user),
        "following": iris.following(p.user),
        "featured": iris.featured(p.user),
        "endpoints": {"sharedInbox": iris.shared_inbox()},
        "publicKey": {
            "id": format!("{actor}#main-key"),
            "owner": actor,
            "publicKeyPem": p.rsa_public_pem,
        },
    });
    if let Some(mb) = p.ed25519_multibase {
        v["assertionMethod"] = json!([{
            "id": format!("{actor}#ed25519-key"),
            "type": "Multikey",
            "controller": actor,
            "publicKeyMultibase": mb,
        }]);
    }
    for (field, pic) in [("icon", p.icon), ("image", p.image)] {
        if let Some((url, media_type)) = pic {
            v[field] = json!({"type": "Image", "mediaType": media_type, "url": url});
        }
    }
    v
}

/// `Update` of an account's `Person` (given whole, as [`person`] writes it), sent to its
/// followers' servers when the profile changes; `version` (the profile message's seq) makes
/// each update's id its own.
pub fn update_person(iris: &Iris<'_>, user: &str, version: u64, mut person: Value) -> Value {
    if let Some(o) = person.as_object_mut() {
        o.remove("@context");
    }
    let actor = iris.actor(user);
    activity(
        "Update",
        format!("{actor}#updates/{version}"),
        actor,
        person,
        &[PUBLIC[0].to_string()],
        &[iris.followers(user)],
    )
}

/// `Block` of a remote actor by an account; `id` is the block's own IRI (kept, so `Undo`
/// names it). Addressed to the blocked actor only, as Mastodon sends it.
pub fn block(id: String, actor: String, target: &str) -> Value {
    activity(
        "Block",
        id,
        actor,
        target.into(),
        &[target.to_string()],
        &[],
    )
}

/// An `OrderedCollection` listing `items` (an account's featured posts).
pub fn listed_collection(id: &str, items: Vec<Value>) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    })
}
