//! Tests of the message layout, signatures and decoding rules.

use super::*;
use proptest::prelude::*;

fn key() -> NodeKey {
    NodeKey::from_bytes(&[1u8; 32]).unwrap()
}

fn post(author: &str, seq: u64, text: &str) -> Message {
    Message {
        author: Address::parse(author).unwrap(),
        seq,
        time_ms: 300,
        audience: Audience::Public,
        body: Body::Post { text: text.into() },
    }
}

/// The layout in the module doc, written out by hand.
#[test]
fn post_body_bytes_match_the_documented_layout() {
    let m = post("a@b.test", 1, "hi");
    #[rustfmt::skip]
    let expected: &[u8] = &[
        8, b'a', b'@', b'b', b'.', b't', b'e', b's', b't', // author
        1,          // seq
        0xac, 0x02, // time_ms = 300
        0,          // audience = public
        0,          // body = Post
        2, b'h', b'i',
    ];
    assert_eq!(m.to_bytes(), expected);
    let signed = m.sign(&key(), &Limits::default()).unwrap();
    let wire = signed.encode();
    assert_eq!(wire[0], MESSAGE_VERSION);
    assert_eq!(&wire[1..1 + expected.len()], expected);
    assert_eq!(wire.len(), 1 + expected.len() + 64);
}

#[test]
fn reply_and_delete_bytes_match_the_documented_layout() {
    let mut m = post("a@b.test", 5, "ok");
    m.audience = Audience::Followers;
    m.body = Body::Reply {
        to: MessageId {
            author: Address::parse("c@d.test").unwrap(),
            seq: 200,
        },
        text: "ok".into(),
    };
    #[rustfmt::skip]
    let expected: &[u8] = &[
        8, b'a', b'@', b'b', b'.', b't', b'e', b's', b't',
        5, 0xac, 0x02,
        1,                                                  // followers
        1,                                                  // Reply
        8, b'c', b'@', b'd', b'.', b't', b'e', b's', b't', 0xc8, 0x01, // to = c@d.test#200
        2, b'o', b'k',
    ];
    assert_eq!(m.to_bytes(), expected);
    m.body = Body::Delete { target: 3 };
    assert_eq!(&m.to_bytes()[12..], &[1, 3, 3]); // followers, Delete, target 3
}

#[test]
fn signed_message_round_trips_and_verifies() {
    let k = key();
    let signed = post("alice@smith.family", 1, "hello world")
        .sign(&k, &Limits::default())
        .unwrap();
    let back = SignedMessage::decode(&signed.encode(), &Limits::default()).unwrap();
    assert_eq!(back, signed);
    back.verify(&k.public()).unwrap();
    let other = NodeKey::from_bytes(&[2u8; 32]).unwrap();
    assert_eq!(back.verify(&other.public()), Err(ProtoError::BadSignature));
}

/// Flipping any single bit of the wire form must never give a message that verifies.
#[test]
fn any_altered_byte_is_rejected() {
    let k = key();
    let wire = post("alice@smith.family", 7, "pay bob 10")
        .sign(&k, &Limits::default())
        .unwrap()
        .encode();
    for i in 0..wire.len() {
        for bit in 0..8 {
            let mut w = wire.clone();
            w[i] ^= 1 << bit;
            let verdict =
                SignedMessage::decode(&w, &Limits::default()).and_then(|m| m.verify(&k.public()));
            assert!(
                verdict.is_err(),
                "byte {i} bit {bit} altered and still accepted"
            );
        }
    }
}

#[test]
fn non_canonical_encodings_are_refused() {
    let k = key();
    let wire = post("a@b.test", 1, "hi")
        .sign(&k, &Limits::default())
        .unwrap()
        .encode();
    // seq 1 written as an over-long varint (0x81 0x00) instead of 0x01
    let mut w = wire.clone();
    w.splice(10..11, [0x81, 0x00]);
    assert!(SignedMessage::decode(&w, &Limits::default()).is_err());
    // an upper-case author
    let mut w = wire.clone();
    w[2] = b'A';
    assert!(SignedMessage::decode(&w, &Limits::default()).is_err());
    // trailing bytes between the fields and the signature
    let mut w = wire;
    w.insert(w.len() - 64, 0);
    assert!(SignedMessage::decode(&w, &Limits::default()).is_err());
}

