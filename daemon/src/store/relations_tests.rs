//! Tests of mutes, blocks and domain blocks: what they hide and what following they cut.

use super::*;
use crate::proto::follow::FollowAnswerState;
use crate::proto::{Audience, Body, Limits, Message, NodeKey};
use crate::store::blocked_domains::{BlockedDomains, MAX_DOMAIN_BLOCKS};
use crate::store::discover::{apply_batch, DiscoverBatch, DiscoverPost};
use crate::store::messages::{sign_own, store_message};
use crate::store::users::tests::store_with_node;
use crate::store::{NewPost, Role};

fn addr(a: &str) -> Address {
    Address::parse(a).unwrap()
}

fn own_post(s: &mut Store, user_id: i64, text: &str) {
    own(s, user_id, Body::Post { text: text.into() });
}

fn own(s: &mut Store, user_id: i64, body: Body) {
    let tx = s.conn_mut().transaction().unwrap();
    let post = NewPost {
        user_id,
        audience: Audience::Public,
        body,
    };
    let signed = sign_own(&tx, &post, 1000, &Limits::default()).unwrap();
    store_message(&tx, &signed, 1000).unwrap();
    tx.commit().unwrap();
}

fn remote_post(s: &Store, author: &Address, key: u8, seq: u64, body: Body) {
    let m = Message {
        author: author.clone(),
        seq,
        time_ms: 5,
        audience: Audience::Public,
        body,
    }
    .sign(
        &NodeKey::from_bytes(&[key; 32]).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert!(store_message(s.conn(), &m, 1).unwrap());
}

fn home(s: &Store, user_id: i64) -> Vec<String> {
    let mut t: Vec<String> = s
        .timeline(user_id, None, 50)
        .unwrap()
        .into_iter()
        .filter_map(|e| e.post.text)
        .collect();
    t.sort();
    t
}

fn search(s: &Store, q: &str, viewer: i64) -> usize {
    s.search(q, Some(viewer), 0, 50).unwrap().len()
}

#[test]
fn a_mute_hides_posts_and_reposts_for_the_muter_only_until_undone() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let carol = addr("carol@c.test");
    s.follow(a.id, &carol, 50, 1).unwrap();
    s.follow(b.id, &carol, 50, 1).unwrap();
    s.follow(a.id, &b.address, 50, 1).unwrap();
    remote_post(
        &s,
        &carol,
        3,
        1,
        Body::Post {
            text: "carol speaks".into(),
        },
    );
    remote_post(
        &s,
        &carol,
        3,
        2,
        Body::Reply {
            to: crate::proto::MessageId {
                author: b.address.clone(),
                seq: 1,
            },
            text: "carol replies".into(),
        },
    );
    own_post(&mut s, b.id, "bob speaks");
    assert_eq!(
        home(&s, a.id),
        ["bob speaks", "carol replies", "carol speaks"]
    );
    own(
        &mut s,
        b.id,
        Body::Repost {
            of: crate::proto::MessageId {
                author: carol.clone(),
                seq: 1,
            },
        },
    );
    let kinds = |s: &Store, uid| -> Vec<String> {
        s.timeline(uid, None, 50)
            .unwrap()
            .into_iter()
            .map(|e| e.post.kind)
            .collect()
    };
    assert_eq!(kinds(&s, a.id)[0], "repost");

    assert!(s.mute(a.id, &carol, 10).unwrap());
    assert!(!s.mute(a.id, &carol, 11).unwrap(), "muted already");
    assert_eq!(home(&s, a.id), ["bob speaks"], "home");
    assert_eq!(
        kinds(&s, a.id),
        ["post"],
        "bob's repost of carol is hidden too"
    );
    assert_eq!(
        home(&s, b.id),
        ["bob speaks", "carol replies", "carol speaks"],
        "others still see"
    );
    assert_eq!(search(&s, "carol", a.id), 0, "search");
    assert_eq!(search(&s, "carol", b.id), 2);
    assert!(
        s.posts_by(&carol, Some(a.id), None, 50).unwrap().is_empty(),
        "profile"
    );
    let (_, replies) = s.thread(&b.address, 1, Some(a.id)).unwrap();
    assert!(replies.is_empty(), "threads hide muted replies");
    assert_eq!(s.relation(a.id, &carol).unwrap(), Some(Relation::Mute));
    assert_eq!(
        s.relations(a.id, Relation::Mute).unwrap()[0].address,
        "carol@c.test"
    );
    assert!(!s.unblock(a.id, &carol).unwrap(), "a mute is not a block");

    assert!(s.unmute(a.id, &carol).unwrap());
    assert!(!s.unmute(a.id, &carol).unwrap());
    assert_eq!(
        home(&s, a.id),
        ["bob speaks", "carol replies", "carol speaks"]
    );
}

