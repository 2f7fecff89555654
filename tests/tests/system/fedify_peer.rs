//! The Fedify test peer proves itself against another Fedify peer (issue 16): two real
//! ActivityPub servers (Fedify 2.3.6 on Node 22, `tests/fedify/peer.mjs`) on `peer.test` and
//! `other.test`, in a network namespace, over HTTPS with a test CA. One follows the other by
//! its handle (WebFinger, signed actor fetch), gets the Accept, receives a post as a verified
//! Create, and a Like and its Undo travel back — with RFC 9421 signatures and with
//! draft-cavage ones (as Mastodon signs). A third test shows the peer's `verified` is Fedify's
//! verdict: an unsigned activity posted to its inbox is listed as unverified. Another runs every
//! control call between the two; the last puts a real msmd at `https://msm.test/` in the lab.
//!
//! Needs root, iproute2, dnsmasq, openssl and npm (`tests/run` installs them and the pinned npm
//! packages); without them the tests fail with a message rather than skip.

use msm_tests::fedify::{FedLab, Signing, DNS_ADDR};
use serde_json::{json, Value};
use std::net::UdpSocket;
use std::time::Duration;

const PEER: &str = "peer.test";
const OTHER: &str = "other.test";
/// How long one DNS query waits for its answer, and how many are sent.
const DNS_TRY: Duration = Duration::from_secs(2);
const DNS_TRIES: usize = 5;

fn lab() -> FedLab {
    FedLab::new(&[(PEER, "127.0.0.2"), (OTHER, "127.0.0.3")])
}

/// Asserts that `r` is a verified activity of `actor`, signed the way `signing` signs.
fn assert_signed(r: &Value, actor: &str, signing: Signing) {
    assert_eq!(r["verified"], true, "{r:#}");
    assert_eq!(r["actor"], actor, "{r:#}");
    assert_eq!(r["signature"], signing.received_as(), "{r:#}");
}

fn follow_post_like(signing: Signing) {
    let lab = lab();
    let a = lab.peer(PEER, signing);
    let b = lab.peer(OTHER, signing);

    // a follows b by handle: WebFinger over HTTPS, the actor fetched, Follow, Accept.
    let follow = a.ok("follow", &json!({ "acct": b.acct() }));
    let follow_id = follow["id"].as_str().unwrap().to_string();
    assert_eq!(follow["actor"], b.actor());
    let got = b.wait_received("the Follow", |r| r["type"] == "Follow");
    assert_signed(&got, &a.actor(), signing);
    assert_eq!(got["id"], follow_id.as_str());
    assert_eq!(got["object"], b.actor());
    assert_eq!(got["inbox"], "personal", "{got:#}");
    let accept = a.wait_received("the Accept", |r| r["type"] == "Accept");
    assert_signed(&accept, &b.actor(), signing);
    assert_eq!(accept["object"], follow_id.as_str(), "{accept:#}");
    assert_eq!(b.followers(), vec![a.actor()]);
    assert_eq!(a.following()[0]["state"], "accepted", "{:?}", a.following());

    // b posts (public, to its followers): a receives a verified Create of that note.
    let text = format!("<p>hello from {OTHER}, {signing:?}</p>");
    let post = b.ok("post", &json!({ "content": text, "tags": ["msm"] }));
    let note = post["id"].as_str().unwrap().to_string();
    let create = a.wait_received("the Create", |r| {
        r["type"] == "Create" && r["object"] == note.as_str()
    });
    assert_signed(&create, &b.actor(), signing);
    // To followers through their servers' shared inboxes (a Follow came to the personal one).
    assert_eq!(create["inbox"], "shared", "{create:#}");
    assert_eq!(create["activity"]["object"]["content"], text.as_str());
    assert_eq!(
        create["activity"]["object"]["attributedTo"],
        b.actor(),
        "{create:#}"
    );

    // a likes it, then takes the like back.
    let like = a.ok("like", &json!({ "object": note }));
    let like_id = like["id"].as_str().unwrap().to_string();
    let got = b.wait_received("the Like", |r| r["type"] == "Like");
    assert_signed(&got, &a.actor(), signing);
    assert_eq!(got["id"], like_id.as_str());
    assert_eq!(got["object"], note.as_str());
    a.ok("unlike", &json!({ "object": note }));
    let undo = b.wait_received("the Undo of the Like", |r| r["type"] == "Undo");
    assert_signed(&undo, &a.actor(), signing);
    assert_eq!(undo["object"], like_id.as_str(), "{undo:#}");

    assert!(a.errors().is_empty(), "{:?}", a.errors());
    assert!(b.errors().is_empty(), "{:?}", b.errors());
}

