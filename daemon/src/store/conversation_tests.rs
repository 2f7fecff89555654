//! Tests of what stored messages mean for the conversation: deliveries to addressed servers,
//! counts, edits, tags and notifications.

use super::*;
use crate::proto::{Audience, Limits, Message, MessageId, NodeKey};
use crate::store::messages::store_message;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn publish(s: &mut Store, user_id: i64, audience: Audience, body: Body) -> SignedMessage {
    crate::store::messages::tests::post_as(s, user_id, audience, body).unwrap()
}

fn outbox(s: &Store) -> Vec<(String, i64)> {
    let mut st = s
        .conn()
        .prepare("SELECT o.server, m.seq FROM outbox o JOIN messages m ON m.id = o.message_id ORDER BY o.id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn remote(seq: u64, author: &str, body: Body) -> SignedMessage {
    Message {
        author: Address::parse(author).unwrap(),
        seq,
        time_ms: 500 + seq,
        audience: Audience::Public,
        body,
    }
    .sign(&NodeKey::from_bytes(&[7; 32]).unwrap(), &Limits::default())
    .unwrap()
}

#[test]
fn likes_replies_mentions_and_their_undo_go_to_the_addressed_servers_only() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let carol_post = MessageId {
        author: Address::parse("carol@c.test").unwrap(),
        seq: 4,
    };
    let mentions: crate::proto::message::Mentions = [Address::parse("bob@b.test").unwrap()]
        .into_iter()
        .collect();
    publish(
        &mut s,
        a.id,
        Audience::Public,
        Body::Note {
            text: "hi @bob@b.test".into(),
            summary: String::new(),
            reply_to: None,
            mentions,
        },
    );
    publish(
        &mut s,
        a.id,
        Audience::Public,
        Body::Like {
            of: carol_post.clone(),
        },
    );
    publish(&mut s, a.id, Audience::Public, Body::Delete { target: 2 });
    publish(
        &mut s,
        a.id,
        Audience::Public,
        Body::Post {
            text: "plain".into(),
        },
    );
    assert_eq!(
        outbox(&s),
        [
            ("b.test".into(), 1),
            ("c.test".into(), 2),
            ("c.test".into(), 3)
        ],
        "nobody subscribes: only the addressed servers get anything"
    );
}

#[test]
fn a_remote_like_is_counted_and_its_delete_uncounts_it_and_its_notification() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    publish(
        &mut s,
        a.id,
        Audience::Public,
        Body::Post {
            text: "mine".into(),
        },
    );
    let of = MessageId {
        author: a.address.clone(),
        seq: 1,
    };
    let like = remote(2, "bob@b.test", Body::Like { of: of.clone() });
    assert!(s.addressed_here(&like.message).unwrap());
    let tx = s.conn_mut().transaction().unwrap();
    store_message(&tx, &like, 2000).unwrap();
    tx.commit().unwrap();
    let count = |s: &Store| {
        s.thread(&of.author, 1, Some(a.id))
            .unwrap()
            .0
            .unwrap()
            .likes
    };
    assert_eq!(count(&s), 1);
    assert_eq!(s.notifications(a.id, None, 10).unwrap()[0].kind, "like");
    let undo = remote(3, "bob@b.test", Body::Delete { target: 2 });
    assert!(
        s.addressed_here(&undo.message).unwrap(),
        "the like is held here"
    );
    let tx = s.conn_mut().transaction().unwrap();
    store_message(&tx, &undo, 3000).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&s), 0);
    assert!(s.notifications(a.id, None, 10).unwrap().is_empty());
    let stranger = remote(
        1,
        "eve@e.test",
        Body::Post {
            text: "spam".into(),
        },
    );
    assert!(!s.addressed_here(&stranger.message).unwrap());
}

#[test]
fn a_local_follow_is_noted_for_the_author_unless_turned_off() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("ann", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("cid", Role::Member, "h", false, 1).unwrap();
    s.follow(b.id, &a.address, 10, 5).unwrap();
    let n = s.notifications(a.id, None, 10).unwrap();
    assert_eq!(
        (n[0].kind.as_str(), n[0].actor.as_str()),
        ("follow", b.address.as_str())
    );
    s.set_notification_settings(
        a.id,
        &NotificationSettings {
            off: vec!["follow".into()],
            only_followed: false,
        },
    )
    .unwrap();
    s.follow(c.id, &a.address, 10, 6).unwrap();
    assert_eq!(s.notifications(a.id, None, 10).unwrap().len(), 1);
    assert_eq!(s.unread_notifications(a.id).unwrap(), 1);
    assert_eq!(s.mark_notifications_read(a.id, i64::MAX).unwrap(), 1);
    assert_eq!(s.unread_notifications(a.id).unwrap(), 0);
}

#[test]
fn no_notification_from_a_muted_person() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    publish(
        &mut s,
        a.id,
        Audience::Public,
        Body::Post {
            text: "mine".into(),
        },
    );
    let bob = Address::parse("bob@b.test").unwrap();
    s.conn()
        .execute(
            "INSERT INTO relations(user_id, target, kind, created_ms) VALUES (?1, ?2, 'mute', 1)",
            params![a.id, bob.as_str()],
        )
        .unwrap();
    let of = MessageId {
        author: a.address.clone(),
        seq: 1,
    };
    let tx = s.conn_mut().transaction().unwrap();
    store_message(&tx, &remote(1, "bob@b.test", Body::Like { of }), 2000).unwrap();
    tx.commit().unwrap();
    assert!(s.notifications(a.id, None, 10).unwrap().is_empty());
}