#[test]
fn a_block_cuts_following_both_ways_and_stops_delivery_to_a_lone_server() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let (dan, erin, fay) = (addr("dan@d.test"), addr("erin@e.test"), addr("fay@e.test"));
    s.follow(b.id, &a.address, 50, 1).unwrap();
    s.follow(a.id, &dan, 50, 1).unwrap();
    for (who, server) in [(&dan, "d.test"), (&erin, "e.test"), (&fay, "e.test")] {
        s.add_subscriber(&a.address, server, 1).unwrap();
        assert_eq!(
            s.follow_request(&a.address, who, server, 1).unwrap(),
            Some(FollowAnswerState::Accepted)
        );
    }
    own_post(&mut s, a.id, "queued");
    let outbox = |s: &Store, server: &str| s.owed_to(server, 1000).unwrap().entries.len() as i64;
    assert_eq!((outbox(&s, "d.test"), outbox(&s, "e.test")), (1, 1));

    let done = s.block(a.id, &a.address, &dan, 5).unwrap();
    assert_eq!(
        done,
        Blocked {
            was_following: true,
            tell_server: Some("d.test".into()),
            unsubscribed: true
        }
    );
    assert!(
        !s.is_subscriber(&a.address, "d.test").unwrap(),
        "lone server unsubscribed"
    );
    assert_eq!(outbox(&s, "d.test"), 0, "nothing more goes there");
    assert_eq!(
        s.follow_request(&a.address, &dan, "d.test", 6).unwrap(),
        Some(FollowAnswerState::Rejected),
        "refused before anything else"
    );
    s.add_subscriber(&a.address, "d.test", 7).unwrap();
    assert_eq!(
        s.follow_request(&a.address, &dan, "d.test", 7).unwrap(),
        Some(FollowAnswerState::Rejected),
        "a blocked person's request is refused"
    );

    let done = s.block(a.id, &a.address, &erin, 8).unwrap();
    assert_eq!(done.tell_server.as_deref(), Some("e.test"));
    assert!(!done.unsubscribed, "fay still follows from e.test");
    assert!(s.is_subscriber(&a.address, "e.test").unwrap());
    assert_eq!(s.remote_followers(&a.address).unwrap(), ["fay@e.test"]);

    // a local follower: removed, and neither may follow the other
    let done = s.block(a.id, &a.address, &b.address, 9).unwrap();
    assert_eq!(done, Blocked::default());
    assert!(s.followers(&a.address).unwrap().0.is_empty());
    assert!(matches!(
        s.follow(b.id, &a.address, 50, 10),
        Err(StoreError::Blocked(_))
    ));
    assert!(matches!(
        s.follow(a.id, &b.address, 50, 10),
        Err(StoreError::Blocked(_))
    ));
    assert!(s.block_between(&b.address, &a.address).unwrap());
    assert_eq!(s.relations(a.id, Relation::Block).unwrap().len(), 3);
    assert!(s.unblock(a.id, &b.address).unwrap());
    assert!(!s.block_between(&b.address, &a.address).unwrap());
    s.follow(b.id, &a.address, 50, 11).unwrap();
}

#[test]
fn a_block_over_a_mute_stays_a_block_and_the_bound_holds() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let dan = addr("dan@d.test");
    s.mute(a.id, &dan, 1).unwrap();
    s.block(a.id, &a.address, &dan, 2).unwrap();
    assert!(!s.mute(a.id, &dan, 3).unwrap());
    assert_eq!(s.relation(a.id, &dan).unwrap(), Some(Relation::Block));
    s.conn()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO relations SELECT ?2, 'x' || i || '@x.test', 'mute', 1 FROM n",
            params![MAX_RELATIONS - 1, a.id],
        )
        .unwrap();
    assert!(matches!(
        s.mute(a.id, &addr("new@n.test"), 4),
        Err(StoreError::Full { .. })
    ));
    assert!(matches!(
        s.block(a.id, &a.address, &addr("new@n.test"), 4),
        Err(StoreError::Full { .. })
    ));
    assert!(
        s.block(a.id, &a.address, &addr("x1@x.test"), 4).is_ok(),
        "an existing row changes"
    );
}

