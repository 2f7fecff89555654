//! Tests of pictures in the store: uploads and quotas, who may see or fetch a picture, what
//! keeps a picture in use, and the cache's bound.

use super::*;
use crate::proto::attachment::Attachments;
use crate::proto::message::Mentions;
use crate::proto::{Address, Audience, Body, Limits, Message, NodeKey, SignedMessage};
use crate::store::messages::store_message;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn info(n: u8, size: u64) -> MediaInfo {
    MediaInfo {
        sha256: [n; 32],
        media_type: MediaType::Jpeg,
        size,
        width: 640,
        height: 480,
        orientation: 1,
        state: "local".into(),
    }
}

fn pictures(text: &str, shas: &[[u8; 32]]) -> Body {
    let mut attachments = Attachments::new();
    for s in shas {
        let _ =
            attachments.push(info(s[0], 1000).reference(format!("alt {}", s[0]), String::new()));
    }
    Body::Pictures {
        text: text.into(),
        summary: String::new(),
        reply_to: None,
        mentions: Mentions::new(),
        attachments: Box::new(attachments),
    }
}

fn post(s: &mut Store, user_id: i64, audience: Audience, body: Body) -> SignedMessage {
    crate::store::messages::tests::post_as(s, user_id, audience, body).unwrap()
}

fn remote(seq: u64, author: &str, audience: Audience, body: Body) -> SignedMessage {
    Message {
        author: Address::parse(author).unwrap(),
        seq,
        time_ms: 500 + seq,
        audience,
        body,
    }
    .sign(&NodeKey::from_bytes(&[7; 32]).unwrap(), &Limits::default())
    .unwrap()
}

const NOW: u64 = 10_000_000;

#[test]
fn uploads_count_toward_their_uploader_and_only_they_may_attach_them() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    s.record_upload(a.id, &info(1, 1000), NOW).unwrap();
    s.record_upload(a.id, &info(2, 500), NOW).unwrap();
    s.record_upload(b.id, &info(2, 500), NOW).unwrap();
    assert_eq!(s.media_usage(a.id).unwrap(), (1500, 1500));
    assert_eq!(s.media_usage(b.id).unwrap(), (500, 1500));
    assert!(s.own_upload(a.id, &[1; 32]).is_ok());
    assert!(matches!(
        s.own_upload(b.id, &[1; 32]),
        Err(StoreError::NotFound(_))
    ));
    // only the uploader (and nobody else) sees an upload not yet posted
    assert!(s.media_visible(&[1; 32], a.id).unwrap());
    assert!(!s.media_visible(&[1; 32], b.id).unwrap());
    assert!(!s.media_visible(&[1; 32], -1).unwrap());
}

#[test]
fn who_may_see_and_fetch_a_picture_follows_its_post() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    for n in 1..=3 {
        s.record_upload(a.id, &info(n, 1000), NOW).unwrap();
    }
    post(&mut s, a.id, Audience::Public, pictures("sea", &[[1; 32]]));
    post(
        &mut s,
        a.id,
        Audience::Followers,
        pictures("garden", &[[2; 32]]),
    );
    s.add_subscriber(&a.address, "f.test", NOW).unwrap();
    // public: anyone here, any node, even one that did not prove its domain ("")
    assert!(s.media_visible(&[1; 32], -1).unwrap());
    assert!(s.media_visible(&[1; 32], b.id).unwrap());
    for server in ["f.test", "x.test", ""] {
        assert!(s.media_servable(&[1; 32], server).unwrap(), "{server}");
    }
    // followers: the author, followers here, and subscribed servers only
    assert!(s.media_visible(&[2; 32], a.id).unwrap());
    assert!(!s.media_visible(&[2; 32], b.id).unwrap());
    assert!(!s.media_visible(&[2; 32], -1).unwrap());
    assert!(s.media_servable(&[2; 32], "f.test").unwrap());
    assert!(!s.media_servable(&[2; 32], "x.test").unwrap());
    assert!(!s.media_servable(&[2; 32], "").unwrap());
    // an upload never posted is nobody's to fetch
    assert!(!s.media_servable(&[3; 32], "f.test").unwrap());
    // someone elsewhere who names the followers-only picture in a public post of their own
    // does not make it public here
    let tx = s.conn_mut().transaction().unwrap();
    let m = remote(
        1,
        "mallory@m.test",
        Audience::Public,
        pictures("mine now", &[[2; 32]]),
    );
    store_message(&tx, &m, NOW).unwrap();
    tx.commit().unwrap();
    assert!(!s.media_visible(&[2; 32], -1).unwrap());
    assert!(!s.media_visible(&[2; 32], b.id).unwrap());
    // the alt text is searched
    let found = s.search("garden OR alt", Some(a.id), 0, 10).unwrap();
    assert_eq!(found.len(), 3, "alice's two and mallory's: {found:?}");
    let found = s.search("\"alt 1\"", None, 0, 10).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].media[0].alt, "alt 1");
    assert_eq!(found[0].media[0].url, format!("/media/{}", "01".repeat(32)));
}

