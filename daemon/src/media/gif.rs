//! The GIF walker: header, logical screen and its colour table, then blocks up to the trailer.
//!
//! Kept: image descriptors with their local colour tables and image data, graphic control
//! extensions (frame delay, transparency) and the application extensions that make an
//! animation loop (NETSCAPE2.0, ANIMEXTS1.0). Dropped: comments, plain text, every other
//! application extension (XMP and the like) and any bytes after the trailer.

use super::{check_size, le16, MediaError, MediaType, PieceList, Stripped};

/// Header ("GIF89a") and logical screen descriptor.
const HEAD_LEN: usize = 6 + 7;
/// The image separator.
const IMAGE: u8 = 0x2C;
/// The extension introducer.
const EXTENSION: u8 = 0x21;
/// The trailer.
const TRAILER: u8 = 0x3B;
/// Extension label: graphic control.
const GRAPHIC_CONTROL: u8 = 0xF9;
/// Extension label: application.
const APPLICATION: u8 = 0xFF;
/// The application identifiers (with authentication code) whose extensions are kept: looping.
const KEPT_APPLICATIONS: [&[u8; 11]; 2] = [b"NETSCAPE2.0", b"ANIMEXTS1.0"];
/// An image descriptor after its separator.
const IMAGE_DESCRIPTOR_LEN: usize = 9;
/// The flag of a logical screen or image descriptor that says a colour table follows.
const COLOUR_TABLE_FLAG: u8 = 0x80;

const T: MediaType = MediaType::Gif;

/// The length of the colour table a descriptor's packed byte announces (0 when none).
fn colour_table_len(packed: u8) -> usize {
    if packed & COLOUR_TABLE_FLAG == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

/// Where the data sub-blocks that start at `pos` end (after the zero-length terminator).
fn sub_blocks_end(data: &[u8], mut pos: usize) -> Result<usize, MediaError> {
    loop {
        let len = *data
            .get(pos)
            .ok_or_else(|| T.truncated("in a block's data"))?;
        pos += 1 + usize::from(len);
        if len == 0 {
            return Ok(pos);
        }
    }
}

/// Strips a GIF (see the module doc).
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    if !data.starts_with(b"GIF87a") && !data.starts_with(b"GIF89a") {
        return Err(T.malformed("it does not start with GIF87a or GIF89a"));
    }
    let (w, h, packed) = match (le16(data, 6), le16(data, 8), data.get(10)) {
        (Some(w), Some(h), Some(&p)) if data.len() >= HEAD_LEN => (w, h, p),
        _ => return Err(T.truncated("in the logical screen descriptor")),
    };
    let (width, height) = check_size(T, w.into(), h.into())?;
    let mut pos = HEAD_LEN + colour_table_len(packed);
    if pos > data.len() {
        return Err(T.truncated("in the global colour table"));
    }
    let mut out = PieceList::new(T);
    out.copy(0..pos);
    let mut images = 0usize;
    loop {
        out.step()?;
        let start = pos;
        match data.get(pos) {
            None => return Err(T.truncated("no trailer")),
            Some(&TRAILER) => {
                out.copy(pos..pos + 1);
                break;
            }
            Some(&IMAGE) => {
                let packed = *data
                    .get(pos + IMAGE_DESCRIPTOR_LEN)
                    .ok_or_else(|| T.truncated("in an image descriptor"))?;
                // descriptor, local colour table, LZW minimum code size, then the data
                pos += 1 + IMAGE_DESCRIPTOR_LEN + colour_table_len(packed) + 1;
                if pos > data.len() {
                    return Err(T.truncated("in an image's colour table"));
                }
                pos = sub_blocks_end(data, pos)?;
                out.copy(start..pos);
                images += 1;
            }
            Some(&EXTENSION) => {
                let label = *data
                    .get(pos + 1)
                    .ok_or_else(|| T.truncated("in an extension"))?;
                pos = sub_blocks_end(data, pos + 2)?;
                let keep = match label {
                    GRAPHIC_CONTROL => true,
                    APPLICATION => data.get(start + 2..start + 14).is_some_and(|id| {
                        id[0] == 11 && KEPT_APPLICATIONS.iter().any(|k| k[..] == id[1..])
                    }),
                    _ => false,
                };
                if keep {
                    out.copy(start..pos);
                }
            }
            Some(_) => return Err(T.malformed("a block that is not an image or an extension")),
        }
    }
    if images == 0 {
        return Err(T.malformed("no image"));
    }
    Ok(out.finish(width, height, 1))
}

#[cfg(test)]
#[path = "gif_tests.rs"]
mod tests;
