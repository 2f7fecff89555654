//! Pictures: the container walkers that take metadata out of an uploaded picture.
//!
//! Sans-IO and without pixel decoding: [`strip`] reads a JPEG, PNG, WebP or GIF file's container
//! structure (segments, chunks, blocks), checks its header and size, and returns the list of
//! [`Piece`]s that make up the same picture without metadata. A phone photo's GPS position,
//! camera serials, thumbnails, comments, XMP and anything after the end of the picture are left
//! out; what the viewer needs to draw it (the image data, palettes, colour profiles, animation
//! control) is kept. The only EXIF field that survives is the orientation, rebuilt as a minimal
//! EXIF block that holds nothing else, so browsers still turn the photo upright.
//!
//! The type comes from the magic bytes only ([`sniff`]); anything else (SVG, archives, HEIC...) is
//! [`MediaError::Unsupported`]. Every walker is bounded: sizes are checked against
//! [`MAX_SIDE`] and [`MAX_PIXELS`], at most [`MAX_PIECES`] segments or chunks are walked, and no
//! length field is trusted before it is checked against the data.
//!
//! - [`jpeg`], [`png`], [`webp`], [`gif`]: one walker per container.
//! - [`exif`]: the orientation tag read from, and written into, a minimal TIFF/EXIF block.
//! - [`MediaError`]: why a picture was refused.

pub mod error;
pub mod exif;
pub mod gif;
pub mod jpeg;
pub mod png;
pub mod webp;

pub use error::MediaError;

use std::io::{self, Write};
use std::ops::Range;

pub use crate::proto::attachment::{MediaType, MAX_PIXELS, MAX_SIDE};

/// The most segments, chunks or blocks a walker visits in one file, so hostile input (a file
/// made of millions of empty chunks) cannot make the list of pieces huge. Real pictures have a
/// few dozen; an animated GIF or APNG has a few per frame.
pub const MAX_PIECES: usize = 100_000;

/// PNG's 8-byte signature.
pub(crate) const PNG_SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// The picture type of a file from its first bytes (magic numbers only; 12 bytes suffice).
pub fn sniff(head: &[u8]) -> Option<MediaType> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(MediaType::Jpeg)
    } else if head.starts_with(&PNG_SIGNATURE) {
        Some(MediaType::Png)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(MediaType::Webp)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(MediaType::Gif)
    } else {
        None
    }
}

/// How far into a file [`describe_unsupported`] looks for an SVG's `<svg` tag.
const SNIFF_TEXT_BYTES: usize = 4096;

/// What a file that is not a supported picture looks like, for the error message.
fn describe_unsupported(data: &[u8]) -> &'static str {
    let head = &data[..data.len().min(SNIFF_TEXT_BYTES)];
    let has = |needle: &[u8]| {
        head.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let brand = data.get(4..12);
    if data.is_empty() {
        "an empty file"
    } else if has(b"<svg") {
        "an SVG drawing (script risk)"
    } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        "a ZIP archive"
    } else if data.starts_with(b"%PDF-") {
        "a PDF document"
    } else if matches!(brand, Some(b) if b.starts_with(b"ftyp") && matches!(&b[4..], b"heic" | b"heix" | b"mif1" | b"msf1" | b"hevc"))
    {
        "a HEIC picture (not supported: send it as JPEG)"
    } else if matches!(brand, Some(b"ftypavif") | Some(b"ftypavis")) {
        "an AVIF picture (not supported: send it as JPEG)"
    } else {
        "a file of an unknown type"
    }
}

/// One part of a stripped picture: a range of the original bytes, or new bytes (a rewritten
/// header, the minimal orientation-only EXIF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These bytes of the original, unchanged.
    Copy(Range<usize>),
    /// Bytes that are not in the original.
    Bytes(Vec<u8>),
}

impl Piece {
    /// The number of bytes this piece adds to the output.
    pub fn len(&self) -> usize {
        match self {
            Piece::Copy(r) => r.len(),
            Piece::Bytes(b) => b.len(),
        }
    }

    /// Whether this piece adds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A picture with its metadata taken out: its type, size and orientation, and the pieces that
/// make up the output. The pieces refer to the bytes given to [`strip`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The container type, from the magic bytes.
    pub media_type: MediaType,
    /// Width in pixels as stored (before any rotation), 1..=[`MAX_SIDE`].
    pub width: u32,
    /// Height in pixels as stored (before any rotation), 1..=[`MAX_SIDE`].
    pub height: u32,
    /// EXIF orientation 1..=8 (1: as stored; 6: turn 90° clockwise to view). The output keeps
    /// it in a minimal EXIF block, so browsers that honour EXIF already apply it.
    pub orientation: u8,
    /// The output, in order: copied ranges of the input (adjacent ones merged) and new bytes.
    pub pieces: Vec<Piece>,
}

