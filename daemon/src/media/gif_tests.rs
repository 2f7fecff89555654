use super::*;
use crate::media::tests::{assert_no_secrets, GIF};

/// The 1 × 1 image: descriptor, no local colour table, LZW code size and data.
const IMAGE_BLOCK: &[u8] = b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\x00";
const LOOP: &[u8] = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00";
const CONTROL: &[u8] = b"\x21\xf9\x04\x01\x00\x00\x00\x00";

fn gif(screen: (u16, u16), blocks: &[&[u8]]) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend(screen.0.to_le_bytes());
    g.extend(screen.1.to_le_bytes());
    g.extend(b"\x80\x00\x00\xff\xff\xff\x00\x00\x00");
    for b in blocks {
        g.extend(*b);
    }
    g
}

fn malformed(why: &'static str) -> Result<Stripped, MediaError> {
    Err(MediaError::Malformed {
        media_type: MediaType::Gif,
        why,
    })
}

#[test]
fn photo_keeps_frames_and_looping_only() {
    let s = strip(GIF).unwrap();
    assert_eq!((s.media_type, s.width, s.height), (MediaType::Gif, 3, 2));
    assert_eq!(s.orientation, 1);
    let out = s.to_vec(GIF);
    assert_eq!(out, gif((3, 2), &[LOOP, CONTROL, IMAGE_BLOCK, b"\x3b"]));
    assert_no_secrets(&out);
    assert_eq!(strip(&out).unwrap().to_vec(&out), out);
}

#[test]
fn extensions_kept_and_dropped() {
    let animexts = b"\x21\xff\x0bANIMEXTS1.0\x03\x01\x00\x00\x00";
    let other_app = b"\x21\xff\x0bICCRGBG1012\x02ab\x00";
    let short_app = b"\x21\xff\x03NET\x00";
    let long_id = b"\x21\xff\x0cNETSCAPE2.0x\x00";
    let comment = b"\x21\xfe\x03abc\x02de\x00";
    let unknown = b"\x21\x99\x01x\x00";
    let local_table = b"\x2c\0\0\0\0\x01\0\x01\0\x80\x01\x02\x03\x04\x05\x06\x02\x02\x44\x01\x00";
    let g = gif(
        (1, 1),
        &[
            animexts,
            other_app,
            short_app,
            long_id,
            comment,
            unknown,
            CONTROL,
            local_table,
            b"\x3b",
        ],
    );
    let s = strip(&g).unwrap();
    assert_eq!(
        s.to_vec(&g),
        gif((1, 1), &[animexts, CONTROL, local_table, b"\x3b"])
    );
    let g87 = [
        &b"GIF87a\x01\x00\x01\x00\x00\x00\x00"[..],
        IMAGE_BLOCK,
        b"\x3b",
    ]
    .concat();
    assert_eq!(
        strip(&g87).unwrap().pieces,
        [crate::media::Piece::Copy(0..g87.len())]
    );
}

#[test]
fn broken_files_are_refused() {
    let whole = gif((1, 1), &[IMAGE_BLOCK, b"\x3b"]);
    for n in 0..whole.len() {
        assert!(strip(&whole[..n]).is_err(), "{n}");
    }
    assert!(matches!(
        strip(&whole[..whole.len() - 1]),
        Err(MediaError::Truncated {
            what: "no trailer",
            ..
        })
    ));
    assert_eq!(
        strip(&gif((0, 1), &[IMAGE_BLOCK, b"\x3b"])),
        Err(MediaError::ZeroSize {
            media_type: MediaType::Gif
        })
    );
    assert!(matches!(
        strip(&gif((20_000, 1), &[IMAGE_BLOCK, b"\x3b"])),
        Err(MediaError::TooLarge { width: 20_000, .. })
    ));
    assert_eq!(
        strip(&gif((1, 1), &[CONTROL, b"\x3b"])),
        malformed("no image")
    );
    assert_eq!(
        strip(&gif((1, 1), &[IMAGE_BLOCK, b"\x00\x3b"])),
        malformed("a block that is not an image or an extension")
    );
    // A global colour table of 256 entries announced but 2 present.
    let mut big_table = whole.clone();
    big_table[10] = 0x87;
    big_table.truncate(19);
    assert!(matches!(
        strip(&big_table),
        Err(MediaError::Truncated {
            what: "in the global colour table",
            ..
        })
    ));
}
