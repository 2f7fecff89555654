//! Tests of the entities: shapes, mapping, and one account built per person per request.

use super::*;
use crate::proto::message::Mentions;
use crate::proto::{Audience, Body, MessageId};
use crate::store::messages::tests::post_as;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

const BASE: &str = "https://smith.family";

fn entries(s: &Store, viewer: i64) -> Vec<Entry> {
    s.timeline(viewer, None, 40).unwrap()
}

#[test]
fn times_have_milliseconds() {
    assert_eq!(time(1_795_341_845_123), "2026-11-22T10:04:05.123Z");
    assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
}

#[test]
fn a_status_in_mastodons_shape() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let mentions: Mentions = [Address::parse("bob@b.test").unwrap()]
        .into_iter()
        .collect();
    post_as(
        &mut s,
        a.id,
        Audience::Followers,
        Body::Note {
            text: "hi @bob@b.test <b>#Rust</b>".into(),
            summary: "cw".into(),
            reply_to: None,
            mentions,
        },
    )
    .unwrap();
    post_as(
        &mut s,
        a.id,
        Audience::Public,
        Body::Reply {
            to: MessageId {
                author: a.address.clone(),
                seq: 1,
            },
            text: "me again".into(),
        },
    )
    .unwrap();
    let page = entries(&s, a.id);
    let mut en = Entities::new(&s, BASE.into(), Some(a.id));
    let v = en.statuses(&page).unwrap();
    assert_eq!(v.len(), 2);
    let (reply, first) = (&v[0], &v[1]);
    assert_eq!(first["visibility"], "private");
    assert_eq!(first["spoiler_text"], "cw");
    assert_eq!(first["sensitive"], true);
    assert_eq!(first["url"], "https://smith.family/@alice/1");
    assert_eq!(first["mentions"][0]["acct"], "bob@b.test");
    assert_eq!(first["mentions"][0]["url"], "https://b.test/@bob");
    assert_eq!(first["tags"][0]["name"], "rust");
    assert_eq!(first["replies_count"], 1);
    assert!(first["content"]
        .as_str()
        .unwrap()
        .contains("&lt;b&gt;<a href=\"https://smith.family/tags/rust\""));
    assert_eq!(reply["in_reply_to_id"], first["id"]);
    assert_eq!(reply["in_reply_to_account_id"], first["account"]["id"]);
    assert_eq!(reply["visibility"], "public");
    let acct = &reply["account"];
    assert_eq!(acct["acct"], "alice");
    assert_eq!(acct["username"], "alice");
    assert_eq!(acct["statuses_count"], 2);
    assert_eq!(acct["avatar"], "https://smith.family/icon-192.png");
    assert_eq!(
        acct["id"],
        s.account_row("alice@smith.family")
            .unwrap()
            .unwrap()
            .id
            .to_string()
    );
    assert!(reply["created_at"].as_str().unwrap().ends_with('Z'));
    for k in [
        "poll",
        "card",
        "language",
        "reblog",
        "edited_at",
        "application",
    ] {
        assert!(reply[k].is_null(), "{k}");
    }
}

#[test]
fn accounts_are_built_once_per_person() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for i in 0..5 {
        let body = Body::Post {
            text: format!("post {i}"),
        };
        post_as(&mut s, a.id, Audience::Public, body).unwrap();
    }
    let page = entries(&s, a.id);
    let mut en = Entities::new(&s, BASE.into(), Some(a.id));
    en.statuses(&page).unwrap();
    assert_eq!(en.accounts.len(), 1);
}

#[test]
fn a_repost_nests_the_post() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    post_as(
        &mut s,
        b.id,
        Audience::Public,
        Body::Post { text: "hi".into() },
    )
    .unwrap();
    let of = MessageId {
        author: b.address.clone(),
        seq: 1,
    };
    post_as(&mut s, a.id, Audience::Public, Body::Repost { of }).unwrap();
    let page = entries(&s, a.id);
    let mut en = Entities::new(&s, BASE.into(), Some(a.id));
    let v = en.statuses(&page).unwrap();
    assert_eq!(v[0]["content"], "");
    assert_eq!(v[0]["account"]["acct"], "alice");
    assert_eq!(v[0]["reblog"]["content"], "<p>hi</p>");
    assert_eq!(v[0]["reblog"]["account"]["acct"], "bob");
    assert_eq!(v[0]["reblog"]["reblogs_count"], 1);
    assert_eq!(v[0]["reblog"]["reblogged"], true);
    assert_eq!(v[0]["reblogged"], true);
}

#[test]
fn media_attachments() {
    let m = MediaView {
        url: "/media/ab12".into(),
        media_type: "image/jpeg".into(),
        size: 10,
        width: 400,
        height: 200,
        orientation: 6,
        alt: "a cat".into(),
        blurhash: String::new(),
    };
    let v = media(BASE, &m);
    assert_eq!(v["id"], "ab12");
    assert_eq!(v["type"], "image");
    assert_eq!(v["url"], "https://smith.family/media/ab12");
    assert_eq!(v["meta"]["original"]["size"], "200x400");
    assert_eq!(v["meta"]["original"]["aspect"], 0.5);
    assert_eq!(v["description"], "a cat");
    assert!(v["blurhash"].is_null());
}

#[test]
fn notifications_map_their_kinds_and_vanish_with_their_status() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    post_as(
        &mut s,
        a.id,
        Audience::Public,
        Body::Post { text: "hi".into() },
    )
    .unwrap();
    let of = MessageId {
        author: a.address.clone(),
        seq: 1,
    };
    post_as(
        &mut s,
        b.id,
        Audience::Public,
        Body::Like { of: of.clone() },
    )
    .unwrap();
    post_as(
        &mut s,
        b.id,
        Audience::Public,
        Body::Reply {
            to: of,
            text: "yo".into(),
        },
    )
    .unwrap();
    let ns = s.notifications(a.id, None, 10).unwrap();
    let mut en = Entities::new(&s, BASE.into(), Some(a.id));
    let got: Vec<Value> = ns
        .iter()
        .map(|n| en.notification(n).unwrap().unwrap())
        .collect();
    assert_eq!(got[0]["type"], "mention");
    assert_eq!(got[0]["status"]["content"], "<p>yo</p>");
    assert_eq!(got[1]["type"], "favourite");
    assert_eq!(got[1]["status"]["content"], "<p>hi</p>");
    assert_eq!(got[1]["account"]["acct"], "bob");
    // the liked post gone: the favourite has nothing to show
    post_as(&mut s, a.id, Audience::Public, Body::Delete { target: 1 }).unwrap();
    let like = ns.iter().find(|n| n.kind == "like").unwrap();
    let mut en = Entities::new(&s, BASE.into(), Some(a.id));
    assert_eq!(en.notification(like).unwrap(), None);
}