#[test]
fn field_rules_are_enforced() {
    let l = Limits { max_text: 10 };
    let k = key();
    assert!(matches!(
        post("a@b.test", 1, "12345678901").sign(&k, &l),
        Err(ProtoError::TooLarge { .. })
    ));
    assert!(post("a@b.test", 1, "1234567890").sign(&k, &l).is_ok());
    assert!(matches!(
        post("a@b.test", 0, "x").sign(&k, &l),
        Err(ProtoError::InvalidMessage(_))
    ));
    assert!(matches!(
        post("a@b.test", 1, "  \n").sign(&k, &l),
        Err(ProtoError::InvalidMessage(_))
    ));
    assert!(matches!(
        post("a@b.test", 1, "a\u{0}b").sign(&k, &l),
        Err(ProtoError::InvalidMessage(_))
    ));
    let mut d = post("a@b.test", 3, "x");
    d.body = Body::Delete { target: 3 };
    assert!(d.clone().sign(&k, &l).is_err());
    d.body = Body::Delete { target: 2 };
    assert!(d.sign(&k, &l).is_ok());
    // a message signed under a large cap is refused by a node with a smaller one
    let big = post("a@b.test", 1, "0123456789abc")
        .sign(&k, &Limits::default())
        .unwrap()
        .encode();
    assert!(matches!(
        SignedMessage::decode(&big, &l),
        Err(ProtoError::TooLarge { .. })
    ));
}

#[test]
fn decode_refuses_short_empty_and_huge_input() {
    let l = Limits::default();
    assert!(SignedMessage::decode(&[], &l).is_err());
    assert!(SignedMessage::decode(&[1], &l).is_err());
    assert!(SignedMessage::decode(&[2; 100], &l).is_err());
    assert!(SignedMessage::decode(&[1; 70], &l).is_err());
    let huge = vec![1u8; MAX_ENCODED_MESSAGE + 1];
    assert!(matches!(
        SignedMessage::decode(&huge, &l),
        Err(ProtoError::TooLarge { .. })
    ));
}

fn arb_address() -> impl Strategy<Value = Address> {
    ("[a-z0-9]{1,12}", "[a-z]{1,10}", "[a-z]{2,6}")
        .prop_map(|(u, d, t)| Address::parse(&format!("{u}@{d}.{t}")).unwrap())
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 äöü€🙂\n]{0,200}".prop_map(|s| format!("x{s}"))
}

fn arb_message() -> impl Strategy<Value = Message> {
    let id = || (arb_address(), 1u64..u64::MAX).prop_map(|(author, seq)| MessageId { author, seq });
    let body = prop_oneof![
        arb_text().prop_map(|text| Body::Post { text }),
        (id(), arb_text()).prop_map(|(to, text)| Body::Reply { to, text }),
        id().prop_map(|of| Body::Repost { of }),
        (1u64..1000).prop_map(|target| Body::Delete { target }),
        ("[a-zA-Z ]{0,64}", "[a-z ]{0,300}")
            .prop_map(|(display_name, bio)| Body::Profile { display_name, bio }),
    ];
    (
        arb_address(),
        1000u64..u64::MAX,
        any::<u64>(),
        any::<bool>(),
        body,
    )
        .prop_map(|(author, seq, time_ms, p, body)| Message {
            author,
            seq,
            time_ms,
            audience: if p {
                Audience::Public
            } else {
                Audience::Followers
            },
            body,
        })
}

proptest! {
    #[test]
    fn encode_decode_round_trip(m in arb_message()) {
        let k = key();
        let signed = m.sign(&k, &Limits::default()).unwrap();
        let wire = signed.encode();
        let back = SignedMessage::decode(&wire, &Limits::default()).unwrap();
        back.verify(&k.public()).unwrap();
        prop_assert_eq!(back.encode(), wire);
        prop_assert_eq!(back, signed);
    }

    #[test]
    fn whatever_decodes_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(m) = SignedMessage::decode(&bytes, &Limits::default()) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }
}

#[test]
fn noncharacters_are_refused_and_line_breaks_normalised() {
    for bad in [
        "a\u{fffe}",
        "b\u{ffff}",
        "c\u{fdd0}",
        "d\u{1fffe}",
        "e\u{10ffff}",
    ] {
        assert!(
            post("a@b.test", 1, bad)
                .sign(&key(), &Limits::default())
                .is_err(),
            "{bad:?}"
        );
    }
    for good in ["\u{fffd}", "\u{fdcf}", "\u{fdf0}", "\u{1f98a}", "tab\there"] {
        post("a@b.test", 1, good)
            .sign(&key(), &Limits::default())
            .unwrap();
    }
    assert_eq!(normalize_line_breaks("a\r\nb\rc\n"), "a\nb\nc\n");
}

