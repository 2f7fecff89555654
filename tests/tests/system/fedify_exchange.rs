//! msmd and a real ActivityPub server exchange activities (issue 16): Fedify 2.3.6
//! (`tests/fedify/peer.mjs`) at `https://peer.test/` and msmd at `https://msm.test/` (its own
//! HTTPS) in a network namespace, both trusting the lab CA. The peer follows alice by her
//! handle and receives msmd's signed `Accept`; alice posts and the peer receives a verified
//! `Create` of her note at its shared inbox; the peer's reply naming her and its like land
//! in her notifications; alice follows the peer by address, its post reaches her timeline,
//! her like reaches the peer, its edit shows in the same post, its delete takes the post
//! away; alice's edit and delete reach the peer as `Update` and `Delete`; the peer takes its
//! follow back and alice's followers count drops. Once with RFC 9421 signatures (Fedify's own) and once with
//! draft-cavage (as Mastodon signs), so msmd verifies both and its answers pass Fedify's checks.
//!
//! Needs root, iproute2, dnsmasq, openssl and npm (`tests/run` installs them).

use msm_tests::fedify::{FedLab, Signing};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PEER: &str = "peer.test";
const MSM: &str = "msm.test";
const ALICE: &str = "https://msm.test/users/alice";

fn exchange(signing: Signing) {
    let lab = FedLab::new(&[(PEER, "127.0.0.2"), (MSM, "127.0.0.4")]);
    let data = msm_tests::data_dir(MSM, &[("alice", "a long password", true)]);
    let cfg = tempfile::tempdir().unwrap();
    let file = lab.write_msmd_config(MSM, cfg.path());
    let node =
        msm_tests::Node::start_in(lab.ns(), data.path(), &["--config", file.to_str().unwrap()]);
    let peer = lab.peer(PEER, signing);

    // the peer follows alice: WebFinger, the actor, a signed Follow; msmd verifies it (fetching
    // the peer's key with a signed GET) and answers with a signed Accept
    let follow = peer.ok("follow", &json!({ "acct": "@alice@msm.test" }));
    let follow_id = follow["id"].as_str().unwrap().to_string();
    assert_eq!(follow["actor"], ALICE);
    let accept = peer.wait_received("alice's Accept", |r| r["type"] == "Accept");
    assert_eq!(accept["verified"], true, "{accept:#}\n{}", node.log());
    assert_eq!(accept["actor"], ALICE, "{accept:#}");
    assert_eq!(accept["object"], follow_id.as_str(), "{accept:#}");
    let state = |peer: &msm_tests::fedify::Peer| peer.following()[0]["state"].clone();
    assert_eq!(state(&peer), "accepted", "{:?}", peer.following());
    assert_eq!(followers(&node), 1);

    // alice posts: the peer's shared inbox receives a verified Create of her note
    let token = node.login("alice", "a long password");
    let text = format!("hello fediverse, {signing:?} #msm");
    let r = node.post_json("/api/v1/posts", Some(&token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}", r.text());
    let create = peer.wait_received("alice's Create", |r| r["type"] == "Create");
    assert_eq!(create["verified"], true, "{create:#}\n{}", node.log());
    assert_eq!(create["actor"], ALICE, "{create:#}");
    assert_eq!(create["inbox"], "shared", "{create:#}");
    // msmd signs RFC 9421 first, as Fedify and Mastodon do, and Fedify verifies it
    assert_eq!(create["signature"], "rfc9421", "{create:#}");
    let note = &create["activity"]["object"];
    assert_eq!(note["attributedTo"], ALICE, "{create:#}");
    let content = note["content"].as_str().unwrap_or("");
    assert!(content.contains("hello fediverse"), "{create:#}");
    // one tag is compacted to an object, several to an array
    let tags = match &note["tag"] {
        Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    assert!(tags.iter().any(|t| t["name"] == "#msm"), "{create:#}");

    // the peer replies to alice's note, naming her: alice is notified, with the text
    let alice_note = create["object"].as_str().unwrap().to_string();
    peer.ok(
        "post",
        &json!({ "content": "<p>hi back <a href=\"https://msm.test/@alice\">@alice</a></p>",
                 "inReplyTo": alice_note, "mentions": ["@alice@msm.test"] }),
    );
    let reply = wait_for(&node, &token, "/api/v1/notifications", |v| {
        v["notifications"].as_array().and_then(|n| {
            n.iter()
                .find(|n| n["actor"] == "peer@peer.test" && n["kind"] == "reply")
                .cloned()
        })
    });
    assert!(
        reply["text"]
            .as_str()
            .is_some_and(|t| t.contains("hi back")),
        "{reply:#}"
    );
    // the peer likes alice's note: a notification of the like
    peer.ok("like", &json!({ "object": alice_note }));
    wait_for(&node, &token, "/api/v1/notifications", |v| {
        v["notifications"].as_array().and_then(|n| {
            n.iter()
                .find(|n| n["actor"] == "peer@peer.test" && n["kind"] == "like")
                .cloned()
        })
    });

    // alice follows the peer by its address: WebFinger, the actor, a Follow; the peer accepts
    let (status, answer) = node.follow(&token, "peer@peer.test");
    assert!(status == 200 || status == 201, "{status} {answer}");
    let got = peer.wait_received("alice's Follow", |r| r["type"] == "Follow");
    assert_eq!(got["verified"], true, "{got:#}\n{}", node.log());
    assert_eq!(got["actor"], ALICE, "{got:#}");
    let following = wait_for(&node, &token, "/api/v1/follows", |v| {
        let list = v
            .get("follows")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default();
        list.into_iter()
            .find(|f| f["address"] == "peer@peer.test" && f["approval"] == "accepted")
    });
    assert_eq!(following["address"], "peer@peer.test");
    // the peer posts to its followers: the note reaches alice's home timeline
    let text = format!("news from the fediverse, {signing:?}");
    let note = peer.ok("post", &json!({ "content": format!("<p>{text}</p>") }));
    let note_id = note["id"].as_str().unwrap().to_string();
    let post = wait_for(&node, &token, "/api/v1/timeline", |v| {
        v["posts"].as_array().and_then(|p| {
            p.iter()
                .find(|p| p["text"].as_str().is_some_and(|t| t.contains(&text)))
                .cloned()
        })
    });
    assert_eq!(post["author"], "peer@peer.test", "{post:#}");
    // alice likes it: the peer receives a verified Like of its note
    let r = node.post_json(
        &format!("/api/v1/posts/{}/like", post["id"].as_str().unwrap()),
        Some(&token),
        &json!({}),
    );
    assert!(
        r.status == 200 || r.status == 201,
        "{} {}",
        r.status,
        r.text()
    );
    let like = peer.wait_received("alice's Like", |r| r["type"] == "Like");
    assert_eq!(like["verified"], true, "{like:#}");
    assert_eq!(like["object"], note_id.as_str(), "{like:#}");
    // the peer edits its note: alice's timeline shows the new text in the same post
    let edited = format!("{text}, edited by its author");
    peer.ok(
        "update",
        &json!({ "object": note_id, "content": format!("<p>{edited}</p>") }),
    );
    let shown = wait_for(&node, &token, "/api/v1/timeline", |v| {
        v["posts"].as_array().and_then(|p| {
            p.iter()
                .find(|p| p["text"].as_str().is_some_and(|t| t.contains(&edited)))
                .cloned()
        })
    });
    assert_eq!(
        shown["id"], post["id"],
        "the edit changes the post: {shown:#}"
    );
    // the peer deletes its note: it leaves alice's timeline
    peer.ok("delete", &json!({ "object": note_id }));
    wait_for(&node, &token, "/api/v1/timeline", |v| {
        let posts = v["posts"].as_array()?;
        (!posts
            .iter()
            .any(|p| p["text"].as_str().is_some_and(|t| t.contains(&text))))
        .then_some(Value::Null)
    });

    // alice edits her note: the peer receives an Update of it; then she deletes it
    let auth = format!("Bearer {token}");
    let edited = format!("hello fediverse, edited, {signing:?}");
    let r = node.http(
        "PUT",
        "/api/v1/posts/1",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&json!({ "text": edited }).to_string()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let update = peer.wait_received("alice's Update", |r| r["type"] == "Update");
    assert_eq!(update["verified"], true, "{update:#}");
    assert_eq!(update["object"], alice_note.as_str(), "{update:#}");
    assert!(
        update["activity"]["object"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("edited")),
        "{update:#}"
    );
    let r = node.http(
        "DELETE",
        "/api/v1/posts/1",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let delete = peer.wait_received("alice's Delete", |r| r["type"] == "Delete");
    assert_eq!(delete["verified"], true, "{delete:#}");
    assert_eq!(delete["object"], alice_note.as_str(), "{delete:#}");

    // the peer takes its follow back: alice has no follower left
    peer.ok("unfollow", &json!({ "acct": "@alice@msm.test" }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while followers(&node) != 0 {
        assert!(
            Instant::now() < deadline,
            "the Undo did not remove the follower"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let errors = peer.errors();
    assert!(errors.is_empty(), "the peer logged errors: {errors:?}");
}

/// Polls GET `path` (as alice) until `found` picks something out of the answer (20 s at most).
fn wait_for(
    node: &msm_tests::Node,
    token: &str,
    path: &str,
    found: impl Fn(&Value) -> Option<Value>,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let auth = format!("Bearer {token}");
    loop {
        let r = node.http("GET", path, &[("Authorization", &auth)], None);
        let v: Value = serde_json::from_str(&r.text()).unwrap_or(Value::Null);
        if let Some(x) = found(&v) {
            return x;
        }
        assert!(
            Instant::now() < deadline,
            "nothing found at {path}: {v:#}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// alice's followers count, as her followers collection says.
fn followers(node: &msm_tests::Node) -> u64 {
    msm_tests::fedify::followers_count(node, "alice")
}

#[test]
fn a_fedify_peer_signing_rfc9421_follows_alice_and_receives_her_posts() {
    exchange(Signing::Rfc9421);
}

#[test]
fn a_fedify_peer_signing_like_mastodon_follows_alice_and_receives_her_posts() {
    exchange(Signing::Cavage);
}
