//! Tests of the picture frames' codec: fixtures, round trips and refusals.

use super::*;
use proptest::prelude::*;

#[test]
fn byte_literal_fixtures() {
    let get = MediaGet {
        sha256: [7; 32],
        offset: 0x0102_0304,
    };
    let mut want = vec![7u8; 32];
    want.extend_from_slice(&[1, 2, 3, 4]);
    assert_eq!(get.encode(), want);
    assert_eq!(MediaGet::decode(&want), Ok(get));

    let part = MediaPart {
        sha256: [9; 32],
        offset: 2,
        total: 5,
        data: vec![0xaa, 0xbb, 0xcc],
    };
    let mut want = vec![9u8; 32];
    want.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 5, 0xaa, 0xbb, 0xcc]);
    assert_eq!(part.encode(), want);
    assert_eq!(MediaPart::decode(&want), Ok(part));

    let missing = MediaMissing { sha256: [3; 32] };
    assert_eq!(missing.encode(), vec![3u8; 32]);
    assert_eq!(MediaMissing::decode(&[3u8; 32]), Ok(missing));
}

fn part_bytes(offset: u32, total: u32, len: usize) -> Vec<u8> {
    MediaPart {
        sha256: [1; 32],
        offset,
        total,
        data: vec![0; len],
    }
    .encode()
}

#[test]
fn bad_parts_are_refused() {
    assert!(MediaPart::decode(&part_bytes(0, 10, 10)).is_ok());
    assert!(MediaPart::decode(&part_bytes(0, 10, 0)).is_err(), "empty");
    assert!(
        MediaPart::decode(&part_bytes(5, 10, 6)).is_err(),
        "past total"
    );
    assert!(
        MediaPart::decode(&part_bytes(u32::MAX, MAX_PICTURE_BYTES, 1)).is_err(),
        "offset past the end, no overflow"
    );
    assert!(
        MediaPart::decode(&part_bytes(0, 0, 1)).is_err(),
        "zero total"
    );
    assert!(
        MediaPart::decode(&part_bytes(0, MAX_PICTURE_BYTES + 1, 1)).is_err(),
        "total over the picture cap"
    );
    assert!(MediaPart::decode(&part_bytes(0, MAX_PICTURE_BYTES, MEDIA_CHUNK)).is_ok());
    assert!(matches!(
        MediaPart::decode(&part_bytes(0, MAX_PICTURE_BYTES, MEDIA_CHUNK + 1)),
        Err(ProtoError::TooLarge { .. })
    ));
    assert!(MediaPart::decode(&[0; PART_HEADER_LEN - 1]).is_err());
}

#[test]
fn gets_and_missings_have_one_length() {
    for n in [0, 31, 35, 37, 100] {
        assert!(MediaGet::decode(&vec![0; n]).is_err(), "get of {n}");
    }
    for n in [0, 31, 33, 36] {
        assert!(MediaMissing::decode(&vec![0; n]).is_err(), "missing of {n}");
    }
}

proptest! {
    #[test]
    fn what_decodes_is_canonical(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(g) = MediaGet::decode(&b) {
            prop_assert_eq!(g.encode(), b.clone());
        }
        if let Ok(p) = MediaPart::decode(&b) {
            prop_assert!(!p.data.is_empty() && p.data.len() <= MEDIA_CHUNK);
            prop_assert!(u64::from(p.offset) + p.data.len() as u64 <= u64::from(p.total));
            prop_assert_eq!(p.encode(), b.clone());
        }
        if let Ok(m) = MediaMissing::decode(&b) {
            prop_assert_eq!(m.encode(), b);
        }
    }
}
