//! Tests of the link handshake, payload decoding and keep-alive timing.

use super::*;

fn hellos() -> (NodeKey, NodeKey, Vec<u8>, Vec<u8>) {
    let a = NodeKey::from_bytes(&[1; 32]).unwrap();
    let b = NodeKey::from_bytes(&[2; 32]).unwrap();
    let ha = encode(&Hello::new("a.test", &a, [7; 32]));
    let hb = encode(&Hello::new("b.test", &b, [8; 32]));
    (a, b, ha, hb)
}

#[test]
fn both_sides_prove_their_keys() {
    let (a, b, ha, hb) = hellos();
    let from_a = auth(&a, Role::Dialer, &ha, &hb);
    let from_b = auth(&b, Role::Listener, &ha, &hb);
    verify_auth(&a.public(), Role::Dialer, &ha, &hb, &from_a).unwrap();
    verify_auth(&b.public(), Role::Listener, &ha, &hb, &from_b).unwrap();
    // A signature made for one role, one connection or one key is worth nothing elsewhere.
    assert!(verify_auth(&a.public(), Role::Listener, &ha, &hb, &from_a).is_err());
    let hb2 = encode(&Hello::new("b.test", &b, [9; 32]));
    assert!(
        verify_auth(&a.public(), Role::Dialer, &ha, &hb2, &from_a).is_err(),
        "replayed on a new connection"
    );
    assert!(verify_auth(&b.public(), Role::Dialer, &ha, &hb, &from_a).is_err());
    assert!(verify_auth(&a.public(), Role::Dialer, &ha, &hb, &from_a[..63]).is_err());
}

#[test]
fn hello_decoding_checks_every_field() {
    let (a, _, ha, _) = hellos();
    let h = Hello::decode(&ha).unwrap();
    assert_eq!(h.public_key().unwrap(), a.public());
    let mut bad = h.clone();
    bad.version = LINK_VERSION + 1;
    assert!(Hello::decode(&encode(&bad)).is_err());
    let mut old = h.clone();
    old.version = MIN_LINK_VERSION;
    assert_eq!(Hello::decode(&encode(&old)).unwrap().version, 1);
    bad.version = 0;
    assert!(Hello::decode(&encode(&bad)).is_err());
    let mut bad = h.clone();
    bad.domain = "A.test".into();
    assert!(Hello::decode(&encode(&bad)).is_err());
    let mut bad = h.clone();
    bad.nonce = vec![0; 31];
    assert!(Hello::decode(&encode(&bad)).is_err());
    let mut bad = h.clone();
    bad.key = vec![0; 31];
    assert!(Hello::decode(&encode(&bad)).is_err());
    let to = h.clone().to("c.test");
    assert_eq!(Hello::decode(&encode(&to)).unwrap().to, "c.test");
    let bad = h.to("C.test");
    assert!(
        Hello::decode(&encode(&bad)).is_err(),
        "a non-canonical `to`"
    );
    let mut trailing = ha.clone();
    trailing.push(0);
    assert!(Hello::decode(&trailing).is_err());
    assert!(matches!(
        decode::<Close>("close", &vec![0; MAX_CONTROL_PAYLOAD + 1]),
        Err(ProtoError::TooLarge { .. })
    ));
}

/// bob@b.test's seq 300, answered `status`.
fn bob_ack(status: AckStatus) -> Ack {
    Ack {
        author: Address::parse("bob@b.test").unwrap(),
        seq: 300,
        status,
    }
}

#[test]
fn control_payloads_round_trip() {
    let ack = bob_ack(AckStatus::Unwanted);
    let bytes = encode(&ack);
    // author string, seq varint (300 = 0xac 0x02), status variant 2
    assert_eq!(bytes[0], 10);
    assert_eq!(&bytes[11..], &[0xac, 0x02, 2]);
    assert_eq!(decode::<Ack>("ack", &bytes).unwrap(), ack);
    let b = Backfill {
        author: ack.author.clone(),
        from: 2,
        to: 9,
    };
    assert_eq!(decode::<Backfill>("backfill", &encode(&b)).unwrap(), b);
}

#[test]
fn an_ack_reads_the_same_unparsed() {
    let bytes = encode(&bob_ack(AckStatus::Refused));
    let view = AckView::decode(&bytes).unwrap();
    assert_eq!(
        (view.author, view.seq, view.status),
        ("bob@b.test", 300, AckStatus::Refused)
    );
    // the author comes as it was sent: not canonical is not refused, it just matches nothing
    let loud = [&[10u8][..], b"Bob@B.test", &[0xac, 0x02, 0]].concat();
    assert_eq!(AckView::decode(&loud).unwrap().author, "Bob@B.test");
    assert!(decode::<Ack>("ack", &loud).is_err());
    // bounded, whole, UTF-8
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(AckView::decode(&trailing).is_err());
    assert!(AckView::decode(&bytes[..bytes.len() - 1]).is_err());
    let not_utf8 = [&[2u8][..], &[0xff, 0xfe], &[1, 0]].concat();
    assert!(AckView::decode(&not_utf8).is_err());
    let long = [
        &[0x80u8, 0x20][..],
        &vec![b'a'; MAX_CONTROL_PAYLOAD],
        &[1, 0],
    ]
    .concat();
    assert!(matches!(
        AckView::decode(&long),
        Err(ProtoError::TooLarge { .. })
    ));
}

#[test]
fn keep_alive_pings_then_declares_dead() {
    let mut k = KeepAlive::new(0);
    assert_eq!(k.poll(1_000), KeepAliveAction::Wait);
    assert_eq!(k.poll(PING_AFTER_MS), KeepAliveAction::Ping);
    k.sent(PING_AFTER_MS);
    assert_eq!(k.poll(PING_AFTER_MS + 1), KeepAliveAction::Wait);
    assert_eq!(k.poll(DEAD_AFTER_MS), KeepAliveAction::Dead);
    k.received(DEAD_AFTER_MS - 1);
    assert_eq!(k.poll(DEAD_AFTER_MS), KeepAliveAction::Wait);
    assert!(k.next_deadline() > DEAD_AFTER_MS);
}
