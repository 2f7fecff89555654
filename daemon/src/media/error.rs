//! The media layer's error type: one enum, a variant per way an uploaded file can be refused.

use super::{MediaType, MAX_PIECES, MAX_PIXELS, MAX_SIDE};
use thiserror::Error;

/// Why a file was refused as a picture. The messages are sentences for the person uploading.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The file is not a JPEG, PNG, WebP or GIF picture (what it looks like is named).
    #[error("{0} cannot be posted: send a JPEG, PNG, WebP or GIF picture")]
    Unsupported(&'static str),
    /// The file ends before its structure does.
    #[error("the {} picture is cut short ({what})", media_type.name())]
    Truncated {
        /// The container type.
        media_type: MediaType,
        /// Where it ends.
        what: &'static str,
    },
    /// The file's structure breaks its format's rules.
    #[error("the {} picture is damaged: {why}", media_type.name())]
    Malformed {
        /// The container type.
        media_type: MediaType,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// The header says the picture has no width or no height.
    #[error("the {} picture has a width or height of 0 pixels", media_type.name())]
    ZeroSize {
        /// The container type.
        media_type: MediaType,
    },
    /// The picture is larger than [`MAX_SIDE`] on a side or [`MAX_PIXELS`] in all.
    #[error(
        "the {} picture is {width} × {height} pixels, over the limit of {MAX_SIDE} pixels a side \
         and {MAX_PIXELS} pixels in all",
        media_type.name()
    )]
    TooLarge {
        /// The container type.
        media_type: MediaType,
        /// The width its header claims.
        width: u64,
        /// The height its header claims.
        height: u64,
    },
    /// The file has more than [`MAX_PIECES`] segments, chunks or blocks.
    #[error(
        "the {} picture has more than {MAX_PIECES} segments or chunks",
        media_type.name()
    )]
    TooManyPieces {
        /// The container type.
        media_type: MediaType,
    },
}

impl MediaError {
    /// Whether the file is of a type this node does not take at all (HTTP 415), rather than a
    /// damaged or oversized picture (HTTP 400).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, MediaError::Unsupported(_))
    }
}

impl MediaType {
    /// The error for a file of this type that breaks a rule of its format.
    pub(crate) fn malformed(self, why: &'static str) -> MediaError {
        MediaError::Malformed {
            media_type: self,
            why,
        }
    }

    /// The error for a file of this type that ends before its structure does.
    pub(crate) fn truncated(self, what: &'static str) -> MediaError {
        MediaError::Truncated {
            media_type: self,
            what,
        }
    }
}
