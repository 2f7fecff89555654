//! Tests of follows, subscriptions, subscribers and the outbox.

use super::*;
use crate::proto::{Audience, Body, Limits, Message, NodeKey};
use crate::store::users::tests::store_with_node;
use crate::store::writer::PostWriter;
use crate::store::{NewPost, Role};

#[test]
fn follows_subscribe_once_per_remote_author() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let carol = Address::parse("carol@c.test").unwrap();
    assert_eq!(
        s.follow(a.id, &carol, 50, 1).unwrap(),
        FollowNeeds::Subscription
    );
    assert_eq!(
        s.follow(b.id, &carol, 50, 1).unwrap(),
        FollowNeeds::Nothing,
        "one subscription per author"
    );
    assert_eq!(
        s.follow(a.id, &b.address, 50, 1).unwrap(),
        FollowNeeds::Nothing,
        "local author"
    );
    assert_eq!(s.due_subscriptions(1, 10).unwrap().len(), 1);
    s.subscription_failed(&carol, "unreachable", 100).unwrap();
    assert!(s.due_subscriptions(99, 10).unwrap().is_empty());
    let key = NodeKey::from_bytes(&[3; 32]).unwrap().public();
    s.subscription_active(&carol, &key, 40).unwrap();
    assert_eq!(s.author_key(&carol).unwrap(), Some(key));
    assert_eq!(
        s.contiguous_seq(&carol).unwrap(),
        40,
        "older history is skipped"
    );
    assert_eq!(s.subscribed_domains().unwrap(), ["c.test"]);
    assert!(!s.unfollow(a.id, &carol).unwrap(), "bob still follows");
    assert!(s.unfollow(b.id, &carol).unwrap(), "last follower gone");
    assert!(matches!(
        s.unfollow(b.id, &carol),
        Err(StoreError::NotFollowing(_))
    ));
}

