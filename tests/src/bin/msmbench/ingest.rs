//! Ingest and flash writes. One node (`sink.test`) follows many remote authors; the generator
//! plays each author's node: it answers the node's Subscribe with the author's key, then dials
//! the node as that domain and pushes signed 280-byte posts with a window of unacknowledged
//! ones, as an author's node delivers. The node acknowledges a message only after it checked
//! the signature and committed it (SQLite WAL, `synchronous = FULL`), so acknowledged `Stored`
//! per second is verified durable posts per second.
//!
//! Flash writes are `/proc/PID/io` `write_bytes` of the node (bytes it sent towards storage,
//! WAL and checkpoints included): during the ingest burst, while idle (extrapolated to an hour),
//! for posts received one at a time, and for the node's own posts made one at a time.

use crate::node::{now_us, Bench, USERS};
use crate::wire::{self, Conn};
use crate::{out, progress, Args, PASSWORD, PHASE_TIMEOUT, POST_BYTES};
use msmd::proto::follow::{FollowAnswer, FollowAnswerState, FollowRequest};
use msmd::proto::link::{self as link, AckStatus, Role};
use msmd::proto::message::{Audience, Body, Message};
use msmd::proto::{Address, FrameType, Limits, NodeKey};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Unacknowledged messages each author's link keeps in flight.
const WINDOW: usize = 64;
/// Idle interval over which flash writes are measured (then extrapolated to an hour).
const IDLE_SECS: u64 = 20;
/// Posts of each one-at-a-time flash measurement.
const FLASH_POSTS: usize = 1000;
/// Seconds in an hour, for the idle extrapolation.
const HOUR_SECS: u64 = 3600;
/// Wait after a phase's last acknowledgement before its bytes are read: the node answers a
/// followed author's messages before their commit and commits them within 250 ms, so the last
/// commit of a phase belongs to it, not to the next.
const COMMIT_SETTLE: Duration = Duration::from_secs(1);

/// One remote author and its node.
struct Author {
    domain: String,
    address: Address,
    node_key: NodeKey,
    user_key: NodeKey,
}

/// Runs the ingest phase and the flash measurements.
pub fn run(a: &Args) {
    let k = a.num("authors", 50) as usize;
    let secs = a.num("secs", 8);
    let per_author = a.num("per_author", 1500) as usize;
    let rt = crate::runtime();
    // Authors 0..k push the burst; author k is kept for the one-at-a-time measurement.
    let authors: Vec<Arc<Author>> = (0..=k).map(author).collect();
    let mut statics = Vec::new();
    for au in &authors {
        let l = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        statics.push((au.domain.clone(), l.local_addr().expect("addr")));
        rt.spawn(serve_author_node(l, au.clone()));
    }
    let bench = Bench::start("sink.test", &statics);
    let token = bench.node.login(USERS[0], PASSWORD);
    let t0 = Instant::now();
    for au in &authors {
        let r = bench.node.post_json(
            "/api/v1/follows",
            Some(&token),
            &json!({ "address": au.address.as_str() }),
        );
        assert_eq!(r.status, 201, "follow {}: {}", au.address, r.text());
    }
    out(
        "msm_ingest_follow_secs",
        format!("{:.2}", t0.elapsed().as_secs_f64()),
    );
    progress(&format!("ingest: signing {} posts", k * per_author));
    let burst: Vec<Vec<Vec<u8>>> = sign_all(&authors[..k], 1, per_author);
    let links = bench.node.links;
    let (w0, cpu0) = (bench.write_bytes(), bench.cpu_secs());
    progress(&format!("ingest: {k} authors pushing for {secs} s"));
    let t0 = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let results: Vec<(u64, u64)> = rt.block_on(async {
        let mut tasks = Vec::new();
        for (au, msgs) in authors.iter().zip(burst) {
            let au = au.clone();
            tasks.push(tokio::spawn(async move {
                push(links, &au, msgs, deadline).await.unwrap_or((0, 0))
            }));
        }
        let mut r = Vec::new();
        for t in tasks {
            r.push(t.await.unwrap_or((0, 0)));
        }
        r
    });
    let dur = t0.elapsed().as_secs_f64();
    let stored: u64 = results.iter().map(|r| r.0).sum();
    let other: u64 = results.iter().map(|r| r.1).sum();
    std::thread::sleep(COMMIT_SETTLE);
    let written = bench.write_bytes() - w0;
    out("msm_ingest_authors", k);
    out("msm_ingest_stored", stored);
    out("msm_ingest_not_stored", other);
    out("msm_ingest_duration_s", format!("{dur:.2}"));
    out(
        "msm_ingest_posts_per_s",
        format!("{:.0}", stored as f64 / dur),
    );
    out(
        "msm_ingest_node_cpu_s",
        format!("{:.2}", bench.cpu_secs() - cpu0),
    );
    out(
        "msm_flash_burst_write_bytes_per_1000_received",
        written * 1000 / stored.max(1),
    );
    let msg_bytes = sign_all(&authors[k..], 1, 1)[0][0].len();
    out("msm_flash_received_post_wire_bytes", msg_bytes);
    flash(&bench, &rt, &authors[k], &token);
    drop(bench);
    rt.shutdown_timeout(Duration::from_secs(1));
}

