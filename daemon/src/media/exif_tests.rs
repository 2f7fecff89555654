use super::*;

fn entry(big: bool, tag: u16, kind: u16, count: u32, value: u16) -> Vec<u8> {
    let mut e = Vec::new();
    if big {
        e.extend(tag.to_be_bytes());
        e.extend(kind.to_be_bytes());
        e.extend(count.to_be_bytes());
        e.extend(value.to_be_bytes());
    } else {
        e.extend(tag.to_le_bytes());
        e.extend(kind.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value.to_le_bytes());
    }
    e.extend([0, 0]);
    e
}

/// A TIFF block with IFD0 at offset 8 holding these entries.
fn tiff(big: bool, entries: &[Vec<u8>]) -> Vec<u8> {
    let mut t = if big {
        b"MM\0*\0\0\0\x08".to_vec()
    } else {
        b"II*\0\x08\0\0\0".to_vec()
    };
    let n = entries.len() as u16;
    t.extend(if big {
        n.to_be_bytes()
    } else {
        n.to_le_bytes()
    });
    for e in entries {
        t.extend(e);
    }
    t.extend([0; 4]);
    t
}

#[test]
fn reads_orientation_in_both_byte_orders() {
    for big in [true, false] {
        let make = entry(big, 0x010F, 2, 4, 0);
        for o in 1..=8u16 {
            let t = tiff(big, &[make.clone(), entry(big, 0x0112, 3, 1, o)]);
            assert_eq!(orientation(&t), Some(o as u8));
            let mut prefixed = EXIF_PREFIX.to_vec();
            prefixed.extend(&t);
            assert_eq!(orientation(&prefixed), Some(o as u8));
        }
    }
}

#[test]
fn refuses_what_is_not_an_orientation() {
    let big = false;
    assert_eq!(
        orientation(&tiff(big, &[entry(big, 0x0112, 3, 1, 0)])),
        None
    );
    assert_eq!(
        orientation(&tiff(big, &[entry(big, 0x0112, 3, 1, 9)])),
        None
    );
    assert_eq!(
        orientation(&tiff(big, &[entry(big, 0x0112, 4, 1, 6)])),
        None
    );
    assert_eq!(
        orientation(&tiff(big, &[entry(big, 0x0112, 3, 2, 6)])),
        None
    );
    assert_eq!(
        orientation(&tiff(big, &[entry(big, 0x0110, 3, 1, 6)])),
        None
    );
    assert_eq!(orientation(b"II*\0\xff\xff\xff\xff"), None);
    assert_eq!(orientation(b"XX*\0\x08\0\0\0\x01\0"), None);
    assert_eq!(orientation(b""), None);
    // A claimed 65 535 entries in a short block: no panic, nothing found.
    assert_eq!(orientation(b"II*\0\x08\0\0\0\xff\xff\x00\x00"), None);
    // The tag past the entry bound is not looked at.
    let mut many = vec![entry(big, 0x0100, 3, 1, 1); MAX_IFD_ENTRIES];
    many.push(entry(big, 0x0112, 3, 1, 6));
    assert_eq!(orientation(&tiff(big, &many)), None);
    many.remove(0);
    assert_eq!(orientation(&tiff(big, &many)), Some(6));
}

#[test]
fn written_blocks_hold_only_the_orientation() {
    for o in 1..=8 {
        let t = orientation_tiff(o);
        assert_eq!(orientation(&t), Some(o));
        assert_eq!(&t[8..10], &[0, 1], "one entry");
        let app1 = jpeg_app1(o);
        assert_eq!(&app1[..4], &[0xFF, 0xE1, 0, 34]);
        assert_eq!(app1.len(), 36);
        assert_eq!(orientation(&app1[4..]), Some(o));
    }
}