#[test]
fn a_domain_block_hides_stored_posts_of_the_domain_and_its_subdomains() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let (carol, sue, ed) = (
        addr("carol@c.test"),
        addr("sue@sub.c.test"),
        addr("ed@notc.test"),
    );
    for (who, k) in [(&carol, 3), (&sue, 4), (&ed, 5)] {
        s.follow(a.id, who, 50, 1).unwrap();
        remote_post(
            &s,
            who,
            k,
            1,
            Body::Post {
                text: format!("hello from {who}"),
            },
        );
    }
    s.add_subscriber(&a.address, "x.c.test", 1).unwrap();
    own_post(&mut s, a.id, "mine");
    let discover = DiscoverBatch {
        posts: vec![DiscoverPost {
            author: addr("zed@c.test"),
            seq: 1,
            time_ms: 1,
            reply_to: None,
            text: "zed".into(),
            verified: false,
        }],
        keep: 100,
        ..Default::default()
    };
    apply_batch(s.conn(), &discover, 1).unwrap();
    assert_eq!(home(&s, a.id).len(), 4);

    assert!(s.block_domain("C.Test", 2).unwrap());
    assert!(!s.block_domain("c.test", 3).unwrap(), "blocked already");
    assert_eq!(home(&s, a.id), ["hello from ed@notc.test", "mine"]);
    assert!(
        s.posts_by(&carol, None, None, 50).unwrap().is_empty(),
        "public pages too"
    );
    assert_eq!(search(&s, "hello", a.id), 1);
    assert_eq!(s.discover_len().unwrap(), 0, "discover posts deleted");
    assert_eq!(
        s.following(a.id)
            .unwrap()
            .iter()
            .map(|f| f.0.as_str())
            .collect::<Vec<_>>(),
        ["ed@notc.test"],
        "follows of the domain dropped"
    );
    assert!(
        !s.is_subscriber(&a.address, "x.c.test").unwrap(),
        "its servers unsubscribed"
    );
    assert_eq!(s.domain_blocks().unwrap()[0].domain, "c.test");

    assert!(matches!(
        s.block_domain("smith.family", 4),
        Err(StoreError::BadDomainBlock(_))
    ));
    assert!(matches!(
        s.block_domain("family", 4),
        Err(StoreError::BadDomainBlock(_))
    ));
    assert!(matches!(
        s.block_domain("bad..domain", 4),
        Err(StoreError::Proto(_))
    ));

    // an overlapping block keeps the subdomain hidden when the other goes
    assert!(s.block_domain("sub.c.test", 5).unwrap());
    assert!(s.unblock_domain("c.test").unwrap());
    assert!(!s.unblock_domain("c.test").unwrap());
    // the block dropped the follow of carol, and Home shows people followed now: her post
    // shows again on her profile, not in Home
    assert_eq!(home(&s, a.id), ["hello from ed@notc.test", "mine"]);
    assert_eq!(s.posts_by(&carol, None, None, 50).unwrap().len(), 1);
    assert!(s.unblock_domain("sub.c.test").unwrap());
    assert_eq!(
        search(&s, "hello", a.id),
        3,
        "the subdomain's post shows again"
    );
}

#[test]
fn the_domain_set_matches_subdomains_and_is_bounded() {
    let (_d, mut s) = store_with_node();
    let set = BlockedDomains::default();
    assert!(!set.matches("c.test"));
    s.block_domain("c.test", 1).unwrap();
    set.reload(&s).unwrap();
    assert!(set.matches("c.test") && set.matches("a.b.c.test"));
    assert!(!set.matches("notc.test") && !set.matches("test") && !set.matches("c.test.org"));
    s.conn()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO domain_blocks SELECT 'd' || i || '.test', 1 FROM n",
            [MAX_DOMAIN_BLOCKS as i64 - 1],
        )
        .unwrap();
    assert!(matches!(
        s.block_domain("one-more.test", 2),
        Err(StoreError::Full { .. })
    ));
    set.reload(&s).unwrap();
    assert_eq!(set.len(), MAX_DOMAIN_BLOCKS);
    s.unblock_domain("c.test").unwrap();
    set.reload(&s).unwrap();
    assert!(!set.matches("c.test"));
}

#[test]
fn a_block_tells_when_it_was_made_until_it_is_lifted() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let peer = addr("peer@peer.test");
    assert_eq!(s.block_since(alice.id, &peer).unwrap(), None);
    s.mute(alice.id, &peer, 5).unwrap();
    assert_eq!(s.block_since(alice.id, &peer).unwrap(), None, "a mute");
    s.unmute(alice.id, &peer).unwrap();
    s.block(alice.id, &alice.address, &peer, 7).unwrap();
    assert_eq!(s.block_since(alice.id, &peer).unwrap(), Some(7));
    assert!(s.unblock(alice.id, &peer).unwrap());
    assert_eq!(s.block_since(alice.id, &peer).unwrap(), None);
}
