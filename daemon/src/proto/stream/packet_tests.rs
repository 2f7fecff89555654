//! Tests of the datagram format: round trips, canonical form, and refusal of every malformation.

use super::*;
use crate::proto::keys::NodeKey;
use crate::proto::stream::encode::{encode_big, encode_data, encode_status};
use proptest::prelude::*;

fn key() -> NodeKey {
    NodeKey::from_bytes(&[3u8; 32]).unwrap()
}

#[test]
fn data_round_trips_and_verifies() {
    let k = key();
    let d = encode_data(&k, 7, 41, &[b"one", b"two", b"three"]).unwrap();
    let p = Packet::decode(&d).unwrap();
    assert_eq!(
        (p.kind(), p.epoch, p.seq, p.last_seq()),
        (Kind::Data, 7, 41, 43)
    );
    let Payload::Data(e) = p.payload else {
        panic!("not data")
    };
    assert_eq!(
        e.iter().collect::<Vec<_>>(),
        vec![&b"one"[..], b"two", b"three"]
    );
    assert!(p.is_for(&k.public()));
    p.verify(&k.public()).unwrap();
    assert_eq!(p.unsigned_bytes(), p.signed_bytes());
    let other = NodeKey::from_bytes(&[4u8; 32]).unwrap().public();
    assert!(!p.is_for(&other));
    assert_eq!(p.verify(&other), Err(StreamError::BadSignature));
}

#[test]
fn status_and_big_round_trip() {
    let k = key();
    let hb = encode_status(&k, false, 1, 10, 3, 77);
    let p = Packet::decode(&hb).unwrap();
    assert_eq!(
        p.payload,
        Payload::Heartbeat {
            oldest: 3,
            clock: 77
        }
    );
    assert_eq!(hb.len(), HEADER_LEN + STATUS_PAYLOAD_LEN + 64);
    let an = encode_status(&k, true, 1, 0, 1, 78);
    let p = Packet::decode(&an).unwrap();
    assert_eq!(
        p.payload,
        Payload::Announce {
            oldest: 1,
            clock: 78
        }
    );
    assert_eq!(p.key, KeyField::Full(k.public().to_bytes()));
    assert!(p.is_for(&k.public()));
    let body = vec![9u8; MAX_ENTRY + 1];
    let big = encode_big(&k, 1, 5, &LargeRef::of(&body));
    let p = Packet::decode(&big).unwrap();
    let Payload::BigAnnounce(r) = p.payload else {
        panic!("not big")
    };
    assert!(r.matches(&body) && !r.matches(&body[1..]));
    p.verify(&k.public()).unwrap();
}

#[test]
fn largest_data_fits_and_one_more_byte_does_not() {
    let k = key();
    let max = vec![1u8; MAX_ENTRY];
    let d = encode_data(&k, 1, 1, &[&max]).unwrap();
    assert_eq!(d.len(), MAX_DATAGRAM);
    let over = vec![1u8; MAX_ENTRY + 1];
    assert!(matches!(
        encode_data(&k, 1, 1, &[&over]),
        Err(StreamError::DatagramTooLarge { .. })
    ));
    assert_eq!(
        encode_data(&k, 1, 1, &[b""]),
        Err(StreamError::EmptyMessage)
    );
}

#[test]
fn malformed_datagrams_are_refused() {
    let k = key();
    let good = encode_data(&k, 1, 1, &[b"x"]).unwrap();
    let sig = 64;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty"),
        (vec![1], "one byte"),
        (vec![3, 1], "version"),
        (
            {
                // a version-1 heartbeat (no clock) is refused by its version byte
                let mut v = encode_status(&k, false, 1, 5, 1, 9);
                v[0] = 1;
                v
            },
            "version 1",
        ),
        (vec![2, 9], "kind"),
        (good[..good.len() - 1].to_vec(), "short signature"),
        (
            {
                let mut v = good.clone();
                v.resize(MAX_DATAGRAM + 1, 0);
                v
            },
            "oversize",
        ),
        // data with no entries
        (
            {
                let mut v = good[..HEADER_LEN].to_vec();
                v.extend([0; 64]);
                v
            },
            "no entries",
        ),
        // entry length running past the payload
        (
            {
                let mut v = good.clone();
                v[HEADER_LEN + 1] = 5;
                v
            },
            "entry overruns",
        ),
        // zero-length entry
        (
            {
                let mut v = good[..HEADER_LEN].to_vec();
                v.extend([0, 0]);
                v.extend([0; 64]);
                v
            },
            "empty entry",
        ),
        // seq 0
        (
            {
                let mut v = good.clone();
                v[HEADER_LEN - 8..HEADER_LEN].fill(0);
                v
            },
            "seq 0",
        ),
        // seq overflow: two entries from u64::MAX
        (
            {
                let mut v = good[..HEADER_LEN].to_vec();
                v[HEADER_LEN - 8..].fill(0xff);
                v.extend([0, 1, 7, 0, 1, 7]);
                v.extend([0; 64]);
                v
            },
            "overflow",
        ),
        // heartbeat with oldest beyond newest + 1
        (
            {
                let mut v = encode_status(&k, false, 1, 5, 1, 9);
                let at = v.len() - sig - 16;
                v[at..at + 8].copy_from_slice(&7u64.to_be_bytes());
                v
            },
            "oldest > newest+1",
        ),
        // heartbeat with oldest 0
        (
            {
                let mut v = encode_status(&k, false, 1, 5, 1, 9);
                let at = v.len() - sig - 16;
                v[at..at + 8].fill(0);
                v
            },
            "oldest 0",
        ),
        // big announce of something that fits inline
        (
            encode_big(
                &k,
                1,
                1,
                &LargeRef {
                    len: 10,
                    hash: [0; 32],
                },
            ),
            "small big",
        ),
    ];
    for (bytes, what) in cases {
        assert!(Packet::decode(&bytes).is_err(), "{what} decoded");
    }
}

proptest! {
    /// Any bytes: no panic, and whatever decodes is canonical.
    #[test]
    fn decode_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..1300)) {
        if let Ok(p) = Packet::decode(&bytes) {
            prop_assert_eq!(p.unsigned_bytes(), p.signed_bytes());
        }
    }

    /// A valid datagram with any single bit flipped either fails to decode or fails to verify.
    #[test]
    fn any_bit_flip_is_caught(bit in 0usize..(8 * 100), seq in 1u64..1000) {
        let k = key();
        let d = encode_data(&k, 1, seq, &[b"hello", b"world"]).unwrap();
        let mut bad = d.clone();
        let i = bit % (8 * d.len());
        bad[i / 8] ^= 1 << (i % 8);
        let caught = match Packet::decode(&bad) {
            Err(_) => true,
            Ok(p) => !p.is_for(&k.public()) || p.verify(&k.public()).is_err(),
        };
        prop_assert!(caught);
    }
}
