//! Tests of locked accounts, follow requests and where followers-only messages go.

use super::*;
use crate::proto::{Audience, Body, Limits};
use crate::store::messages::{sign_own, store_message, PostView};
use crate::store::users::tests::store_with_node;
use crate::store::{NewPost, Role};

fn post(s: &mut Store, user_id: i64, audience: Audience, text: &str) {
    let tx = s.conn_mut().transaction().unwrap();
    let body = Body::Post { text: text.into() };
    let post = NewPost {
        user_id,
        audience,
        body,
    };
    let signed = sign_own(&tx, &post, 1000, &Limits::default()).unwrap();
    store_message(&tx, &signed, 1000).unwrap();
    tx.commit().unwrap();
}

fn texts(v: Vec<PostView>) -> Vec<String> {
    v.into_iter().filter_map(|p| p.text).collect()
}

/// Deliveries owed to `server` (by its cursors and by rows).
fn outbox_to(s: &Store, server: &str) -> i64 {
    s.owed_to(server, 1000).unwrap().entries.len() as i64
}

fn addr(a: &str) -> Address {
    Address::parse(a).unwrap()
}

#[test]
fn a_local_follower_of_a_locked_account_waits_for_approval() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("carol", Role::Member, "h", false, 1).unwrap();
    s.set_locked(a.id, true).unwrap();
    assert!(s.is_locked(a.id).unwrap());
    s.follow(b.id, &a.address, 50, 1).unwrap();
    s.follow(c.id, &a.address, 50, 1).unwrap();
    post(&mut s, a.id, Audience::Public, "hello all");
    post(&mut s, a.id, Audience::Followers, "friends only");
    assert_eq!(
        texts(s.posts_by(&a.address, Some(b.id), None, 50).unwrap()),
        ["hello all"],
        "pending: public posts only"
    );
    assert_eq!(
        texts(
            s.timeline(b.id, None, 50)
                .unwrap()
                .into_iter()
                .map(|e| e.post)
                .collect()
        ),
        ["hello all"],
        "nor in the timeline"
    );
    let waiting = s.follow_requests(&a.address).unwrap();
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|r| r.local));
    assert_eq!(
        s.unapproved_follows(b.id).unwrap().get(a.address.as_str()),
        Some(&"pending".to_string())
    );

    assert_eq!(
        s.decide_follow(&a.address, &b.address, true).unwrap(),
        Some(Decided::Local)
    );
    assert_eq!(
        texts(
            s.timeline(b.id, None, 50)
                .unwrap()
                .into_iter()
                .map(|e| e.post)
                .collect()
        ),
        ["friends only", "hello all"]
    );
    assert_eq!(
        s.decide_follow(&a.address, &c.address, false).unwrap(),
        Some(Decided::Local)
    );
    assert!(
        s.following(c.id).unwrap().is_empty(),
        "a refusal removes it"
    );
    assert_eq!(s.decide_follow(&a.address, &c.address, true).unwrap(), None);
    assert!(s.follow_requests(&a.address).unwrap().is_empty());

    // an account that does not require approval accepts at once
    s.set_locked(a.id, false).unwrap();
    s.follow(c.id, &a.address, 50, 1).unwrap();
    assert!(s.unapproved_follows(c.id).unwrap().is_empty());
}

#[test]
fn followers_only_posts_go_to_servers_with_an_accepted_follower() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for server in ["b.test", "c.test", "d.test"] {
        s.add_subscriber(&a.address, server, 1).unwrap();
    }
    let bob = addr("bob@b.test");
    assert_eq!(
        s.follow_request(&a.address, &bob, "b.test", 5).unwrap(),
        Some(FollowAnswerState::Accepted)
    );
    assert_eq!(
        s.follow_request(&a.address, &addr("eve@e.test"), "e.test", 5)
            .unwrap(),
        None,
        "a server that is not subscribed keeps nothing"
    );
    s.set_locked(a.id, true).unwrap();
    let dan = addr("dan@d.test");
    assert_eq!(
        s.follow_request(&a.address, &dan, "d.test", 5).unwrap(),
        Some(FollowAnswerState::Pending)
    );
    post(&mut s, a.id, Audience::Followers, "friends only");
    assert_eq!(outbox_to(&s, "b.test"), 1);
    assert_eq!(outbox_to(&s, "c.test"), 0, "nobody there follows");
    assert_eq!(outbox_to(&s, "d.test"), 0, "pending");
    post(&mut s, a.id, Audience::Public, "hello all");
    assert_eq!(
        outbox_to(&s, "c.test"),
        1,
        "public posts go to every server"
    );
    assert!(s.may_read_followers_only(&a.address, "b.test").unwrap());
    assert!(!s.may_read_followers_only(&a.address, "d.test").unwrap());

    assert_eq!(
        s.decide_follow(&a.address, &dan, true).unwrap(),
        Some(Decided::Remote("d.test".into()))
    );
    assert!(s.may_read_followers_only(&a.address, "d.test").unwrap());
    assert_eq!(
        s.remote_followers(&a.address).unwrap(),
        ["bob@b.test", "dan@d.test"]
    );

    // the last accepted follower of b.test leaves: what was queued for it goes too
    s.follow_undo(&a.address, &bob, "b.test").unwrap();
    assert!(!s.may_read_followers_only(&a.address, "b.test").unwrap());
    assert_eq!(outbox_to(&s, "b.test"), 1, "only the public post is left");
    post(&mut s, a.id, Audience::Followers, "friends again");
    assert_eq!(outbox_to(&s, "b.test"), 1);
    // what is owed is decided when the cursor passes a post: d.test's cursor is still before
    // the first followers-only post, which dan may now read
    assert_eq!(outbox_to(&s, "d.test"), 3);
    // an unsubscribed server forgets its followers
    s.remove_subscriber(&a.address, "d.test").unwrap();
    assert!(!s.may_read_followers_only(&a.address, "d.test").unwrap());
}

