//! Tests of the Mastodon API's account, notification, marker and list queries.

use super::*;
use crate::proto::{Audience, Body};
use crate::store::relations::Relation;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn all(limit: u32) -> IdRange {
    IdRange {
        above: 0,
        below: i64::MAX,
        oldest_first: false,
        limit,
    }
}

#[test]
fn relation_flags_follow_each_way_and_blocks_and_mutes() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("cid", Role::Member, "h", false, 1).unwrap();
    assert_eq!(
        s.relation_flags(a.id, &a.address, &b.address).unwrap(),
        RelationFlags::default()
    );
    s.follow(a.id, &b.address, 10, 5).unwrap();
    let f = s.relation_flags(a.id, &a.address, &b.address).unwrap();
    assert!(f.following && !f.requested && !f.followed_by);
    let f = s.relation_flags(b.id, &b.address, &a.address).unwrap();
    assert!(f.followed_by && !f.following);
    // a locked account: the follow waits on both sides
    s.set_locked(c.id, true).unwrap();
    s.follow(a.id, &c.address, 10, 6).unwrap();
    let f = s.relation_flags(a.id, &a.address, &c.address).unwrap();
    assert!(f.requested && !f.following, "{f:?}");
    let f = s.relation_flags(c.id, &c.address, &a.address).unwrap();
    assert!(f.requested_by && !f.followed_by, "{f:?}");
    s.mute(a.id, &c.address, 7).unwrap();
    assert!(
        s.relation_flags(a.id, &a.address, &c.address)
            .unwrap()
            .muting
    );
    s.block(b.id, &b.address, &a.address, 8).unwrap();
    let f = s.relation_flags(a.id, &a.address, &b.address).unwrap();
    assert!(f.blocked_by && !f.blocking, "{f:?}");
    assert!(s.relation(b.id, &a.address).unwrap() == Some(Relation::Block));
    assert!(
        s.relation_flags(b.id, &b.address, &a.address)
            .unwrap()
            .blocking
    );
}

#[test]
fn followers_and_following_page_by_account_id() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("cid", Role::Member, "h", false, 1).unwrap();
    s.follow(b.id, &a.address, 10, 5).unwrap();
    s.follow(c.id, &a.address, 10, 5).unwrap();
    s.follow(a.id, &c.address, 10, 5).unwrap();
    let f = s.follower_accounts(&a.address, all(40)).unwrap();
    let addrs: Vec<&str> = f.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(
        addrs,
        [c.address.as_str(), b.address.as_str()],
        "newest id first"
    );
    let older = IdRange {
        below: f[0].0,
        ..all(40)
    };
    assert_eq!(s.follower_accounts(&a.address, older).unwrap(), f[1..]);
    let oldest = IdRange {
        oldest_first: true,
        ..all(1)
    };
    assert_eq!(s.follower_accounts(&a.address, oldest).unwrap(), f[1..]);
    let g = s.followed_accounts(a.id, all(40)).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(
        s.account_address(g[0].0).unwrap().as_deref(),
        Some(c.address.as_str())
    );
    assert_eq!(s.account_id(c.address.as_str()).unwrap(), Some(g[0].0));
}

#[test]
fn notification_ids_filter_by_kind_and_page() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    s.follow(b.id, &a.address, 10, 5).unwrap();
    let body = Body::Note {
        text: "hi @alice@smith.family".into(),
        summary: String::new(),
        reply_to: None,
        mentions: [a.address.clone()].into_iter().collect(),
    };
    crate::store::messages::tests::post_as(&mut s, b.id, Audience::Public, body).unwrap();
    let mentions = s
        .notification_ids(a.id, &["mention", "reply"], all(40))
        .unwrap();
    let follows = s.notification_ids(a.id, &["follow"], all(40)).unwrap();
    assert_eq!(
        (mentions.len(), follows.len()),
        (1, 1),
        "{:?}",
        s.notifications(a.id, None, 9)
    );
    assert!(s.notification_ids(a.id, &[], all(40)).unwrap().is_empty());
    let both = s
        .notification_ids(a.id, &["follow", "mention"], all(40))
        .unwrap();
    assert_eq!(both, [mentions[0], follows[0]]);
    assert!(s.dismiss_notification(a.id, follows[0]).unwrap());
    assert!(
        !s.dismiss_notification(b.id, mentions[0]).unwrap(),
        "not bob's"
    );
    assert_eq!(s.clear_notifications(a.id).unwrap(), 1);
}

#[test]
fn markers_count_versions_and_refuse_other_timelines() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    s.set_marker(a.id, "home", 5, 10).unwrap();
    s.set_marker(a.id, "home", 9, 11).unwrap();
    s.set_marker(a.id, "notifications", 3, 12).unwrap();
    assert!(s.set_marker(a.id, "public", 1, 13).is_err());
    let m = s.markers(a.id).unwrap();
    assert_eq!(
        m.iter()
            .map(|m| (m.timeline.as_str(), m.last_read_id, m.version))
            .collect::<Vec<_>>(),
        [("home", 9, 2), ("notifications", 3, 1)]
    );
}

#[test]
fn lists_rename_and_name_their_members() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    s.follow(a.id, &b.address, 10, 5).unwrap();
    let l = s.create_list(a.id, "friends").unwrap();
    s.set_list_member(a.id, l, &b.address, true).unwrap();
    assert!(s.rename_list(a.id, l, "pals").unwrap());
    assert!(!s.rename_list(b.id, l, "mine").unwrap(), "not bob's list");
    assert!(s.rename_list(a.id, l, " ").is_err());
    assert_eq!(
        s.lists_holding(a.id, b.address.as_str()).unwrap(),
        [(l, "pals".to_string())]
    );
    let m = s.list_member_accounts(a.id, l, all(40)).unwrap().unwrap();
    assert_eq!(m[0].1, b.address.as_str());
    assert!(s.list_member_accounts(b.id, l, all(40)).unwrap().is_none());
}

#[test]
fn hashtags_by_prefix_most_used_first_with_like_characters_literal() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for t in ["#rust #rustlang", "#rustlang", "#ru_st"] {
        let body = Body::Post { text: t.into() };
        crate::store::messages::tests::post_as(&mut s, a.id, Audience::Public, body).unwrap();
    }
    assert_eq!(s.hashtags("Rust", 10).unwrap(), ["rustlang", "rust"]);
    assert_eq!(s.hashtags("ru_", 10).unwrap(), ["ru_st"]);
    assert!(s
        .hashtags(&"x".repeat(MAX_TAG_QUERY_BYTES + 1), 10)
        .is_err());
}
