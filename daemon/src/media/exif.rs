//! EXIF orientation: read the orientation tag from a TIFF/EXIF block, and write a minimal block
//! that holds only that tag.
//!
//! The reader looks at IFD0 only (where the orientation lives) and follows no other pointer, so
//! it reads a bounded number of bytes whatever the block claims. Both byte orders are read; the
//! block written is big-endian ("MM"), 26 bytes.

use super::{be16, be32, le16, le32};

/// The most IFD0 entries looked at: real files have a dozen or two.
pub const MAX_IFD_ENTRIES: usize = 1_000;

/// The EXIF tag number of Orientation.
const ORIENTATION_TAG: u16 = 0x0112;

/// The TIFF field type SHORT (an unsigned 16-bit number).
const TYPE_SHORT: u16 = 3;

/// The prefix of EXIF data in a JPEG APP1 segment (some WebP writers put it in too).
pub const EXIF_PREFIX: &[u8; 6] = b"Exif\0\0";

/// The length of the TIFF block [`orientation_tiff`] writes.
pub const ORIENTATION_TIFF_LEN: usize = 26;

/// The orientation (1..=8) in a TIFF block, with or without the `Exif\0\0` prefix; `None` when
/// the block is not TIFF, has no orientation tag in IFD0, or the value is out of range.
pub fn orientation(block: &[u8]) -> Option<u8> {
    let tiff = block.strip_prefix(EXIF_PREFIX).unwrap_or(block);
    let big = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| if big { be16(tiff, at) } else { le16(tiff, at) };
    let u32_at = |at: usize| if big { be32(tiff, at) } else { le32(tiff, at) };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?).min(MAX_IFD_ENTRIES);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        let tag = u16_at(entry)?;
        if tag != ORIENTATION_TAG {
            continue;
        }
        if u16_at(entry + 2)? != TYPE_SHORT || u32_at(entry + 4)? != 1 {
            return None;
        }
        let value = u16_at(entry + 8)?;
        return match value {
            1..=8 => Some(value as u8),
            _ => None,
        };
    }
    None
}

/// A big-endian TIFF block whose IFD0 holds only the orientation tag.
pub fn orientation_tiff(orientation: u8) -> [u8; ORIENTATION_TIFF_LEN] {
    let mut t = [0u8; ORIENTATION_TIFF_LEN];
    t[..4].copy_from_slice(b"MM\0*");
    t[4..8].copy_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    t[8..10].copy_from_slice(&1u16.to_be_bytes()); // one entry
    t[10..12].copy_from_slice(&ORIENTATION_TAG.to_be_bytes());
    t[12..14].copy_from_slice(&TYPE_SHORT.to_be_bytes());
    t[14..18].copy_from_slice(&1u32.to_be_bytes()); // count
    t[18..20].copy_from_slice(&u16::from(orientation).to_be_bytes()); // value, then 2 pad bytes
                                                                      // t[22..26]: no next IFD
    t
}

/// A JPEG APP1 segment (marker included) with EXIF that holds only the orientation tag.
pub fn jpeg_app1(orientation: u8) -> Vec<u8> {
    let len = 2 + EXIF_PREFIX.len() + ORIENTATION_TIFF_LEN;
    let mut s = Vec::with_capacity(2 + len);
    s.extend_from_slice(&[0xFF, 0xE1]);
    s.extend_from_slice(&(len as u16).to_be_bytes());
    s.extend_from_slice(EXIF_PREFIX);
    s.extend_from_slice(&orientation_tiff(orientation));
    s
}

#[cfg(test)]
#[path = "exif_tests.rs"]
mod tests;
