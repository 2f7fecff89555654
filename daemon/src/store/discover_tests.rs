//! Tests of the discover window: batches, pruning, deletes, paging, search and the writer job.

use super::*;
use crate::proto::{Limits, Message, NodeKey};
use crate::store::messages::store_message;
use crate::store::timeline::{MAX_QUERY_BYTES, MAX_SEARCH_OFFSET};
use crate::store::users::tests::store_with_node;
use crate::store::writer::PostWriter;

fn carol() -> Address {
    Address::parse("carol@c.test").unwrap()
}

fn post(seq: u64, text: &str) -> DiscoverPost {
    DiscoverPost {
        author: carol(),
        seq,
        time_ms: 1000 + seq,
        reply_to: None,
        text: text.into(),
        verified: false,
    }
}

fn batch(posts: Vec<DiscoverPost>, keep: usize) -> DiscoverBatch {
    DiscoverBatch {
        posts,
        deletes: vec![],
        keep,
    }
}

fn texts(entries: &[DiscoverEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.post.text.clone().unwrap_or_default())
        .collect()
}

fn signed(seq: u64, audience: Audience, body: Body) -> SignedMessage {
    Message {
        author: carol(),
        seq,
        time_ms: 5,
        audience,
        body,
    }
    .sign(&NodeKey::from_bytes(&[7; 32]).unwrap(), &Limits::default())
    .unwrap()
}

#[test]
fn only_public_posts_and_replies_go_in() {
    let text = |t: &str| Body::Post { text: t.into() };
    let p = DiscoverPost::from_signed(&signed(1, Audience::Public, text("hi")), true).unwrap();
    assert_eq!((p.seq, p.text.as_str(), p.verified), (1, "hi", true));
    let to = MessageId {
        author: Address::parse("dave@d.test").unwrap(),
        seq: 4,
    };
    let reply = Body::Reply {
        to: to.clone(),
        text: "re".into(),
    };
    let r = DiscoverPost::from_signed(&signed(2, Audience::Public, reply), false).unwrap();
    assert_eq!(r.reply_to, Some(to.clone()));
    for (audience, body) in [
        (Audience::Followers, text("private")),
        (Audience::Public, Body::Repost { of: to }),
        (Audience::Public, Body::Delete { target: 1 }),
        (
            Audience::Public,
            Body::Profile {
                display_name: "C".into(),
                bio: String::new(),
            },
        ),
    ] {
        assert!(DiscoverPost::from_signed(&signed(3, audience, body), false).is_none());
    }
}

#[test]
fn insert_ignores_duplicates_and_lists_newest_first() {
    let (_d, s) = store_with_node();
    let fresh = apply_batch(
        s.conn(),
        &batch(vec![post(1, "one"), post(2, "two")], 10),
        1,
    )
    .unwrap();
    assert_eq!(fresh, 2);
    let again = apply_batch(
        s.conn(),
        &batch(vec![post(2, "two"), post(3, "three")], 10),
        2,
    );
    assert_eq!(again.unwrap(), 1, "the duplicate is ignored");
    let page = s.discover(None, 50).unwrap();
    assert_eq!(texts(&page), ["three", "two", "one"]);
    let e = &page[0];
    assert_eq!(e.post.id, "carol@c.test/3");
    assert_eq!((e.via, e.verified), ("firehose", false));
    assert_eq!(
        (e.post.kind.as_str(), e.post.audience.as_str()),
        ("post", "public")
    );
    let json = serde_json::to_value(e).unwrap();
    assert_eq!(json["via"], "firehose");
    assert_eq!(json["cursor"], e.cursor);
    assert_eq!(json["author"], "carol@c.test");
}

#[test]
fn prune_keeps_the_newest() {
    let (_d, s) = store_with_node();
    let posts: Vec<_> = (1..=12).map(|i| post(i, &format!("p{i}"))).collect();
    assert_eq!(apply_batch(s.conn(), &batch(posts, 5), 1).unwrap(), 12);
    assert_eq!(s.discover_len().unwrap(), 5);
    assert_eq!(
        texts(&s.discover(None, 50).unwrap()),
        ["p12", "p11", "p10", "p9", "p8"]
    );
    apply_batch(s.conn(), &batch(vec![post(13, "p13")], 5), 2).unwrap();
    assert_eq!(
        texts(&s.discover(None, 50).unwrap()),
        ["p13", "p12", "p11", "p10", "p9"]
    );
    assert_eq!(prune(s.conn(), 0).unwrap(), 5, "keep 0 empties the window");
    assert_eq!(s.discover_len().unwrap(), 0);
    assert_eq!(
        s.search_discover("p13", 0, 10).unwrap(),
        [],
        "the index follows"
    );
}

#[test]
fn deletes_remove_their_post() {
    let (_d, s) = store_with_node();
    apply_batch(s.conn(), &batch(vec![post(1, "a"), post(2, "b")], 10), 1).unwrap();
    let b = DiscoverBatch {
        posts: vec![post(3, "c")],
        deletes: vec![MessageId {
            author: carol(),
            seq: 1,
        }],
        keep: 10,
    };
    apply_batch(s.conn(), &b, 2).unwrap();
    assert_eq!(texts(&s.discover(None, 50).unwrap()), ["c", "b"]);
    assert!(!delete(s.conn(), &carol(), 1).unwrap(), "already gone");
    assert!(s.search_discover("a", 0, 10).unwrap().is_empty());
}

