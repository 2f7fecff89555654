//! Hostile input on the API and the store (issue items 10–18): log-in floods, posting floods,
//! password guessing through a stolen session, a damaged or shared data directory, a full disk,
//! text that breaks XML, WebFinger's error answers, and requests that forge their Host.

use msm_tests::hostile::{status_from, MemoryWatch};
use msm_tests::{data_dir, msmd_bin, Node};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "correct horse battery";

/// Runs `msmd run --data DIR ARGS` expecting it to refuse to start; returns its exit status
/// (None if it was still running after `timeout`, then killed) and its log.
fn run_refused(data: &Path, extra: &[&str], timeout: Duration) -> (Option<i32>, String) {
    let mut child = msm_tests::run_args(&mut Command::new(msmd_bin()), data, extra)
        .spawn()
        .expect("start msmd");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        if t0.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, reader.join().unwrap_or_default())
}

fn config_file(dir: &Path, text: &str) -> String {
    let p = dir.join("msmd.toml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn post(node: &Node, token: &str, text: &str) -> msm_tests::Resp {
    node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }))
}

/// Item 10: a flood of failed log-ins from many addresses costs one argon2 block, not one per
/// attempt, and the memory stays where it was after the flood.
#[test]
fn login_flood_costs_one_hash_block() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let watch = MemoryWatch::start(node.pid());
    let addr = node.addr;
    // 6 client addresses × 10 attempts (the limiter's burst), 6 at a time.
    let threads: Vec<_> = (2..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                let from = Ipv4Addr::new(127, 0, 0, i);
                let body = json!({"name": "alice", "password": "wrong password"}).to_string();
                (0..10)
                    .map(|_| {
                        status_from(
                            from,
                            addr,
                            "POST",
                            "/api/v1/session",
                            &[("Content-Type", "application/json")],
                            &body,
                        )
                        .expect("log-in request")
                    })
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 60);
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every attempt was checked and refused: {statuses:?}"
    );
    let after = watch.settle(watch.baseline_kb + 16 * 1024, Duration::from_secs(10));
    let (peak, after) = watch.report("log-in (60 failed, 6 addresses)", after);
    // One 12 MiB block, plus working memory; a block per attempt would be gigabytes.
    assert!(
        peak <= watch.baseline_kb + 20 * 1024,
        "peak {peak} kB from {} kB",
        watch.baseline_kb
    );
    assert!(
        after <= watch.baseline_kb + 16 * 1024,
        "after idle {after} kB from {} kB",
        watch.baseline_kb
    );
    assert_eq!(
        node.login("alice", PW).len(),
        64,
        "the right password works"
    );
}

/// Item 11: a member cannot flood: a burst, then 429 with Retry-After, and a daily byte budget;
/// nothing refused is stored, and other people are not affected.
#[test]
fn posting_is_limited_per_person() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("bob", PW, false)]);
    let cfg = config_file(
        dir.path(),
        "[limits]\nmax_post_bytes = 4000\npost_burst = 5\nposts_per_hour = 60\ndaily_post_bytes = 10000\n",
    );
    let node = Node::start(dir.path(), &["--config", &cfg]);
    let (alice, bob) = (node.login("alice", PW), node.login("bob", PW));
    for i in 0..5 {
        assert_eq!(post(&node, &alice, &format!("post {i}")).status, 201);
    }
    let before = node.message_count();
    let r = post(&node, &alice, "one too many");
    assert_eq!(r.status, 429, "{}", r.text());
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "one post a minute: {retry}");
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("posts_per_hour"));
    assert_eq!(node.message_count(), before, "nothing refused is stored");

    let big = "x".repeat(4000);
    assert_eq!(post(&node, &bob, &big).status, 201);
    assert_eq!(post(&node, &bob, &big).status, 201);
    let r = post(&node, &bob, &big);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("daily_post_bytes"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 3600, "the budget frees up within a day: {retry}");
    assert_eq!(post(&node, &bob, "short ones still fit").status, 201);
}