impl Stripped {
    /// The length of the output in bytes.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Whether the output is empty (never, for a picture `strip` accepted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the output; `data` must be the bytes given to [`strip`] (a range outside them is
    /// an `InvalidInput` error).
    pub fn write_to<W: Write>(&self, data: &[u8], w: &mut W) -> io::Result<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Copy(r) => {
                    let part = data.get(r.clone()).ok_or_else(|| {
                        io::Error::new(io::ErrorKind::InvalidInput, "piece outside the data")
                    })?;
                    w.write_all(part)?;
                }
                Piece::Bytes(b) => w.write_all(b)?,
            }
        }
        Ok(())
    }

    /// The output as one buffer; `data` must be the bytes given to [`strip`] (ranges outside
    /// them are left out).
    pub fn to_vec(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for piece in &self.pieces {
            match piece {
                Piece::Copy(r) => out.extend_from_slice(data.get(r.clone()).unwrap_or(&[])),
                Piece::Bytes(b) => out.extend_from_slice(b),
            }
        }
        out
    }
}

/// Takes the metadata out of a picture: the type from the magic bytes, then that container's
/// walker. Refuses anything that is not a well-formed JPEG, PNG, WebP or GIF within the limits.
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    match sniff(data) {
        Some(MediaType::Jpeg) => jpeg::strip(data),
        Some(MediaType::Png) => png::strip(data),
        Some(MediaType::Webp) => webp::strip(data),
        Some(MediaType::Gif) => gif::strip(data),
        None => Err(MediaError::Unsupported(describe_unsupported(data))),
    }
}

/// Checks a picture's size against [`MAX_SIDE`] and [`MAX_PIXELS`].
pub(crate) fn check_size(
    media_type: MediaType,
    width: u64,
    height: u64,
) -> Result<(u32, u32), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::ZeroSize { media_type });
    }
    let too_large = MediaError::TooLarge {
        media_type,
        width,
        height,
    };
    if width > u64::from(MAX_SIDE)
        || height > u64::from(MAX_SIDE)
        || width.saturating_mul(height) > MAX_PIXELS
    {
        return Err(too_large);
    }
    match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(too_large),
    }
}

/// The output of a walker as it grows: adjacent copied ranges merged, and a count of the
/// segments walked, bounded by [`MAX_PIECES`].
pub(crate) struct PieceList {
    media_type: MediaType,
    pieces: Vec<Piece>,
    walked: usize,
}

impl PieceList {
    /// An empty list for a file of this type.
    pub(crate) fn new(media_type: MediaType) -> Self {
        PieceList {
            media_type,
            pieces: Vec::new(),
            walked: 0,
        }
    }

    /// Counts one more segment or chunk walked; an error past [`MAX_PIECES`].
    pub(crate) fn step(&mut self) -> Result<(), MediaError> {
        self.walked += 1;
        if self.walked > MAX_PIECES {
            return Err(MediaError::TooManyPieces {
                media_type: self.media_type,
            });
        }
        Ok(())
    }

    /// Appends a range of the input, merged with the previous one when they touch.
    pub(crate) fn copy(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if let Some(Piece::Copy(last)) = self.pieces.last_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
        self.pieces.push(Piece::Copy(range));
    }

    /// Appends new bytes.
    pub(crate) fn bytes(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.pieces.push(Piece::Bytes(bytes));
        }
    }

    /// Puts new bytes right after input offset `at`, which must end a copied range or fall
    /// inside one (the range is split there).
    pub(crate) fn insert_at(&mut self, at: usize, bytes: Vec<u8>) {
        let found = self
            .pieces
            .iter()
            .position(|p| matches!(p, Piece::Copy(r) if r.start < at && at <= r.end));
        if let Some(i) = found {
            if let Piece::Copy(r) = self.pieces[i].clone() {
                let mut split = vec![Piece::Copy(r.start..at), Piece::Bytes(bytes)];
                if at < r.end {
                    split.push(Piece::Copy(at..r.end));
                }
                self.pieces.splice(i..=i, split);
            }
        }
    }

    /// Appends every piece of another list (merging at the seam).
    pub(crate) fn append(&mut self, other: PieceList) {
        for piece in other.pieces {
            match piece {
                Piece::Copy(r) => self.copy(r),
                Piece::Bytes(b) => self.bytes(b),
            }
        }
    }

    /// The length of the output so far.
    pub(crate) fn len(&self) -> usize {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// The finished result.
    pub(crate) fn finish(self, width: u32, height: u32, orientation: u8) -> Stripped {
        Stripped {
            media_type: self.media_type,
            width,
            height,
            orientation,
            pieces: self.pieces,
        }
    }
}

/// A big-endian `u16` at `at`, if the data reaches that far.
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// A big-endian `u32` at `at`, if the data reaches that far.
pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A little-endian `u16` at `at`, if the data reaches that far.
pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// A little-endian `u32` at `at`, if the data reaches that far.
pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;