#[test]
fn pages_by_cursor() {
    let (_d, s) = store_with_node();
    let posts: Vec<_> = (1..=7).map(|i| post(i, &format!("p{i}"))).collect();
    apply_batch(s.conn(), &batch(posts, 100), 1).unwrap();
    let first = s.discover(None, 3).unwrap();
    assert_eq!(texts(&first), ["p7", "p6", "p5"]);
    let second = s.discover(Some(first[2].cursor), 3).unwrap();
    assert_eq!(texts(&second), ["p4", "p3", "p2"]);
    let last = s.discover(Some(second[2].cursor), 3).unwrap();
    assert_eq!(texts(&last), ["p1"]);
}

#[test]
fn search_ranks_reads_any_text_and_refuses_what_is_out_of_bounds() {
    let (_d, s) = store_with_node();
    let posts = vec![
        post(1, "bicycles and more"),
        post(2, "bicycles bicycles bicycles"),
        post(3, "nothing here"),
    ];
    apply_batch(s.conn(), &batch(posts, 100), 1).unwrap();
    let found = s.search_discover("bicycles", 0, 10).unwrap();
    assert_eq!(
        texts(&found),
        ["bicycles bicycles bicycles", "bicycles and more"]
    );
    assert_eq!(s.search_discover("bicycles", 1, 10).unwrap().len(), 1);
    assert_eq!(texts(&s.search_discover("bicy*", 0, 1).unwrap()).len(), 1);
    // what FTS5 would call a syntax error is words (see `fts_query`); nothing to look for is
    // no match, not an error
    for (typed, hits) in [
        ("", 0),
        ("   ", 0),
        ("\"bicycles and", 1),
        ("nosuchcolumn: x", 0),
        ("AND", 1),
        ("bicycles:", 2),
    ] {
        assert_eq!(
            s.search_discover(typed, 0, 10).unwrap().len(),
            hits,
            "{typed:?}"
        );
    }
    assert!(matches!(
        s.search_discover(&"x".repeat(MAX_QUERY_BYTES + 1), 0, 10),
        Err(StoreError::BadQuery(_))
    ));
    assert!(matches!(
        s.search_discover("x", MAX_SEARCH_OFFSET + 1, 10),
        Err(StoreError::BadQuery(_))
    ));
}

#[test]
fn rows_also_stored_as_messages_show_only_there() {
    let (_d, s) = store_with_node();
    apply_batch(
        s.conn(),
        &batch(vec![post(1, "twice"), post(2, "once")], 10),
        1,
    )
    .unwrap();
    // Someone here follows carol now, and the firehose or a backfill stored post 1 verified.
    let m = signed(
        1,
        Audience::Public,
        Body::Post {
            text: "twice".into(),
        },
    );
    store_message(s.conn(), &m, 2).unwrap();
    assert_eq!(texts(&s.discover(None, 50).unwrap()), ["once"]);
    assert!(s.search_discover("twice", 0, 10).unwrap().is_empty());
    let all = s
        .search_scoped("twice", None, SearchScope::All, 0, 10)
        .unwrap();
    assert!(matches!(all.as_slice(), [SearchHit::Post(_)]), "{all:?}");
}

#[test]
fn scoped_search_pages_over_messages_then_discover() {
    let (_d, s) = store_with_node();
    for seq in 1..=3 {
        let m = signed(
            seq,
            Audience::Public,
            Body::Post {
                text: format!("kite m{seq}"),
            },
        );
        store_message(s.conn(), &m, 1).unwrap();
    }
    let dave = |seq: u64| DiscoverPost {
        author: Address::parse("dave@d.test").unwrap(),
        ..post(seq, &format!("kite d{seq}"))
    };
    apply_batch(s.conn(), &batch((1..=4).map(dave).collect(), 10), 1).unwrap();
    let kinds = |hits: &[SearchHit]| -> String {
        hits.iter()
            .map(|h| match h {
                SearchHit::Post(_) => 'm',
                SearchHit::Discover(_) => 'd',
            })
            .collect()
    };
    let page = |offset| {
        s.search_scoped("kite", None, SearchScope::All, offset, 2)
            .unwrap()
    };
    let pages: Vec<String> = [0, 2, 4, 6, 8].iter().map(|o| kinds(&page(*o))).collect();
    assert_eq!(pages, ["mm", "md", "dd", "d", ""]);
    let mut seen: Vec<String> = [0, 2, 4, 6]
        .iter()
        .flat_map(|o| page(*o))
        .map(|h| match h {
            SearchHit::Post(p) => p.id,
            SearchHit::Discover(d) => d.post.id,
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7, "every match once across the pages");
    let only = |scope| kinds(&s.search_scoped("kite", None, scope, 0, 10).unwrap());
    assert_eq!(only(SearchScope::Posts), "mmm");
    assert_eq!(only(SearchScope::Discover), "dddd");
}

#[test]
fn the_writer_applies_batches_and_received_deletes() {
    let (_d, s) = store_with_node();
    let writer = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let h = writer.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let posts: Vec<_> = (1..=4).map(|i| post(i, &format!("w{i}"))).collect();
    assert_eq!(rt.block_on(h.discover(batch(posts, 3))).unwrap(), 4);
    assert_eq!(texts(&s.discover(None, 50).unwrap()), ["w4", "w3", "w2"]);
    // A delete that reaches the node as a verified message also leaves the window.
    let del = signed(5, Audience::Public, Body::Delete { target: 3 });
    rt.block_on(h.receive(del)).unwrap();
    assert_eq!(texts(&s.discover(None, 50).unwrap()), ["w4", "w2"]);
    drop(h);
    writer.finish();
}