/// Item 12: a stolen session cannot guess the password: a few wrong old passwords end it, and
/// the address limiter applies.
#[test]
fn password_guessing_through_a_session_ends_it() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let token = node.login("alice", PW);
    let auth = format!("Bearer {token}");
    let change = |old: &str| {
        node.post_json(
            "/api/v1/account/password",
            Some(&token),
            &json!({"old_password": old, "new_password": "a new password here"}),
        )
    };
    assert_eq!(change("guess one").status, 401);
    assert_eq!(change("guess two").status, 401);
    let r = change("guess three");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("session has ended"), "{}", r.text());
    let who = node.http("GET", "/api/v1/session", &[("Authorization", &auth)], None);
    assert_eq!(who.status, 401, "the session is gone");
    // Even with fresh sessions, the address runs out of attempts (10 with the log-ins).
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let t = node.post_json(
            "/api/v1/session",
            None,
            &json!({"name": "alice", "password": PW}),
        );
        statuses.push(t.status);
        let Some(t) = t.json()["token"].as_str().map(str::to_string) else {
            continue;
        };
        for _ in 0..2 {
            statuses.push(
                node.post_json(
                    "/api/v1/account/password",
                    Some(&t),
                    &json!({"old_password": "guess", "new_password": "a new password here"}),
                )
                .status,
            );
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 8,
        "{statuses:?}"
    );
}

/// The old password may be left out of a password change only by a session of an account
/// that still has its one-time password (that session was opened with it), and the new
/// password must differ from the one-time password.
#[test]
fn only_a_one_time_password_session_may_leave_out_the_old_password() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let alice = node.login("alice", PW);
    let change = |token: &str, new: &str| {
        node.post_json(
            "/api/v1/account/password",
            Some(token),
            &json!({ "new_password": new }),
        )
    };
    let r = change(&alice, "a new password here");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("old_password"), "{}", r.text());
    node.login("alice", PW); // her password is unchanged

    let r = node.post_json(
        "/api/v1/admin/users",
        Some(&alice),
        &json!({ "name": "carol" }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let carol = node.login("carol", &otp);
    let r = change(&carol, &otp);
    assert_eq!(r.status, 400, "the one-time password again: {}", r.text());
    assert!(r.text().contains("differ"), "{}", r.text());
    let r = change(&carol, "carol's own password");
    assert_eq!(r.status, 200, "{}", r.text());
    let r = change(r.json()["token"].as_str().unwrap(), "and once more");
    assert_eq!(
        r.status,
        400,
        "with her own password set, the old one is asked: {}",
        r.text()
    );
    node.login("carol", "carol's own password"); // the change before took
}

/// Item 13: a database cut while stopped refuses to start, saying how to recover; a store that
/// fails while running makes /healthz 503.
#[test]
fn a_damaged_database_is_refused_at_start_and_reported_by_healthz() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let cfg = config_file(dir.path(), "[limits]\npost_burst = 1000\n");
    let node = Node::start(dir.path(), &["--config", &cfg]);
    let token = node.login("alice", PW);
    for i in 0..300 {
        let text = format!("post {i} {}", "words to fill pages ".repeat(20));
        assert_eq!(post(&node, &token, &text).status, 201);
    }
    let (status, _) = node.stop();
    assert!(status.success());
    let db = dir.path().join("msm.db");
    let len = std::fs::metadata(&db).unwrap().len();
    assert!(len > 100_000, "{len}");

    // Damage while running: overwrite everything past the first pages.
    let node = Node::start(dir.path(), &["--config", &cfg]);
    assert_eq!(node.http("GET", "/healthz", &[], None).status, 200);
    let garbage = vec![0x5Au8; (len - 8192) as usize];
    let mut bytes = std::fs::read(&db).unwrap();
    bytes.truncate(8192);
    bytes.extend_from_slice(&garbage);
    std::fs::write(&db, &bytes).unwrap();
    let reads: Vec<u16> = (0..4)
        .map(|_| {
            node.http(
                "GET",
                "/api/v1/users/alice@a.test/posts?limit=200",
                &[],
                None,
            )
            .status
        })
        .collect();
    assert!(reads.iter().any(|s| *s >= 500), "{reads:?}");
    let h = node.http("GET", "/healthz", &[], None);
    assert_eq!(h.status, 503, "{}", h.text());
    assert_eq!(h.json()["status"], "damaged");
    node.kill9();

    // Cut the tail while stopped: the node refuses to start and says what to do.
    std::fs::write(&db, &bytes[..(len as usize * 2 / 3)]).unwrap();
    let (code, log) = run_refused(dir.path(), &["--config", &cfg], Duration::from_secs(30));
    assert!(
        code.is_some() && code != Some(0),
        "a damaged database must stop msmd at start: {code:?}\n{log}"
    );
    assert!(log.contains("damaged"), "{log}");
    assert!(
        log.contains(".recover"),
        "the way to recover is named: {log}"
    );
}

