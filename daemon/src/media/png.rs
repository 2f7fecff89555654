//! The PNG walker: chunks from the signature to IEND, keeping a whitelist.
//!
//! Kept: the chunks that say how to draw the picture (header, palette, image data,
//! transparency, colour space and profile, significant bits, background, histogram, physical
//! size, suggested palette) and APNG animation (acTL, fcTL, fdAT). Dropped: everything else —
//! text (tEXt, zTXt, iTXt), time (tIME), EXIF (eXIf), private and unknown chunks — and any
//! bytes after IEND. An EXIF orientation other than 1 comes back as a minimal eXIf chunk right
//! after IHDR. Every chunk's CRC is checked.

use super::{be32, check_size, exif, MediaError, MediaType, PieceList, Stripped, PNG_SIGNATURE};

/// The chunks kept: all needed to draw a still or animated picture, none that carries text.
pub const KEPT_CHUNKS: [&[u8; 4]; 18] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"cICP", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

/// The largest chunk length PNG allows (2^31 − 1).
const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

/// The length of IHDR's data.
const IHDR_LEN: usize = 13;

/// The bytes of a chunk around its data: length, type, CRC.
const CHUNK_OVERHEAD: usize = 12;

const T: MediaType = MediaType::Png;

/// Strips a PNG (see the module doc).
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    if !data.starts_with(&PNG_SIGNATURE) {
        return Err(T.malformed("it does not start with the PNG signature"));
    }
    let mut out = PieceList::new(T);
    out.copy(0..PNG_SIGNATURE.len());
    let mut pos = PNG_SIGNATURE.len();
    let mut size = None;
    let mut orientation = None;
    let mut has_data = false;
    loop {
        out.step()?;
        let len = be32(data, pos).ok_or_else(|| T.truncated("no IEND chunk"))?;
        if len > MAX_CHUNK_LEN {
            return Err(T.malformed("a chunk length over 2^31 - 1"));
        }
        let kind = data
            .get(pos + 4..pos + 8)
            .ok_or_else(|| T.truncated("a chunk header"))?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(T.malformed("a chunk type that is not four letters"));
        }
        let end = pos
            .checked_add(CHUNK_OVERHEAD + len as usize)
            .filter(|&end| end <= data.len())
            .ok_or_else(|| T.truncated("a chunk runs past the end"))?;
        let payload = &data[pos + 8..end - 4];
        if Some(crc32(&data[pos + 4..end - 4])) != be32(data, end - 4) {
            return Err(T.malformed("a chunk's checksum does not match"));
        }
        let start = pos;
        pos = end;
        if size.is_none() {
            if kind != b"IHDR" || payload.len() != IHDR_LEN {
                return Err(T.malformed("the first chunk is not a 13-byte header (IHDR)"));
            }
            let (w, h) = (be32(payload, 0), be32(payload, 4));
            size = Some(check_size(T, w.unwrap_or(0).into(), h.unwrap_or(0).into())?);
            out.copy(start..end);
            continue;
        }
        match kind {
            b"IHDR" => return Err(T.malformed("a second header chunk (IHDR)")),
            b"eXIf" => {
                // Only the first EXIF block counts, as for viewers.
                orientation.get_or_insert_with(|| exif::orientation(payload).unwrap_or(1));
            }
            b"IEND" => {
                out.copy(start..end);
                break;
            }
            k if KEPT_CHUNKS.iter().any(|kept| kept[..] == *k) => {
                has_data |= k == b"IDAT";
                out.copy(start..end);
            }
            _ => {}
        }
    }
    let (width, height) = size.ok_or_else(|| T.malformed("no header chunk (IHDR)"))?;
    if !has_data {
        return Err(T.malformed("no image data (IDAT)"));
    }
    let orientation = orientation.unwrap_or(1);
    if orientation != 1 {
        // Right after IHDR: eXIf must come before the image data.
        let ihdr_end = PNG_SIGNATURE.len() + CHUNK_OVERHEAD + IHDR_LEN;
        let exif_chunk = chunk(b"eXIf", &exif::orientation_tiff(orientation));
        out.insert_at(ihdr_end, exif_chunk);
    }
    Ok(out.finish(width, height, orientation))
}

/// A whole chunk: length, type, data and CRC.
fn chunk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(CHUNK_OVERHEAD + payload.len());
    c.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    c.extend_from_slice(kind);
    c.extend_from_slice(payload);
    let crc = crc32(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

/// The CRC-32 table (polynomial 0xEDB88320), built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

/// The CRC-32 of PNG (and zlib, gzip).
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

#[cfg(test)]
#[path = "png_tests.rs"]
mod tests;
