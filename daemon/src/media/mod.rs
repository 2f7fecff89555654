//! Placeholder of the container walkers (replaced by the real walkers at merge).
#![allow(missing_docs)]
pub use crate::proto::attachment::MediaType;
use std::io::{self, Write};
use std::ops::Range;
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("not a JPEG, PNG, WebP or GIF picture")]
    Unsupported,
}
pub enum Piece {
    Copy(Range<usize>),
    Bytes(Vec<u8>),
}
pub struct Stripped {
    pub media_type: MediaType,
    pub width: u32,
    pub height: u32,
    pub orientation: u8,
    pub pieces: Vec<Piece>,
}
impl Stripped {
    pub fn len(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Copy(r) => r.len(),
                Piece::Bytes(b) => b.len(),
            })
            .sum()
    }
    pub fn write_to<W: Write>(&self, data: &[u8], w: &mut W) -> io::Result<()> {
        for p in &self.pieces {
            match p {
                Piece::Copy(r) => w.write_all(&data[r.clone()])?,
                Piece::Bytes(b) => w.write_all(b)?,
            }
        }
        Ok(())
    }
}
pub fn strip(data: &[u8]) -> Result<Stripped, MediaError> {
    if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(MediaError::Unsupported);
    }
    Ok(Stripped {
        media_type: MediaType::Jpeg,
        width: 1,
        height: 1,
        orientation: 1,
        pieces: vec![Piece::Copy(0..data.len())],
    })
}