/// Item 14: one msmd per data directory; the second names the first's PID; a killed node's
/// lock does not block its restart.
#[test]
fn a_second_node_on_one_data_directory_is_refused() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let first = Node::start(dir.path(), &[]);
    let (code, log) = run_refused(dir.path(), &[], Duration::from_secs(20));
    assert!(code.is_some() && code != Some(0), "{code:?}\n{log}");
    assert!(
        log.contains(&format!("PID {}", first.pid())),
        "the first one's PID is named: {log}"
    );
    first.kill9();
    let again = Node::start(dir.path(), &[]);
    assert_eq!(again.http("GET", "/healthz", &[], None).status, 200);
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount (the disk-full test needs root to mount a tmpfs)");
        assert!(ok.success(), "mount a tmpfs: the disk-full test needs root");
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Item 15: a full disk answers 507 "storage full", says so in the log, and loses no
/// acknowledged post; freeing space makes posting work again.
#[test]
fn a_full_disk_is_507_and_loses_nothing() {
    let disk = SmallDisk::mount("3m");
    let data = disk.dir.path().join("data");
    let o = msm_tests::msmd(
        &[
            "init",
            "--data",
            data.to_str().unwrap(),
            "--domain",
            "a.test",
        ],
        "",
    );
    assert!(o.status.success(), "{}", msm_tests::text(&o));
    let o = msm_tests::msmd(
        &[
            "user",
            "add",
            "alice",
            "--owner",
            "--password-stdin",
            "--data",
            data.to_str().unwrap(),
        ],
        &format!("{PW}\n"),
    );
    assert!(o.status.success(), "{}", msm_tests::text(&o));
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = config_file(cfg_dir.path(), "[limits]\npost_burst = 10000\n");
    let node = Node::start(&data, &["--config", &cfg]);
    let token = node.login("alice", PW);
    // Fill the disk, then post until the database cannot grow.
    let filler = disk.dir.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 3 * 1024 * 1024]);
    let mut acknowledged = 0u32;
    let mut refused = None;
    for i in 0..2000 {
        let r = post(&node, &token, &format!("{i} {}", "fill ".repeat(600)));
        match r.status {
            201 => acknowledged += 1,
            _ => {
                refused = Some(r);
                break;
            }
        }
    }
    let r = refused.expect("the disk never filled");
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(r.text().contains("storage full"), "{}", r.text());
    node.wait_for_log("disk full", Duration::from_secs(5));
    assert_eq!(
        node.http("GET", "/healthz", &[], None).status,
        200,
        "a full disk is not damage"
    );
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(post(&node, &token, "room again").status, 201);
    let (status, log) = node.stop();
    assert!(status.success(), "{log}");
    let node = Node::start(&data, &["--config", &cfg]);
    let posts = node.all_posts("alice@a.test", None);
    assert_eq!(
        posts.len() as u32,
        acknowledged + 1,
        "every acknowledged post is kept"
    );
}

/// Item 16: noncharacters are refused at posting; CR LF and CR are line breaks everywhere.
#[test]
fn noncharacters_are_refused_and_carriage_returns_are_line_breaks() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let token = node.login("alice", PW);
    for bad in ["half \u{fffe}", "end \u{ffff}", "\u{fdd0}"] {
        let r = post(&node, &token, bad);
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
        assert!(r.text().contains("noncharacter"), "{}", r.text());
    }
    let r = post(&node, &token, "one\r\ntwo\rthree");
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["text"], "one\ntwo\nthree");
    let feed = node.http("GET", "/@alice/feed.atom", &[], None);
    assert_eq!(feed.status, 200);
    assert!(!feed.body.contains(&b'\r'));
    let page = node.http("GET", "/@alice", &[], None).text();
    assert!(!page.contains('\u{fffd}'), "{page}");
    let parsed = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&feed.body)?;
            c.wait()
        })
        .expect("python3");
    assert!(parsed.success(), "the feed is well-formed XML");
}

