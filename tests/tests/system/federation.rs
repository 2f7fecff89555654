//! Federation between real nodes: three `msmd` processes on loopback, found through a private
//! dnsmasq serving SRV and TXT records.

use msm_tests::lab::{forged_post, free_port, key_of, node_records, Dns, DropProxy, LabNode, Peer};
use msm_tests::Node;
use msmd::proto::link::{self as wire, AckStatus};
use msmd::proto::{Address, Audience, Body, FrameType, Limits, Message, NodeKey};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub(crate) const PW: &str = "a long password";

/// The sender's ack timeout: healing faster than this was not the sender's retry.
fn outbox_ack_timeout() -> Duration {
    msmd::net::outbox::ACK_TIMEOUT
}

/// One node of the lab, with the lab's password.
fn lab_node(domain: &str, users: &[&str], dns_port: u16, extra_config: &str) -> LabNode {
    LabNode::new(domain, users, PW, dns_port, extra_config)
}

/// Starts a lab node with federation logs on.
fn start(n: &LabNode) -> Node {
    n.start_with(&["--log", "info,msmd::net=debug,msmd::discover=debug"])
}

fn counter(node: &Node, name: &str) -> u64 {
    node.http("GET", "/healthz", &[], None).json()["counters"][name]
        .as_u64()
        .unwrap()
}

fn follow(node: &Node, token: &str, address: &str) -> (u16, Value) {
    node.follow(token, address)
}

pub(crate) fn post(node: &Node, token: &str, text: &str) -> u64 {
    let r = node.post_json("/api/v1/posts", Some(token), &json!({ "text": text }));
    assert_eq!(r.status, 201, "{}\n{}", r.text(), node.log());
    r.json()["seq"].as_u64().unwrap()
}

