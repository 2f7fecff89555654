//! Tests of the writer's batching policy: received messages gathered in a burst, committed
//! without a WAL sync only when nothing else is in the batch.

use super::*;
use crate::proto::{Address, Message, NodeKey};
use crate::store::users::tests::store_with_node;
use crate::store::Role;

fn received(seq: u64) -> Job {
    let key = NodeKey::from_bytes(&[7; 32]).unwrap();
    let msg = Message {
        author: Address::parse("r@r.test").unwrap(),
        seq,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Post { text: "y".into() },
    }
    .sign(&key, &Limits::default())
    .unwrap();
    let (reply, _) = oneshot::channel();
    Job::Receive {
        msg: Box::new(msg),
        reply,
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
fn a_lone_received_message_is_not_held() {
    let (_tx, mut rx) = mpsc::channel(8);
    let mut batch = vec![received(1)];
    let t0 = Instant::now();
    assert!(!gather(&mut batch, &mut rx, &clock()));
    assert_eq!(batch.len(), 1);
    assert!(t0.elapsed() < RECEIVED_GATHER, "{:?}", t0.elapsed());
}

#[test]
fn a_burst_of_received_messages_waits_for_more_up_to_the_gather_delay() {
    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(received(2)).unwrap();
    let late = tx.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(RECEIVED_GATHER / 5);
        late.blocking_send(received(3)).unwrap();
    });
    let mut batch = vec![received(1)];
    let t0 = Instant::now();
    assert!(!gather(&mut batch, &mut rx, &clock()));
    sender.join().unwrap();
    assert_eq!(batch.len(), 3, "the message sent later joined the batch");
    let waited = t0.elapsed();
    assert!(waited >= RECEIVED_GATHER, "{waited:?}");
    assert!(waited < RECEIVED_GATHER * 4, "{waited:?}");
}

#[test]
fn an_own_post_is_never_held_for_company() {
    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(own_post()).unwrap();
    let late = tx.clone();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(RECEIVED_GATHER / 5);
        late.blocking_send(received(2)).unwrap();
    });
    let mut batch = vec![received(1)];
    let t0 = Instant::now();
    assert!(!gather(&mut batch, &mut rx, &clock()));
    assert!(t0.elapsed() < RECEIVED_GATHER / 5, "{:?}", t0.elapsed());
    sender.join().unwrap();
    assert_eq!(batch.len(), 2, "the post ended the batch at once");
    assert_eq!(durability(&batch), Durability::Full);
}

#[test]
fn batches_are_capped_and_a_stop_ends_one() {
    let (tx, mut rx) = mpsc::channel(MAX_RECEIVED_BATCH + 16);
    for i in 0..MAX_RECEIVED_BATCH + 10 {
        tx.try_send(received(i as u64 + 2)).unwrap();
    }
    let mut batch = vec![received(1)];
    assert!(!gather(&mut batch, &mut rx, &clock()));
    assert_eq!(batch.len(), MAX_RECEIVED_BATCH);
    assert_eq!(durability(&batch), Durability::Normal);

    let (tx, mut rx) = mpsc::channel(MAX_BATCH + 16);
    for _ in 0..MAX_BATCH + 10 {
        tx.try_send(received(1)).unwrap();
    }
    let mut batch = vec![own_post()];
    assert!(!gather(&mut batch, &mut rx, &clock()));
    assert_eq!(
        batch.len(),
        MAX_BATCH,
        "a batch with an own post keeps the small cap"
    );

    let (tx, mut rx) = mpsc::channel(8);
    tx.try_send(received(2)).unwrap();
    tx.try_send(Job::Stop).unwrap();
    tx.try_send(received(3)).unwrap();
    let mut batch = vec![received(1)];
    assert!(gather(&mut batch, &mut rx, &clock()));
    assert_eq!(batch.len(), 2);
}

#[test]
fn only_a_batch_of_received_messages_skips_the_sync() {
    assert_eq!(durability(&[received(1), received(2)]), Durability::Normal);
    assert_eq!(durability(&[own_post()]), Durability::Full);
    assert_eq!(durability(&[received(1), own_post()]), Durability::Full);
    let (reply, _) = oneshot::channel();
    let outbox = Job::Outbox {
        delivered: vec![],
        retry: vec![],
        retry_at: 0,
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
        let m = Message {
            author: author.clone(),
            seq,
            time_ms: 1,
            audience: Audience::Public,
            body: Body::Post {
                text: format!("r{seq}"),
            },
        }
        .sign(&key, &Limits::default())
        .unwrap();
        let r = rt.block_on(h.receive(m)).unwrap();
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
    let m = Message {
        author: author.clone(),
        seq: 41,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Post { text: "r41".into() },
    }
    .sign(&key, &Limits::default())
    .unwrap();
    assert_eq!(rt.block_on(h.receive(m)).unwrap().contiguous, 41);
    drop(h);
    w.finish();
    assert_eq!(acked, 40);
    assert_eq!(s.contiguous_seq(&author).unwrap(), 41);
}