#[test]
fn outbox_gets_one_row_per_server_and_drains_on_ack() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    assert!(s.add_subscriber(&a.address, "b.test", 1).unwrap().is_some());
    assert!(
        s.add_subscriber(&a.address, "b.test", 1).unwrap().is_some(),
        "idempotent"
    );
    s.add_subscriber(&a.address, "c.test", 1).unwrap();
    assert!(s
        .add_subscriber(&Address::parse("nobody@smith.family").unwrap(), "b.test", 1)
        .unwrap()
        .is_none());
    let w = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let h = w.handle();
    for i in 0..3 {
        h.post(
            NewPost {
                user_id: a.id,
                audience: Audience::Public,
                body: Body::Post {
                    text: format!("p{i}"),
                },
            },
            Limits::default(),
        )
        .unwrap();
    }
    drop(h);
    w.finish();
    assert_eq!(s.outbox_len().unwrap(), 6, "3 posts x 2 servers");
    let rows: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows, 0,
        "a post writes nothing per server: cursors say what is owed"
    );
    let mut servers = s.owed_servers().unwrap();
    servers.sort();
    assert_eq!(servers, ["b.test", "c.test"]);
    let owed = s.owed_to("b.test", 10).unwrap();
    assert!(owed.complete);
    assert_eq!(
        owed.entries.iter().map(|(e, _)| e.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(owed.subscriptions[0].acked, 0);
    assert_eq!(owed.subscriptions[0].covered, 3);
    let paged = s.owed_to("b.test", 2).unwrap();
    assert!(!paged.complete, "more is owed than one page");
    // b.test acknowledged seq 1
    crate::store::outbox::store_cursors(s.conn(), "b.test", &[(a.address.as_str().into(), 1)], &[])
        .unwrap();
    assert_eq!(
        s.owed_to("b.test", 10)
            .unwrap()
            .entries
            .iter()
            .map(|(e, _)| e.seq)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(s.outbox_oldest_ms().unwrap().is_some());
    s.remove_subscriber(&a.address, "c.test").unwrap();
    assert_eq!(
        s.outbox_len().unwrap(),
        2,
        "c.test's deliveries dropped with its subscription"
    );
    let now = crate::now_ms() + 1;
    assert_eq!(
        s.expire_outbox(now + 1).unwrap(),
        [("b.test".to_string(), 2)]
    );
    assert_eq!(s.outbox_len().unwrap(), 0);
    assert!(s.owed_servers().unwrap().is_empty());
    assert_eq!(s.outbox_oldest_ms().unwrap(), None);
}

#[test]
fn ranges_respect_audience() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let w = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let h = w.handle();
    for aud in [Audience::Public, Audience::Followers, Audience::Public] {
        h.post(
            NewPost {
                user_id: a.id,
                audience: aud,
                body: Body::Post { text: "x".into() },
            },
            Limits::default(),
        )
        .unwrap();
    }
    drop(h);
    w.finish();
    assert_eq!(
        s.message_range(&a.address, 1, 3, 10, false).unwrap().len(),
        2
    );
    assert_eq!(
        s.message_range(&a.address, 1, 3, 10, true).unwrap().len(),
        3
    );
    assert_eq!(s.message_range(&a.address, 2, 9, 1, true).unwrap().len(), 1);
    let k = NodeKey::from_bytes(&[8; 32]).unwrap();
    let remote = Message {
        author: Address::parse("r@r.test").unwrap(),
        seq: 1,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Post { text: "y".into() },
    };
    s.receive_message(
        &remote
            .clone()
            .sign(&k, &Limits::default())
            .unwrap()
            .encode(),
        &k.public(),
        &Limits::default(),
        1,
    )
    .unwrap();
    assert!(
        s.message_range(&remote.author, 1, 1, 10, true)
            .unwrap()
            .is_empty(),
        "only local authors are served"
    );
}

#[test]
fn peer_keys_are_remembered() {
    let (_d, mut s) = store_with_node();
    let k = NodeKey::from_bytes(&[9; 32]).unwrap().public();
    assert_eq!(s.peer_key("b.test").unwrap(), None);
    s.remember_peer("b.test", &"127.0.0.1:7450".parse().unwrap(), &k, 5)
        .unwrap();
    assert_eq!(s.peer_key("b.test").unwrap(), Some(k));
}

/// `n` public posts by `user_id`, through the writer (which queues the outbox rows).
fn posts(s: &Store, user_id: i64, n: usize) {
    let w = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let h = w.handle();
    for i in 0..n {
        h.post(
            NewPost {
                user_id,
                audience: Audience::Public,
                body: Body::Post {
                    text: format!("post {i} {}", "x".repeat(100)),
                },
            },
            Limits::default(),
        )
        .unwrap();
    }
    drop(h);
    w.finish();
}

/// The seqs a backfill of `from..=to` would send (what the outbox owes `owed_to` is left to it)
fn page_seqs(s: &Store, author: &Address, owed_to: Option<&str>, from: u64, to: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut next = Some(from);
    while let Some(f) = next {
        let p = s.backfill_page(author, owed_to, f, to, 300, false).unwrap();
        assert!(!p.messages.is_empty() || p.next.is_none());
        for m in p.messages.into_iter().filter(|m| !m.owed) {
            let d = crate::proto::SignedMessage::decode(&m.wire, &Limits::default()).unwrap();
            assert_eq!(d.message.seq, m.seq);
            out.push(m.seq);
        }
        next = p.next;
    }
    out
}

/// Issue 12 item 19: after a follower restarts, a newer post reaches it before the older
/// deliveries waiting for their retry; it asks for a backfill of the gap. The backfill must not
/// send what the outbox owes (the retry would send it again): it leaves those to the outbox
/// and makes them due now, so each message goes out once.
#[test]
fn a_backfill_leaves_what_the_outbox_owes_to_the_outbox() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    posts(&s, a.id, 4);
    assert!(s.add_subscriber(&a.address, "b.test", 1).unwrap().is_some());
    posts(&s, a.id, 6); // seqs 5..=10 owed to b.test
                        // seq 10 was delivered (and acked) first, 5..=9 wait for a retry: the cursor stays at 4
    let owed = s.owed_to("b.test", 100).unwrap();
    assert_eq!(owed.subscriptions[0].acked, 4);
    assert_eq!(owed.entries.len(), 6);
    // the follower saw 10, asks 1..=9: the page skips 5..=9 (owed), the outbox sends them
    let served = page_seqs(&s, &a.address, Some("b.test"), 1, 9);
    assert_eq!(served, [1, 2, 3, 4], "owed seqs are the outbox's to send");
    let due = s.owed_seqs(&a.address, "b.test", 1, 9).unwrap();
    assert_eq!(due, [5, 6, 7, 8, 9], "the outbox sends them, once");
    // no seq goes by both paths
    assert!(served.iter().all(|q| !due.contains(q)));
    // an unverified asker (no owed_to) gets the whole public range, paged
    assert_eq!(
        page_seqs(&s, &a.address, None, 1, 10),
        (1..=10).collect::<Vec<_>>()
    );
    let p = s.backfill_page(&a.address, None, 1, 10, 1, false).unwrap();
    assert_eq!(
        (p.messages.len(), p.next),
        (1, Some(2)),
        "a page holds one at least"
    );
}

#[test]
fn subscribers_are_capped_in_all_and_per_server() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let kept = |r: Subscribing| matches!(r, Subscribing::Kept(..));
    assert!(kept(
        s.add_subscriber_within(&a.address, "x.test", 1, 2).unwrap()
    ));
    assert!(
        kept(s.add_subscriber_within(&a.address, "x.test", 1, 2).unwrap()),
        "idempotent"
    );
    assert!(kept(
        s.add_subscriber_within(&b.address, "y.test", 1, 2).unwrap()
    ));
    assert_eq!(
        s.add_subscriber_within(&a.address, "z.test", 1, 2).unwrap(),
        Subscribing::Full
    );
    assert_eq!(
        s.add_subscriber_within(&b.address, "x.test", 1, 2).unwrap(),
        Subscribing::Full
    );
    assert!(
        kept(s.add_subscriber_within(&a.address, "x.test", 1, 2).unwrap()),
        "an existing row is kept at the cap"
    );
    assert_eq!(s.subscriber_count().unwrap(), 2);
    let nobody = Address::parse("nobody@smith.family").unwrap();
    assert_eq!(
        s.add_subscriber_within(&nobody, "x.test", 1, 9).unwrap(),
        Subscribing::NoSuchUser
    );
}
