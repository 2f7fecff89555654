//! Tests of storing, reading and the group-commit writer.

use super::*;
use crate::proto::{MessageId, NodeKey, ProtoError};
use crate::store::users::tests::store_with_node;
use crate::store::writer::PostWriter;
use crate::store::Role;

fn text(t: &str) -> Body {
    Body::Post { text: t.into() }
}

/// Public post `seq` of `bob@b.test` (a remote author), signed with his key.
/// bob's contiguous seq as stored.
fn bobs_last_seq(s: &Store) -> i64 {
    s.conn()
        .query_row(
            "SELECT last_seq FROM authors WHERE address = 'bob@b.test'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn bobs_post(seq: u64) -> SignedMessage {
    Message {
        author: Address::parse("bob@b.test").unwrap(),
        seq,
        time_ms: 5,
        audience: Audience::Public,
        body: text("x"),
    }
    .sign(&NodeKey::from_bytes(&[9; 32]).unwrap(), &Limits::default())
    .unwrap()
}

pub(crate) fn post_as(
    s: &mut Store,
    user_id: i64,
    audience: Audience,
    body: Body,
) -> Result<SignedMessage, StoreError> {
    let tx = s.conn_mut().transaction()?;
    let signed = sign_own(
        &tx,
        &NewPost {
            user_id,
            audience,
            body,
        },
        1000,
        &Limits::default(),
    )?;
    store_message(&tx, &signed, 1000)?;
    tx.commit()?;
    Ok(signed)
}

#[test]
fn seqs_count_from_one_and_signatures_verify() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for i in 1..=3 {
        let m = post_as(&mut s, a.id, Audience::Public, text(&format!("post {i}"))).unwrap();
        assert_eq!(m.message.seq, i);
        m.verify(&a.public_key).unwrap();
    }
    assert_eq!(s.stored_seqs(&a.address).unwrap(), [1, 2, 3]);
    let wire = s.message_wire(&a.address, 2).unwrap().unwrap();
    let back = SignedMessage::decode(&wire, &Limits::default()).unwrap();
    assert_eq!(back.message.body.text(), Some("post 2"));
}

#[test]
fn duplicates_are_stored_once_and_gaps_hold_the_contiguous_seq() {
    let (_d, s) = store_with_node();
    let msg = bobs_post;
    assert!(store_message(s.conn(), &msg(1), 1).unwrap());
    assert!(!store_message(s.conn(), &msg(1), 2).unwrap(), "duplicate");
    assert!(store_message(s.conn(), &msg(3), 3).unwrap());
    assert_eq!(bobs_last_seq(&s), 1);
    assert!(store_message(s.conn(), &msg(2), 4).unwrap());
    assert_eq!(
        bobs_last_seq(&s),
        3,
        "filling the gap advances over what came after it"
    );
    // a longer run stored beyond a gap, out of order, is walked once the gap is filled
    assert!(store_message(s.conn(), &msg(6), 5).unwrap());
    assert!(store_message(s.conn(), &msg(5), 6).unwrap());
    assert_eq!(bobs_last_seq(&s), 3, "4 is missing");
    assert!(store_message(s.conn(), &msg(4), 7).unwrap());
    assert_eq!(bobs_last_seq(&s), 6);
    assert!(store_message(s.conn(), &msg(7), 8).unwrap());
    assert_eq!(
        bobs_last_seq(&s),
        7,
        "the next one in order extends the run"
    );
}

