//! Picture references: what a signed message says about a picture it carries.
//!
//! A message never carries picture bytes: it names each picture by the SHA-256 of its stored
//! bytes, with what a view needs to lay it out before the bytes arrive (type, size, width,
//! height, the EXIF orientation to apply, a blurhash) and its alt text. A reader's node fetches
//! the bytes from the author's node and keeps them only if they hash to the reference, so a
//! relay or a hostile node can neither swap a picture nor make a signed post show another.
//!
//! # Byte layout (inside a version-3 message, postcard)
//!
//! ```text
//! sha256       32 bytes
//! media_type   varint(u32)   0 = JPEG, 1 = PNG, 2 = WebP, 3 = GIF
//! size         varint(u32)   bytes, 1..=MAX_PICTURE_BYTES
//! width        varint(u32)   pixels, 1..=MAX_SIDE
//! height       varint(u32)   pixels, 1..=MAX_SIDE
//! orientation  u8            EXIF orientation 1..=8 (1 = as stored)
//! alt          string        ≤ MAX_ALT bytes
//! blurhash     string        "" or a blurhash of ≤ MAX_BLURHASH base-83 characters
//! ```

use super::ProtoError;
use serde::{Deserialize, Serialize};

/// Most pictures one post carries (Mastodon's limit too).
pub const MAX_ATTACHMENTS: usize = 4;
/// Longest alt text, in bytes (Mastodon allows 1,500 characters).
pub const MAX_ALT: usize = 1500;
/// Longest blurhash: 9×9 components take 4 + 2 × 81 = 166 characters; msm's clients use 4×3.
pub const MAX_BLURHASH: usize = 100;
/// Largest picture a message may name, in bytes (a node's upload cap is at most this).
pub const MAX_PICTURE_BYTES: u32 = 64 * 1024 * 1024;
/// Widest or tallest picture, in pixels: a viewer's phone must be able to decode it.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels in one picture (a 50-megapixel photo decodes to 200 MB in a viewer).
pub const MAX_PIXELS: u64 = 50_000_000;

/// The picture formats msm carries; SVG is not one (it can hold script).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// PNG, APNG included.
    Png,
    /// WebP, lossy or lossless, animated or still.
    Webp,
    /// GIF87a or GIF89a.
    Gif,
}

impl MediaType {
    /// The MIME type served with the bytes.
    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Gif => "image/gif",
        }
    }

    /// The type named by a MIME type (case-insensitive, parameters after `;` ignored); `None`
    /// for any other.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or("").trim();
        [Self::Jpeg, Self::Png, Self::Webp, Self::Gif]
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(essence))
    }

    /// The format's short name, for messages ("JPEG").
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Jpeg => "JPEG",
            MediaType::Png => "PNG",
            MediaType::Webp => "WebP",
            MediaType::Gif => "GIF",
        }
    }

    /// The name the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Jpeg => "jpeg",
            MediaType::Png => "png",
            MediaType::Webp => "webp",
            MediaType::Gif => "gif",
        }
    }

    /// The type of a name the store keeps.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "jpeg" => Some(MediaType::Jpeg),
            "png" => Some(MediaType::Png),
            "webp" => Some(MediaType::Webp),
            "gif" => Some(MediaType::Gif),
            _ => None,
        }
    }
}

/// One picture a message carries, by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// SHA-256 of the stored (metadata-stripped) bytes.
    pub sha256: [u8; 32],
    /// The format, from the bytes' magic numbers.
    pub media_type: MediaType,
    /// Size of the bytes.
    pub size: u32,
    /// Width in pixels, as stored (before orientation).
    pub width: u32,
    /// Height in pixels, as stored.
    pub height: u32,
    /// EXIF orientation 1..=8 that a viewer applies (the only EXIF tag msm keeps).
    pub orientation: u8,
    /// What the picture shows, for people who cannot see it.
    pub alt: String,
    /// A blurhash shown while the bytes load; "" for none.
    pub blurhash: String,
}

/// The pictures one message carries: a fixed-capacity list.
pub type Attachments = heapless::Vec<Attachment, MAX_ATTACHMENTS>;

