//! Tests of frame checking, parsing and stream decoding.

use super::*;
use proptest::prelude::*;

#[test]
fn byte_literal_fixture() {
    let mut out = Vec::new();
    encode(FrameType::Ping, b"ab", &mut out).unwrap();
    assert_eq!(out, [0, 0, 0, 3, 3, b'a', b'b']);
    let (f, used) = parse(&out).unwrap().unwrap();
    assert_eq!(used, 7);
    assert_eq!(
        f,
        Frame {
            kind: FrameType::Ping,
            payload: b"ab"
        }
    );
}

#[test]
fn incomplete_is_need_more_not_error() {
    let full = [0, 0, 0, 3, 5, 1, 2];
    for n in 0..full.len() {
        assert_eq!(check(&full[..n]), Ok(None), "prefix of {n} bytes");
    }
    assert_eq!(check(&full), Ok(Some(7)));
}

#[test]
fn oversize_empty_and_unknown_are_refused_from_the_header() {
    // Only the length field: refused before a single payload byte is read.
    let big = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    assert!(matches!(check(&big), Err(ProtoError::TooLarge { .. })));
    assert_eq!(check(&[0, 0, 0, 0]), Err(ProtoError::EmptyFrame));
    assert_eq!(
        check(&[0, 0, 0, 9, 200]),
        Err(ProtoError::UnknownFrameType(200))
    );
    assert_eq!(
        check(&[0, 0, 0, 9, 0]),
        Err(ProtoError::UnknownFrameType(0))
    );
    let mut out = Vec::new();
    assert!(encode(FrameType::Message, &vec![0; MAX_FRAME_LEN], &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn decoder_bounds_its_buffer_and_poisons_on_bad_header() {
    let mut d = FrameDecoder::new();
    assert!(d.push(&vec![0; HEADER_LEN + MAX_FRAME_LEN + 1]).is_err());
    d.push(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    assert!(d.next_frame().is_err());
    assert!(d.next_frame().is_err(), "stays failed");
}

#[test]
fn every_type_number_round_trips() {
    for b in 0..=255u8 {
        if let Some(t) = FrameType::from_u8(b) {
            assert_eq!(t as u8, b);
        }
    }
}

proptest! {
    /// Any sequence of frames, cut into arbitrary chunks, comes out whole and in order.
    #[test]
    fn chunked_stream_round_trip(
        frames in proptest::collection::vec((1u8..=11, proptest::collection::vec(any::<u8>(), 0..300)), 0..20),
        cuts in proptest::collection::vec(1usize..64, 1..50),
    ) {
        let mut wire = Vec::new();
        for (t, p) in &frames {
            encode(FrameType::from_u8(*t).unwrap(), p, &mut wire).unwrap();
        }
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < wire.len() {
            let n = cuts[i % cuts.len()].min(wire.len() - pos);
            d.push(&wire[pos..pos + n]).unwrap();
            pos += n;
            i += 1;
            while let Some(f) = d.next_frame().unwrap() {
                got.push((f.kind as u8, f.payload));
            }
            // between frames, the decoder holds no buffer
            prop_assert!(d.pending() > 0 || d.capacity() == 0);
        }
        prop_assert_eq!(got, frames);
    }

    #[test]
    fn parse_agrees_with_check(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        match (check(&bytes), parse(&bytes)) {
            (Ok(Some(n)), Ok(Some((_, m)))) => prop_assert_eq!(n, m),
            (Ok(None), Ok(None)) => {}
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "check {:?} but parse {:?}", a, b),
        }
    }
}
