//! Tests of bookmarks and lists.

use super::*;
use crate::proto::{Audience, Body};
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn post(s: &mut Store, user_id: i64, audience: Audience, text: &str) {
    let body = Body::Post { text: text.into() };
    crate::store::messages::tests::post_as(s, user_id, audience, body).unwrap();
}

fn texts(e: &[Entry]) -> Vec<String> {
    e.iter().filter_map(|e| e.post.text.clone()).collect()
}

#[test]
fn bookmarks_are_private_once_each_and_follow_visibility() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    post(&mut s, b.id, Audience::Public, "public one");
    post(&mut s, b.id, Audience::Followers, "for followers");
    assert!(s.bookmark(a.id, &b.address, 1, 5).unwrap());
    assert!(!s.bookmark(a.id, &b.address, 1, 6).unwrap(), "once");
    assert!(s.bookmark(a.id, &b.address, 2, 7).unwrap());
    assert_eq!(
        texts(&s.bookmarks(a.id, None, 10).unwrap()),
        ["public one"],
        "not a follower"
    );
    assert!(
        s.bookmarks(b.id, None, 10).unwrap().is_empty(),
        "alice's own"
    );
    assert!(matches!(
        s.bookmark(a.id, &b.address, 9, 8),
        Err(StoreError::Invalid(_))
    ));
    assert!(s.unbookmark(a.id, &b.address, 1).unwrap());
    assert!(!s.unbookmark(a.id, &b.address, 1).unwrap());
}

#[test]
fn a_list_is_a_timeline_of_its_members_and_only_its_owner_sees_it() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("cid", Role::Member, "h", false, 1).unwrap();
    s.follow(a.id, &b.address, 10, 1).unwrap();
    s.follow(a.id, &c.address, 10, 1).unwrap();
    post(&mut s, b.id, Audience::Public, "from bob");
    post(&mut s, c.id, Audience::Public, "from cid");
    let l = s.create_list(a.id, " garden ").unwrap();
    assert!(s.set_list_member(a.id, l, &b.address, true).unwrap());
    assert_eq!(
        texts(&s.list_timeline(a.id, l, None, 10).unwrap()),
        ["from bob"]
    );
    assert_eq!(s.lists(a.id).unwrap()[0].title, "garden");
    assert_eq!(s.lists(a.id).unwrap()[0].members, [b.address.to_string()]);
    let stranger = crate::proto::Address::parse("zed@z.test").unwrap();
    assert!(matches!(
        s.set_list_member(a.id, l, &stranger, true),
        Err(StoreError::NotFollowing(_))
    ));
    assert!(matches!(
        s.list_timeline(b.id, l, None, 10),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.create_list(a.id, ""),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.create_list(a.id, &"x".repeat(MAX_LIST_TITLE + 1)),
        Err(StoreError::Invalid(_))
    ));
    assert!(!s.delete_list(b.id, l).unwrap(), "not bob's");
    assert!(s.delete_list(a.id, l).unwrap());
    assert!(s.lists(a.id).unwrap().is_empty());
}