impl Attachment {
    /// Checks the field rules.
    pub fn validate(&self) -> Result<(), ProtoError> {
        if self.size == 0 || self.size > MAX_PICTURE_BYTES {
            return Err(ProtoError::InvalidMessage(
                "a picture's size is out of range",
            ));
        }
        if self.width == 0 || self.height == 0 || self.width > MAX_SIDE || self.height > MAX_SIDE {
            return Err(ProtoError::InvalidMessage(
                "a picture's width or height is out of range",
            ));
        }
        if self.width as u64 * self.height as u64 > MAX_PIXELS {
            return Err(ProtoError::InvalidMessage("a picture has too many pixels"));
        }
        if !(1..=8).contains(&self.orientation) {
            return Err(ProtoError::InvalidMessage(
                "a picture's orientation is not 1 to 8",
            ));
        }
        check_alt(&self.alt)?;
        check_blurhash(&self.blurhash)
    }

    /// The SHA-256 as 64 lower-case hex digits (the picture's name in URLs and on disk).
    pub fn hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// The alphabet of blurhash's base-83 digits.
const BASE83: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/// Checks alt text: at most [`MAX_ALT`] bytes, no control character but tab and line feed, no
/// noncharacter.
pub fn check_alt(alt: &str) -> Result<(), ProtoError> {
    if alt.len() > MAX_ALT {
        return Err(ProtoError::TooLarge {
            what: "alt text",
            got: alt.len(),
            max: MAX_ALT,
        });
    }
    if alt.chars().any(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n')) || super::message::is_noncharacter(c)
    }) {
        return Err(ProtoError::InvalidMessage(
            "alt text holds a control character or a noncharacter",
        ));
    }
    Ok(())
}

/// A blurhash is "" or well formed: its first digit gives the component counts, which fix its
/// length (4 + 2 × components).
pub fn check_blurhash(b: &str) -> Result<(), ProtoError> {
    if b.is_empty() {
        return Ok(());
    }
    let bad = ProtoError::InvalidMessage("a blurhash is malformed");
    if b.len() > MAX_BLURHASH || b.len() < 6 || !b.bytes().all(|c| BASE83.contains(&c)) {
        return Err(bad);
    }
    let first = BASE83
        .iter()
        .position(|&c| c == b.as_bytes()[0])
        .unwrap_or(0);
    let (x, y) = (first % 9 + 1, first / 9 + 1);
    if b.len() != 4 + 2 * x * y {
        return Err(bad);
    }
    Ok(())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The SHA-256 named by 64 lower-case hex digits, if that is what `s` is.
pub fn parse_hex256(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pic() -> Attachment {
        Attachment {
            sha256: [7; 32],
            media_type: MediaType::Jpeg,
            size: 1000,
            width: 640,
            height: 480,
            orientation: 6,
            alt: "a red bicycle".into(),
            blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj".into(),
        }
    }

    #[test]
    fn field_rules_hold() {
        assert!(pic().validate().is_ok());
        let bad = [
            Attachment { size: 0, ..pic() },
            Attachment { width: 0, ..pic() },
            Attachment {
                height: MAX_SIDE + 1,
                ..pic()
            },
            Attachment {
                width: 10_000,
                height: 10_000,
                ..pic()
            },
            Attachment {
                orientation: 0,
                ..pic()
            },
            Attachment {
                orientation: 9,
                ..pic()
            },
            Attachment {
                alt: "x".repeat(MAX_ALT + 1),
                ..pic()
            },
            Attachment {
                alt: "bell\u{7}".into(),
                ..pic()
            },
            Attachment {
                blurhash: "LEHV6n".into(),
                ..pic()
            },
            Attachment {
                blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdn<".into(),
                ..pic()
            },
        ];
        for a in bad {
            assert!(a.validate().is_err(), "{a:?}");
        }
    }

    #[test]
    fn hex_round_trips_and_refuses_upper_case() {
        let h = pic().hex();
        assert_eq!(h, "07".repeat(32));
        assert_eq!(parse_hex256(&h), Some([7; 32]));
        assert_eq!(parse_hex256(&h.to_uppercase().replace("07", "0A")), None);
        assert_eq!(parse_hex256("07"), None);
        assert_eq!(parse_hex256(&"g".repeat(64)), None);
    }

    #[test]
    fn mime_types_map_both_ways() {
        for t in [
            MediaType::Jpeg,
            MediaType::Png,
            MediaType::Webp,
            MediaType::Gif,
        ] {
            assert_eq!(MediaType::from_mime(t.mime()), Some(t));
            assert_eq!(MediaType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MediaType::from_mime("image/svg+xml"), None);
    }
}
