use super::*;
use crate::media::tests::{assert_no_secrets, WEBP};

/// A 1 × 1 lossy picture's VP8 data.
const VP8: &[u8] =
    b"\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x0e\xc0\xfe\x25\xa4\x00\x03\x70\x00\x00\x00\x00";
/// A 1 × 1 lossless picture's VP8L data.
const VP8L: &[u8] = b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00";

fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend((payload.len() as u32).to_le_bytes());
    c.extend(payload);
    if payload.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut r = b"RIFF".to_vec();
    r.extend(((body.len() + 4) as u32).to_le_bytes());
    r.extend(b"WEBP");
    r.extend(body);
    r
}

fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let mut p = vec![flags, 0, 0, 0];
    p.extend(&(width - 1).to_le_bytes()[..3]);
    p.extend(&(height - 1).to_le_bytes()[..3]);
    chunk(b"VP8X", &p)
}

fn malformed(why: &'static str) -> Result<Stripped, MediaError> {
    Err(MediaError::Malformed {
        media_type: MediaType::Webp,
        why,
    })
}

#[test]
fn photo_keeps_the_image_and_only_its_orientation() {
    let s = strip(WEBP).unwrap();
    assert_eq!((s.media_type, s.width, s.height), (MediaType::Webp, 1, 1));
    assert_eq!(s.orientation, 3);
    let out = s.to_vec(WEBP);
    let expected = riff(&[
        vp8x(FLAG_EXIF, 1, 1),
        chunk(b"VP8 ", VP8),
        chunk(b"EXIF", &exif::orientation_tiff(3)),
    ]);
    assert_eq!(out, expected);
    assert_no_secrets(&out);
    let again = strip(&out).unwrap();
    assert_eq!(again.to_vec(&out), out);
    assert_eq!(again.orientation, 3);
}

#[test]
fn simple_files_keep_their_one_image_chunk() {
    let lossy = riff(&[chunk(b"VP8 ", VP8)]);
    let s = strip(&lossy).unwrap();
    assert_eq!((s.width, s.height), (1, 1));
    assert_eq!(s.to_vec(&lossy), lossy);
    let lossless = riff(&[chunk(b"VP8L", VP8L), chunk(b"EXIF", b"II*\0")]);
    let s = strip(&lossless).unwrap();
    assert_eq!((s.width, s.height), (1, 1));
    assert_eq!(s.to_vec(&lossless), riff(&[chunk(b"VP8L", VP8L)]));
    let mut wide = VP8L.to_vec();
    wide[1..5].copy_from_slice(&(99u32 | (49 << 14)).to_le_bytes());
    let s = strip(&riff(&[chunk(b"VP8L", &wide)])).unwrap();
    assert_eq!((s.width, s.height), (100, 50));
}

#[test]
fn extended_files_keep_animation_alpha_and_colour() {
    let kept = [
        vp8x(0x20 | 0x10 | 0x02, 1, 1),
        chunk(b"ICCP", b"profile"),
        chunk(b"ANIM", &[0; 6]),
        chunk(
            b"ANMF",
            &[&[0u8; 16][..], &chunk(b"ALPH", b"a"), &chunk(b"VP8 ", VP8)].concat(),
        ),
    ];
    let mut all = kept.to_vec();
    all[0] = vp8x(0x20 | 0x10 | 0x02 | FLAG_EXIF | FLAG_XMP, 1, 1);
    all.push(chunk(b"XMP ", b"<x:xmpmeta/>"));
    all.push(chunk(b"EXIF", b"MM\0*\0\0\0\x08\0\0"));
    let w = riff(&all);
    let s = strip(&w).unwrap();
    assert_eq!(s.orientation, 1);
    assert_eq!(s.to_vec(&w), riff(&kept));
}

#[test]
fn bytes_after_the_riff_size_are_dropped() {
    let lossy = riff(&[chunk(b"VP8 ", VP8)]);
    let mut longer = lossy.clone();
    longer.extend(b"tail");
    assert_eq!(strip(&longer).unwrap().to_vec(&longer), lossy);
}

#[test]
fn broken_files_are_refused() {
    let lossy = riff(&[chunk(b"VP8 ", VP8)]);
    for n in 0..lossy.len() {
        assert!(strip(&lossy[..n]).is_err(), "{n}");
    }
    let mut riff_lies = lossy.clone();
    riff_lies[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        strip(&riff_lies),
        Err(MediaError::Truncated { .. })
    ));
    let mut chunk_lies = lossy.clone();
    chunk_lies[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        strip(&chunk_lies),
        Err(MediaError::Truncated { .. })
    ));
    // An odd chunk without its padding byte.
    let mut unpadded = riff(&[chunk(b"VP8 ", VP8), chunk(b"ZZZZ", b"odd")]);
    unpadded.pop();
    unpadded[4] -= 1;
    assert!(strip(&unpadded).is_err());
    assert_eq!(
        strip(&riff(&[chunk(b"ZZZZ", b"x"), chunk(b"VP8 ", VP8)])),
        malformed("the first chunk is not VP8, VP8L or VP8X")
    );
    assert!(matches!(
        strip(&riff(&[vp8x(0, 20_000, 1), chunk(b"VP8 ", VP8)])),
        Err(MediaError::TooLarge { width: 20_000, .. })
    ));
    assert_eq!(strip(&riff(&[vp8x(0, 1, 1)])), malformed("no image data"));
    let mut inter = VP8.to_vec();
    inter[0] |= 1;
    assert_eq!(
        strip(&riff(&[chunk(b"VP8 ", &inter)])),
        malformed("the VP8 data does not start with a key frame")
    );
    let mut zero = VP8.to_vec();
    zero[6..8].copy_from_slice(&[0, 0]);
    assert_eq!(
        strip(&riff(&[chunk(b"VP8 ", &zero)])),
        Err(MediaError::ZeroSize {
            media_type: MediaType::Webp
        })
    );
}
