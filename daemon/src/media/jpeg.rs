//! The JPEG walker: segments from SOI to EOI, keeping what decoding needs and nothing else.
//!
//! Kept: the frame header (SOF0–SOF15), Huffman and quantisation tables (DHT, DQT), arithmetic
//! conditioning (DAC), restart interval (DRI), line count (DNL), expansion (EXP), every scan
//! (SOS and its entropy-coded data), APP2 ICC profiles and APP14 Adobe (colour transform).
//! Dropped: every other APPn (JFIF/JFXX thumbnails, EXIF, XMP, MPF, Photoshop/IPTC...),
//! comments, other markers, and everything after EOI (phones append depth maps and second
//! pictures there). An EXIF orientation other than 1 comes back as a minimal APP1 right after
//! SOI.

use super::{be16, check_size, exif, MediaError, MediaType, PieceList, Stripped};

/// Start of image.
const SOI: u8 = 0xD8;
/// End of image.
const EOI: u8 = 0xD9;
/// Start of scan.
const SOS: u8 = 0xDA;
/// Define Huffman tables (in the SOFn range, but not a frame header).
const DHT: u8 = 0xC4;
/// Reserved for JPEG extensions (in the SOFn range, but not a frame header).
const JPG: u8 = 0xC8;
/// Define arithmetic coding conditioning (in the SOFn range, but not a frame header).
const DAC: u8 = 0xCC;
/// Define quantisation tables.
const DQT: u8 = 0xDB;
/// Define number of lines.
const DNL: u8 = 0xDC;
/// Define restart interval.
const DRI: u8 = 0xDD;
/// Expand reference components.
const EXP: u8 = 0xDF;
/// APP1: EXIF or XMP.
const APP1: u8 = 0xE1;
/// APP2: ICC profile (or MPF, FlashPix...).
const APP2: u8 = 0xE2;
/// APP14: Adobe colour transform.
const APP14: u8 = 0xEE;
/// The start of an ICC profile's APP2 payload.
const ICC_ID: &[u8] = b"ICC_PROFILE\0";
/// The start of an Adobe APP14 payload.
const ADOBE_ID: &[u8] = b"Adobe";

const T: MediaType = MediaType::Jpeg;

/// What a segment is to the walker.
enum Kind {
    /// A frame header: keep, and read the size from it.
    Frame,
    /// A scan header: keep, then the entropy-coded data after it.
    Scan,
    /// Needed to decode: keep.
    Keep,
    /// The first EXIF block's orientation is read; dropped.
    Exif,
    /// Metadata or unknown: drop.
    Drop,
}

fn kind(marker: u8, payload: &[u8]) -> Kind {
    match marker {
        DHT | DAC | DQT | DNL | DRI | EXP => Kind::Keep,
        JPG => Kind::Drop,
        0xC0..=0xCF => Kind::Frame,
        SOS => Kind::Scan,
        APP1 if payload.starts_with(exif::EXIF_PREFIX) => Kind::Exif,
        APP2 if payload.starts_with(ICC_ID) => Kind::Keep,
        APP14 if payload.starts_with(ADOBE_ID) => Kind::Keep,
        _ => Kind::Drop,
    }
}

/// Strips a JPEG (see the module doc).
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    if !data.starts_with(&[0xFF, SOI]) {
        return Err(T.malformed("it does not start with a start-of-image marker"));
    }
    let mut body = PieceList::new(T);
    body.copy(0..2);
    let mut pos = 2;
    let mut size = None;
    let mut orientation = None;
    let mut scanned = false;
    loop {
        body.step()?;
        match data.get(pos) {
            None => return Err(T.truncated("no end-of-image marker")),
            Some(0xFF) => {}
            Some(_) => return Err(T.malformed("bytes between segments that are not a marker")),
        }
        // Fill bytes: any number of 0xFF before the marker code.
        while data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let start = pos;
        let marker = *data
            .get(pos + 1)
            .ok_or_else(|| T.truncated("no end-of-image marker"))?;
        match marker {
            EOI => {
                body.copy(start..start + 2);
                break;
            }
            SOI => return Err(T.malformed("a second start-of-image marker")),
            0x00 => return Err(T.malformed("a stuffed zero byte outside a scan")),
            0x01 | 0xD0..=0xD7 => {
                // Stand-alone markers without a length: nothing to keep outside a scan.
                pos += 2;
                continue;
            }
            _ => {}
        }
        let len = usize::from(be16(data, pos + 2).ok_or_else(|| T.truncated("a segment header"))?);
        if len < 2 {
            return Err(T.malformed("a segment length under 2"));
        }
        let end = pos + 2 + len;
        let payload = data
            .get(pos + 4..end)
            .ok_or_else(|| T.truncated("a segment runs past the end"))?;
        pos = end;
        match kind(marker, payload) {
            Kind::Frame => {
                if size.is_none() {
                    let (h, w) = match (be16(payload, 1), be16(payload, 3)) {
                        (Some(h), Some(w)) => (h, w),
                        _ => return Err(T.malformed("a frame header under 5 bytes")),
                    };
                    size = Some(check_size(T, w.into(), h.into())?);
                }
                body.copy(start..end);
            }
            Kind::Scan => {
                if size.is_none() {
                    return Err(T.malformed("a scan before the frame header"));
                }
                pos = scan_end(data, end)?;
                body.copy(start..pos);
                scanned = true;
            }
            Kind::Keep => body.copy(start..end),
            Kind::Exif => {
                // Only the first EXIF block counts, as for viewers.
                orientation.get_or_insert_with(|| exif::orientation(payload).unwrap_or(1));
            }
            Kind::Drop => {}
        }
    }
    let (width, height) = size.ok_or_else(|| T.malformed("no frame header"))?;
    if !scanned {
        return Err(T.malformed("no image data (no scan)"));
    }
    let orientation = orientation.unwrap_or(1);
    if orientation != 1 {
        body.insert_at(2, exif::jpeg_app1(orientation));
    }
    Ok(body.finish(width, height, orientation))
}

/// Where a scan's entropy-coded data that starts at `from` ends: at the first marker that is
/// not a stuffed zero (FF 00) or a restart marker (RST0–RST7); fill bytes before it stay in
/// the data.
fn scan_end(data: &[u8], from: usize) -> Result<usize, MediaError> {
    let mut pos = from;
    loop {
        let ff = data
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
            .ok_or_else(|| T.truncated("in the compressed image data"))?;
        pos += ff;
        match data.get(pos + 1) {
            None => return Err(T.truncated("in the compressed image data")),
            Some(0x00 | 0xD0..=0xD7) => pos += 2,
            Some(0xFF) => pos += 1,
            Some(_) => return Ok(pos),
        }
    }
}

#[cfg(test)]
#[path = "jpeg_tests.rs"]
mod tests;
