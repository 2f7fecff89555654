//! The Mastodon client API driven by real clients nobody here wrote (issue 15): toot 0.52 (the
//! command line), Mastodon.py 2.3 and masto 8 (the library of Elk and Phanpy, on Node 22), each
//! running a scenario script of `tests/mastodon/` against a real node, then a two-node scenario
//! (an app on one node sees another node's post live and replies to it).
//!
//! A script checks every answer it gets and exits non-zero on the first one Mastodon would not
//! give; this test then checks the node's state through msm's own API (the posts exist with
//! their text and picture, the like, the follow, the reply on the other node), so no script
//! can pass by printing. The clients are required: `tests/run` installs them (PyPI and npm,
//! pinned), and a machine without them fails here with a message rather than skipping.

use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode};
use msm_tests::{data_dir, Node, UNLIMITED_POSTING};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PW: &str = "a long password";
/// Longest one scenario script may run (each also stops itself).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);
/// How long the two-node reply may take to reach the other node.
const DELIVERY_WAIT: Duration = Duration::from_secs(30);
/// The Node.js major version masto 8 needs (`tests/mastodon/package.json` pins `node@22`).
/// The Python clients and their pinned versions (`tests/run` installs them).
const PY_CLIENTS: [(&str, &str); 2] = [("toot", "0.52.1"), ("Mastodon.py", "2.3.3")];

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("mastodon")
}

/// Fails loudly unless python3 has the pinned toot and Mastodon.py.
fn python_clients() {
    for (package, version) in PY_CLIENTS {
        msm_tests::require_python_package(package, version);
    }
}

/// Node 22 from `tests/mastodon/node_modules` (installing it and masto with `npm ci` if
/// missing); fails loudly without it.
fn node22() -> PathBuf {
    msm_tests::npm_node22(&scripts(), "masto")
}

/// A small PNG made now by ImageMagick (`tests/run` installs it).
fn picture(dir: &Path) -> PathBuf {
    let p = dir.join("picture.png");
    let mut cmd = Command::new(
        ["/usr/bin/convert-im6.q16", "/usr/bin/convert"]
            .into_iter()
            .find(|c| Path::new(c).exists())
            .unwrap_or("convert"),
    );
    let o = cmd
        .args(["-size", "96x64", "gradient:orange-navy"])
        .arg(&p)
        .output();
    assert!(
        o.as_ref().is_ok_and(|o| o.status.success()),
        "ImageMagick could not make a PNG (install imagemagick): {o:?}"
    );
    p
}

/// A node of `domain` with `users`, whose pages (and streaming URL) are at the loopback
/// address the clients use.
fn node(domain: &str, users: &[&str]) -> (tempfile::TempDir, Node, String) {
    let list: Vec<(&str, &str, bool)> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, PW, i == 0))
        .collect();
    let dir = data_dir(domain, &list);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let cfg = dir.path().join("msmd.toml");
    std::fs::write(
        &cfg,
        format!("{UNLIMITED_POSTING}[http]\npublic_url = \"{url}\"\n"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let n = Node::start(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "--listen", &listen],
    );
    (dir, n, url)
}

/// Words unique to one run, so that no check can match an earlier run's text.
fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{:x}{:x}", t.as_micros() & 0xff_ffff, std::process::id())
}

/// The last `n` lines of a log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a scenario to its end (at most [`SCRIPT_TIMEOUT`]); fails with its output and the
/// nodes' logs unless it exits 0 and says it passed.
fn run_scenario(mut cmd: Command, what: &str, nodes: &[&Node]) -> String {
    cmd.current_dir(scripts())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the scenario") {
            break Some(s);
        }
        if t0.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let logs: Vec<String> = nodes
        .iter()
        .map(|n| format!("--- node {} log ---\n{}", n.addr, tail(&n.log(), 30)))
        .collect();
    let ok = status.is_some_and(|s| s.success()) && out.contains("scenario passed");
    assert!(
        ok,
        "{what} failed ({}) after {:.1} s\n--- stdout ---\n{out}\n--- stderr ---\n{}\n{}",
        status.map_or("timed out".to_string(), |s| s.to_string()),
        t0.elapsed().as_secs_f64(),
        tail(&err, 60),
        logs.join("\n")
    );
    eprintln!("{what}: passed in {:.1} s", t0.elapsed().as_secs_f64());
    out
}