fn note(mentions: &[&str], summary: &str) -> Message {
    let mut m = post("a@b.test", 7, "hi");
    m.body = Body::Note {
        text: "hi @c@d.test".into(),
        summary: summary.into(),
        reply_to: Some(MessageId {
            author: Address::parse("c@d.test").unwrap(),
            seq: 2,
        }),
        mentions: mentions
            .iter()
            .map(|a| Address::parse(a).unwrap())
            .collect(),
    };
    m
}

#[test]
fn version_2_is_used_exactly_when_a_message_needs_it() {
    assert_eq!(post("a@b.test", 1, "x").version(), MESSAGE_VERSION);
    assert_eq!(note(&[], "").version(), MESSAGE_VERSION_2);
    let mut direct = note(&["c@d.test"], "");
    direct.audience = Audience::Direct;
    let mut like = post("a@b.test", 3, "x");
    like.body = Body::Like {
        of: MessageId {
            author: Address::parse("c@d.test").unwrap(),
            seq: 1,
        },
    };
    for m in [direct, like] {
        let wire = m.clone().sign(&key(), &Limits::default()).unwrap().encode();
        assert_eq!(wire[0], MESSAGE_VERSION_2);
        let back = SignedMessage::decode(&wire, &Limits::default()).unwrap();
        assert_eq!(back.message, m);
        back.verify(&key().public()).unwrap();
        // the same bytes under the other version byte are refused, not misread
        let mut v1 = wire.clone();
        v1[0] = MESSAGE_VERSION;
        assert!(matches!(
            SignedMessage::decode(&v1, &Limits::default()),
            Err(ProtoError::NotCanonical(_))
        ));
    }
    // a version 1 message relabelled as version 2 is refused too
    let mut old = post("a@b.test", 1, "x")
        .sign(&key(), &Limits::default())
        .unwrap()
        .encode();
    old[0] = MESSAGE_VERSION_2;
    assert!(SignedMessage::decode(&old, &Limits::default()).is_err());
}

#[test]
fn a_signature_does_not_carry_over_between_versions() {
    let m = note(&["c@d.test"], "cw");
    let signed = m.clone().sign(&key(), &Limits::default()).unwrap();
    let forged = key().sign(&[SIGNING_CONTEXT, m.to_bytes().as_slice()].concat());
    let f = SignedMessage {
        message: m,
        signature: forged,
    };
    assert!(
        f.verify(&key().public()).is_err(),
        "a v1 signature over v2 bytes"
    );
    signed.verify(&key().public()).unwrap();
}

#[test]
fn notes_likes_and_edits_are_checked() {
    let l = Limits::default();
    assert!(
        note(&["c@d.test", "c@d.test"], "").validate(&l).is_err(),
        "twice"
    );
    assert!(note(&[], &"w".repeat(MAX_SUMMARY + 1))
        .validate(&l)
        .is_err());
    assert!(
        note(&[], "a\u{0}b").validate(&l).is_err(),
        "control character"
    );
    let mut direct = note(&[], "");
    direct.audience = Audience::Direct;
    assert!(direct.validate(&l).is_err(), "a direct post names someone");
    let mut edit = post("a@b.test", 5, "x");
    edit.body = Body::Edit {
        target: 5,
        text: "new".into(),
        summary: String::new(),
        mentions: Mentions::new(),
    };
    assert!(edit.validate(&l).is_err(), "an edit names an earlier seq");
    edit.body = Body::Edit {
        target: 4,
        text: "  ".into(),
        summary: String::new(),
        mentions: Mentions::new(),
    };
    assert!(edit.validate(&l).is_err(), "empty text");
    // more than MAX_MENTIONS addresses do not decode into the fixed-capacity list
    let with = |n: usize| {
        let mut bytes = note(&[], "").to_bytes();
        let count_at = bytes.len() - 1;
        bytes[count_at] = n as u8;
        for i in 0..n {
            let a = format!("u{i}@d.test");
            bytes.push(a.len() as u8);
            bytes.extend_from_slice(a.as_bytes());
        }
        postcard::from_bytes::<Message>(&bytes)
    };
    assert!(with(MAX_MENTIONS).is_ok());
    assert!(with(MAX_MENTIONS + 1).is_err());
}

#[test]
fn ascii_text_is_checked_as_its_characters_are() {
    // the byte-wise path for ASCII must refuse exactly what the char-wise rule refuses
    for b in 0u8..128 {
        let c = b as char;
        let refused = c.is_control() && !matches!(c, '\t' | '\n' | '\r');
        let ascii = format!("a{c}z");
        assert_eq!(check_chars(&ascii).is_err(), refused, "{b:#x}");
        // the same character in a text that is not all ASCII takes the char-wise path
        let mixed = format!("é{c}z");
        assert_eq!(check_chars(&mixed).is_err(), refused, "{b:#x} beside é");
    }
}