/// Item 17: WebFinger's errors carry CORS too, and a malformed resource is 400 (RFC 7033).
#[test]
fn webfinger_errors_are_cors_and_malformed_resources_400() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    for (q, want) in [
        ("resource=acct:", 400),
        ("resource=acct:alice", 400),
        ("resource=", 400),
        ("", 400),
        ("resource=nocolon", 400),
        ("resource=acct:bob@a.test", 404),
        ("resource=acct:alice@b.test", 404),
        ("resource=https://a.test/", 404),
        ("resource=acct:alice@a.test", 200),
    ] {
        let r = node.http("GET", &format!("/.well-known/webfinger?{q}"), &[], None);
        assert_eq!(r.status, want, "{q}: {}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{q}");
    }
}

/// Item 18: following a local user who does not exist is 404; one person cannot hold every
/// live stream; page, feed and WebFinger links never come from the Host header.
#[test]
fn smaller_bounds_hold() {
    let dir = data_dir("a.test", &[("alice", PW, true), ("bob", PW, false)]);
    let cfg = config_file(dir.path(), "[http]\npublic_url = \"https://a.test\"\n");
    let node = Node::start(dir.path(), &["--config", &cfg]);
    let alice = node.login("alice", PW);
    let r = node.post_json(
        "/api/v1/follows",
        Some(&alice),
        &json!({"address": "nobody@a.test"}),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        node.post_json(
            "/api/v1/follows",
            Some(&alice),
            &json!({"address": "bob@a.test"})
        )
        .status,
        201
    );

    // Live streams: alice may hold 4; the fifth is refused; bob still gets one.
    let open = |token: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(node.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        (s, String::from_utf8_lossy(&head[9..12]).to_string())
    };
    let held: Vec<_> = (0..4).map(|_| open(&alice)).collect();
    assert!(held.iter().all(|(_, st)| st == "200"));
    assert_eq!(open(&alice).1, "503");
    let bob = node.login("bob", PW);
    assert_eq!(open(&bob).1, "200");
    drop(held);

    // Links come from http.public_url, whatever Host says.
    post(&node, &alice, "hello");
    let forged = |path: &str| {
        msm_tests::raw(
            node.addr,
            format!("GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .expect("request")
    };
    for path in [
        "/@alice",
        "/@alice/feed.atom",
        "/.well-known/webfinger?resource=acct:alice@a.test",
    ] {
        let r = forged(path);
        assert_eq!(r.status, 200, "{path}");
        let body = r.text();
        assert!(!body.contains("evil.example"), "{path}: {body}");
        assert!(body.contains("https://a.test/@alice"), "{path}: {body}");
    }
    let jrd: Value = forged("/.well-known/webfinger?resource=acct:alice@a.test").json();
    assert!(jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| !l["href"].as_str().unwrap_or("").contains("evil")));
}

/// Anonymous peers flooding the fediverse actor of an account that has no key yet: keys are
/// made one at a time and once (every answer carries the same key, or is a 503 to ask again),
/// the collections answer meanwhile, and memory comes back.
#[test]
fn an_actor_flood_makes_one_key_and_memory_comes_back() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let watch = MemoryWatch::start(node.pid());
    let addr = node.addr;
    let accept = [("Accept", "application/activity+json")];
    let threads: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                (0..25)
                    .map(|j| {
                        let path = match (i + j) % 4 {
                            0 | 1 => "/users/alice",
                            2 => "/users/alice/outbox",
                            _ => "/users/alice/followers",
                        };
                        let r = msm_tests::request(addr, "GET", path, &accept, None)
                            .expect("actor request");
                        let key = (path == "/users/alice" && r.status == 200)
                            .then(|| r.json()["publicKey"]["publicKeyPem"].clone());
                        (path, r.status, key)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(answers.len(), 200);
    for (path, status, _) in &answers {
        assert!(
            *status == 200 || (*status == 503 && *path == "/users/alice"),
            "{path}: {status}"
        );
    }
    let mut keys: Vec<&Value> = answers.iter().filter_map(|(_, _, k)| k.as_ref()).collect();
    assert!(
        keys.len() >= 50,
        "{} of 100 actor requests answered",
        keys.len()
    );
    keys.dedup();
    assert_eq!(keys.len(), 1, "one key, made once");
    assert!(keys[0]
        .as_str()
        .is_some_and(|k| k.starts_with("-----BEGIN PUBLIC KEY")));
    watch.assert_came_back("actor flood (200 anonymous GETs)", 24 * 1024, 8 * 1024);
}
