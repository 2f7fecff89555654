//! Tests of writing msm's posts and acts as ActivityStreams.

use super::note::{read, ReadOptions, Visibility, PUBLIC};
use super::outbound::{
    addressing, answer_follow, create, delete, note, Iris, OutMention, OutNote, OutPicture,
};
use serde_json::json;

const IRIS: Iris<'static> = Iris {
    base: "https://smith.family",
};

fn post<'a>(
    visibility: Visibility,
    mentions: &'a [OutMention<'a>],
    pictures: &'a [OutPicture<'a>],
) -> OutNote<'a> {
    OutNote {
        user: "alice",
        seq: 7,
        published: "2026-12-06T10:00:00Z",
        updated: None,
        content: "<p><a href=\"https://social.test/@bob\" class=\"u-url mention\">@<span>bob</span></a> hi <a href=\"https://smith.family/tags/fox\" class=\"mention hashtag\" rel=\"tag\">#<span>fox</span></a></p>",
        summary: "",
        in_reply_to: Some("https://social.test/users/bob/statuses/1"),
        visibility,
        mentions,
        tags: &["fox"],
        pictures,
        url: "https://smith.family/@alice/7",
    }
}

const BOB: [OutMention<'static>; 1] = [OutMention {
    address: "bob@social.test",
    actor: "https://social.test/users/bob",
}];

#[test]
fn each_visibility_is_addressed_as_mastodon_addresses_it() {
    let f = IRIS.followers("alice");
    let bob = BOB[0].actor.to_string();
    let pub_ = PUBLIC[0].to_string();
    for (v, to, cc) in [
        (
            Visibility::Public,
            vec![pub_.clone()],
            vec![f.clone(), bob.clone()],
        ),
        (
            Visibility::Unlisted,
            vec![f.clone()],
            vec![pub_.clone(), bob.clone()],
        ),
        (Visibility::Followers, vec![f.clone()], vec![bob.clone()]),
        (Visibility::Direct, vec![bob.clone()], vec![]),
    ] {
        assert_eq!(addressing(&IRIS, &post(v, &BOB, &[])), (to, cc), "{v:?}");
    }
}

#[test]
fn a_written_note_reads_back_as_the_same_post() {
    let pics = [OutPicture {
        url: "https://smith.family/media/ab.jpg".into(),
        media_type: "image/jpeg",
        alt: "a fox",
        blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        width: 640,
        height: 480,
    }];
    for v in [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Followers,
        Visibility::Direct,
    ] {
        let written = note(&IRIS, &post(v, &BOB, &pics));
        let followers = IRIS.followers("alice");
        let back = read(
            &written,
            &ReadOptions {
                followers: Some(&followers),
                max_text: 500,
                allow_http: false,
            },
        )
        .unwrap();
        assert_eq!(back.id, "https://smith.family/users/alice/statuses/7");
        assert_eq!(back.attributed_to, IRIS.actor("alice"));
        assert_eq!(back.visibility, v);
        assert_eq!(back.text, "@bob@social.test hi #fox");
        assert_eq!(back.tags.as_slice(), ["fox".to_string()]);
        assert_eq!(back.mentions[0].href, BOB[0].actor);
        assert_eq!(back.pictures[0].alt, "a fox");
        assert_eq!(
            back.in_reply_to.as_deref(),
            Some("https://social.test/users/bob/statuses/1")
        );
        assert!(!back.sensitive);
    }
}

#[test]
fn create_update_and_delete_carry_the_post_and_its_audience() {
    let c = create(&IRIS, &post(Visibility::Public, &BOB, &[]));
    assert_eq!(c["type"], "Create");
    assert_eq!(
        c["id"],
        "https://smith.family/users/alice/statuses/7/activity"
    );
    assert_eq!(c["actor"], c["object"]["attributedTo"]);
    assert_eq!(c["to"], c["object"]["to"]);
    assert_eq!(c["@context"][0], "https://www.w3.org/ns/activitystreams");
    let mut edited = post(Visibility::Public, &BOB, &[]);
    edited.updated = Some("2026-12-06T11:00:00Z");
    edited.summary = "cw";
    let u = create(&IRIS, &edited);
    assert_eq!(u["type"], "Update");
    assert_ne!(u["id"], c["id"], "an edit is an activity of its own");
    assert_eq!(u["object"]["sensitive"], true);
    let d = delete(&IRIS, "alice", 7, &[PUBLIC[0].into()], &[]);
    assert_eq!(
        d["object"]["id"],
        "https://smith.family/users/alice/statuses/7"
    );
    assert_eq!(d["object"]["type"], "Tombstone");
}