/// GET `path` with msm's own API as the holder of `token`.
fn get(node: &Node, token: &str, path: &str) -> Value {
    let auth = format!("Bearer {token}");
    let r = node.http("GET", path, &[("Authorization", auth.as_str())], None);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

/// The texts one scenario posts, unique to this run.
struct Texts {
    text: String,
    picture_text: String,
    alt: String,
    reply: String,
    stream: String,
    mention: String,
}

impl Texts {
    fn new(client: &str, user: &str, domain: &str) -> Texts {
        let n = nonce();
        Texts {
            text: format!("hello from {client} {n}"),
            picture_text: format!("a picture from {client} {n}"),
            alt: format!("an orange and navy gradient {n}"),
            reply: format!("a reply from {client} {n}"),
            stream: format!("live to the stream {n}"),
            mention: format!("@{user}@{domain} have a look m{n}"),
        }
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.env("MSM_TEXT", &self.text)
            .env("MSM_PICTURE_TEXT", &self.picture_text)
            .env("MSM_PICTURE_ALT", &self.alt)
            .env("MSM_REPLY_TEXT", &self.reply)
            .env("MSM_STREAM_TEXT", &self.stream)
            .env("MSM_MENTION_TEXT", &self.mention);
    }
}

/// One node a.test with alice and carol; carol's post mentioning alice (through msm's API)
/// is there before the scenario starts, for its notifications.
struct Single {
    _dir: tempfile::TempDir,
    node: Node,
    url: String,
    alice: String,
    carol: String,
    mention_id: String,
    texts: Texts,
    pic_dir: tempfile::TempDir,
}

fn single(client: &str) -> Single {
    let (dir, node, url) = node("a.test", &["alice", "carol"]);
    let alice = node.login("alice", PW);
    let carol = node.login("carol", PW);
    let texts = Texts::new(client, "alice", "a.test");
    let r = node.post_json(
        "/api/v1/posts",
        Some(&carol),
        &json!({ "text": texts.mention }),
    );
    assert_eq!(r.status, 201, "carol's mention: {}", r.text());
    let mention_id = r.json()["id"].as_str().unwrap().to_string();
    Single {
        _dir: dir,
        node,
        url,
        alice,
        carol,
        mention_id,
        texts,
        pic_dir: tempfile::tempdir().unwrap(),
    }
}

impl Single {
    fn env(&self, cmd: &mut Command) {
        cmd.env("MSM_URL", &self.url)
            .env("MSM_DOMAIN", "a.test")
            .env("MSM_USER", "alice")
            .env("MSM_PASSWORD", PW)
            .env("MSM_OTHER", "carol")
            .env("MSM_OTHER_PASSWORD", PW)
            .env("MSM_PICTURE", picture(self.pic_dir.path()));
        self.texts.apply(cmd);
    }

    /// alice's posts, as msm's API has them.
    fn alice_posts(&self) -> Vec<Value> {
        self.node.all_posts("alice", Some(&self.alice))
    }

    /// The post of alice with exactly `text`.
    fn post_with(&self, text: &str) -> Value {
        let posts = self.alice_posts();
        posts
            .iter()
            .find(|p| p["text"] == text)
            .cloned()
            .unwrap_or_else(|| panic!("alice has no post {text:?}: {posts:?}"))
    }

    /// The picture post is stored with its picture and description, and the picture is served.
    fn check_picture_post(&self) {
        let p = self.post_with(&self.texts.picture_text);
        let media = p["media"].as_array().expect("media");
        assert_eq!(media.len(), 1, "{p}");
        assert_eq!(media[0]["alt"], self.texts.alt.as_str(), "{p}");
        assert_eq!(media[0]["type"], "image/png", "{p}");
        let url = media[0]["url"].as_str().expect("url");
        let auth = format!("Bearer {}", self.alice);
        let r = self
            .node
            .http("GET", url, &[("Authorization", auth.as_str())], None);
        assert_eq!(r.status, 200, "GET {url}");
        assert!(
            r.body.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{url} is not a PNG"
        );
    }

    /// alice follows carol, in msm's own list.
    fn check_follows_carol(&self) {
        let f = get(&self.node, &self.alice, "/api/v1/follows");
        assert!(
            f["follows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["address"] == "carol@a.test"),
            "alice does not follow carol: {f}"
        );
    }

    /// carol's mention has alice's like.
    fn check_liked(&self) {
        let (who, seq) = self.mention_id.split_once('/').unwrap();
        let t = get(
            &self.node,
            &self.alice,
            &format!("/api/v1/thread/{who}/{seq}"),
        );
        assert_eq!(t["post"]["likes"], 1, "{t}");
        assert_eq!(t["post"]["liked"], true, "{t}");
    }

    /// carol's post that went to alice's stream is stored as carol's.
    fn check_carol_streamed_post(&self) {
        let posts = self.node.all_posts("carol", Some(&self.carol));
        assert!(
            posts
                .iter()
                .any(|p| p["text"] == self.texts.stream.as_str()),
            "carol has no post {:?}: {posts:?}",
            self.texts.stream
        );
    }
}

#[test]
fn toot_logs_in_posts_a_picture_reads_replies_and_follows() {
    python_clients();
    let s = single("toot");
    let mut cmd = Command::new("python3");
    cmd.arg("toot_cli.py");
    s.env(&mut cmd);
    run_scenario(cmd, "the toot scenario", &[&s.node]);

    let p = s.post_with(&s.texts.text);
    assert_eq!(p["audience"], "public", "{p}");
    assert_eq!(p["kind"], "post", "{p}");
    s.check_picture_post();
    let reply = s.post_with(&s.texts.reply);
    assert_eq!(reply["kind"], "reply", "{reply}");
    assert_eq!(reply["refers_to"], s.mention_id.as_str(), "{reply}");
    s.check_follows_carol();
}

#[test]
fn mastodon_py_authorizes_through_the_form_posts_favourites_follows_and_streams() {
    python_clients();
    let s = single("Mastodon.py");
    let mut cmd = Command::new("python3");
    cmd.arg("mastodon_py.py");
    s.env(&mut cmd);
    run_scenario(cmd, "the Mastodon.py scenario", &[&s.node]);

    assert_eq!(s.post_with(&s.texts.text)["kind"], "post");
    s.check_picture_post();
    s.check_liked();
    s.check_follows_carol();
    s.check_carol_streamed_post();
}

#[test]
fn masto_js_authorizes_with_pkce_posts_favourites_follows_and_streams_over_a_websocket() {
    let node = node22();
    let s = single("masto.js");
    let mut cmd = Command::new(node);
    cmd.arg("masto.mjs");
    s.env(&mut cmd);
    run_scenario(cmd, "the masto.js scenario", &[&s.node]);

    assert_eq!(s.post_with(&s.texts.text)["kind"], "post");
    s.check_picture_post();
    s.check_liked();
    s.check_follows_carol();
    s.check_carol_streamed_post();
}

#[test]
fn an_app_on_one_node_sees_another_nodes_post_live_and_its_reply_gets_there() {
    python_clients();
    let dns_port = free_port();
    let (a_port, b_port) = (free_port(), free_port());
    let (a_url, b_url) = (
        format!("http://127.0.0.1:{a_port}"),
        format!("http://127.0.0.1:{b_port}"),
    );
    let http = |url: &str| format!("\n{UNLIMITED_POSTING}[http]\npublic_url = \"{url}\"\n");
    let a = LabNode::new("a.test", &["alice"], PW, dns_port, &http(&a_url));
    let b = LabNode::new("b.test", &["bob"], PW, dns_port, &http(&b_url));
    let (a_listen, b_listen) = (format!("127.0.0.1:{a_port}"), format!("127.0.0.1:{b_port}"));
    let na = a.start_with(&["--listen", &a_listen]);
    let nb = b.start_with(&["--listen", &b_listen]);
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);

    let n = nonce();
    let b_text = format!("news from b.test {n}");
    let reply_text = format!("alice answers from a.test {n}");
    let mut cmd = Command::new("python3");
    cmd.arg("two_nodes.py")
        .env("MSM_A_URL", &a_url)
        .env("MSM_B_URL", &b_url)
        .env("MSM_B_DOMAIN", "b.test")
        .env("MSM_A_USER", "alice")
        .env("MSM_B_USER", "bob")
        .env("MSM_PASSWORD", PW)
        .env("MSM_B_TEXT", &b_text)
        .env("MSM_REPLY_TEXT", &reply_text);
    run_scenario(cmd, "the two-node scenario", &[&na, &nb]);

    // bob's node has the reply: in bob's notifications and in the thread of his post
    let bob = nb.login("bob", PW);
    let t0 = Instant::now();
    loop {
        let v = get(&nb, &bob, "/api/v1/notifications");
        let replied = v["notifications"].as_array().unwrap().iter().any(|x| {
            x["kind"] == "reply" && x["actor"] == "alice@a.test" && x["text"] == reply_text.as_str()
        });
        if replied {
            break;
        }
        assert!(
            t0.elapsed() < DELIVERY_WAIT,
            "alice's reply did not reach b.test: {v}\n{}",
            tail(&nb.log(), 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let post = nb
        .all_posts("bob", Some(&bob))
        .into_iter()
        .find(|p| p["text"] == b_text.as_str())
        .expect("bob's post on b.test");
    let t = get(
        &nb,
        &bob,
        &format!("/api/v1/thread/bob@b.test/{}", post["seq"]),
    );
    assert!(
        t["replies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["author"] == "alice@a.test" && r["text"] == reply_text.as_str()),
        "the thread on b.test lacks alice's reply: {t}"
    );
}
