//! Tests of msm messages written as the activities fediverse followers receive.

use super::{activity_of, Lookup};
use crate::proto::message::{Audience, Body, Mentions, Message, MessageId};
use crate::proto::Address;

const BASE: &str = "https://smith.family";

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn message(audience: Audience, body: Body) -> Message {
    Message {
        author: addr("alice@smith.family"),
        seq: 7,
        time_ms: 1_700_000_000_000,
        audience,
        body,
    }
}

/// bob@peer.test is a known fediverse account whose post 1 is `https://peer.test/notes/1`;
/// alice's message 5 is a like of it.
struct Known;

impl Lookup for Known {
    fn actor(&self, a: &Address) -> Option<String> {
        (a.as_str() == "bob@peer.test").then(|| "https://peer.test/users/bob".to_string())
    }
    fn object(&self, id: &MessageId) -> Option<String> {
        (id.author.as_str() == "bob@peer.test" && id.seq == 1)
            .then(|| "https://peer.test/notes/1".to_string())
    }
    fn kind(&self, id: &MessageId) -> Option<(String, Option<MessageId>)> {
        (id.seq == 5).then(|| {
            let of = MessageId {
                author: addr("bob@peer.test"),
                seq: 1,
            };
            ("like".to_string(), Some(of))
        })
    }
}

#[allow(non_upper_case_globals)]
const known: &Known = &Known;

#[test]
fn a_note_becomes_a_create_with_its_mentions_tags_warning_and_reply() {
    let mut mentions = Mentions::new();
    mentions.push(addr("bob@peer.test")).unwrap();
    mentions.push(addr("carol@smith.family")).unwrap();
    mentions.push(addr("dan@unknown.test")).unwrap();
    let m = message(
        Audience::Public,
        Body::Note {
            text: "hi @bob@peer.test and @carol #rust".into(),
            summary: "spoilers".into(),
            reply_to: Some(MessageId {
                author: addr("carol@smith.family"),
                seq: 3,
            }),
            mentions,
        },
    );
    let a = activity_of(&m, BASE, "smith.family", known).unwrap();
    assert_eq!(a["type"], "Create");
    assert_eq!(a["actor"], "https://smith.family/users/alice");
    let note = &a["object"];
    assert_eq!(note["id"], "https://smith.family/users/alice/statuses/7");
    assert_eq!(
        note["inReplyTo"],
        "https://smith.family/users/carol/statuses/3"
    );
    assert_eq!(note["summary"], "spoilers");
    assert_eq!(note["sensitive"], true);
    assert_eq!(note["published"], "2023-11-14T22:13:20Z");
    assert!(
        note["content"].as_str().unwrap().contains("hi "),
        "{note:#}"
    );
    let tags = note["tag"].as_array().unwrap();
    let hrefs: Vec<&str> = tags.iter().filter_map(|t| t["href"].as_str()).collect();
    assert!(hrefs.contains(&"https://peer.test/users/bob"), "{tags:?}");
    assert!(
        hrefs.contains(&"https://smith.family/users/carol"),
        "{tags:?}"
    );
    assert!(
        !tags.iter().any(|t| t["name"] == "@dan@unknown.test"),
        "no actor: not a tag"
    );
    assert!(tags.iter().any(|t| t["name"] == "#rust"), "{tags:?}");
    let to = a["to"].to_string();
    assert!(
        to.contains("https://www.w3.org/ns/activitystreams#Public"),
        "{a:#}"
    );
}

#[test]
fn followers_only_posts_go_to_the_followers_collection_and_deletes_are_tombstones() {
    let m = message(
        Audience::Followers,
        Body::Post {
            text: "home".into(),
        },
    );
    let a = activity_of(&m, BASE, "smith.family", known).unwrap();
    assert!(!a.to_string().contains("#Public"), "{a:#}");
    assert!(
        a["to"]
            .to_string()
            .contains("https://smith.family/users/alice/followers"),
        "{a:#}"
    );
    let d = activity_of(
        &message(Audience::Public, Body::Delete { target: 4 }),
        BASE,
        "smith.family",
        known,
    )
    .unwrap();
    assert_eq!(d["type"], "Delete");
    assert_eq!(
        d["object"]["id"], "https://smith.family/users/alice/statuses/4",
        "{d:#}"
    );
}

fn bobs(seq: u64) -> MessageId {
    MessageId {
        author: addr("bob@peer.test"),
        seq,
    }
}

fn act(body: Body) -> Option<serde_json::Value> {
    activity_of(
        &message(Audience::Public, body),
        BASE,
        "smith.family",
        known,
    )
}

#[test]
fn likes_boosts_and_unlikes_of_fediverse_posts_name_their_iris() {
    let like = act(Body::Like { of: bobs(1) }).unwrap();
    assert_eq!(like["type"], "Like");
    assert_eq!(like["object"], "https://peer.test/notes/1");
    assert_eq!(like["id"], "https://smith.family/users/alice/statuses/7");
    assert_eq!(like["to"][0], "https://peer.test/users/bob");
    let boost = act(Body::Repost { of: bobs(1) }).unwrap();
    assert_eq!(boost["type"], "Announce");
    assert!(boost["to"].to_string().contains("#Public"), "{boost:#}");
    // the delete of alice's like 5 is the Undo of that Like
    let unlike = act(Body::Delete { target: 5 }).unwrap();
    assert_eq!(unlike["type"], "Undo", "{unlike:#}");
    assert_eq!(unlike["object"]["type"], "Like");
    assert_eq!(
        unlike["object"]["id"],
        "https://smith.family/users/alice/statuses/5"
    );
    assert_eq!(unlike["object"]["object"], "https://peer.test/notes/1");
    // a like of a post the fediverse has no IRI for is not sent
    assert!(act(Body::Like { of: bobs(2) }).is_none());
}

#[test]
fn an_edit_is_an_update_of_its_post() {
    let u = act(Body::Edit {
        target: 3,
        text: "fixed".into(),
        summary: String::new(),
        mentions: Mentions::new(),
    })
    .unwrap();
    assert_eq!(u["type"], "Update", "{u:#}");
    assert_eq!(
        u["object"]["id"],
        "https://smith.family/users/alice/statuses/3"
    );
    assert!(u["object"]["content"].as_str().unwrap().contains("fixed"));
    assert!(u["object"]["updated"].is_string(), "{u:#}");
}
