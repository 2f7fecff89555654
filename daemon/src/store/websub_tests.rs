//! Tests of the WebSub hub's store: requests, verification, the delivery cursor, bounds, leases.

use super::*;
use crate::proto::{Address, Audience, Body};
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn post(s: &mut Store, user_id: i64, audience: Audience, text: &str) {
    let body = Body::Post { text: text.into() };
    crate::store::messages::tests::post_as(s, user_id, audience, body).unwrap();
}

const CB: &str = "https://sub.test/cb";

#[test]
fn a_verified_subscription_is_owed_only_public_posts_after_it_and_its_cursor_moves() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let author = a.address.as_str().to_string();
    post(&mut s, a.id, Audience::Public, "before");
    s.websub_request(&author, CB, "sub.test", Mode::Subscribe, Some(b"k"), 60, 10)
        .unwrap()
        .unwrap();
    let due = s.websub_due_intents(10, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].secret.as_deref(), Some(&b"k"[..]));
    assert!(
        s.websub_due_deliveries(10, 10).unwrap().is_empty(),
        "not yet verified"
    );
    s.websub_confirmed(&due[0], 1_000).unwrap();
    assert!(s.websub_due_intents(10_000, 10).unwrap().is_empty());
    assert!(
        s.websub_due_deliveries(1_000, 10).unwrap().is_empty(),
        "nothing new"
    );
    post(&mut s, a.id, Audience::Followers, "hidden");
    post(&mut s, a.id, Audience::Public, "after");
    let subs = s.websub_due_deliveries(1_000, 10).unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(
        subs[0].delivered_seq, 1,
        "starts at the newest post when verified"
    );
    let address = Address::parse(&author).unwrap();
    let posts = s
        .websub_posts_after(&address, subs[0].delivered_seq, 10)
        .unwrap();
    let texts: Vec<_> = posts.iter().filter_map(|p| p.text.clone()).collect();
    assert_eq!(texts, ["after"]);
    // a failure holds the cursor and waits; success moves it
    s.websub_delivery_failed(subs[0].id, 5_000).unwrap();
    assert!(s.websub_due_deliveries(1_000, 10).unwrap().is_empty());
    assert_eq!(s.websub_due_deliveries(5_000, 10).unwrap()[0].attempts, 1);
    s.websub_delivered(subs[0].id, 3).unwrap();
    assert!(s.websub_due_deliveries(5_000, 10).unwrap().is_empty());
    // the lease ends
    assert_eq!(s.websub_expire(60_999).unwrap(), 0);
    assert_eq!(s.websub_expire(61_000).unwrap(), 1);
    assert_eq!(s.websub_counts().unwrap(), (0, 0));
}

#[test]
fn a_renewal_keeps_the_cursor_and_an_unsubscribe_removes() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let author = a.address.as_str().to_string();
    s.websub_request(&author, CB, "sub.test", Mode::Subscribe, None, 60, 0)
        .unwrap()
        .unwrap();
    let i = s.websub_due_intents(0, 1).unwrap().remove(0);
    s.websub_confirmed(&i, 0).unwrap();
    post(&mut s, a.id, Audience::Public, "one");
    // renewed with a secret before the post went out: still owed, now signed
    s.websub_request(&author, CB, "sub.test", Mode::Subscribe, Some(b"s"), 600, 1)
        .unwrap()
        .unwrap();
    let i = s.websub_due_intents(1, 1).unwrap().remove(0);
    s.websub_confirmed(&i, 1).unwrap();
    let subs = s.websub_due_deliveries(1, 10).unwrap();
    assert_eq!(subs[0].delivered_seq, 0);
    assert_eq!(subs[0].secret.as_deref(), Some(&b"s"[..]));
    assert_eq!(s.websub_expire(599_000).unwrap(), 0, "the new lease counts");
    // an unsubscribe changes nothing until verified
    s.websub_request(&author, CB, "sub.test", Mode::Unsubscribe, None, 0, 2)
        .unwrap()
        .unwrap();
    assert_eq!(s.websub_counts().unwrap(), (1, 1));
    let i = s.websub_due_intents(2, 1).unwrap().remove(0);
    s.websub_confirmed(&i, 2).unwrap();
    assert_eq!(s.websub_counts().unwrap(), (0, 0));
}

#[test]
fn requests_are_bounded_per_callback_host_and_only_for_local_authors() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let author = a.address.as_str().to_string();
    for n in 0..MAX_PER_CALLBACK_HOST {
        let cb = format!("https://flood.test/{n}");
        s.websub_request(&author, &cb, "flood.test", Mode::Subscribe, None, 60, 0)
            .unwrap()
            .unwrap();
    }
    let over = s
        .websub_request(
            &author,
            "https://flood.test/x",
            "flood.test",
            Mode::Subscribe,
            None,
            60,
            0,
        )
        .unwrap();
    assert_eq!(over, Err(Full::CallbackHost));
    // the same callback again replaces its request; another host is still welcome
    s.websub_request(
        &author,
        "https://flood.test/0",
        "flood.test",
        Mode::Subscribe,
        None,
        9,
        0,
    )
    .unwrap()
    .unwrap();
    s.websub_request(&author, CB, "sub.test", Mode::Subscribe, None, 60, 0)
        .unwrap()
        .unwrap();
    assert_eq!(s.websub_counts().unwrap(), (0, MAX_PER_CALLBACK_HOST + 1));
    assert!(s
        .websub_request(
            "nobody@smith.family",
            CB,
            "sub.test",
            Mode::Subscribe,
            None,
            60,
            0
        )
        .is_err());
    // a give-up drops the request
    let i = s.websub_due_intents(0, 1).unwrap().remove(0);
    s.websub_intent_done(i.id).unwrap();
    assert_eq!(s.websub_counts().unwrap(), (0, MAX_PER_CALLBACK_HOST));
}