#[test]
fn an_accept_names_the_follow_it_answers() {
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://social.test/f/1",
        "type": "Follow",
        "actor": "https://social.test/users/bob",
        "object": "https://smith.family/users/alice",
        "extra": "not echoed"
    });
    let a = answer_follow(
        true,
        "https://smith.family/users/alice#accepts/1".into(),
        IRIS.actor("alice"),
        &follow,
    );
    assert_eq!(a["type"], "Accept");
    assert_eq!(a["object"]["id"], "https://social.test/f/1");
    assert_eq!(a["object"]["actor"], "https://social.test/users/bob");
    assert_eq!(a["object"]["object"], "https://smith.family/users/alice");
    assert!(a["object"].get("extra").is_none());
    assert_eq!(a["to"][0], "https://social.test/users/bob");
    let r = answer_follow(false, "x".into(), IRIS.actor("alice"), &follow);
    assert_eq!(r["type"], "Reject");
}

#[test]
fn a_person_has_what_mastodon_and_gotosocial_read() {
    use super::outbound::{person, OutPerson};
    let p = person(
        &IRIS,
        &OutPerson {
            user: "alice",
            name: "Alice",
            summary: "<p>hi</p>",
            url: "https://smith.family/@alice",
            manually_approves: true,
            rsa_public_pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            ed25519_multibase: Some("z6MkTest"),
            icon: Some(("https://smith.family/media/aa.png", "image/png")),
            image: None,
            published: "2026-12-06T00:00:00Z",
        },
    );
    let actor = "https://smith.family/users/alice";
    assert_eq!(p["id"], actor);
    assert_eq!(p["type"], "Person");
    assert_eq!(p["inbox"], format!("{actor}/inbox"));
    assert_eq!(p["endpoints"]["sharedInbox"], "https://smith.family/inbox");
    assert_eq!(p["publicKey"]["owner"], actor);
    assert_eq!(p["publicKey"]["id"], format!("{actor}#main-key"));
    assert!(p["publicKey"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY"));
    assert_eq!(p["assertionMethod"][0]["controller"], actor);
    assert_eq!(p["manuallyApprovesFollowers"], true);
    assert_eq!(p["icon"]["mediaType"], "image/png");
    assert!(p.get("image").is_none());
}

#[test]
fn a_profile_update_carries_the_whole_person_to_the_followers() {
    use super::activity::{read as read_activity, Act};
    use super::outbound::update_person;
    let person = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://smith.family/users/alice", "type": "Person", "name": "Alice B."});
    let a = update_person(&IRIS, "alice", 12, person);
    assert_eq!(a["type"], "Update");
    assert_eq!(a["actor"], "https://smith.family/users/alice");
    assert_eq!(a["id"], "https://smith.family/users/alice#updates/12");
    assert_eq!(a["object"]["name"], "Alice B.");
    assert!(a["object"].get("@context").is_none(), "{a}");
    assert_eq!(a["to"][0], PUBLIC[0]);
    assert_eq!(a["cc"][0], "https://smith.family/users/alice/followers");
    // msm's own inbox reads it as an update of the actor
    let got = read_activity(&a, false).unwrap();
    assert!(
        matches!(&got.act, Act::Update(o) if o["type"] == "Person"),
        "{got:?}"
    );
    // another version has another id (receivers drop a repeated id)
    let again = update_person(&IRIS, "alice", 13, json!({"id": "x", "type": "Person"}));
    assert_ne!(again["id"], a["id"]);
}

#[test]
fn a_block_and_its_undo_name_the_blocked_actor() {
    use super::activity::{read as read_activity, Act};
    use super::outbound::{block, undo};
    let me = "https://smith.family/users/alice".to_string();
    let bob = "https://social.test/users/bob";
    let id = format!("{me}#blocks/1700000000000");
    let b = block(id.clone(), me.clone(), bob);
    assert_eq!(b["type"], "Block");
    assert_eq!(b["object"], bob);
    assert_eq!(b["to"][0], bob);
    assert_eq!(b["cc"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        read_activity(&b, false).unwrap().act,
        Act::Block {
            object: bob.to_string()
        }
    );
    let u = undo(format!("{id}/undo"), me, b, &[bob.to_string()], &[]);
    match read_activity(&u, false).unwrap().act {
        Act::Undo { kind, id: got, .. } => {
            assert_eq!(kind, "Block");
            assert_eq!(got.as_deref(), Some(id.as_str()));
        }
        other => panic!("{other:?}"),
    }
}