#[test]
fn fedify_peers_follow_post_and_like_with_rfc9421_signatures() {
    follow_post_like(Signing::Rfc9421);
}

#[test]
fn fedify_peers_follow_post_and_like_with_cavage_signatures() {
    follow_post_like(Signing::Cavage);
}

/// A DNS query for the A record of `name`; the addresses of the answer (None: no answer).
fn resolve_a(server: &str, name: &str) -> Option<Vec<[u8; 4]>> {
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(DNS_TRY)).unwrap();
    let mut buf = [0u8; 512];
    // Over UDP a query or its answer may be lost on a loaded machine: ask again, as resolvers do.
    let n = (0..DNS_TRIES).find_map(|_| {
        s.send_to(&q, (server, 53)).ok()?;
        s.recv(&mut buf).ok()
    })?;
    // Answers follow the question; each is a name pointer (2), type, class, ttl, len, data.
    let answers = u16::from_be_bytes([buf[6], buf[7]]) as usize;
    let mut at = q.len();
    let mut out = Vec::new();
    for _ in 0..answers {
        let rr = &buf[at..n];
        let len = u16::from_be_bytes([rr[10], rr[11]]) as usize;
        if rr[2..4] == [0, 1] && len == 4 {
            out.push([rr[12], rr[13], rr[14], rr[15]]);
        }
        at += 12 + len;
    }
    Some(out)
}

#[test]
fn fedify_peer_lists_an_unsigned_activity_as_unverified_and_lab_names_resolve() {
    let lab = lab();
    // The namespace's dnsmasq (what msmd's resolver asks) knows the lab's names.
    let ips = msm_tests::netns::in_netns(lab.ns(), || resolve_a(DNS_ADDR, OTHER));
    assert_eq!(
        ips,
        Some(vec![[127, 0, 0, 3]]),
        "the lab's DNS; its sockets: {}",
        lab.exec(&["ss", "-lnup"])
    );

    let a = lab.peer(PEER, Signing::Rfc9421);
    // An unsigned Create posted to its inbox over HTTPS, by name (the hosts file, the CA).
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://other.test/forged/1",
        "type": "Create",
        "actor": "https://other.test/users/peer",
        "object": {"id": "https://other.test/forged/note", "type": "Note",
                   "attributedTo": "https://other.test/users/peer", "content": "forged"}
    });
    let ca = lab.ca_file();
    let status = lab.exec(&[
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "20",
        "--cacert",
        ca.to_str().unwrap(),
        "-H",
        "Content-Type: application/activity+json",
        "--data-binary",
        &forged.to_string(),
        "https://peer.test/users/peer/inbox",
    ]);
    assert_eq!(status, "401", "the unsigned POST was not refused");
    let got = a.wait_received("the forged Create", |r| {
        r["id"] == "https://other.test/forged/1"
    });
    assert_eq!(got["verified"], false, "{got:#}");
    assert_eq!(got["signature"], Value::Null, "{got:#}");
}

/// The object of a received activity, as the sender embedded it.
fn object(r: &Value) -> &Value {
    &r["activity"]["object"]
}

/// `v` as a list (JSON-LD compaction makes a one-element list a bare value).
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

