//! Tests of reading fediverse posts.

use super::note::{read, visibility, NoteError, ReadOptions, Visibility, PUBLIC};
use serde_json::{json, Value};

const FOLLOWERS: &str = "https://social.test/users/bob/followers";

fn opts() -> ReadOptions<'static> {
    ReadOptions {
        followers: Some(FOLLOWERS),
        max_text: 500,
        allow_http: false,
    }
}

/// A reply as Mastodon 4 sends it: a mention, a hashtag, a content warning and a picture.
fn mastodon_reply() -> Value {
    json!({
        "id": "https://social.test/users/bob/statuses/1",
        "type": "Note",
        "summary": "spoilers &amp; more",
        "inReplyTo": "https://smith.family/users/alice/statuses/7",
        "published": "2026-12-06T10:00:00Z",
        "url": "https://social.test/@bob/1",
        "attributedTo": "https://social.test/users/bob",
        "to": [PUBLIC[0]],
        "cc": [FOLLOWERS, "https://smith.family/users/alice"],
        "sensitive": false,
        "content": "<p><span class=\"h-card\" translate=\"no\"><a href=\"https://smith.family/@alice\" class=\"u-url mention\">@<span>alice</span></a></span> look at <a href=\"https://social.test/tags/Fox\" class=\"mention hashtag\" rel=\"tag\">#<span>Fox</span></a></p>",
        "tag": [
            {"type": "Mention", "href": "https://smith.family/users/alice", "name": "@alice@smith.family"},
            {"type": "Hashtag", "href": "https://social.test/tags/fox", "name": "#Fox"},
            {"type": "Emoji", "name": ":x:", "icon": {"url": "https://social.test/x.png"}}
        ],
        "attachment": [
            {"type": "Document", "mediaType": "image/jpeg", "url": "https://social.test/media/a.jpg",
             "name": "a fox in snow", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH", "width": 640, "height": 480},
            {"type": "Document", "mediaType": "video/mp4", "url": "https://social.test/media/v.mp4"}
        ]
    })
}

#[test]
fn a_mastodon_reply_reads_with_its_mention_tag_warning_and_picture() {
    let n = read(&mastodon_reply(), &opts()).unwrap();
    assert_eq!(n.id, "https://social.test/users/bob/statuses/1");
    assert_eq!(n.attributed_to, "https://social.test/users/bob");
    assert_eq!(n.text, "@alice@smith.family look at #Fox");
    assert_eq!(n.summary, "spoilers & more");
    assert!(n.sensitive, "a content warning marks the post sensitive");
    assert_eq!(
        n.in_reply_to.as_deref(),
        Some("https://smith.family/users/alice/statuses/7")
    );
    assert_eq!(n.visibility, Visibility::Public);
    assert_eq!(n.mentions.len(), 1);
    assert_eq!(
        n.mentions[0].address.as_ref().map(|a| a.as_str()),
        Some("alice@smith.family")
    );
    assert_eq!(n.tags.as_slice(), ["fox".to_string()]);
    assert_eq!(n.pictures.len(), 1, "the video is left out");
    assert_eq!(n.pictures[0].alt, "a fox in snow");
    assert_eq!(n.pictures[0].media_type, "image/jpeg");
}

#[test]
fn audiences_read_as_mastodon_reads_them() {
    let with = |to: Value, cc: Value| json!({"to": to, "cc": cc});
    let f = Some(FOLLOWERS);
    assert_eq!(
        visibility(&with(json!(["as:Public"]), json!([])), f),
        Visibility::Public
    );
    assert_eq!(
        visibility(&with(json!(FOLLOWERS), json!(PUBLIC[0])), f),
        Visibility::Unlisted
    );
    assert_eq!(
        visibility(&with(json!([FOLLOWERS]), json!([])), f),
        Visibility::Followers
    );
    assert_eq!(
        visibility(
            &with(json!(["https://smith.family/users/alice"]), json!([])),
            f
        ),
        Visibility::Direct
    );
    assert_eq!(
        visibility(&with(json!([FOLLOWERS]), json!([])), None),
        Visibility::Direct,
        "without knowing the followers collection, nothing is taken for it"
    );
}

#[test]
fn a_bare_mention_name_takes_the_actor_host() {
    let mut v = mastodon_reply();
    v["tag"] =
        json!([{"type": "Mention", "href": "https://smith.family/users/alice", "name": "@alice"}]);
    let n = read(&v, &opts()).unwrap();
    assert_eq!(
        n.mentions[0].address.as_ref().map(|a| a.as_str()),
        Some("alice@smith.family")
    );
}

#[test]
fn hostile_objects_are_refused_or_bounded() {
    let mut v = mastodon_reply();
    v["type"] = json!("Person");
    assert!(matches!(read(&v, &opts()), Err(NoteError::NotAPost(_))));

    for (field, bad) in [
        ("id", json!("javascript:alert(1)")),
        ("id", json!("http://social.test/users/bob/statuses/1")),
        (
            "id",
            json!(format!("https://social.test/{}", "a".repeat(3000))),
        ),
        ("attributedTo", json!(7)),
        ("attributedTo", json!("https://social.test/users/b ob")),
        ("inReplyTo", json!("file:///etc/passwd")),
    ] {
        let mut v = mastodon_reply();
        v[field] = bad.clone();
        assert!(read(&v, &opts()).is_err(), "{field} = {bad} was read");
    }

    // caps: text, mentions, tags, pictures
    let mut v = mastodon_reply();
    v["content"] = json!(format!("<p>{}</p>", "é".repeat(400)));
    let n = read(&v, &opts()).unwrap();
    assert!(n.text.len() <= 500 && n.text.chars().all(|c| c == 'é'));
    v["tag"] = Value::Array(
        (0..1000)
            .flat_map(|i| {
                [
                    json!({"type": "Mention", "href": format!("https://x{i}.test/u"), "name": "@u"}),
                    json!({"type": "Hashtag", "name": format!("#t{i}")}),
                ]
            })
            .collect(),
    );
    v["attachment"] = Value::Array(
        (0..50)
            .map(|i| json!({"type": "Image", "mediaType": "image/png", "url": format!("https://x.test/{i}.png"), "name": "x".repeat(5000)}))
            .collect(),
    );
    let n = read(&v, &opts()).unwrap();
    assert_eq!(n.mentions.len(), crate::proto::message::MAX_MENTIONS);
    assert_eq!(n.tags.len(), crate::proto::text::MAX_TAGS);
    assert_eq!(n.pictures.len(), crate::proto::attachment::MAX_ATTACHMENTS);
    assert!(n
        .pictures
        .iter()
        .all(|p| p.alt.len() <= crate::proto::attachment::MAX_ALT));
}

#[test]
fn http_iris_only_in_labs() {
    let mut v = mastodon_reply();
    v["id"] = json!("http://peer.test/notes/1");
    assert!(read(&v, &opts()).is_err());
    let lab = ReadOptions {
        allow_http: true,
        ..opts()
    };
    assert_eq!(read(&v, &lab).unwrap().id, "http://peer.test/notes/1");
}

proptest::proptest! {
    #[test]
    fn any_json_object_reads_or_is_refused_without_panic(s in "\\PC{0,300}") {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let _ = read(&v, &opts());
        }
        let mut v = mastodon_reply();
        v["content"] = json!(s);
        v["summary"] = json!(s);
        let n = read(&v, &opts()).unwrap();
        proptest::prop_assert!(n.text.len() <= 500);
    }
}

#[test]
fn a_mention_names_only_someone_on_its_actors_host() {
    let mut v = mastodon_reply();
    v["tag"] =
        json!([{"type": "Mention", "href": "https://evil.test/u/x", "name": "@ceo@bank.test"}]);
    v["content"] =
        json!("<p><a href=\"https://evil.test/@x\" class=\"mention\">@ceo@bank.test</a> pay</p>");
    let n = read(&v, &opts()).unwrap();
    assert_eq!(
        n.mentions[0].address, None,
        "the name's domain is not the actor's host"
    );
    assert!(
        n.text.contains("(https://evil.test/@x)"),
        "the link shows where it goes: {}",
        n.text
    );
}

#[test]
fn an_articles_link_is_a_web_link_or_its_id() {
    let mut v = mastodon_reply();
    v["type"] = json!("Article");
    v["name"] = json!("Title");
    v["url"] = json!("javascript:alert(1)");
    let n = read(&v, &opts()).unwrap();
    assert!(!n.text.contains("javascript"), "{}", n.text);
    assert!(
        n.text.ends_with("https://social.test/users/bob/statuses/1"),
        "{}",
        n.text
    );
}
