//! Tests of the writer's batching policy: a batch is committed without a WAL sync only when it
//! holds nothing but received messages, and the deferred sync keeps the writer going.

use super::*;
use crate::proto::{Address, NodeKey};
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn received(seq: u64) -> Job {
    let (reply, _) = oneshot::channel();
    Job::Receive {
        msg: Box::new(signed(seq)),
        held: false,
        reply: Some(reply),
    }
}

fn own_post() -> Job {
    let (reply, _) = oneshot::channel();
    Job::Post {
        post: Box::new(NewPost {
            user_id: 1,
            audience: Audience::Public,
            body: Body::Post { text: "x".into() },
        }),
        limits: Limits::default(),
        reply,
    }
}

fn clock() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn a_batch_takes_what_waits_up_to_the_cap_and_a_stop_ends_it() {
    let (tx, mut rx) = mpsc::channel(MAX_BATCH + 16);
    tx.try_send(own_post()).unwrap();
    for i in 0..MAX_BATCH + 10 {
        tx.try_send(received(i as u64 + 2)).unwrap();
    }
    let mut batch = vec![received(1)];
    assert!(!gather(&mut batch, &mut rx));
    assert_eq!(batch.len(), MAX_BATCH);
    assert_eq!(durability(&batch), Durability::Full, "an own post is in it");
    let mut batch = vec![received(1)];
    assert!(!gather(&mut batch, &mut rx));
    assert_eq!(batch.len(), 13, "only what waited");
    assert_eq!(durability(&batch), Durability::Normal);

    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(received(2)).unwrap();
    tx.try_send(Job::Stop).unwrap();
    tx.try_send(received(3)).unwrap();
    let mut batch = vec![received(1)];
    assert!(gather(&mut batch, &mut rx));
    assert_eq!(batch.len(), 2);
}

#[test]
fn only_a_batch_of_received_messages_skips_the_sync() {
    assert_eq!(durability(&[received(1), received(2)]), Durability::Normal);
    assert_eq!(durability(&[own_post()]), Durability::Full);
    assert_eq!(durability(&[received(1), own_post()]), Durability::Full);
    let (reply, _) = oneshot::channel();
    let outbox = Job::Outbox {
        server: "b.test".into(),
        cursors: vec![],
        delivered: vec![],
        reply,
    };
    assert_eq!(durability(&[received(1), outbox]), Durability::Full);
}

#[test]
fn received_and_own_messages_interleaved_are_all_stored() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let author = Address::parse("r@r.test").unwrap();
    let key = NodeKey::from_bytes(&[7; 32]).unwrap();
    s.subscription_active(&author, &key.public(), 0).unwrap();
    let w = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    let h = w.handle();
    let rt = clock();
    let mut acked = 0;
    for seq in 1..=40u64 {
        let r = rt.block_on(h.receive(signed(seq))).unwrap();
        assert!(r.fresh);
        assert_eq!(r.contiguous, seq);
        acked += 1;
        if seq % 10 == 0 {
            let post = NewPost {
                user_id: a.id,
                audience: Audience::Public,
                body: Body::Post { text: "own".into() },
            };
            let h = h.clone();
            std::thread::spawn(move || h.post(post, Limits::default()).unwrap())
                .join()
                .unwrap();
        }
    }
    // past the deferred sync: the writer syncs the WAL on its own and goes on
    std::thread::sleep(RECEIVED_SYNC_WITHIN + RECEIVED_SYNC_WITHIN / 2);
    assert_eq!(rt.block_on(h.receive(signed(41))).unwrap().contiguous, 41);
    drop(h);
    w.finish();
    assert_eq!(acked, 40);
    assert_eq!(s.contiguous_seq(&author).unwrap(), 41);
}

/// A post of r@r.test, signed with its key.
fn signed(seq: u64) -> SignedMessage {
    crate::net::sigcheck::tests::signed(seq, &NodeKey::from_bytes(&[7; 32]).unwrap())
}

/// A store following r@r.test and a writer on it.
fn following() -> (tempfile::TempDir, Store, PostWriter, Address) {
    let (d, mut s) = store_with_node();
    s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let author = Address::parse("r@r.test").unwrap();
    let key = NodeKey::from_bytes(&[7; 32]).unwrap();
    s.subscription_active(&author, &key.public(), 0).unwrap();
    let w = PostWriter::start(s.reopen().unwrap(), Default::default()).unwrap();
    (d, s, w, author)
}

fn held(rt: &tokio::runtime::Runtime, h: &WriterHandle, seq: u64) -> Received {
    rt.block_on(async { h.queue_receive_held(signed(seq)).await.unwrap().await })
        .unwrap()
        .unwrap()
}

#[test]
fn a_held_message_is_answered_before_its_commit_and_committed_within_the_hold() {
    let (_d, s, w, author) = following();
    let h = w.handle();
    let rt = clock();
    let t0 = Instant::now();
    for seq in 1..=3 {
        let r = held(&rt, &h, seq);
        assert_eq!((r.fresh, r.contiguous), (true, seq));
    }
    let seen = s.contiguous_seq(&author).unwrap();
    if t0.elapsed() < HOLD_RECEIVED_FOR {
        assert_eq!(seen, 0, "answered, not yet committed");
    }
    let t0 = Instant::now();
    while s.contiguous_seq(&author).unwrap() < 3 {
        assert!(
            t0.elapsed() < HOLD_RECEIVED_FOR * 8,
            "held messages not committed"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(h);
    assert!(w.finish(), "a clean stop");
}

#[test]
fn a_held_message_is_answered_from_what_is_held_and_what_is_committed() {
    let (_d, s, w, author) = following();
    let h = w.handle();
    let rt = clock();
    let answers: Vec<(bool, u64)> = [1, 2, 4, 3, 2, 6]
        .into_iter()
        .map(|seq| {
            let r = held(&rt, &h, seq);
            (r.fresh, r.contiguous)
        })
        .collect();
    assert_eq!(
        answers,
        [
            (true, 1),
            (true, 2),
            (true, 2),  // 3 missing: the link asks for it
            (true, 4),  // fills the gap up to the held 4
            (false, 4), // held already
            (true, 4),
        ]
    );
    // a job that needs a commit of its own takes the held ones along, at once
    let a = s.user_by_name("alice").unwrap().unwrap();
    let post = NewPost {
        user_id: a.id,
        audience: Audience::Public,
        body: Body::Post { text: "own".into() },
    };
    let h2 = h.clone();
    std::thread::spawn(move || h2.post(post, Limits::default()).unwrap())
        .join()
        .unwrap();
    assert_eq!(
        s.contiguous_seq(&author).unwrap(),
        4,
        "committed with the post"
    );
    // now from what is committed
    let r = held(&rt, &h, 3);
    assert_eq!((r.fresh, r.contiguous), (false, 4));
    let r = held(&rt, &h, 5);
    assert_eq!(
        (r.fresh, r.contiguous),
        (true, 6),
        "fills the gap to the committed 6"
    );
    drop(h);
    assert!(w.finish());
    assert_eq!(
        s.contiguous_seq(&author).unwrap(),
        6,
        "the stop commits what is held"
    );
}
