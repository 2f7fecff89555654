//! The conversation's spam path under attack: messages addressed to local people by authors
//! nobody here follows. An anonymous link peer floods invented authors mentioning alice
//! (nothing is stored, the key queries are gated, memory stays bounded and comes back), and a
//! real node's author who mentions her past the hourly budget is cut off at the budget.

use msm_tests::hostile::MemoryWatch;
use msm_tests::lab::{free_port, key_of, node_records, Dns, LabNode, Peer};
use msm_tests::Node;
use msmd::net::addressed::MAX_PER_AUTHOR_PER_HOUR;
use msmd::proto::link::{self as wire, AckStatus};
use msmd::proto::{Address, Audience, Body, FrameType, Limits, Message, NodeKey};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "a long password";
/// No unauthenticated flood may take a node above this VmRSS (issue 12's goal).
const FLOOD_LIMIT_KB: u64 = 32 * 1024;
/// What the flood may leave resident after idle, above the baseline.
const RETAINED_KB: u64 = 4 * 1024;
/// Messages of the flood.
const FLOOD: usize = 3000;

fn start(n: &LabNode) -> Node {
    n.start_with(&["--log", "info"])
}

fn mention(author: &str, seq: u64, key: &NodeKey) -> Vec<u8> {
    Message {
        author: Address::parse(author).unwrap(),
        seq,
        time_ms: 1,
        audience: Audience::Public,
        body: Body::Note {
            text: "hello @alice@a.test, free money".into(),
            summary: String::new(),
            reply_to: None,
            mentions: [Address::parse("alice@a.test").unwrap()]
                .into_iter()
                .collect(),
        },
    }
    .sign(key, &Limits::default())
    .unwrap()
    .encode()
}

fn notifications(node: &Node, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    node.http(
        "GET",
        "/api/v1/notifications?limit=100",
        &[("Authorization", auth.as_str())],
        None,
    )
    .json()
}

#[test]
fn strangers_mentioning_local_people_are_bounded() {
    let dns_port = free_port();
    let a = LabNode::new("a.test", &["alice"], PW, dns_port, "");
    let b = LabNode::new(
        "b.test",
        &["bob"],
        PW,
        dns_port,
        "[limits]\npost_burst = 1000\nposts_per_hour = 1000\n",
    );
    let (na, nb) = (start(&a), start(&b));
    let mut records = node_records("a.test", a.port, Some(&key_of(&na)));
    records.extend(node_records("b.test", b.port, Some(&key_of(&nb))));
    let _dns = Dns::start(dns_port, &records);
    let alice = na.login("alice", PW);
    let stored = na.message_count();

    // 1. an anonymous peer floods invented authors of invented domains mentioning alice
    let watch = MemoryWatch::start(na.pid());
    let evil = NodeKey::generate().unwrap();
    let addr = format!("127.0.0.1:{}", a.port).parse().unwrap();
    let mut p = Peer::connect(addr, "evil.test", &evil).unwrap();
    let mut refused = 0;
    for i in 0..FLOOD {
        p.send(
            FrameType::Message,
            // half from the domain the link claims (whose key queries are capped), half
            // from domains it does not speak for (never asked)
            &mention(
                &if i % 2 == 0 {
                    format!("u{i}@evil.test")
                } else {
                    format!("u{i}@spam{}.test", i % 50)
                },
                1,
                &evil,
            ),
        )
        .unwrap();
        let ack = p.recv_kind(FrameType::Ack).unwrap();
        let ack: wire::Ack = wire::decode("ack", &ack.payload).unwrap();
        assert_ne!(ack.status, AckStatus::Stored);
        refused += usize::from(ack.status == AckStatus::Refused);
    }
    assert_eq!(refused, FLOOD, "no key, no message");
    let health = na.http("GET", "/healthz", &[], None);
    assert_eq!(health.status, 200, "the node serves during the flood");
    drop(p);
    let after = watch.settle(watch.baseline_kb + RETAINED_KB, Duration::from_secs(20));
    let (peak, after) = watch.report("stranger mentions", after);
    assert!(peak < FLOOD_LIMIT_KB, "peak {peak} kB");
    assert!(
        after <= watch.baseline_kb + RETAINED_KB,
        "{after} kB after the flood, baseline {} kB",
        watch.baseline_kb
    );
    assert_eq!(na.message_count(), stored, "nothing of the flood stored");
    assert_eq!(notifications(&na, &alice)["unread"], 0);

    // 2. a real author nobody on a.test follows mentions alice past the hourly budget
    let bob = nb.login("bob", PW);
    let over = MAX_PER_AUTHOR_PER_HOUR as usize + 10;
    for i in 0..over {
        let r = nb.post_json(
            "/api/v1/posts",
            Some(&bob),
            &json!({ "text": format!("@alice@a.test note {i}") }),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let t0 = Instant::now();
    loop {
        let n = notifications(&na, &alice)["unread"].as_u64().unwrap();
        let outbox = nb.http("GET", "/healthz", &[], None).json()["outbox"]
            .as_u64()
            .unwrap_or(1);
        if n >= MAX_PER_AUTHOR_PER_HOUR as u64 && outbox == 0 {
            assert_eq!(n, MAX_PER_AUTHOR_PER_HOUR as u64, "the budget holds");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "{n} notifications, outbox {outbox}\n{}",
            na.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
