use super::*;
use crate::media::tests::{assert_no_secrets, JPEG};
use crate::media::Piece;

/// A segment: marker, length, payload.
fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend(((payload.len() + 2) as u16).to_be_bytes());
    s.extend(payload);
    s
}

/// A grey frame header of this size.
fn sof(width: u16, height: u16) -> Vec<u8> {
    let mut p = vec![8];
    p.extend(height.to_be_bytes());
    p.extend(width.to_be_bytes());
    p.extend([1, 1, 0x11, 0]);
    seg(0xC0, &p)
}

/// SOI, the segments, a scan header, the scan's data, EOI.
fn jpeg(segments: &[Vec<u8>], scan: &[u8]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    for s in segments {
        j.extend(s);
    }
    j.extend(seg(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
    j.extend(scan);
    j.extend([0xFF, 0xD9]);
    j
}

/// The range of the segment whose payload starts with `id`.
fn segment(data: &[u8], id: &[u8]) -> std::ops::Range<usize> {
    let at = data.windows(id.len()).position(|w| w == id).unwrap() - 4;
    let len = u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize;
    at..at + 2 + len
}

#[test]
fn photo_keeps_the_picture_and_only_its_orientation() {
    let s = strip(JPEG).unwrap();
    assert_eq!((s.media_type, s.width, s.height), (MediaType::Jpeg, 16, 8));
    assert_eq!(s.orientation, 6);
    let out = s.to_vec(JPEG);
    // The expected output, built from the fixture by hand: SOI, the orientation-only APP1,
    // then everything up to EOI without APP0, both APP1s, the MPF APP2, APP13 and COM.
    let dropped = [
        segment(JPEG, b"JFIF\0"),
        segment(JPEG, b"Exif\0\0II"),
        segment(JPEG, b"http://ns.adobe.com/xap/1.0/\0"),
        segment(JPEG, b"MPF\0"),
        segment(JPEG, b"Photoshop 3.0\0"),
        segment(JPEG, b"shot at"),
    ];
    let eoi = JPEG.windows(2).position(|w| w == [0xFF, 0xD9]).unwrap() + 2;
    let mut expected = JPEG[..2].to_vec();
    expected.extend(exif::jpeg_app1(6));
    expected.extend(
        (2..eoi)
            .filter(|i| !dropped.iter().any(|r| r.contains(i)))
            .map(|i| JPEG[i]),
    );
    assert_eq!(out, expected);
    assert!(out.windows(12).any(|w| w == b"ICC_PROFILE\0"));
    assert!(out.windows(5).any(|w| w == b"Adobe"));
    assert_no_secrets(&out);
    // Stripping again changes nothing.
    let again = strip(&out).unwrap();
    assert_eq!(again.to_vec(&out), out);
    assert_eq!(again.orientation, 6);
    // Only the new APP1 is not a copy.
    let new: Vec<_> = s
        .pieces
        .iter()
        .filter(|p| matches!(p, Piece::Bytes(_)))
        .collect();
    assert_eq!(new, [&Piece::Bytes(exif::jpeg_app1(6))]);
}

#[test]
fn entropy_data_keeps_stuffed_bytes_restarts_and_fill() {
    let scan = b"\x12\xFF\x00\x34\xFF\xD0\x56\xFF\xD7\xFF\xFF";
    let j = jpeg(&[sof(8, 8)], scan);
    let s = strip(&j).unwrap();
    assert_eq!(s.pieces, [Piece::Copy(0..j.len())]);
    // A marker other than RSTn ends the scan: the comment after it is dropped.
    let mut with_comment = j[..j.len() - 2].to_vec();
    with_comment.extend(seg(0xFE, b"hidden"));
    with_comment.extend([0xFF, 0xD9]);
    let s = strip(&with_comment).unwrap();
    assert_eq!(s.to_vec(&with_comment), j);
}

#[test]
fn progressive_scans_and_tables_between_them_are_kept() {
    let dht = seg(
        0xC4,
        &[0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    let mut j = jpeg(&[seg(0xC2, &sof(8, 8)[4..]), dht.clone()], b"\x01\x02");
    let tail = j.split_off(j.len() - 2);
    j.extend(seg(0xFE, b"comment between scans"));
    let kept_from = j.len();
    j.extend(&dht);
    j.extend(seg(0xDA, &[1, 1, 0, 1, 5, 0]));
    j.extend(b"\x03\x04");
    j.extend(tail);
    let s = strip(&j).unwrap();
    let out = s.to_vec(&j);
    let comment = segment(&j, b"comment between");
    assert_eq!(out.len(), j.len() - comment.len());
    assert_eq!(&out[comment.start..], &j[kept_from..]);
}

#[test]
fn size_comes_from_a_frame_header_not_from_dht_jpg_or_dac() {
    // Each payload read as a frame header would say 0 × 0.
    let zeros = [0u8; 18];
    for marker in [0xC4, 0xC8, 0xCC] {
        let j = jpeg(&[seg(marker, &zeros), sof(24, 16)], b"\x00");
        let s = strip(&j).unwrap();
        assert_eq!((s.width, s.height), (24, 16), "marker {marker:x}");
    }
    // Every SOFn is one.
    for marker in [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCB, 0xCD, 0xCF] {
        let j = jpeg(&[seg(marker, &sof(24, 16)[4..])], b"\x00");
        assert_eq!(strip(&j).unwrap().width, 24, "marker {marker:x}");
    }
}

#[test]
fn orientation_one_or_unreadable_leaves_no_exif() {
    let le_one = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x01\0\0\0\0\0\0\0";
    let broken = b"Exif\0\0II*\0\xff\xff\xff\xff";
    for exif_payload in [&le_one[..], &broken[..]] {
        let j = jpeg(&[seg(0xE1, exif_payload), sof(8, 8)], b"\x00");
        let s = strip(&j).unwrap();
        assert_eq!(s.orientation, 1);
        assert!(s.pieces.iter().all(|p| matches!(p, Piece::Copy(_))));
        assert!(!s.to_vec(&j).windows(4).any(|w| w == b"Exif"));
    }
    // Only the first EXIF block counts.
    let mut six = le_one.to_vec();
    six[24] = 6;
    let j = jpeg(&[seg(0xE1, le_one), seg(0xE1, &six), sof(8, 8)], b"\x00");
    assert_eq!(strip(&j).unwrap().orientation, 1);
}

#[test]
fn everything_after_the_end_is_dropped() {
    let j = jpeg(&[sof(8, 8)], b"\x00");
    let mut longer = j.clone();
    longer.extend(b"\xFF\xD8\xFF\xE1 second picture");
    assert_eq!(strip(&longer).unwrap().to_vec(&longer), j);
}

fn malformed(why: &'static str) -> Result<Stripped, MediaError> {
    Err(MediaError::Malformed {
        media_type: MediaType::Jpeg,
        why,
    })
}

#[test]
fn every_cut_short_file_is_refused() {
    let eoi = JPEG.windows(2).position(|w| w == [0xFF, 0xD9]).unwrap() + 2;
    for n in 0..eoi {
        let e = strip(&JPEG[..n]).unwrap_err();
        assert!(
            matches!(
                e,
                MediaError::Truncated { .. } | MediaError::Malformed { .. }
            ),
            "{n}: {e:?}"
        );
    }
    assert!(matches!(
        strip(&JPEG[..eoi - 1]),
        Err(MediaError::Truncated { .. })
    ));
}

#[test]
fn lying_or_broken_structure_is_refused() {
    let mut long = jpeg(&[sof(8, 8)], b"\x00");
    long[2..6].copy_from_slice(&[0xFF, 0xE1, 0xFF, 0xFF]);
    assert_eq!(
        strip(&long),
        Err(MediaError::Truncated {
            media_type: MediaType::Jpeg,
            what: "a segment runs past the end"
        })
    );
    let mut short = jpeg(&[seg(0xFE, b"x"), sof(8, 8)], b"\x00");
    short[4..6].copy_from_slice(&[0, 1]);
    assert_eq!(strip(&short), malformed("a segment length under 2"));
    assert_eq!(
        strip(&jpeg(&[], b"\x00")),
        malformed("a scan before the frame header")
    );
    let mut no_frame = b"\xFF\xD8".to_vec();
    no_frame.extend(seg(0xDB, &[0; 65]));
    no_frame.extend([0xFF, 0xD9]);
    assert_eq!(strip(&no_frame), malformed("no frame header"));
    let mut no_scan = b"\xFF\xD8".to_vec();
    no_scan.extend(sof(8, 8));
    no_scan.extend([0xFF, 0xD9]);
    assert_eq!(strip(&no_scan), malformed("no image data (no scan)"));
    let mut garbage = jpeg(&[sof(8, 8)], b"\x00");
    garbage.insert(2, b'x');
    assert_eq!(
        strip(&garbage),
        malformed("bytes between segments that are not a marker")
    );
    let twice = jpeg(&[vec![0xFF, 0xD8], sof(8, 8)], b"\x00");
    assert_eq!(strip(&twice), malformed("a second start-of-image marker"));
    assert_eq!(
        strip(&jpeg(&[sof(8, 0)], b"\x00")),
        Err(MediaError::ZeroSize {
            media_type: MediaType::Jpeg
        })
    );
    assert!(matches!(
        strip(&jpeg(&[sof(20_000, 8)], b"\x00")),
        Err(MediaError::TooLarge { width: 20_000, .. })
    ));
    assert_eq!(
        strip(b"\xFF\xD9"),
        malformed("it does not start with a start-of-image marker")
    );
}
