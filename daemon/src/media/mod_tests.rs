use super::*;
use proptest::prelude::*;

pub(crate) const JPEG: &[u8] = include_bytes!("testdata/photo.jpg");
pub(crate) const PNG: &[u8] = include_bytes!("testdata/photo.png");
pub(crate) const WEBP: &[u8] = include_bytes!("testdata/photo.webp");
pub(crate) const GIF: &[u8] = include_bytes!("testdata/photo.gif");
const FIXTURES: [&[u8]; 4] = [JPEG, PNG, WEBP, GIF];

/// Text that the fixtures hide in their metadata (EXIF, XMP, comments, text chunks, trailers).
pub(crate) const SECRETS: [&[u8]; 7] = [
    b"GPS",
    b"52.5N",
    b"PhoneMaker",
    b"xmpmeta",
    b"shot at",
    b"\x00\x00\x00\x34\x00\x00\x00\x01", // 52/1, the latitude's degrees (big-endian)
    b"\x34\x00\x00\x00\x01\x00\x00\x00", // 52/1 little-endian
];

/// Panics if any of [`SECRETS`] is in `bytes`.
pub(crate) fn assert_no_secrets(bytes: &[u8]) {
    for s in SECRETS {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s),
            "{:?} left in the output",
            String::from_utf8_lossy(s)
        );
    }
}

#[test]
fn fixtures_hold_the_secrets_the_tests_look_for() {
    for f in FIXTURES {
        for s in [&b"GPS"[..], b"xmpmeta"] {
            assert!(f.windows(s.len()).any(|w| w == s));
        }
    }
}

#[test]
fn sniff_reads_magic_bytes_only() {
    assert_eq!(sniff(JPEG), Some(MediaType::Jpeg));
    assert_eq!(sniff(PNG), Some(MediaType::Png));
    assert_eq!(sniff(WEBP), Some(MediaType::Webp));
    assert_eq!(sniff(GIF), Some(MediaType::Gif));
    assert_eq!(sniff(b"GIF87a"), Some(MediaType::Gif));
    assert_eq!(sniff(b"\xFF\xD8"), None);
    assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
    assert_eq!(sniff(b"RIFF\0\0\0\0WEB"), None);
    assert_eq!(sniff(b"\x89PNG\r\n\x1a"), None);
    assert_eq!(sniff(b"GIF90a"), None);
    assert_eq!(sniff(b""), None);
}

#[test]
fn mime_types_round_trip() {
    for t in [
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Gif,
    ] {
        assert_eq!(MediaType::from_mime(t.mime()), Some(t));
    }
    assert_eq!(MediaType::Jpeg.mime(), "image/jpeg");
    assert_eq!(
        MediaType::from_mime(" IMAGE/PNG; q=1"),
        Some(MediaType::Png)
    );
    assert_eq!(MediaType::from_mime("image/svg+xml"), None);
    assert_eq!(MediaType::from_mime("image/jpg"), None);
    assert_eq!(MediaType::from_mime(""), None);
}

fn unsupported(data: &[u8]) -> String {
    let e = strip(data).unwrap_err();
    assert!(e.is_unsupported(), "{e:?}");
    e.to_string()
}

#[test]
fn other_files_are_unsupported_and_named() {
    let svg = b"<?xml version=\"1.0\"?>\n<SVG xmlns=\"http://www.w3.org/2000/svg\"><script/></SVG>";
    assert!(unsupported(svg).starts_with("an SVG drawing (script risk) cannot be posted"));
    assert!(unsupported(b"PK\x03\x04\x14\0\0\0").starts_with("a ZIP archive"));
    assert!(unsupported(b"%PDF-1.7\n").starts_with("a PDF document"));
    assert!(unsupported(b"\0\0\0\x18ftypheic\0\0\0\0").starts_with("a HEIC picture"));
    assert!(unsupported(b"\0\0\0\x1cftypavif\0\0\0\0").starts_with("an AVIF picture"));
    assert!(unsupported(b"").starts_with("an empty file"));
    assert_eq!(
        unsupported(b"hello, world"),
        "a file of an unknown type cannot be posted: send a JPEG, PNG, WebP or GIF picture"
    );
    // A damaged picture is not "unsupported".
    assert!(!strip(&JPEG[..100]).unwrap_err().is_unsupported());
}

#[test]
fn sizes_are_checked_against_the_limits() {
    let t = MediaType::Png;
    assert_eq!(check_size(t, 1, 1), Ok((1, 1)));
    assert_eq!(check_size(t, 16_384, 3_051), Ok((16_384, 3_051)));
    assert_eq!(
        check_size(t, 0, 5),
        Err(MediaError::ZeroSize { media_type: t })
    );
    assert_eq!(
        check_size(t, 5, 0),
        Err(MediaError::ZeroSize { media_type: t })
    );
    for (w, h) in [(16_385, 1), (1, 16_385), (16_384, 3_052), (1 << 31, 1)] {
        assert_eq!(
            check_size(t, w, h),
            Err(MediaError::TooLarge {
                media_type: t,
                width: w,
                height: h
            })
        );
    }
}

#[test]
fn piece_list_merges_touching_ranges_and_splits_for_inserts() {
    let mut l = PieceList::new(MediaType::Jpeg);
    l.copy(0..2);
    l.copy(2..5);
    l.copy(5..5);
    l.copy(7..9);
    l.bytes(vec![]);
    assert_eq!(l.pieces, vec![Piece::Copy(0..5), Piece::Copy(7..9)]);
    l.insert_at(2, vec![1, 2]);
    l.insert_at(9, vec![3]);
    assert_eq!(
        l.pieces,
        vec![
            Piece::Copy(0..2),
            Piece::Bytes(vec![1, 2]),
            Piece::Copy(2..5),
            Piece::Copy(7..9),
            Piece::Bytes(vec![3])
        ]
    );
    let s = l.finish(1, 1, 1);
    assert_eq!(s.len(), 10);
    let data: Vec<u8> = (10..20).collect();
    assert_eq!(s.to_vec(&data), [10, 11, 1, 2, 12, 13, 14, 17, 18, 3]);
    let mut w = Vec::new();
    s.write_to(&data, &mut w).unwrap();
    assert_eq!(w, s.to_vec(&data));
    // Bytes other than the stripped ones: an error, not a panic.
    assert!(s.write_to(&data[..3], &mut Vec::new()).is_err());
}

#[test]
fn every_fixture_strips_clean_and_passes_the_fuzz_checks() {
    for f in FIXTURES {
        let s = strip(f).unwrap();
        let out = s.to_vec(f);
        assert!(out.len() < f.len());
        assert_no_secrets(&out);
        crate::fuzz::media_walker(strip, f);
        crate::fuzz::media_walker(strip, &out);
    }
}

#[test]
fn walk_is_bounded() {
    // 100 001 graphic control extensions before the image.
    let mut gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
    for _ in 0..MAX_PIECES {
        gif.extend_from_slice(b"\x21\xf9\x04\x01\x00\x00\x00\x00");
    }
    gif.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\x00\x3b");
    assert_eq!(
        strip(&gif).unwrap_err(),
        MediaError::TooManyPieces {
            media_type: MediaType::Gif
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..4usize,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut data = FIXTURES[which].to_vec();
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Some(cut) = cut {
            data.truncate(cut.index(data.len()));
        }
        crate::fuzz::media_walker(strip, &data);
    }
}
