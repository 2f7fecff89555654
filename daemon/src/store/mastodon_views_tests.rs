//! Tests of the Mastodon views: timeline pages with their bounds and visibility, accounts'
//! numbers, and idempotency keys.

use super::*;
use crate::proto::{Audience, Body, Limits, Message, MessageId, NodeKey};
use crate::store::messages::store_message;
use crate::store::messages::tests::post_as;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn post(s: &mut Store, user_id: i64, audience: Audience, text: &str) -> i64 {
    let signed = post_as(s, user_id, audience, Body::Post { text: text.into() }).unwrap();
    s.message_id_of(&signed.message.author, signed.message.seq)
        .unwrap()
        .unwrap()
}

/// Stores a public post of carol@c.test (another node).
fn remote_post(s: &mut Store, seq: u64, text: &str) -> i64 {
    let signed = Message {
        author: Address::parse("carol@c.test").unwrap(),
        seq,
        time_ms: 500 + seq,
        audience: Audience::Public,
        body: Body::Post { text: text.into() },
    }
    .sign(&NodeKey::from_bytes(&[7; 32]).unwrap(), &Limits::default())
    .unwrap();
    let tx = s.conn_mut().transaction().unwrap();
    store_message(&tx, &signed, 1000).unwrap();
    tx.commit().unwrap();
    s.message_id_of(&signed.message.author, seq)
        .unwrap()
        .unwrap()
}

fn all(limit: u32) -> Bounds {
    Bounds {
        below: i64::MAX,
        above: 0,
        oldest_first: false,
        limit,
        only_media: false,
    }
}

fn cursors(e: &[Entry]) -> Vec<i64> {
    e.iter().map(|e| e.cursor).collect()
}

#[test]
fn pages_take_the_newest_below_or_the_oldest_above() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let ids: Vec<i64> = (0..5)
        .map(|i| post(&mut s, a.id, Audience::Public, &format!("p{i}")))
        .collect();
    let me = Some(a.id);
    let page = s.feed_page(&Feed::Home, me, all(2)).unwrap();
    assert_eq!(cursors(&page), [ids[4], ids[3]]);
    let below = Bounds {
        below: ids[3],
        ..all(2)
    };
    assert_eq!(
        cursors(&s.feed_page(&Feed::Home, me, below).unwrap()),
        [ids[2], ids[1]]
    );
    let since = Bounds {
        above: ids[0],
        ..all(2)
    };
    assert_eq!(
        cursors(&s.feed_page(&Feed::Home, me, since).unwrap()),
        [ids[4], ids[3]]
    );
    let min = Bounds {
        oldest_first: true,
        ..since
    };
    assert_eq!(
        cursors(&s.feed_page(&Feed::Home, me, min).unwrap()),
        [ids[2], ids[1]],
        "min_id: the oldest above, answered newest first"
    );
}

#[test]
fn public_feeds_split_local_and_remote_and_keep_followers_posts_out() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let public = post(&mut s, a.id, Audience::Public, "for all");
    let friends = post(&mut s, a.id, Audience::Followers, "for friends");
    let far = remote_post(&mut s, 1, "from afar");
    let feed = |local| Feed::Public { local };
    assert_eq!(
        cursors(&s.feed_page(&feed(None), None, all(10)).unwrap()),
        [far, public]
    );
    assert_eq!(
        cursors(&s.feed_page(&feed(Some(true)), Some(b.id), all(10)).unwrap()),
        [public]
    );
    assert_eq!(
        cursors(&s.feed_page(&feed(Some(false)), None, all(10)).unwrap()),
        [far]
    );
    // the author sees her followers-only post on her own page, bob does not
    let author = Feed::Author {
        address: a.address.to_string(),
        exclude_replies: false,
        exclude_reblogs: false,
    };
    assert_eq!(
        cursors(&s.feed_page(&author, Some(a.id), all(10)).unwrap()),
        [friends, public]
    );
    assert_eq!(
        cursors(&s.feed_page(&author, Some(b.id), all(10)).unwrap()),
        [public]
    );
    assert_eq!(s.status_entry(friends, Some(b.id)).unwrap(), None);
    assert!(s.status_entry(friends, Some(a.id)).unwrap().is_some());
}

#[test]
fn bookmarks_favourites_and_reposts_in_feeds() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let one = post(&mut s, a.id, Audience::Public, "one");
    let two = post(&mut s, a.id, Audience::Public, "two");
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
    let repost = post_as(&mut s, b.id, Audience::Public, Body::Repost { of }).unwrap();
    s.bookmark(b.id, &a.address, 2, 5).unwrap();
    assert_eq!(
        cursors(&s.feed_page(&Feed::Favourites, Some(b.id), all(10)).unwrap()),
        [one]
    );
    assert!(s
        .feed_page(&Feed::Favourites, Some(a.id), all(10))
        .unwrap()
        .is_empty());
    assert_eq!(
        cursors(&s.feed_page(&Feed::Bookmarks, Some(b.id), all(10)).unwrap()),
        [two]
    );
    let bob = |exclude_reblogs| Feed::Author {
        address: b.address.to_string(),
        exclude_replies: false,
        exclude_reblogs,
    };
    let page = s.feed_page(&bob(false), None, all(10)).unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].post.seq, repost.message.seq);
    assert!(s.feed_page(&bob(true), None, all(10)).unwrap().is_empty());
    assert_eq!(
        s.acted_by(&s.status_entry(one, None).unwrap().unwrap(), "like", 10)
            .unwrap(),
        [b.address.to_string()]
    );
    let row = s.account_row(b.address.as_str()).unwrap().unwrap();
    assert_eq!(
        (row.statuses, row.local),
        (1, true),
        "the repost, not the like"
    );
    let row = s.account_row(a.address.as_str()).unwrap().unwrap();
    assert_eq!(row.statuses, 2);
    post_as(&mut s, a.id, Audience::Public, Body::Delete { target: 2 }).unwrap();
    let row = s.account_row(a.address.as_str()).unwrap().unwrap();
    assert_eq!(row.statuses, 1, "a deleted post is not counted");
    assert_eq!(row.last_status_ms, Some(1000));
}

#[test]
fn idempotency_keys_last_their_time() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let key = [3u8; 32];
    assert_eq!(s.idempotent_status(a.id, &key, 1000, 100).unwrap(), None);
    s.remember_idempotency(a.id, &key, 42, 1000, 100).unwrap();
    assert_eq!(
        s.idempotent_status(a.id, &key, 1050, 100).unwrap(),
        Some(42)
    );
    assert_eq!(s.idempotent_status(a.id, &key, 1100, 100).unwrap(), None);
    assert_eq!(
        s.idempotent_status(a.id + 1, &key, 1050, 100).unwrap(),
        None,
        "another person's key"
    );
}
