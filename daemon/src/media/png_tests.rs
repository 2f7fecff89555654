use super::*;
use crate::media::tests::{assert_no_secrets, PNG};
use crate::media::Piece;

/// The chunks of a PNG after the signature: (type, whole chunk bytes).
fn chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&png[pos + 4..pos + 8]).into_owned();
        out.push((kind.clone(), png[pos..pos + 12 + len].to_vec()));
        pos += 12 + len;
        if kind == "IEND" {
            break;
        }
    }
    out
}

fn ihdr(width: u32, height: u32) -> Vec<u8> {
    let mut p = width.to_be_bytes().to_vec();
    p.extend(height.to_be_bytes());
    p.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &p)
}

fn png(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut p = PNG_SIGNATURE.to_vec();
    for c in parts {
        p.extend(c);
    }
    p
}

fn malformed(why: &'static str) -> Result<Stripped, MediaError> {
    Err(MediaError::Malformed {
        media_type: MediaType::Png,
        why,
    })
}

#[test]
fn crc_is_the_png_one() {
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn photo_keeps_the_drawing_chunks_and_only_its_orientation() {
    let s = strip(PNG).unwrap();
    assert_eq!((s.media_type, s.width, s.height), (MediaType::Png, 2, 3));
    assert_eq!(s.orientation, 6);
    let out = s.to_vec(PNG);
    assert_eq!(&out[..8], &PNG_SIGNATURE);
    let before = chunks(PNG);
    let after = chunks(&out);
    let kinds: Vec<&str> = after.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["IHDR", "eXIf", "gAMA", "pHYs", "IDAT", "IEND"]);
    for (kind, bytes) in &after {
        if kind == "eXIf" {
            assert_eq!(bytes, &chunk(b"eXIf", &exif::orientation_tiff(6)));
        } else {
            let original = &before.iter().find(|(k, _)| k == kind).unwrap().1;
            assert_eq!(bytes, original, "{kind} changed");
        }
    }
    assert_eq!(
        out.len(),
        8 + after.iter().map(|(_, b)| b.len()).sum::<usize>()
    );
    assert_no_secrets(&out);
    let again = strip(&out).unwrap();
    assert_eq!(again.to_vec(&out), out);
    assert_eq!(again.orientation, 6);
}

#[test]
fn animation_and_colour_chunks_are_kept_text_is_not() {
    let idat = chunk(b"IDAT", b"x");
    let kept = [
        ihdr(4, 4),
        chunk(b"iCCP", b"profile"),
        chunk(b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]),
        chunk(b"fcTL", &[0; 26]),
        idat.clone(),
        chunk(b"fcTL", &[1; 26]),
        chunk(b"fdAT", b"frame 2"),
        chunk(b"IEND", b""),
    ];
    let mut all = kept.to_vec();
    all.insert(1, chunk(b"tEXt", b"Author\0me"));
    all.insert(3, chunk(b"zTXt", b"k\0\0zz"));
    all.insert(5, chunk(b"tIME", &[7, 234, 1, 1, 0, 0, 0]));
    all.insert(7, chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0"));
    all.insert(9, chunk(b"vpAg", b"unknown"));
    let p = png(&all);
    let s = strip(&p).unwrap();
    assert_eq!(s.orientation, 1);
    assert!(s.pieces.iter().all(|p| matches!(p, Piece::Copy(_))));
    assert_eq!(s.to_vec(&p), png(&kept));
}

#[test]
fn bytes_after_iend_are_dropped() {
    let good = png(&[ihdr(1, 1), chunk(b"IDAT", b"x"), chunk(b"IEND", b"")]);
    let mut longer = good.clone();
    longer.extend(b"more");
    assert_eq!(strip(&longer).unwrap().to_vec(&longer), good);
}

#[test]
fn bad_headers_and_chunks_are_refused() {
    let idat = chunk(b"IDAT", b"x");
    let iend = chunk(b"IEND", b"");
    let e = strip(&png(&[ihdr(1 << 31, 1), idat.clone(), iend.clone()])).unwrap_err();
    assert!(
        e.to_string()
            .contains("2147483648 × 1 pixels, over the limit"),
        "{e}"
    );
    assert_eq!(
        strip(&png(&[ihdr(0, 5), idat.clone(), iend.clone()])),
        Err(MediaError::ZeroSize {
            media_type: MediaType::Png
        })
    );
    assert_eq!(
        strip(&png(&[idat.clone(), ihdr(1, 1), iend.clone()])),
        malformed("the first chunk is not a 13-byte header (IHDR)")
    );
    assert_eq!(
        strip(&png(&[ihdr(1, 1), ihdr(1, 1), idat.clone(), iend.clone()])),
        malformed("a second header chunk (IHDR)")
    );
    assert_eq!(
        strip(&png(&[ihdr(1, 1), iend.clone()])),
        malformed("no image data (IDAT)")
    );
    let mut bad_crc = png(&[ihdr(1, 1), idat.clone(), iend.clone()]);
    let at = bad_crc.len() - 12 - 1;
    bad_crc[at] ^= 1;
    assert_eq!(
        strip(&bad_crc),
        malformed("a chunk's checksum does not match")
    );
    let mut huge = png(&[ihdr(1, 1), idat.clone(), iend.clone()]);
    huge[33..37].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    assert_eq!(strip(&huge), malformed("a chunk length over 2^31 - 1"));
    let mut lying = png(&[ihdr(1, 1), idat.clone(), iend.clone()]);
    lying[33..37].copy_from_slice(&1000u32.to_be_bytes());
    assert!(matches!(strip(&lying), Err(MediaError::Truncated { .. })));
    let mut not_letters = png(&[ihdr(1, 1), idat, iend]);
    not_letters[37] = b'1';
    assert_eq!(
        strip(&not_letters),
        malformed("a chunk type that is not four letters")
    );
    let iend_at = PNG.windows(4).position(|w| w == b"IEND").unwrap() + 8;
    for n in 0..iend_at {
        assert!(strip(&PNG[..n]).is_err(), "{n}");
    }
}
