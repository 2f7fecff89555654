//! The WebP walker: the RIFF container's chunks, keeping image, animation and colour chunks.
//!
//! Kept: VP8 (lossy), VP8L (lossless), VP8X (extended header), ALPH, ANIM, ANMF and ICCP.
//! Dropped: EXIF, XMP, unknown chunks, and any bytes after the RIFF size. A simple file (no
//! VP8X) keeps only its one image chunk. The VP8X flags for EXIF and XMP are cleared, and the
//! RIFF size is rewritten. An EXIF orientation other than 1 comes back as a minimal EXIF chunk
//! at the end (its flag set again).

use std::ops::Range;

use super::{check_size, exif, le16, le32, MediaError, MediaType, PieceList, Stripped};

/// The RIFF header: "RIFF", size, "WEBP".
const RIFF_HEADER_LEN: usize = 12;
/// A chunk's header: fourcc, size.
const CHUNK_HEADER_LEN: usize = 8;
/// VP8X flag: the file has EXIF metadata.
const FLAG_EXIF: u8 = 0x08;
/// VP8X flag: the file has XMP metadata.
const FLAG_XMP: u8 = 0x04;
/// The length of VP8X's data.
const VP8X_LEN: usize = 10;
/// The start code in a VP8 key frame header.
const VP8_START_CODE: [u8; 3] = [0x9D, 0x01, 0x2A];
/// The signature byte of a VP8L bitstream.
const VP8L_SIGNATURE: u8 = 0x2F;

const T: MediaType = MediaType::Webp;