#[test]
fn visibility_deletes_and_timelines() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    let c = s.add_user("carol", Role::Member, "h", false, 1).unwrap();
    s.conn()
        .execute("INSERT INTO follows(user_id, address, created_ms) VALUES (?1, 'alice@smith.family', 0)", [b.id])
        .unwrap();
    post_as(&mut s, a.id, Audience::Public, text("hello all")).unwrap();
    post_as(&mut s, a.id, Audience::Followers, text("friends only")).unwrap();
    let reply_to = MessageId {
        author: a.address.clone(),
        seq: 1,
    };
    post_as(
        &mut s,
        c.id,
        Audience::Public,
        Body::Reply {
            to: reply_to,
            text: "hi alice".into(),
        },
    )
    .unwrap();

    let texts = |v: Vec<PostView>| v.into_iter().filter_map(|p| p.text).collect::<Vec<_>>();
    assert_eq!(
        texts(s.posts_by(&a.address, None, None, 50).unwrap()),
        ["hello all"]
    );
    assert_eq!(
        texts(s.posts_by(&a.address, Some(c.id), None, 50).unwrap()),
        ["hello all"]
    );
    assert_eq!(
        texts(s.posts_by(&a.address, Some(b.id), None, 50).unwrap()),
        ["friends only", "hello all"]
    );
    assert_eq!(
        texts(s.posts_by(&a.address, Some(a.id), Some(2), 50).unwrap()),
        ["hello all"]
    );
    let reply = &s.posts_by(&c.address, None, None, 50).unwrap()[0];
    assert_eq!(reply.refers_to.as_deref(), Some("alice@smith.family/1"));

    let in_timeline = |s: &Store, uid: i64| -> i64 {
        s.conn()
            .query_row(
                "SELECT count(*) FROM timeline WHERE user_id = ?1",
                [uid],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(in_timeline(&s, a.id), 2);
    assert_eq!(in_timeline(&s, b.id), 2, "bob follows alice");
    assert_eq!(in_timeline(&s, c.id), 1, "carol's own reply");

    post_as(&mut s, a.id, Audience::Public, Body::Delete { target: 1 }).unwrap();
    assert!(texts(s.posts_by(&a.address, None, None, 50).unwrap()).is_empty());
    let hits: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'hello'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 0, "a deleted post leaves the search index");
    let hits: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'friends'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 1);
}

#[test]
fn bad_post_changes_nothing() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let long = "x".repeat(Limits::default().max_text + 1);
    assert!(matches!(
        post_as(&mut s, a.id, Audience::Public, text(&long)),
        Err(StoreError::Proto(_))
    ));
    assert!(post_as(&mut s, 999, Audience::Public, text("who")).is_err());
    assert_eq!(s.message_count().unwrap(), 0);
    assert_eq!(
        post_as(&mut s, a.id, Audience::Public, text("ok"))
            .unwrap()
            .message
            .seq,
        1
    );
}

#[test]
fn writer_batches_concurrent_posts_without_gaps() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let writer = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let h = writer.handle();
            let uid = a.id;
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for i in 0..25 {
                    let body = if i == 7 {
                        text("")
                    } else {
                        text(&format!("t{t} p{i}"))
                    };
                    match h.post(
                        NewPost {
                            user_id: uid,
                            audience: Audience::Public,
                            body,
                        },
                        Limits::default(),
                    ) {
                        Ok(v) => seqs.push(v.seq),
                        Err(e) => assert!(matches!(e, StoreError::Proto(_)), "{e}"),
                    }
                }
                seqs
            })
        })
        .collect();
    let mut acked: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    writer.finish();
    acked.sort();
    assert_eq!(
        acked,
        (1..=8 * 24).collect::<Vec<_>>(),
        "every ack is a distinct seq, none skipped"
    );
    assert_eq!(s.stored_seqs(&a.address).unwrap(), acked);
}

#[test]
fn received_messages_are_verified_before_anything_is_stored() {
    let (_d, mut s) = store_with_node();
    let k = NodeKey::from_bytes(&[5; 32]).unwrap();
    let other = NodeKey::from_bytes(&[6; 32]).unwrap();
    let m = Message {
        author: Address::parse("bob@b.test").unwrap(),
        seq: 1,
        time_ms: 9,
        audience: Audience::Public,
        body: text("from afar"),
    };
    let wire = m.sign(&k, &Limits::default()).unwrap().encode();
    let l = Limits::default();
    let mut altered = wire.clone();
    altered[15] ^= 0x20;
    let mut bad_sig = wire.clone();
    *bad_sig.last_mut().unwrap() ^= 1;
    assert!(matches!(
        s.receive_message(&altered, &k.public(), &l, 1),
        Err(StoreError::Proto(_))
    ));
    assert!(matches!(
        s.receive_message(&bad_sig, &k.public(), &l, 1),
        Err(StoreError::Proto(ProtoError::BadSignature))
    ));
    assert!(matches!(
        s.receive_message(&wire, &other.public(), &l, 1),
        Err(StoreError::Proto(ProtoError::BadSignature))
    ));
    assert!(matches!(
        s.receive_message(&wire[..40], &k.public(), &l, 1),
        Err(StoreError::Proto(_))
    ));
    assert!(matches!(
        s.receive_message(&vec![1; 200_000], &k.public(), &l, 1),
        Err(StoreError::Proto(ProtoError::TooLarge { .. }))
    ));
    let authors: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM authors WHERE address = 'bob@b.test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        (s.message_count().unwrap(), authors),
        (0, 0),
        "refused input stored nothing"
    );
    assert!(s.receive_message(&wire, &k.public(), &l, 1).unwrap());
    assert!(
        !s.receive_message(&wire, &k.public(), &l, 2).unwrap(),
        "duplicate"
    );
    assert_eq!(s.message_count().unwrap(), 1);
}

