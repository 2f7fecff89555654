//! The Mastodon client API (issue 15): latency of the two calls every app makes most, on a node
//! holding [`STORED`] posts — `GET /api/v1/timelines/home` and `POST /api/v1/statuses` — each
//! offered at a fixed rate (open loop: a request's latency counts from when it was due, so a
//! slow answer does not hide the ones queued behind it) with an app's token, as an app gets it
//! (`POST /api/v1/apps`, then the password grant at `POST /oauth/token`).
//!
//! The posts are stored through msm's own API by a few threads at once (bob, carol and dave
//! post; bob follows the other two, so all of them are in his home timeline).

use crate::node::{Bench, USERS};
use crate::{out, progress, quantile, Args, PASSWORD, POST_BYTES};
use msm_tests::Node;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Posts stored before the measurement.
const STORED: u64 = 10_000;
/// Threads that store them.
const SEED_THREADS: u64 = 4;
/// Requests per second offered to each endpoint (the figure).
const RATE: u64 = 20;
/// Seconds each endpoint is measured.
const SECS: u64 = 20;
/// Threads sending the offered requests (enough that none waits for a free one at this rate).
const SENDERS: usize = 8;
/// Statuses a home timeline page asks for (Mastodon's default).
const PAGE: usize = 20;
/// Calls one token makes in a measurement at most: below the API's rate limit
/// (`limits::CALLS_PER_WINDOW`, 300 per five minutes and token), so the requests are spread
/// over as many app tokens as that takes, as several apps of one household would.
const CALLS_PER_TOKEN: u64 = 200;

/// Runs the phase: `msmbench mastodon [stored=10000] [rate=20] [secs=20]`.
pub fn run(a: &Args) {
    let stored = a.num("stored", STORED);
    let rate = a.num("rate", RATE).max(1);
    let secs = a.num("secs", SECS).max(1);
    let bench = Bench::start("mastodon.test", &[]);
    let node = &bench.node;
    let sessions: Vec<String> = USERS.iter().map(|u| node.login(u, PASSWORD)).collect();
    for other in &USERS[1..] {
        let r = node.follow(&sessions[0], &format!("{other}@mastodon.test"));
        assert!(r.0 < 300, "follow {other}: {}", r.1);
    }

    progress(&format!("mastodon: storing {stored} posts"));
    let t0 = Instant::now();
    seed(node, &sessions, stored);
    let seed_secs = t0.elapsed().as_secs_f64();
    out("msm_mastodon_stored_posts", node.message_count());
    out(
        "msm_mastodon_seed_posts_per_s",
        format!("{:.0}", stored as f64 / seed_secs.max(1e-9)),
    );

    // fresh tokens for each measurement: a token's calls count over five minutes
    let tokens = (rate * secs).div_ceil(CALLS_PER_TOKEN);
    let new_tokens = || -> Vec<String> {
        (0..tokens)
            .map(|_| format!("Bearer {}", app_token(node, USERS[0])))
            .collect()
    };
    let auths = new_tokens();
    let auth = |i: u64| auths[(i % tokens) as usize].as_str();
    progress(&format!(
        "mastodon: GET /api/v1/timelines/home at {rate}/s for {secs} s"
    ));
    let home = format!("/api/v1/timelines/home?limit={PAGE}");
    let (lat, errors) = offered(rate, secs, |i| {
        let r = msm_tests::request(node.addr, "GET", &home, &[("Authorization", auth(i))], None);
        checked(r, |r| r.json().as_array().is_some_and(|a| a.len() == PAGE))
    });
    report("msm_mastodon_home", &lat, errors);

    progress(&format!(
        "mastodon: POST /api/v1/statuses at {rate}/s for {secs} s"
    ));
    let before = node.message_count();
    let auths = new_tokens();
    let auth = |i: u64| auths[(i % tokens) as usize].as_str();
    let (lat, errors) = offered(rate, secs, |i| {
        let body = json!({ "status": text(i), "visibility": "public" }).to_string();
        let r = msm_tests::request(
            node.addr,
            "POST",
            "/api/v1/statuses",
            &[
                ("Authorization", auth(i)),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        );
        checked(r, |r| r.json()["id"].is_string())
    });
    report("msm_mastodon_post", &lat, errors);
    out(
        "msm_mastodon_posts_stored_during",
        node.message_count().saturating_sub(before),
    );
    out("msm_mastodon_after_vmrss_kib", bench.status_kb("VmRSS"));
    streams(&bench, &sessions[0]);
}

/// Streams held open for the memory figure: half Server-Sent Events, half WebSocket.
const STREAMS: usize = 20;
/// Streams one person may hold (`web::stream::STREAMS_PER_USER`).
const STREAMS_PER_PERSON: usize = 4;

/// Holds [`STREAMS`] streaming connections of apps open on the node, each subscribed to its
/// person's home timeline, checks that each gets the `update` of a new post, and prints the
/// node's VmRSS before and with them: `msm_mastodon_streams_vmrss_kib` is the whole node.
fn streams(bench: &Bench, owner: &str) {
    use std::io::{Read, Write};
    let node = &bench.node;
    let mut people: Vec<String> = USERS.iter().map(|u| u.to_string()).collect();
    let mut i = 0;
    while people.len() * STREAMS_PER_PERSON < STREAMS {
        let name = format!("reader{i}");
        i += 1;
        let r = node.post_json("/api/v1/admin/users", Some(owner), &json!({ "name": name }));
        assert_eq!(r.status, 201, "add {name}: {}", r.text());
        let once = r.json()["one_time_password"]
            .as_str()
            .expect("password")
            .to_string();
        let s = node.login(&name, &once);
        let r = node.post_json(
            "/api/v1/account/password",
            Some(&s),
            &json!({ "new_password": PASSWORD }),
        );
        assert_eq!(r.status, 200, "password of {name}: {}", r.text());
        people.push(name);
    }
    let tokens: Vec<String> = people.iter().map(|p| app_token(node, p)).collect();
    std::thread::sleep(Duration::from_secs(1));
    let before = bench.status_kb("VmRSS");
    progress(&format!("mastodon: {STREAMS} streams open"));
    let mut open = Vec::new();
    for n in 0..STREAMS {
        let token = &tokens[n / STREAMS_PER_PERSON];
        let mut c = std::net::TcpStream::connect(node.addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let head = if n % 2 == 0 {
            format!(
                "GET /api/v1/streaming/user HTTP/1.1\r\nHost: bench\r\n\
                 Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            )
        } else {
            format!(
                "GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: bench\r\n\
                 Upgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {token}\r\n\r\n"
            )
        };
        c.write_all(head.as_bytes()).expect("stream request");
        let mut buf = [0u8; 512];
        let got = c.read(&mut buf).unwrap_or(0);
        let line = String::from_utf8_lossy(&buf[..got]);
        assert!(
            line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.1 101"),
            "stream {n} refused: {line}"
        );
        open.push(c);
    }
    std::thread::sleep(Duration::from_secs(1));
    let held = bench.status_kb("VmRSS");
    for token in &tokens {
        let r = node.http(
            "POST",
            "/api/v1/statuses",
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
            ],
            Some(&json!({ "status": "to every stream" }).to_string()),
        );
        assert_eq!(r.status, 200, "post: {}", r.text());
    }
    let mut reached = 0;
    for c in &mut open {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline && !seen.windows(15).any(|w| w == b"to every stream") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        reached += usize::from(seen.windows(15).any(|w| w == b"to every stream"));
    }
    let after = bench.status_kb("VmRSS");
    out("msm_mastodon_streams", STREAMS);
    out("msm_mastodon_streams_reached", reached);
    out("msm_mastodon_streams_before_vmrss_kib", before);
    out("msm_mastodon_streams_open_vmrss_kib", held);
    out("msm_mastodon_streams_vmrss_kib", after);
}

/// Is `r` a 200 that `ok` accepts? A failure is told on stderr.
fn checked(r: std::io::Result<msm_tests::Resp>, ok: impl Fn(&msm_tests::Resp) -> bool) -> bool {
    match r {
        Ok(r) if r.status == 200 && ok(&r) => true,
        Ok(r) => {
            progress(&format!("mastodon: refused: {} {}", r.status, r.text()));
            false
        }
        Err(e) => {
            progress(&format!("mastodon: request failed: {e}"));
            false
        }
    }
}

/// A post's text of [`POST_BYTES`] bytes, numbered.
fn text(i: u64) -> String {
    let head = format!("bench post {i} ");
    format!(
        "{head}{}",
        "x".repeat(POST_BYTES.saturating_sub(head.len()))
    )
}

/// Stores `count` posts through msm's API, spread over the users, on [`SEED_THREADS`] threads.
fn seed(node: &Node, sessions: &[String], count: u64) {
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..SEED_THREADS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= count {
                    return;
                }
                let token = &sessions[(i % sessions.len() as u64) as usize];
                let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text(i) }));
                assert_eq!(r.status, 201, "storing post {i}: {}", r.text());
                if i.is_multiple_of(2000) {
                    progress(&format!("mastodon: {i} posts stored"));
                }
            });
        }
    });
}

