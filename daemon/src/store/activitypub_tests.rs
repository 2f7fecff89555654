//! Tests of what the node keeps of the fediverse.

use super::*;
use crate::activitypub::actor_doc::RemoteActor;
use crate::proto::Address;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn bob(key: Option<(&str, &str)>) -> RemoteActor {
    RemoteActor {
        id: "https://peer.test/users/bob".into(),
        address: Address::parse("bob@peer.test").unwrap(),
        inbox: "https://peer.test/users/bob/inbox".into(),
        shared_inbox: Some("https://peer.test/inbox".into()),
        followers: None,
        name: "Bob".into(),
        key: key.map(|(k, p)| (k.to_string(), p.to_string())),
    }
}

#[test]
fn an_actor_keeps_its_key_when_refetched_without_one() {
    let (_d, mut s) = store_with_node();
    s.remember_actor(&bob(Some(("https://peer.test/users/bob#k", "PEM"))), 10)
        .unwrap();
    s.remember_actor(&bob(None), 20).unwrap();
    let a = s
        .actor_by_key("https://peer.test/users/bob#k")
        .unwrap()
        .unwrap();
    assert_eq!(
        a.key,
        Some(("https://peer.test/users/bob#k".into(), "PEM".into()))
    );
    assert_eq!(a.delivery_inbox, "https://peer.test/inbox");
    assert_eq!(a.fetched_ms, 20);
    assert_eq!(
        s.actor_by_address("bob@peer.test").unwrap(),
        Some(a.clone())
    );
    assert_eq!(s.actor_by_id(&a.id).unwrap(), Some(a));
    assert_eq!(
        s.actor_by_key("https://peer.test/users/eve#k").unwrap(),
        None
    );
}

#[test]
fn an_activity_is_taken_once_and_forgotten_after_the_signature_window() {
    let (_d, mut s) = store_with_node();
    let t = 1_000_000_000;
    assert!(s.first_sight("https://peer.test/a/1", t).unwrap());
    assert!(
        !s.first_sight("https://peer.test/a/1", t + 1).unwrap(),
        "a replay"
    );
    // another id, past the window: the first is forgotten (its signature is stale by now)
    assert!(s
        .first_sight("https://peer.test/a/2", t + SEEN_KEEP_MS + 1)
        .unwrap());
    assert!(s
        .first_sight("https://peer.test/a/1", t + SEEN_KEEP_MS + 2)
        .unwrap());
}

#[test]
fn queued_activities_come_due_fail_with_backoff_and_are_done() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    assert!(s
        .queue_activity(alice.id, "https://peer.test/inbox", b"{}", 100)
        .unwrap());
    assert_eq!(s.queued_activities().unwrap(), 1);
    let due = s.due_activities(100, 16).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].user_id, due[0].attempts), (alice.id, 0));
    s.activity_failed(due[0].id, 5000, "answered 503").unwrap();
    assert!(
        s.due_activities(4999, 16).unwrap().is_empty(),
        "not due before its retry"
    );
    assert_eq!(s.next_activity_due().unwrap(), Some(5000));
    let again = s.due_activities(5000, 16).unwrap();
    assert_eq!(again[0].attempts, 1);
    s.activity_done(again[0].id).unwrap();
    assert_eq!(s.queued_activities().unwrap(), 0);
    assert_eq!(s.next_activity_due().unwrap(), None);
}

#[test]
fn the_queue_refuses_past_its_bound() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    s.conn()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
             INSERT INTO ap_outbox(user_id, inbox, body, next_attempt_ms, created_ms)
             SELECT ?1, 'https://peer.test/inbox', x'7b7d', 0, 0 FROM n",
            rusqlite::params![alice.id, MAX_QUEUED],
        )
        .unwrap();
    assert!(!s
        .queue_activity(alice.id, "https://peer.test/inbox", b"{}", 1)
        .unwrap());
    assert_eq!(s.queued_activities().unwrap(), MAX_QUEUED as u64);
}

#[test]
fn the_instance_key_is_made_once() {
    let (_d, s) = store_with_node();
    let first = s.instance_rsa_key(|| Ok(vec![1, 2, 3])).unwrap();
    let second = s.instance_rsa_key(|| panic!("made twice")).unwrap();
    assert_eq!(first, second);
}