#[test]
fn a_picture_stays_while_used_and_goes_with_its_last_post() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for n in 1..=3 {
        s.record_upload(a.id, &info(n, 1000), NOW).unwrap();
    }
    post(
        &mut s,
        a.id,
        Audience::Public,
        pictures("one", &[[1; 32], [2; 32]]),
    );
    post(&mut s, a.id, Audience::Public, pictures("two", &[[2; 32]]));
    // within the grace period: nothing goes, the unattached upload included
    assert!(s.collect_media(NOW + 1000, 0).unwrap().files.is_empty());
    // delete post 1: picture 1 goes at once, 2 stays (post 2 uses it)
    post(&mut s, a.id, Audience::Public, Body::Delete { target: 1 });
    assert_eq!(s.collect_media(NOW + 2000, 0).unwrap().files, vec![[1; 32]]);
    assert!(s.media_info(&[1; 32]).unwrap().is_none());
    assert_eq!(
        s.media_usage(a.id).unwrap().0,
        2000,
        "1 is no longer counted"
    );
    // the unattached upload goes after the grace period
    let later = NOW + UPLOAD_GRACE_MS + 1;
    assert_eq!(s.collect_media(later, 0).unwrap().files, vec![[3; 32]]);
    // an avatar keeps a picture
    s.record_upload(a.id, &info(4, 1000), later).unwrap();
    let avatar = info(4, 1000).reference(String::new(), String::new());
    post(
        &mut s,
        a.id,
        Audience::Public,
        Body::Portrait {
            display_name: "Alice".into(),
            bio: String::new(),
            avatar: Some(avatar.clone()),
            header: None,
        },
    );
    assert_eq!(
        s.profile_pictures(a.address.as_str()).unwrap(),
        (Some(avatar), None)
    );
    let much_later = later + 2 * UPLOAD_GRACE_MS;
    assert!(s.collect_media(much_later, 0).unwrap().files.is_empty());
    assert!(s.media_visible(&[4; 32], -1).unwrap(), "avatars are public");
    // a profile without pictures lets it go
    post(
        &mut s,
        a.id,
        Audience::Public,
        Body::Profile {
            display_name: "Alice".into(),
            bio: String::new(),
        },
    );
    assert_eq!(s.collect_media(much_later, 0).unwrap().files, vec![[4; 32]]);
}

#[test]
fn other_nodes_pictures_are_remote_until_fetched_and_the_cache_keeps_its_bound() {
    let (_d, mut s) = store_with_node();
    let b = s.add_user("bob", Role::Owner, "h", false, 1).unwrap();
    s.follow(b.id, &Address::parse("carol@c.test").unwrap(), 10, 1)
        .unwrap();
    let tx = s.conn_mut().transaction().unwrap();
    for (seq, n) in [(1, 1u8), (2, 2), (3, 3)] {
        let m = remote(
            seq,
            "carol@c.test",
            Audience::Public,
            pictures("p", &[[n; 32]]),
        );
        store_message(&tx, &m, NOW).unwrap();
    }
    tx.commit().unwrap();
    let src = s.media_source(&[2; 32]).unwrap().unwrap();
    assert_eq!(src.author, "carol@c.test");
    assert_eq!(src.info.state, "remote");
    assert!(!s.media_has_file(&[2; 32]).unwrap());
    // fetched in the order 1, 2, 3; each 1000 bytes; the cache holds 2000
    for (i, n) in [1u8, 2, 3].into_iter().enumerate() {
        s.media_cached(&[n; 32], NOW + 1000 * i as u64).unwrap();
    }
    assert_eq!(s.media_cache_bytes().unwrap(), 3000);
    // 1 was used last: 2 is the least recently used and goes
    s.media_used(&[1; 32], NOW + 100_000).unwrap();
    let c = s.collect_media(NOW + 100_001, 2000).unwrap();
    assert_eq!(c.files, vec![[2; 32]]);
    assert_eq!(s.media_info(&[2; 32]).unwrap().unwrap().state, "remote");
    assert_eq!(s.media_cache_bytes().unwrap(), 2000);
    // a delete from the author forgets the picture altogether
    let tx = s.conn_mut().transaction().unwrap();
    store_message(
        &tx,
        &remote(
            4,
            "carol@c.test",
            Audience::Public,
            Body::Delete { target: 3 },
        ),
        NOW,
    )
    .unwrap();
    tx.commit().unwrap();
    let c = s.collect_media(NOW + 100_002, 2000).unwrap();
    assert_eq!(c.files, vec![[3; 32]]);
    assert!(s.media_info(&[3; 32]).unwrap().is_none());
}
