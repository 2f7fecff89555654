//! Tests of what an account's ActivityPub collections list.

use super::*;
use crate::activitypub::actor_doc::RemoteActor;
use crate::proto::{Address, Audience, Body, Limits};
use crate::store::messages::{sign_own, store_message};
use crate::store::users::tests::store_with_node;
use crate::store::{NewPost, Role};

fn addr(a: &str) -> Address {
    Address::parse(a).unwrap()
}

fn post(s: &mut Store, user_id: i64, audience: Audience, text: &str) {
    let tx = s.conn_mut().transaction().unwrap();
    let p = NewPost {
        user_id,
        audience,
        body: Body::Post { text: text.into() },
    };
    let signed = sign_own(&tx, &p, 1000, &Limits::default()).unwrap();
    store_message(&tx, &signed, 1000).unwrap();
    tx.commit().unwrap();
}

#[test]
fn the_outbox_pages_public_posts_newest_first_by_seq() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let me = alice.address.as_str();
    for (i, audience) in [
        Audience::Public,
        Audience::Followers,
        Audience::Public,
        Audience::Followers,
        Audience::Public,
    ]
    .into_iter()
    .enumerate()
    {
        post(&mut s, alice.id, audience, &format!("post {i}"));
    }
    let seqs = |v: Vec<(u64, crate::store::activitypub::LocalMessage)>| {
        v.into_iter().map(|(seq, _)| seq).collect::<Vec<_>>()
    };
    let all = seqs(s.public_posts_before(me, None, 20).unwrap());
    assert_eq!(all.len(), 3, "only the public ones: {all:?}");
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");
    let first = seqs(s.public_posts_before(me, None, 2).unwrap());
    assert_eq!(first, all[..2]);
    let rest = seqs(s.public_posts_before(me, Some(first[1]), 2).unwrap());
    assert_eq!(rest, all[2..]);
    assert!(s.public_posts_before(me, Some(0), 20).unwrap().is_empty());
    assert!(s
        .public_posts_before("nobody@smith.family", None, 20)
        .unwrap()
        .is_empty());
}

#[test]
fn followers_and_following_list_accepted_follows_with_fediverse_actors() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let bob = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    s.follow(bob.id, &alice.address, 0, 10).unwrap();
    // a fediverse follower at its shared inbox, and an msm one at its node
    let peer = RemoteActor {
        id: "https://peer.test/users/peer".into(),
        address: addr("peer@peer.test"),
        inbox: "https://peer.test/users/peer/inbox".into(),
        shared_inbox: Some("https://peer.test/inbox".into()),
        followers: None,
        name: String::new(),
        key: None,
    };
    s.remember_actor(&peer, 5).unwrap();
    for (who, server, t) in [
        ("peer@peer.test", "https://peer.test/inbox", 20),
        ("carol@jones.family", "jones.family", 30),
    ] {
        s.add_subscriber(&alice.address, server, t).unwrap();
        s.follow_request(&alice.address, &addr(who), server, t)
            .unwrap();
    }
    let page = s.followers_page(alice.address.as_str(), 0, 20).unwrap();
    let got: Vec<(&str, Option<&str>)> = page
        .iter()
        .map(|m| (m.address.as_str(), m.actor.as_deref()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.contains(&("peer@peer.test", Some("https://peer.test/users/peer"))));
    assert!(got.contains(&("carol@jones.family", None)));
    assert!(got.contains(&("bob@smith.family", None)));
    // paged by offset, within the count the collection tells
    let second = s.followers_page(alice.address.as_str(), 2, 20).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0], page[2]);
    let row = s.account_row(alice.address.as_str()).unwrap().unwrap();
    assert_eq!(row.followers, 3);
    let following = s.following_page(bob.id, 0, 20).unwrap();
    assert_eq!(following.len(), 1);
    assert_eq!(following[0].address, "alice@smith.family");
    assert!(s.following_page(alice.id, 0, 20).unwrap().is_empty());
}