/// An app's token for `user`: the app registered, then the password grant.
fn app_token(node: &Node, user: &str) -> String {
    let r = node.post_json(
        "/api/v1/apps",
        None,
        &json!({"client_name": "msmbench", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write"}),
    );
    assert_eq!(r.status, 200, "POST /api/v1/apps: {}", r.text());
    let app = r.json();
    let r = node.post_json(
        "/oauth/token",
        None,
        &json!({"grant_type": "password", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "username": user,
                "password": PASSWORD, "scope": "read write"}),
    );
    assert_eq!(r.status, 200, "POST /oauth/token: {}", r.text());
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Offers `call(i)` at `rate` per second for `secs` seconds (open loop, on [`SENDERS`]
/// threads): the latencies in microseconds from each request's due time, sorted, and how many
/// calls failed.
fn offered(rate: u64, secs: u64, call: impl Fn(u64) -> bool + Sync) -> (Vec<u64>, u64) {
    let total = rate * secs;
    let next = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let lat = Mutex::new(Vec::with_capacity(total as usize));
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..SENDERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Relaxed);
                if i >= total {
                    return;
                }
                let due = t0 + Duration::from_micros(i * 1_000_000 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let ok = call(i);
                let us = due.elapsed().as_micros() as u64;
                if ok {
                    lat.lock().unwrap().push(us);
                } else {
                    errors.fetch_add(1, Relaxed);
                }
            });
        }
    });
    let mut lat = lat.into_inner().unwrap();
    lat.sort_unstable();
    (lat, errors.into_inner())
}

/// Prints `{p}_p50_ms`, `{p}_p99_ms`, `{p}_max_ms`, `{p}_requests`, `{p}_errors`.
fn report(p: &str, sorted: &[u64], errors: u64) {
    let ms = |q: f64| {
        quantile(sorted, q).map_or("nan".to_string(), |v| format!("{:.2}", v as f64 / 1e3))
    };
    out(&format!("{p}_p50_ms"), ms(0.5));
    out(&format!("{p}_p99_ms"), ms(0.99));
    out(&format!("{p}_max_ms"), ms(1.0));
    out(&format!("{p}_requests"), sorted.len() as u64 + errors);
    out(&format!("{p}_errors"), errors);
}