/// Waits until `node` shows `n` posts of `author` to the holder of `token`.
pub(crate) fn wait_posts(node: &Node, author: &str, token: &str, n: usize) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let known = node
            .http(
                "GET",
                &format!("/api/v1/users/{author}/posts?limit=1"),
                &[],
                None,
            )
            .status
            == 200;
        let posts = if known {
            node.all_posts(author, Some(token))
        } else {
            Vec::new()
        };
        if posts.len() >= n {
            return posts;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "only {} of {n} posts of {author} arrived:\n{}",
            posts.len(),
            node.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// a.test (users `a_users`) and b.test (bob), both running and TXT-pinned in a fresh dnsmasq.
pub(crate) fn pinned_pair(a_users: &[&str]) -> (LabNode, LabNode, Node, Node, Dns) {
    let dns_port = free_port();
    let a = lab_node("a.test", a_users, dns_port, "");
    let b = lab_node("b.test", &["bob"], dns_port, "");
    let (na, nb) = (start(&a), start(&b));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let dns = Dns::start(dns_port, &records);
    (a, b, na, nb, dns)
}

/// [`pinned_pair`] where alice (of a.test) follows bob (of b.test) and has his posts "one" and
/// "two"; the lab's DNS and both sessions with it.
struct Followed {
    a: LabNode,
    b: LabNode,
    na: Node,
    nb: Node,
    alice: String,
    bob: String,
    _dns: Dns,
}

fn alice_has_two_posts_of_bob() -> Followed {
    let (a, b, na, nb, _dns) = pinned_pair(&["alice"]);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    assert_eq!(follow(&na, &alice, "bob@b.test").0, 201);
    post(&nb, &bob, "one");
    post(&nb, &bob, "two");
    wait_posts(&na, "bob@b.test", &alice, 2);
    Followed {
        a,
        b,
        na,
        nb,
        alice,
        bob,
        _dns,
    }
}

/// The texts of `posts`, in their order.
fn texts(posts: &[Value]) -> Vec<String> {
    posts
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn follow_deliver_once_per_server_and_survive_kill_9() {
    let (a, _b, na, nb, _dns) = pinned_pair(&["alice", "ann"]);

    let alice = na.login("alice", PW);
    let ann = na.login("ann", PW);
    let bob = nb.login("bob", PW);
    let first = post(&nb, &bob, "before anyone followed");
    let f = follow(&na, &alice, "bob@b.test");
    assert_eq!(
        f,
        (
            201,
            json!({"address": "bob@b.test", "state": "active", "note": null})
        ),
        "{}\n---\n{}",
        na.log(),
        nb.log()
    );
    assert_eq!(follow(&na, &ann, "Bob@B.test").0, 201);
    // The new follow brought the recent history along.
    assert_eq!(wait_posts(&na, "bob@b.test", &alice, 1)[0]["seq"], first);

    post(&nb, &bob, "hello from b");
    let r = nb.post_json(
        "/api/v1/posts",
        Some(&bob),
        &json!({"text": "friends only", "audience": "followers"}),
    );
    assert_eq!(r.status, 201);
    let posts = wait_posts(&na, "bob@b.test", &alice, 3);
    assert_eq!(posts[0]["text"], "friends only");
    assert_eq!(
        na.all_posts("bob@b.test", Some(&ann)).len(),
        3,
        "ann follows bob too"
    );
    assert_eq!(
        na.all_posts("bob@b.test", None).len(),
        2,
        "followers-only stays with followers"
    );
    // Two followers on a.test, one delivery per post.
    assert_eq!(counter(&nb, "deliveries_sent"), 2, "{}", nb.log());
    assert_eq!(counter(&na, "messages_stored"), 3);
    let f = nb
        .http(
            "GET",
            "/api/v1/followers",
            &[("Authorization", &format!("Bearer {bob}"))],
            None,
        )
        .json();
    assert_eq!(f["servers"], json!(["a.test"]));

    // The follower's node dies; bob posts 20 times; it comes back and gets all of them once.
    na.kill9();
    for i in 0..20 {
        post(&nb, &bob, &format!("while a was down {i}"));
    }
    let na = start(&a);
    let posts = wait_posts(&na, "bob@b.test", &alice, 23);
    let mut seqs: Vec<u64> = posts.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    seqs.reverse();
    assert_eq!(
        seqs,
        (1..=23).collect::<Vec<_>>(),
        "all arrived, none twice"
    );
    assert_eq!(counter(&na, "messages_stored"), 20);
    let t0 = Instant::now();
    while nb.http("GET", "/healthz", &[], None).json()["outbox"] != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "outbox did not drain"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Deletes and profile updates travel too.
    let r = nb.http(
        "DELETE",
        "/api/v1/posts/2",
        &[("Authorization", &format!("Bearer {bob}"))],
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = nb.http(
        "PUT",
        "/api/v1/profile",
        &[
            ("Authorization", &format!("Bearer {bob}")),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"display_name": "Bob B.", "bio": "builds routers"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let t0 = Instant::now();
    while na
        .all_posts("bob@b.test", Some(&alice))
        .iter()
        .any(|p| p["seq"] == 2)
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "delete did not arrive"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Unfollow of the last local follower unsubscribes a.test at b.test.
    for t in [&alice, &ann] {
        let r = na.http(
            "DELETE",
            "/api/v1/follows/bob@b.test",
            &[("Authorization", &format!("Bearer {t}"))],
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let t0 = Instant::now();
    loop {
        let f = nb
            .http(
                "GET",
                "/api/v1/followers",
                &[("Authorization", &format!("Bearer {bob}"))],
                None,
            )
            .json();
        if f["servers"] == json!([]) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "still subscribed: {f}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn hostile_input_is_refused_counted_and_not_stored() {
    // Every field bound: one left to `..` would be dropped here (a data directory, the DNS).
    let Followed {
        a,
        b,
        na,
        nb,
        alice,
        bob: _,
        _dns,
    } = alice_has_two_posts_of_bob();
    let stored = na.message_count();
    let evil = NodeKey::generate().unwrap();
    let na_links = format!("127.0.0.1:{}", a.port).parse().unwrap();

    // A link claiming b.test with a key that is not b.test's TXT pin is refused.
    let mut liar = Peer::connect(na_links, "b.test", &evil).unwrap();
    let close = liar.recv().unwrap();
    assert_eq!(close.kind, FrameType::Close);
    let reason = wire::decode::<wire::Close>("close", &close.payload)
        .unwrap()
        .reason;
    assert!(reason.contains("TXT pin"), "{reason}");
    assert!(counter(&na, "key_mismatches") >= 1);

    // Capture bob's real signed messages by subscribing at b.test as an unknown server.
    let mut spy = Peer::connect(
        format!("127.0.0.1:{}", b.port).parse().unwrap(),
        "evil.test",
        &evil,
    )
    .unwrap();
    let bob_addr = Address::parse("bob@b.test").unwrap();
    spy.send(
        FrameType::Subscribe,
        &wire::encode(&wire::Subscribe {
            author: bob_addr.clone(),
            backfill: 10,
        }),
    )
    .unwrap();
    assert_eq!(
        spy.recv_kind(FrameType::Subscribed).unwrap().kind,
        FrameType::Subscribed
    );
    let real_one = spy.recv_kind(FrameType::Message).unwrap().payload;

    let mut p = Peer::connect(na_links, "evil.test", &evil).unwrap();
    let ack = |p: &mut Peer, payload: &[u8]| -> AckStatus {
        p.send(FrameType::Message, payload).unwrap();
        wire::decode::<wire::Ack>("ack", &p.recv_kind(FrameType::Ack).unwrap().payload)
            .unwrap()
            .status
    };
    // A replayed frame: a duplicate, dropped.
    assert_eq!(ack(&mut p, &real_one), AckStatus::Duplicate);
    assert_eq!(
        counter(&na, "duplicates"),
        1,
        "A:\n{}\nB:\n{}",
        na.log(),
        nb.log()
    );
    // A message in bob's name signed by someone else.
    let forged = forged_post("bob@b.test", 3, &evil);
    assert_eq!(ack(&mut p, &forged.encode()), AckStatus::Refused);
    assert_eq!(counter(&na, "bad_signatures"), 1);
    // An altered copy of a real message (one bit of its signature).
    let mut altered = real_one.clone();
    let i = altered.len() - 10;
    altered[i] ^= 1;
    assert_eq!(ack(&mut p, &altered), AckStatus::Refused);
    assert_eq!(counter(&na, "bad_signatures"), 2);
    // A message nobody here asked for.
    let stranger = Message {
        author: Address::parse("eve@evil.test").unwrap(),
        seq: 1,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Post {
            text: "spam".into(),
        },
    }
    .sign(&evil, &Limits::default())
    .unwrap();
    assert_eq!(ack(&mut p, &stranger.encode()), AckStatus::Unwanted);
    assert!(counter(&na, "unsolicited") >= 1);
    // Garbage in a Message frame.
    p.send(FrameType::Message, b"\x01garbage").unwrap();
    p.send(FrameType::Ping, &[]).unwrap();
    let _ = p.recv_kind(FrameType::Pong);
    assert_eq!(counter(&na, "malformed"), 1, "the garbage frame is counted");

    assert_eq!(na.message_count(), stored, "nothing hostile was stored");
    assert_eq!(
        texts(&na.all_posts("bob@b.test", Some(&alice))),
        ["two", "one"]
    );
}

/// A second subscription to an author whose posts are stored (here a key refresh, which a
/// forged message starts) asks the author's node for none of them again: only for what
/// follows the stored ones.
#[test]
fn a_second_subscription_asks_only_for_what_is_missing() {
    let Followed {
        a,
        b: _b,
        na,
        nb,
        alice,
        bob,
        _dns,
    } = alice_has_two_posts_of_bob();
    let subscribes = || nb.log().matches("subscriber added server=a.test").count();
    assert_eq!(subscribes(), 1, "{}", nb.log());

    let evil = NodeKey::generate().unwrap();
    let mut p = Peer::connect(
        format!("127.0.0.1:{}", a.port).parse().unwrap(),
        "evil.test",
        &evil,
    )
    .unwrap();
    let forged = forged_post("bob@b.test", 3, &evil);
    p.send(FrameType::Message, &forged.encode()).unwrap();
    let ack: wire::Ack =
        wire::decode("ack", &p.recv_kind(FrameType::Ack).unwrap().payload).unwrap();
    assert_eq!(ack.status, AckStatus::Refused);
    let t0 = Instant::now();
    while subscribes() < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no refresh:\n{}",
            na.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // What bob's node sends after the second Subscribed comes before this post on the link.
    post(&nb, &bob, "three");
    assert_eq!(
        texts(&wait_posts(&na, "bob@b.test", &alice, 3)),
        ["three", "two", "one"]
    );
    assert_eq!(
        counter(&na, "duplicates"),
        0,
        "posts sent again\nA:\n{}\nB:\n{}",
        na.log(),
        nb.log()
    );
}

#[test]
fn a_dropped_delivery_is_healed_by_backfill() {
    let dns_port = free_port();
    let a = lab_node("a.test", &["alice"], dns_port, "");
    let b = lab_node("b.test", &["bob"], dns_port, "");
    let (na, nb) = (start(&a), start(&b));
    // b.test reaches a.test through a proxy that drops bob's message 2 on its way.
    let proxy = DropProxy::start(
        free_port(),
        format!("127.0.0.1:{}", a.port).parse().unwrap(),
        "bob@b.test",
        2,
    );
    let mut records = node_records("a.test", proxy.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);
    let alice = na.login("alice", PW);
    let bob = nb.login("bob", PW);
    assert_eq!(follow(&na, &alice, "bob@b.test").0, 201);
    post(&nb, &bob, "one");
    wait_posts(&na, "bob@b.test", &alice, 1);
    // Message 2 is lost on the way; message 3 follows it through the delivery window
    // without waiting for 2's ack, so a.test sees the gap and asks for 2 itself.
    let t0 = Instant::now();
    post(&nb, &bob, "two");
    post(&nb, &bob, "three");
    let posts = wait_posts(&na, "bob@b.test", &alice, 3);
    assert!(
        t0.elapsed() < outbox_ack_timeout(),
        "healed by backfill, not by the sender's retry"
    );
    assert_eq!(
        posts
            .iter()
            .map(|p| p["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert_eq!(
        proxy.dropped.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the proxy dropped message 2"
    );
    assert!(
        counter(&na, "backfill_requests") >= 1,
        "the gap was noticed and asked for:\n{}",
        na.log()
    );
}

#[test]
fn discovery_falls_back_and_explains_failures() {
    let dns_port = free_port();
    let d_port = free_port();
    let a = lab_node(
        "a.test",
        &["alice"],
        dns_port,
        &format!("default_port = {d_port}\n"),
    );
    let b = lab_node("b.test", &["bob"], dns_port, "");
    let c = lab_node("c.test", &["carol"], dns_port, "");
    let mut d = lab_node("d.test", &["dan"], dns_port, "");
    d.port = d_port;
    let (na, _nb, nc, nd) = (start(&a), start(&b), start(&c), start(&d));
    let wrong = NodeKey::generate().unwrap().public().to_text();
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, None));
    records.extend(node_records("c.test", c.port, Some(&wrong)));
    records.push("--host-record=d.test,127.0.0.1".into()); // no SRV: the domain itself, default port
    let _dns = Dns::start(dns_port, &records);
    let alice = na.login("alice", PW);

    let (status, v) = follow(&na, &alice, "dan@d.test");
    assert_eq!(status, 201, "{v}");
    let dan = nd.login("dan", PW);
    post(&nd, &dan, "found without SRV");
    wait_posts(&na, "dan@d.test", &alice, 1);

    let (status, v) = follow(&na, &alice, "x@nowhere.test");
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("nowhere.test does not exist"),
        "{v}"
    );
    let (status, v) = follow(&na, &alice, "ghost@b.test");
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("ghost@b.test does not exist"),
        "{v}"
    );
    // b.test has no TXT pin: its key is remembered from the first link (trust on first use).
    // This follow comes from the command line; the running node picks it up.
    let o = msm_tests::msmd(
        &[
            "follow",
            "alice",
            "bob@b.test",
            "--data",
            a.dir.path().to_str().unwrap(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", msm_tests::text(&o));
    let t0 = Instant::now();
    loop {
        let o = msm_tests::msmd(
            &[
                "following",
                "alice",
                "--data",
                a.dir.path().to_str().unwrap(),
            ],
            "",
        );
        if msm_tests::text(&o).contains("bob@b.test\tactive") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "CLI follow not taken up: {}",
            msm_tests::text(&o)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // c.test's TXT pin names another key: the link is refused and the follow stays pending.
    let (status, v) = follow(&na, &alice, "carol@c.test");
    assert_eq!(status, 202, "{v}");
    assert!(v["note"].as_str().unwrap().contains("TXT pin"), "{v}");
    assert!(counter(&na, "key_mismatches") >= 1);
    // Following again while the subscription is still failing says so, not "active".
    let (status, v) = follow(&na, &alice, "carol@c.test");
    assert_eq!((status, v["state"].as_str()), (202, Some("pending")), "{v}");
    let follows = na
        .http(
            "GET",
            "/api/v1/follows",
            &[("Authorization", &format!("Bearer {alice}"))],
            None,
        )
        .json();
    let states: Vec<(String, String)> = follows["follows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["address"].as_str().unwrap().into(),
                f["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("bob@b.test".into(), "active".into()),
            ("carol@c.test".into(), "pending".into()),
            ("dan@d.test".into(), "active".into())
        ]
    );
    drop(nc);
}

#[test]
fn webfinger_names_the_node_of_a_domain_without_srv() {
    use msmd::discover::jrd;
    let dns_port = free_port();
    let site = msm_tests::https::WebSite::start(free_port(), &["w.test", "v.test"]);
    let wf = format!(
        "webfinger_port = {}\nwebfinger_ca = \"{}\"\n",
        site.addr.port(),
        site.ca_file().display()
    );
    let a = lab_node("a.test", &["alice"], dns_port, &wf);
    let w = lab_node("w.test", &["bob"], dns_port, "");
    let v = lab_node("v.test", &["vic"], dns_port, "");
    let (na, nw, _nv) = (start(&a), start(&w), start(&v));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    // w.test, v.test and u.test have an address but no SRV record: their web site names the node.
    for d in ["w.test", "v.test", "u.test"] {
        records.push(format!("--host-record={d},127.0.0.1"));
    }
    let _dns = Dns::start(dns_port, &records);
    let w_key = msmd::proto::PublicKey::from_text(&key_of(&nw)).unwrap();
    let wrong = NodeKey::generate().unwrap().public();
    let doc = |d: &str, port: u16, key: &msmd::proto::PublicKey| {
        let href = jrd::node_href("127.0.0.1", port);
        jrd::document(&format!("acct:{d}@{d}"), &href, key, None)
    };
    site.set_document("w.test", &doc("w.test", w.port, &w_key));
    site.set_document("v.test", &doc("v.test", v.port, &wrong));
    site.set_document("u.test", &doc("u.test", w.port, &w_key));
    let alice = na.login("alice", PW);

    let (status, v_) = follow(&na, &alice, "bob@w.test");
    assert_eq!(status, 201, "{v_}\n{}", na.log());
    let bob = nw.login("bob", PW);
    post(&nw, &bob, "found by WebFinger");
    let posts = wait_posts(&na, "bob@w.test", &alice, 1);
    assert_eq!(posts[0]["text"], "found by WebFinger");
    assert!(
        site.requests().contains(
            "w.test /.well-known/webfinger?resource=acct%3Aw.test%40w.test&rel=urn%3Amsm%3Anode"
        ),
        "{}",
        site.requests()
    );

    // The key a WebFinger document names pins the link like a TXT record.
    let (status, v_) = follow(&na, &alice, "vic@v.test");
    assert_eq!(status, 202, "{v_}");
    assert!(
        v_["note"].as_str().unwrap().contains("WebFinger key"),
        "{v_}"
    );

    // u.test is not in the site's certificate: its document is not believed (the TLS handshake
    // fails before any request), and the fallback (u.test itself on the default port) has no node.
    let (status, v_) = follow(&na, &alice, "una@u.test");
    assert_ne!(status, 201, "{v_}");
    assert!(!site.requests().contains("u.test"), "{}", site.requests());
}