/// Strips a WebP (see the module doc).
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    if data.len() < RIFF_HEADER_LEN || !data.starts_with(b"RIFF") || &data[8..12] != b"WEBP" {
        return Err(T.malformed("it does not start with a RIFF WEBP header"));
    }
    let riff_size = le32(data, 4).unwrap_or(0) as usize;
    let riff_end = riff_size
        .checked_add(8)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| T.truncated("the RIFF size is past the end of the file"))?;
    if riff_size % 2 == 1 {
        return Err(T.malformed("an odd RIFF size"));
    }
    let mut chunks = PieceList::new(T);
    let mut pos = RIFF_HEADER_LEN;
    let mut vp8x: Option<Range<usize>> = None;
    let mut size = None;
    let mut orientation = None;
    let mut has_image = false;
    let mut first = true;
    while pos < riff_end {
        chunks.step()?;
        let fourcc = data
            .get(pos..pos + 4)
            .filter(|_| pos + CHUNK_HEADER_LEN <= riff_end)
            .ok_or_else(|| T.truncated("a chunk header"))?;
        let len = le32(data, pos + 4).unwrap_or(0) as usize;
        let end = len
            .checked_add(len % 2)
            .and_then(|padded| padded.checked_add(pos + CHUNK_HEADER_LEN))
            .filter(|&e| e <= riff_end)
            .ok_or_else(|| T.truncated("a chunk runs past the RIFF size"))?;
        let payload = &data[pos + CHUNK_HEADER_LEN..pos + CHUNK_HEADER_LEN + len];
        let start = pos;
        pos = end;
        if first {
            first = false;
            match fourcc {
                b"VP8X" => {
                    if payload.len() < VP8X_LEN {
                        return Err(T.malformed("an extended header (VP8X) under 10 bytes"));
                    }
                    let w = u64::from(le32(payload, 4).unwrap_or(0) & 0xFF_FFFF) + 1;
                    let h = u64::from(le32(payload, 6).unwrap_or(0) >> 8) + 1;
                    size = Some(check_size(T, w, h)?);
                    vp8x = Some(start..end);
                    continue;
                }
                b"VP8 " | b"VP8L" => {}
                _ => return Err(T.malformed("the first chunk is not VP8, VP8L or VP8X")),
            }
        } else if vp8x.is_none() {
            continue; // a simple file is its one image chunk
        }
        match fourcc {
            b"VP8 " | b"VP8L" => {
                if size.is_none() {
                    let (w, h) = frame_size(fourcc, payload)?;
                    size = Some(check_size(T, w.into(), h.into())?);
                }
                has_image = true;
                chunks.copy(start..end);
            }
            b"ANMF" => {
                has_image = true;
                chunks.copy(start..end);
            }
            b"ALPH" | b"ANIM" | b"ICCP" => chunks.copy(start..end),
            b"EXIF" => {
                // Only the first EXIF block counts, as for viewers.
                orientation.get_or_insert_with(|| exif::orientation(payload).unwrap_or(1));
            }
            _ => {}
        }
    }
    let (width, height) = size.ok_or_else(|| T.malformed("no image chunk"))?;
    if !has_image {
        return Err(T.malformed("no image data"));
    }
    let orientation = orientation.unwrap_or(1);
    // Only an extended file can carry EXIF (and the EXIF of a simple one was never read).
    let exif_chunk = (orientation != 1).then(|| {
        let tiff = exif::orientation_tiff(orientation);
        let mut c = Vec::with_capacity(CHUNK_HEADER_LEN + tiff.len());
        c.extend_from_slice(b"EXIF");
        c.extend_from_slice(&(tiff.len() as u32).to_le_bytes());
        c.extend_from_slice(&tiff); // an even length: no padding byte
        c
    });
    let vp8x_len = vp8x.as_ref().map_or(0, Range::len);
    let exif_len = exif_chunk.as_ref().map_or(0, Vec::len);
    let riff_size = u32::try_from(4 + vp8x_len + chunks.len() + exif_len)
        .map_err(|_| T.malformed("a RIFF size over 4 GiB"))?;
    let mut head = Vec::with_capacity(RIFF_HEADER_LEN);
    head.extend_from_slice(b"RIFF");
    head.extend_from_slice(&riff_size.to_le_bytes());
    head.extend_from_slice(b"WEBP");
    let mut out = PieceList::new(T);
    out.bytes(head);
    if let Some(Range { start: at, end }) = vp8x {
        let flags_at = at + CHUNK_HEADER_LEN;
        let old = data[flags_at];
        let mut flags = old & !(FLAG_EXIF | FLAG_XMP);
        if exif_chunk.is_some() {
            flags |= FLAG_EXIF;
        }
        out.copy(at..flags_at);
        if flags == old {
            out.copy(flags_at..flags_at + 1);
        } else {
            out.bytes(vec![flags]);
        }
        out.copy(flags_at + 1..end);
    }
    out.append(chunks);
    if let Some(c) = exif_chunk {
        out.bytes(c);
    }
    Ok(out.finish(width, height, orientation))
}

/// The size in a VP8 key frame header or a VP8L header.
fn frame_size(fourcc: &[u8], payload: &[u8]) -> Result<(u16, u16), MediaError> {
    if fourcc == b"VP8 " {
        if payload.len() < 10 {
            return Err(T.malformed("a VP8 frame header under 10 bytes"));
        }
        if payload[0] & 1 != 0 || payload[3..6] != VP8_START_CODE {
            return Err(T.malformed("the VP8 data does not start with a key frame"));
        }
        let w = le16(payload, 6).unwrap_or(0) & 0x3FFF;
        let h = le16(payload, 8).unwrap_or(0) & 0x3FFF;
        Ok((w, h))
    } else {
        if payload.len() < 5 || payload[0] != VP8L_SIGNATURE {
            return Err(T.malformed("the VP8L data does not start with its signature"));
        }
        let bits = le32(payload, 1).unwrap_or(0);
        let w = (bits & 0x3FFF) as u16 + 1;
        let h = ((bits >> 14) & 0x3FFF) as u16 + 1;
        Ok((w, h))
    }
}

#[cfg(test)]
#[path = "webp_tests.rs"]
mod tests;