fn author(i: usize) -> Arc<Author> {
    let domain = format!("r{i}.test");
    Arc::new(Author {
        address: Address::parse(&format!("a@{domain}")).expect("address"),
        domain,
        node_key: NodeKey::generate().expect("key"),
        user_key: NodeKey::generate().expect("key"),
    })
}

/// Signs `count` posts from seq `first` for each author, on two threads.
fn sign_all(authors: &[Arc<Author>], first: u64, count: usize) -> Vec<Vec<Vec<u8>>> {
    let text: String = "y".repeat(POST_BYTES);
    let sign = |au: &Arc<Author>| -> Vec<Vec<u8>> {
        (0..count as u64)
            .map(|i| {
                let m = Message {
                    author: au.address.clone(),
                    seq: first + i,
                    time_ms: now_us() / 1000,
                    audience: Audience::Public,
                    body: Body::Post { text: text.clone() },
                };
                m.sign(&au.user_key, &Limits::default())
                    .expect("sign")
                    .encode()
            })
            .collect()
    };
    let half = authors.len() / 2;
    std::thread::scope(|s| {
        let h = s.spawn(|| authors[..half].iter().map(sign).collect::<Vec<_>>());
        let mut second: Vec<_> = authors[half..].iter().map(sign).collect();
        let mut all = h.join().expect("signer");
        all.append(&mut second);
        all
    })
}