#[test]
fn requests_are_bounded_per_server_and_while_pending() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    s.add_subscriber(&a.address, "b.test", 1).unwrap();
    s.add_subscriber(&a.address, "c.test", 1).unwrap();
    s.set_locked(a.id, true).unwrap();
    for i in 0..MAX_PENDING {
        let f = addr(&format!("u{i}@b.test"));
        assert_eq!(
            s.follow_request(&a.address, &f, "b.test", 1).unwrap(),
            Some(FollowAnswerState::Pending)
        );
    }
    assert_eq!(
        s.follow_request(&a.address, &addr("x@c.test"), "c.test", 1)
            .unwrap(),
        Some(FollowAnswerState::Rejected),
        "too many waiting"
    );
    s.set_locked(a.id, false).unwrap();
    assert_eq!(
        s.follow_request(&a.address, &addr("x@b.test"), "b.test", 1)
            .unwrap(),
        Some(FollowAnswerState::Rejected),
        "too many from one server"
    );
    assert_eq!(
        s.follow_request(&a.address, &addr("x@c.test"), "c.test", 1)
            .unwrap(),
        Some(FollowAnswerState::Accepted)
    );
    let rows: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM remote_followers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, MAX_FOLLOWERS_PER_SERVER + 1);
}

#[test]
fn follows_and_subscribers_from_before_approvals_keep_their_access() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
        for (i, sql) in crate::store::schema::MIGRATIONS[..5].iter().enumerate() {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        c.execute_batch(
            "INSERT INTO authors(id, address, public_key) VALUES (1, 'carol@c.test', x'00');
             INSERT INTO users(id, name, role, password_hash, secret_key, created_ms)
                 VALUES (1, 'bob', 'member', 'h', x'00', 0);
             INSERT INTO authors(id, address, local_user) VALUES (2, 'bob@smith.family', 1);
             INSERT INTO follows(user_id, address, created_ms) VALUES (1, 'carol@c.test', 0);
             INSERT INTO subscribers(author_id, server, created_ms) VALUES (2, 'd.test', 0);",
        )
        .unwrap();
        c.pragma_update(None, "user_version", 5).unwrap();
    }
    let mut s = Store::open(dir.path()).unwrap();
    s.init_node("smith.family").unwrap();
    assert!(
        s.unapproved_follows(1).unwrap().is_empty(),
        "still accepted"
    );
    let bob = addr("bob@smith.family");
    assert!(s.may_read_followers_only(&bob, "d.test").unwrap());
    s.set_locked(1, true).unwrap();
    assert_eq!(
        s.follow_request(&bob, &addr("dan@d.test"), "d.test", 1)
            .unwrap(),
        Some(FollowAnswerState::Accepted),
        "a server that had access keeps it"
    );
    // a follow made now waits for the remote author's node
    s.follow(1, &addr("erin@e.test"), 0, 1).unwrap();
    assert_eq!(
        s.unapproved_follows(1).unwrap().get("erin@e.test"),
        Some(&"requested".to_string())
    );
}

#[test]
fn follower_side_answers_and_withheld_seqs() {
    let (_d, mut s) = store_with_node();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let carol = addr("carol@c.test");
    s.follow(b.id, &carol, 0, 1).unwrap();
    let key = crate::proto::NodeKey::from_bytes(&[3; 32])
        .unwrap()
        .public();
    s.subscription_active(&carol, &key, 4).unwrap();
    let ask = s.follows_to_ask(10, 10, 0, 8).unwrap();
    assert_eq!(ask, [(b.address.clone(), carol.clone())]);
    assert!(
        s.follows_to_ask(11, 9, 0, 8).unwrap().is_empty(),
        "asked a moment ago"
    );
    assert_eq!(
        s.follow_answered(&b.address, &carol, FollowAnswerState::Pending)
            .unwrap(),
        Some((b.id, "requested".into()))
    );
    assert_eq!(
        s.unapproved_follows(b.id).unwrap().get("carol@c.test"),
        Some(&"pending".to_string())
    );
    s.follow_answered(&b.address, &carol, FollowAnswerState::Accepted)
        .unwrap();
    assert!(s.unapproved_follows(b.id).unwrap().is_empty());
    assert_eq!(
        s.follow_answered(
            &addr("nobody@smith.family"),
            &carol,
            FollowAnswerState::Accepted
        )
        .unwrap(),
        None
    );

    s.skip_withheld(&carol, 7, 9).unwrap();
    assert_eq!(s.contiguous_seq(&carol).unwrap(), 4, "a gap before 7 stays");
    s.skip_withheld(&carol, 5, 9).unwrap();
    assert_eq!(s.contiguous_seq(&carol).unwrap(), 9);
}