#[test]
fn a_batch_is_indexed_once_and_a_delete_in_it_unindexes_its_target() {
    use crate::store::search_index::{Indexed, Unindexed};
    let (_d, mut s) = store_with_node();
    let k = NodeKey::from_bytes(&[9; 32]).unwrap();
    let bob = Address::parse("bob@b.test").unwrap();
    let msg = |seq, body| {
        Message {
            author: bob.clone(),
            seq,
            time_ms: 5,
            audience: Audience::Public,
            body,
        }
        .sign(&k, &Limits::default())
        .unwrap()
    };
    let segments = |s: &Store| -> i64 {
        s.conn()
            .query_row("SELECT count(*) FROM messages_fts_data", [], |r| r.get(0))
            .unwrap()
    };
    let before = segments(&s);
    let tx = s.conn_mut().transaction().unwrap();
    let mut unindexed = Unindexed::start(&tx, Indexed::Messages).unwrap();
    for (seq, word) in [(1, "wombat"), (2, "quokka"), (3, "numbat")] {
        assert!(store_message_batched(&tx, &msg(seq, text(word)), 1, &mut unindexed).unwrap());
    }
    // the delete's target is still unindexed: it must be indexed before FTS5 unindexes it
    let delete = msg(4, Body::Delete { target: 2 });
    assert!(store_message_batched(&tx, &delete, 1, &mut unindexed).unwrap());
    for (seq, word) in [(5, "bilby"), (6, "wombat again")] {
        assert!(store_message_batched(&tx, &msg(seq, text(word)), 1, &mut unindexed).unwrap());
    }
    unindexed.index(&tx).unwrap();
    tx.commit().unwrap();
    s.conn()
        .execute(
            "INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')",
            [],
        )
        .expect("the index matches the table");
    let found = |q: &str| -> Vec<u64> {
        s.search(q, None, 0, 10)
            .unwrap()
            .iter()
            .map(|p| p.seq)
            .collect()
    };
    let mut wombats = found("wombat");
    wombats.sort_unstable();
    assert_eq!(wombats, [1, 6]);
    assert_eq!(found("numbat"), [3]);
    assert_eq!(found("bilby"), [5]);
    assert!(found("quokka").is_empty(), "the deleted post is not found");
    // two flushes (before the delete and at the end), each a few pages: not one per message
    let written = segments(&s) - before;
    assert!(written <= 4, "{written} index rows written for one batch");
}

/// How many times the cached statement `sql` was compiled again since it was prepared.
fn reprepares(s: &Store, sql: &str) -> usize {
    s.conn()
        .prepare_cached(sql)
        .unwrap()
        .get_status(rusqlite::StatementStatus::RePrepare) as usize
}

#[test]
fn receiving_messages_compiles_no_statement_twice() {
    let (_d, s) = store_with_node();
    s.conn()
        .execute(
            "INSERT INTO follows(user_id, address) SELECT id, 'bob@b.test' FROM users LIMIT 1",
            [],
        )
        .unwrap();
    // in pairs out of order (2, 1, 4, 3, ...): each odd one fills a gap and walks the run
    for seq in (1..=20u64).map(|n| if n % 2 == 1 { n + 1 } else { n - 1 }) {
        assert!(store_message(s.conn(), &bobs_post(seq), seq).unwrap());
    }
    assert_eq!(
        bobs_last_seq(&s),
        20,
        "the contiguous run covers every message"
    );
    assert_eq!(
        (
            reprepares(&s, TIMELINE_INSERT),
            reprepares(&s, ADVANCE_CONTIGUOUS)
        ),
        (0, 0),
        "statements whose plans peek at bound values are compiled again on each new value"
    );
}