/// The author's node as the sink sees it when it dials: answers Subscribe with the key.
async fn serve_author_node(listener: TcpListener, au: Arc<Author>) {
    while let Ok((stream, _)) = listener.accept().await {
        let au = au.clone();
        tokio::spawn(async move {
            let mut c = Conn::new(stream);
            if c.handshake(Role::Listener, &au.domain, &au.node_key)
                .await
                .is_err()
            {
                return;
            }
            while let Ok(f) = c.recv().await {
                let (kind, answer) = match f.kind {
                    FrameType::Subscribe => (
                        FrameType::Subscribed,
                        link::encode(&link::Subscribed {
                            author: au.address.clone(),
                            key: au.user_key.public().to_bytes().to_vec(),
                            last_seq: 0,
                        }),
                    ),
                    // The author does not approve followers: every request is accepted.
                    FrameType::FollowRequest => {
                        let Ok(r) = link::decode::<FollowRequest>("follow request", &f.payload)
                        else {
                            continue;
                        };
                        let a = FollowAnswer {
                            follower: r.follower,
                            author: r.author,
                            state: FollowAnswerState::Accepted,
                        };
                        (FrameType::FollowAnswer, link::encode(&a))
                    }
                    FrameType::Ping => (FrameType::Pong, Vec::new()),
                    _ => continue,
                };
                if c.send(kind, &answer).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Pushes `msgs` over a link dialled as the author's domain, at most [`WINDOW`] unacknowledged,
/// sending until `deadline`; returns (stored, acknowledged otherwise).
async fn push(
    links: SocketAddr,
    au: &Author,
    msgs: Vec<Vec<u8>>,
    deadline: tokio::time::Instant,
) -> std::io::Result<(u64, u64)> {
    let mut c = wire::dial(links, &au.domain, &au.node_key).await?;
    let (mut sent, mut acked, mut stored) = (0usize, 0usize, 0u64);
    loop {
        while sent < msgs.len() && sent - acked < WINDOW && tokio::time::Instant::now() < deadline {
            c.queue(FrameType::Message, &msgs[sent])?;
            sent += 1;
        }
        c.flush().await?;
        if acked == sent {
            return Ok((stored, 0));
        }
        let f = match tokio::time::timeout(PHASE_TIMEOUT, c.recv()).await {
            Ok(f) => f?,
            Err(_) => return Ok((stored, (acked as u64).saturating_sub(stored))),
        };
        match f.kind {
            FrameType::Ack => {
                let ack: link::Ack =
                    link::decode("ack", &f.payload).map_err(std::io::Error::other)?;
                acked += 1;
                if ack.status == AckStatus::Stored {
                    stored += 1;
                }
            }
            FrameType::Ping => c.send(FrameType::Pong, &[]).await?,
            _ => {}
        }
        if acked > stored as usize + 100 {
            return Ok((stored, (acked as u64) - stored));
        }
    }
}

fn flash(bench: &Bench, rt: &tokio::runtime::Runtime, au: &Arc<Author>, token: &str) {
    progress(&format!("flash: idle {IDLE_SECS} s"));
    let w0 = bench.write_bytes();
    std::thread::sleep(Duration::from_secs(IDLE_SECS));
    let idle = bench.write_bytes() - w0;
    out("msm_flash_idle_secs", IDLE_SECS);
    out("msm_flash_idle_write_bytes", idle);
    out(
        "msm_flash_idle_write_bytes_per_hour_extrapolated",
        idle * HOUR_SECS / IDLE_SECS,
    );

    progress("flash: posts received one at a time");
    let msgs = sign_all(std::slice::from_ref(au), 1, FLASH_POSTS).remove(0);
    let links = bench.node.links;
    let w0 = bench.write_bytes();
    let t0 = Instant::now();
    let stored = rt.block_on(async {
        let mut c = wire::dial(links, &au.domain, &au.node_key).await.ok()?;
        let mut stored = 0u64;
        for m in &msgs {
            c.send(FrameType::Message, m).await.ok()?;
            loop {
                let f = c.recv().await.ok()?;
                if f.kind == FrameType::Ack {
                    let ack: link::Ack = link::decode("ack", &f.payload).ok()?;
                    stored += u64::from(ack.status == AckStatus::Stored);
                    break;
                }
            }
        }
        Some(stored)
    });
    let stored = stored.unwrap_or(0);
    out("msm_flash_one_at_a_time_received", stored);
    out(
        "msm_flash_one_at_a_time_received_per_s",
        format!("{:.0}", stored as f64 / t0.elapsed().as_secs_f64()),
    );
    std::thread::sleep(COMMIT_SETTLE);
    out(
        "msm_flash_write_bytes_per_1000_received",
        (bench.write_bytes() - w0) * 1000 / stored.max(1),
    );

    progress("flash: own posts one at a time");
    let w0 = bench.write_bytes();
    let t0 = Instant::now();
    let text = "z".repeat(POST_BYTES);
    let mut made = 0u64;
    for _ in 0..FLASH_POSTS {
        let r = bench
            .node
            .post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
        made += u64::from(r.status == 201);
    }
    out("msm_flash_own_posts", made);
    out(
        "msm_flash_own_posts_per_s",
        format!("{:.0}", made as f64 / t0.elapsed().as_secs_f64()),
    );
    out(
        "msm_flash_write_bytes_per_1000_own",
        (bench.write_bytes() - w0) * 1000 / made.max(1),
    );
}
