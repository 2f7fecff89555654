//! Tests of a message's text kept once: what is stored, what readers and search see through
//! edits and deletes, and the pages a burst of received posts takes.

use super::*;
use crate::proto::{Address, Audience, Body, Message, NodeKey};
use crate::store::messages::store_message;
use crate::store::users::tests::store_with_node;
use crate::store::Store;

fn bob() -> Address {
    Address::parse("bob@b.test").unwrap()
}

fn signed(seq: u64, body: Body) -> SignedMessage {
    Message {
        author: bob(),
        seq,
        time_ms: seq,
        audience: Audience::Public,
        body,
    }
    .sign(&NodeKey::from_bytes(&[9; 32]).unwrap(), &Limits::default())
    .unwrap()
}

fn post(seq: u64, text: &str) -> SignedMessage {
    signed(seq, Body::Post { text: text.into() })
}

/// bob's message `seq` giving his post `target` a new text.
fn edit(seq: u64, target: u64, text: &str) -> SignedMessage {
    let body = Body::Edit {
        target,
        text: text.into(),
        summary: String::new(),
        mentions: Default::default(),
    };
    signed(seq, body)
}

fn stored_column(s: &Store, seq: u64) -> Option<String> {
    s.conn()
        .query_row(
            "SELECT m.text FROM messages m JOIN authors a ON a.id = m.author_id
             WHERE a.address = 'bob@b.test' AND m.seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap()
}

fn found(s: &Store, q: &str) -> Vec<u64> {
    let mut seqs: Vec<u64> = s
        .search(q, None, 0, 20)
        .unwrap()
        .iter()
        .map(|p| p.seq)
        .collect();
    seqs.sort_unstable();
    seqs
}

fn integrity(s: &Store) {
    s.conn()
        .execute(
            "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .expect("the search index matches what readers see");
}

#[test]
fn a_post_is_stored_once_and_read_edited_searched_and_deleted_through_its_wire_form() {
    let (_d, s) = store_with_node();
    for (seq, t) in [(1, "wombat burrows"), (2, "quokka smiles"), (3, "numbat")] {
        assert!(store_message(s.conn(), &post(seq, t), 1).unwrap());
    }
    assert_eq!(stored_column(&s, 1), None, "the text is not stored twice");
    let history = s.edit_history(&bob(), 1).unwrap();
    assert_eq!(
        history.last().unwrap().text.as_deref(),
        Some("wombat burrows")
    );
    assert_eq!(found(&s, "wombat"), [1]);
    integrity(&s);

    // an edit replaces the text: the column holds it, search and history follow
    assert!(store_message(s.conn(), &edit(4, 1, "platypus now"), 1).unwrap());
    assert_eq!(stored_column(&s, 1).as_deref(), Some("platypus now"));
    assert_eq!(found(&s, "wombat"), Vec::<u64>::new());
    assert_eq!(found(&s, "platypus"), [1]);
    let texts: Vec<_> = s
        .edit_history(&bob(), 1)
        .unwrap()
        .into_iter()
        .map(|v| v.text.unwrap_or_default())
        .collect();
    assert_eq!(texts, ["wombat burrows", "platypus now"]);
    integrity(&s);

    // a delete takes a never-edited post out of search, and readers see no text
    assert!(store_message(s.conn(), &signed(5, Body::Delete { target: 2 }), 1).unwrap());
    assert_eq!(found(&s, "quokka"), Vec::<u64>::new());
    assert!(s.edit_history(&bob(), 2).unwrap().is_empty());
    let (deleted, text): (i64, Option<String>) = s
        .conn()
        .query_row(
            concat!(
                "SELECT m.deleted, ",
                text_of_m!(),
                " FROM messages m WHERE m.seq = 2"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((deleted, text), (1, None));
    integrity(&s);
    // FTS5's own rebuild reads the same text back from the view
    s.conn()
        .execute(
            "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
            [],
        )
        .unwrap();
    assert_eq!(found(&s, "numbat"), [3]);
    assert_eq!(found(&s, "platypus"), [1]);
    integrity(&s);
}

#[test]
fn what_does_not_decode_has_no_text_and_only_a_text_given_back_exactly_is_left_out() {
    assert_eq!(text_in_wire(b""), None);
    assert_eq!(text_in_wire(&[0xff; 64]), None);
    let p = post(1, "hello").encode();
    assert_eq!(text_in_wire(&p).as_deref(), Some("hello"));
    assert_eq!(stored_text(Some("hello"), &p), None);
    assert_eq!(stored_text(Some("other"), &p), Some("other"));
    assert_eq!(stored_text(Some("hello"), b"junk"), Some("hello"));
    assert_eq!(stored_text(None, &p), None);
    let like = signed(
        2,
        Body::Like {
            of: crate::proto::MessageId {
                author: bob(),
                seq: 1,
            },
        },
    )
    .encode();
    assert_eq!(text_in_wire(&like), None, "a like shows no text");
}

#[test]
fn two_received_posts_share_a_page() {
    // the routers' 1 KiB pages (`PAGE_SIZE`): a 280-byte post stored with its text twice
    // took a page of its own
    let (_d, s) = store_with_node();
    let pages = |s: &Store| -> i64 {
        s.conn()
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap()
    };
    let before = pages(&s);
    let text = "x".repeat(280);
    let tx = s.conn().unchecked_transaction().unwrap();
    for seq in 1..=400 {
        assert!(store_message(&tx, &post(seq, &text), 1).unwrap());
    }
    tx.commit().unwrap();
    let per_post = (pages(&s) - before) as f64 / 400.0;
    assert!(per_post < 0.7, "{per_post:.2} pages per post");
}

#[test]
fn a_database_from_before_keeps_its_texts_and_its_search_through_the_migration() {
    use crate::store::schema::MIGRATIONS;
    let d = tempfile::tempdir().unwrap();
    {
        // a database at migration 17, its rows with their text stored twice, indexed
        let mut c = rusqlite::Connection::open(d.path().join("msm.db")).unwrap();
        let tx = c.transaction().unwrap();
        for sql in &MIGRATIONS[..17] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 17).unwrap();
        tx.execute(
            "INSERT INTO authors(id, address) VALUES (1, 'bob@b.test')",
            [],
        )
        .unwrap();
        for (seq, t) in [(1u64, "wombat burrows"), (2, "quokka smiles")] {
            tx.execute(
                "INSERT INTO messages(author_id, seq, time_ms, kind, audience, text, wire, received_ms)
                 VALUES (1, ?1, ?1, 'post', 'public', ?2, ?3, 1)",
                rusqlite::params![seq as i64, t, post(seq, t).encode()],
            )
            .unwrap();
        }
        tx.execute(
            "INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(d.path()).unwrap();
    assert_eq!(stored_column(&s, 1).as_deref(), Some("wombat burrows"));
    assert_eq!(found(&s, "wombat"), [1]);
    integrity(&s);
    // an old row edited and a new one stored after the migration
    assert!(store_message(s.conn(), &edit(3, 2, "platypus now"), 1).unwrap());
    assert!(store_message(s.conn(), &post(4, "numbat"), 1).unwrap());
    assert_eq!(found(&s, "quokka"), Vec::<u64>::new());
    assert_eq!(found(&s, "platypus"), [2]);
    assert_eq!(found(&s, "numbat"), [4]);
    integrity(&s);
}