#[test]
fn fedify_peers_exchange_every_control_call() {
    let lab = lab();
    let a = lab.peer(PEER, Signing::Rfc9421);
    let b = lab.peer(OTHER, Signing::Rfc9421);
    let follow = a.ok("follow", &json!({ "acct": b.acct() }));
    let accept = a.wait_received("the Accept", |r| r["type"] == "Accept");
    // The Accept embeds the Follow by ids, as Mastodon's does.
    assert_eq!(object(&accept)["id"], follow["id"]);
    assert_eq!(object(&accept)["actor"], a.actor(), "{accept:#}");

    // A post with a content warning, a mention, a hashtag and a picture.
    let post = b.ok(
        "post",
        &json!({
            "content": "<p>look</p>", "summary": "cw", "sensitive": true,
            "mentions": [a.acct()], "tags": ["msm"],
            "attachments": [{"url": "https://other.test/media/1.png", "name": "alt"}]
        }),
    );
    let note = post["id"].as_str().unwrap().to_string();
    let create = a.wait_received("the Create", |r| r["object"] == note.as_str());
    // a is both mentioned and a follower: one delivery (its shared inbox), not two.
    let creates = a
        .received()
        .iter()
        .filter(|r| r["object"] == note.as_str())
        .count();
    assert_eq!(creates, 1);
    let o = object(&create);
    assert_eq!(
        (o["summary"].as_str(), o["sensitive"].as_bool()),
        (Some("cw"), Some(true))
    );
    let tags = list(&o["tag"]);
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Mention" && t["href"] == a.actor().as_str()),
        "{tags:?}"
    );
    assert!(tags
        .iter()
        .any(|t| t["type"] == "Hashtag" && t["name"] == "#msm"));
    assert_eq!(
        list(&o["attachment"])[0]["url"],
        "https://other.test/media/1.png"
    );
    assert!(list(&o["cc"]).contains(&json!(a.actor())), "{o:#}");

    // A reply addressed to b alone.
    let reply = a.ok(
        "post",
        &json!({ "content": "re", "inReplyTo": note, "to": [b.acct()], "cc": [] }),
    );
    let got = b.wait_received("the reply", |r| r["object"] == reply["id"]);
    assert_eq!(object(&got)["inReplyTo"], note.as_str());

    // Announce and its Undo.
    let boost = a.ok("announce", &json!({ "object": note }));
    let got = b.wait_received("the Announce", |r| r["type"] == "Announce");
    assert_eq!(
        (&got["id"], got["object"].as_str()),
        (&boost["id"], Some(note.as_str()))
    );
    a.ok("unannounce", &json!({ "object": note }));
    b.wait_received("the Undo of the Announce", |r| {
        r["type"] == "Undo" && r["object"] == boost["id"]
    });

    // Update and Delete of b's note reach its follower a.
    b.ok(
        "update",
        &json!({ "object": note, "content": "<p>changed</p>" }),
    );
    let got = a.wait_received("the Update", |r| r["type"] == "Update");
    assert_eq!(object(&got)["content"], "<p>changed</p>");
    b.ok("delete", &json!({ "object": note }));
    let got = a.wait_received("the Delete", |r| r["type"] == "Delete");
    assert_eq!(got["object"], note.as_str());

    // Unfollow, then a block: a's new Follow is rejected.
    a.ok("unfollow", &json!({ "acct": b.acct() }));
    b.wait_received("the Undo of the Follow", |r| {
        r["type"] == "Undo" && r["object"] == follow["id"]
    });
    assert!(b.followers().is_empty(), "{:?}", b.followers());
    b.ok("block", &json!({ "acct": a.acct() }));
    let got = a.wait_received("the Block", |r| r["type"] == "Block");
    assert_eq!(got["object"], a.actor());
    let again = a.ok("follow", &json!({ "acct": b.acct() }));
    let got = a.wait_received("the Reject", |r| r["type"] == "Reject");
    assert_eq!(got["object"], again["id"]);
    assert_eq!(a.following()[0]["state"], "rejected");
    assert!(b.followers().is_empty());

    // A bad call is refused with a reason, and changes nothing.
    let r = a.call("like", &json!({ "object": 7 }));
    assert_eq!(r.status, 400, "{}", r.text());
    for bad in [
        json!({ "content": "x", "to": "public" }),
        json!({ "content": "x", "summary": 3 }),
        json!({ "content": "x", "attachments": [{ "url": "not a url" }] }),
        json!({ "content": 5 }),
    ] {
        let r = a.call("post", &bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let r = a.call("nonsense", &json!({}));
    assert_eq!(r.status, 404, "{}", r.text());
    let before = b.received().len();
    let r = a.call("like", &json!({ "object": "https://nowhere.test/x" }));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(b.received().len(), before);
    assert!(a.errors().is_empty() && b.errors().is_empty());
}

#[test]
fn msmd_in_the_lab_is_reached_over_its_own_https_and_fedify_looks_up_its_actor() {
    const MSM: &str = "msm.test";
    let lab = FedLab::new(&[
        (PEER, "127.0.0.2"),
        (OTHER, "127.0.0.3"),
        (MSM, "127.0.0.4"),
    ]);
    let data = msm_tests::data_dir(MSM, &[("alice", "a long password", true)]);
    // msmd's own HTTPS on 443 of its lab address, with the lab CA's certificate for msm.test
    let (cert, key) = lab.cert(MSM);
    let cfg = tempfile::tempdir().unwrap();
    let file = cfg.path().join("msmd.toml");
    std::fs::write(
        &file,
        format!(
            "[http]\npublic_url = \"https://{MSM}\"\n[https]\nlisten = \"127.0.0.4:443\"\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let node =
        msm_tests::Node::start_in(lab.ns(), data.path(), &["--config", file.to_str().unwrap()]);
    // msmd's WebFinger at https://msm.test/, by name, trusting the lab CA: what a peer asks first.
    let ca = lab.ca_file();
    let jrd = lab.exec(&[
        "curl",
        "-sS",
        "--fail",
        "--max-time",
        "20",
        "--cacert",
        ca.to_str().unwrap(),
        "https://msm.test/.well-known/webfinger?resource=acct:alice@msm.test",
    ]);
    let jrd: Value = serde_json::from_str(&jrd).unwrap_or_else(|e| panic!("{e}: {jrd}"));
    assert_eq!(jrd["subject"], "acct:alice@msm.test", "{jrd:#}");
    // a browser asking for the actor is sent to the profile page
    let browser = lab.exec(&[
        "curl",
        "-sS",
        "--max-time",
        "20",
        "--cacert",
        ca.to_str().unwrap(),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "https://msm.test/users/alice",
    ]);
    assert_eq!(browser.trim(), "302 https://msm.test/@alice");

    // Fedify's own lookup of the msm account: WebFinger `rel=self`, then the actor, whose
    // key and inboxes Fedify reads as it reads Mastodon's.
    let a = lab.peer(PEER, Signing::Cavage);
    let alice = a.ok("lookup", &json!({ "acct": "@alice@msm.test" }));
    assert_eq!(alice["id"], "https://msm.test/users/alice", "{alice:#}");
    assert_eq!(alice["type"], "Person");
    assert_eq!(alice["preferredUsername"], "alice");
    assert_eq!(alice["inbox"], "https://msm.test/users/alice/inbox");
    assert_eq!(alice["endpoints"]["sharedInbox"], "https://msm.test/inbox");
    let key = &alice["publicKey"];
    assert_eq!(key["owner"], "https://msm.test/users/alice", "{alice:#}");
    assert!(
        key["publicKeyPem"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN PUBLIC KEY-----")),
        "{alice:#}"
    );
    // FEP-521a: the Ed25519 key that signs alice's msm posts, as a Multikey
    let multikey = &alice["assertionMethod"][0];
    assert_eq!(
        multikey["controller"], "https://msm.test/users/alice",
        "{alice:#}"
    );
    assert!(
        multikey["publicKeyMultibase"]
            .as_str()
            .is_some_and(|k| k.starts_with("z6Mk")),
        "{alice:#}"
    );
    // the collections it names, with their sizes, as Fedify reads them
    let token = node.login("alice", "a long password");
    for text in ["one", "two"] {
        let r = node.post_json("/api/v1/posts", Some(&token), &json!({ "text": text }));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    for (field, total) in [("outbox", 2), ("followers", 0), ("following", 0)] {
        let c = a.ok("fetch", &json!({ "uri": alice[field] }));
        assert_eq!(c["type"], "OrderedCollection", "{field}: {c:#}");
        assert_eq!(c["totalItems"], total, "{field}: {c:#}");
    }
    let featured = a.ok("fetch", &json!({ "uri": alice["featured"] }));
    assert_eq!(featured["type"], "OrderedCollection", "{featured:#}");
    // the key is kept: asked again, the same
    let again = a.ok("lookup", &json!({ "acct": "@alice@msm.test" }));
    assert_eq!(again["publicKey"], alice["publicKey"]);
    let r = a.call("lookup", &json!({ "acct": "@nobody@msm.test" }));
    assert_eq!(r.status, 400, "{}", r.text());

    // A peer's own lookup (WebFinger, then a signed GET of the actor) of another peer.
    let _b = lab.peer(OTHER, Signing::Rfc9421);
    let actor = a.ok("lookup", &json!({ "acct": "@peer@other.test" }));
    assert_eq!(actor["id"], "https://other.test/users/peer");
    assert_eq!(actor["preferredUsername"], "peer");
    assert_eq!(
        actor["endpoints"]["sharedInbox"],
        "https://other.test/inbox"
    );
    let r = a.call("lookup", &json!({ "acct": "@nobody@other.test" }));
    assert_eq!(r.status, 400, "{}", r.text());
}
