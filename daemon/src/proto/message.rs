//! Messages: what an author says, signed by the author's key.
//!
//! A message's id is `(author, seq)`; `seq` counts from 1 per author and never skips, so a gap
//! shows a missing message. Relays and multicast carry messages without being trusted: the
//! signature covers every field.
//!
//! # Byte layout (version 1)
//!
//! The wire form of a [`SignedMessage`] is
//!
//! ```text
//! offset  size      field
//! 0       1         version = 0x01
//! 1       n         postcard(Message)            (the "body bytes")
//! 1+n     64        Ed25519 signature over  b"msm-message-v1\0" ++ body bytes
//! ```
//!
//! and postcard encodes [`Message`] as its fields in order, with no padding or tags:
//!
//! ```text
//! author    varint(len) ++ UTF-8 bytes   canonical "user@domain" (lower case, IDNA ASCII)
//! seq       varint(u64)                  LEB128, 1..
//! time_ms   varint(u64)                  Unix time in milliseconds, as the author's node saw it
//! audience  varint(u32)                  0 = public, 1 = followers
//! body      varint(u32) variant, then the variant's fields:
//!           0 Post     text: string
//!           1 Reply    to: MessageId (author string, seq varint), text: string
//!           2 Repost   of: MessageId
//!           3 Delete   target: varint(u64)   a seq of the same author, below this one
//!           4 Profile  display_name: string, bio: string
//! ```
//!
//! (`varint` is unsigned LEB128, 7 bits per byte, low group first; a string is `varint(len)` then
//! its bytes.) Decoding accepts only this canonical form: the bytes are decoded, re-encoded and
//! compared, so an over-long varint or a non-canonical address is refused rather than accepted
//! with a second encoding of the same message.

use super::keys::{NodeKey, PublicKey, SIGNATURE_LEN};
use super::{Address, ProtoError};
use serde::{Deserialize, Serialize};

/// First byte of a version-1 signed message.
pub const MESSAGE_VERSION: u8 = 1;
/// Domain separation for signatures: a message signature can never be mistaken for another one.
pub const SIGNING_CONTEXT: &[u8] = b"msm-message-v1\0";
/// Default cap on a post's text, in bytes (posts are short by habit, not by limit).
pub const DEFAULT_MAX_TEXT: usize = 16 * 1024;
/// Highest cap an operator may configure: one message must fit a link frame.
pub const MAX_TEXT_LIMIT: usize = 64 * 1024;
/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Longest bio, in bytes.
pub const MAX_BIO: usize = 1024;
/// Largest encoded signed message: text at its highest cap plus two addresses and the rest.
pub const MAX_ENCODED_MESSAGE: usize = MAX_TEXT_LIMIT + 4096;

/// Limits that an operator configures; a node refuses messages over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Cap on the text of a post or reply, in bytes; at most [`MAX_TEXT_LIMIT`].
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text: DEFAULT_MAX_TEXT,
        }
    }
}

/// The id of a message: its author and the author's sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId {
    /// Who wrote it.
    pub author: Address,
    /// The author's sequence number, from 1.
    pub seq: u64,
}

/// Who may read a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Anyone, and it may travel in the public firehose.
    Public,
    /// Only accepted followers of the author.
    Followers,
}

/// What a message says. Each kind carries exactly the fields it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// A new post.
    Post {
        /// The text.
        text: String,
    },
    /// A reply to another message.
    Reply {
        /// The message replied to.
        to: MessageId,
        /// The text.
        text: String,
    },
    /// A repost of another message.
    Repost {
        /// The message reposted.
        of: MessageId,
    },
    /// Withdraws one of the author's earlier messages.
    Delete {
        /// The seq of the withdrawn message (same author).
        target: u64,
    },
    /// A new display name and bio for the author.
    Profile {
        /// Display name.
        display_name: String,
        /// Free text about the author.
        bio: String,
    },
}

impl Body {
    /// A short name of the kind, as used in the store and the HTTP API.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Post { .. } => "post",
            Body::Reply { .. } => "reply",
            Body::Repost { .. } => "repost",
            Body::Delete { .. } => "delete",
            Body::Profile { .. } => "profile",
        }
    }

    /// The text a person reads, if the kind has one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Body::Post { text } | Body::Reply { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// An unsigned message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub author: Address,
    /// The author's sequence number, from 1, no gaps.
    pub seq: u64,
    /// Unix time in milliseconds when the author's node accepted it.
    pub time_ms: u64,
    /// Who may read it.
    pub audience: Audience,
    /// What it says.
    pub body: Body,
}

/// A message with its author's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// The signed fields.
    pub message: Message,
    /// Ed25519 signature over [`SIGNING_CONTEXT`] and the body bytes.
    pub signature: [u8; SIGNATURE_LEN],
}

impl Message {
    /// The id `(author, seq)`.
    pub fn id(&self) -> MessageId {
        MessageId {
            author: self.author.clone(),
            seq: self.seq,
        }
    }

    /// Checks the field rules against `limits`.
    pub fn validate(&self, limits: &Limits) -> Result<(), ProtoError> {
        if self.seq == 0 {
            return Err(ProtoError::InvalidMessage("seq counts from 1"));
        }
        let max_text = limits.max_text.min(MAX_TEXT_LIMIT);
        match &self.body {
            Body::Post { text } => check_text(text, max_text)?,
            Body::Reply { to, text } => {
                check_text(text, max_text)?;
                check_ref(to)?;
            }
            Body::Repost { of } => check_ref(of)?,
            Body::Delete { target } => {
                if *target == 0 || *target >= self.seq {
                    return Err(ProtoError::InvalidMessage(
                        "a delete names an earlier seq of its own author",
                    ));
                }
            }
            Body::Profile { display_name, bio } => {
                check_len("display name", display_name, MAX_DISPLAY_NAME)?;
                check_len("bio", bio, MAX_BIO)?;
                check_chars(display_name)?;
                check_chars(bio)?;
            }
        }
        Ok(())
    }

    /// The canonical body bytes (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising to a Vec cannot fail for these types: every field is a plain value.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Signs the message with the author's key, after checking it against `limits`.
    pub fn sign(self, key: &NodeKey, limits: &Limits) -> Result<SignedMessage, ProtoError> {
        self.validate(limits)?;
        let signature = key.sign(&signing_input(&self.to_bytes()));
        Ok(SignedMessage {
            message: self,
            signature,
        })
    }
}

fn signing_input(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
    v.extend_from_slice(SIGNING_CONTEXT);
    v.extend_from_slice(body);
    v
}

fn check_len(what: &'static str, s: &str, max: usize) -> Result<(), ProtoError> {
    if s.len() > max {
        return Err(ProtoError::TooLarge {
            what,
            got: s.len(),
            max,
        });
    }
    Ok(())
}

/// Text may hold any Unicode but control characters other than tab, newline and carriage return,
/// and noncharacters (U+FDD0–U+FDEF and the last two code points of every plane, such as
/// U+FFFE and U+FFFF), which XML 1.0 forbids and which would break every Atom feed showing the
/// post. (A carriage return stays valid for messages signed before this rule; posting turns line
/// breaks into `\n` first, see [`normalize_line_breaks`].)
fn check_chars(s: &str) -> Result<(), ProtoError> {
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ProtoError::InvalidMessage("text holds a control character"));
    }
    if s.chars().any(is_noncharacter) {
        return Err(ProtoError::InvalidMessage(
            "text holds a Unicode noncharacter (such as U+FFFE or U+FFFF)",
        ));
    }
    Ok(())
}

/// True for a bidirectional embedding, override or isolate control: U+202A–U+202E (LRE, RLE,
/// PDF, LRO, RLO) and U+2066–U+2069 (LRI, RLI, FSI, PDI). One left open in a name shown inline
/// (an unclosed U+202E) reverses whatever follows it on the line, such as the author's address.
/// The marks U+200E, U+200F and U+061C open nothing and are not counted.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True for a Unicode noncharacter: U+FDD0–U+FDEF, and U+nFFFE and U+nFFFF of every plane.
pub fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

/// Line breaks as posted (`\r\n` from browsers and Windows, a lone `\r` from old Macs) turned
/// into `\n`, the one line break msm stores.
pub fn normalize_line_breaks(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_string();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn check_text(text: &str, max: usize) -> Result<(), ProtoError> {
    check_len("text", text, max)?;
    if text.trim().is_empty() {
        return Err(ProtoError::InvalidMessage("text is empty"));
    }
    check_chars(text)
}

fn check_ref(id: &MessageId) -> Result<(), ProtoError> {
    if id.seq == 0 {
        return Err(ProtoError::InvalidMessage(
            "a message id's seq counts from 1",
        ));
    }
    Ok(())
}

impl SignedMessage {
    /// The wire form (see the module doc for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let body = self.message.to_bytes();
        let mut out = Vec::with_capacity(1 + body.len() + SIGNATURE_LEN);
        out.push(MESSAGE_VERSION);
        out.extend_from_slice(&body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes the wire form and checks field rules; does not check the signature
    /// (the caller knows which key to check it with: see [`SignedMessage::verify`]).
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, ProtoError> {
        let malformed = |why: String| ProtoError::Malformed {
            what: "message",
            why,
        };
        if bytes.len() > MAX_ENCODED_MESSAGE {
            return Err(ProtoError::TooLarge {
                what: "message",
                got: bytes.len(),
                max: MAX_ENCODED_MESSAGE,
            });
        }
        let (&version, rest) = bytes
            .split_first()
            .ok_or_else(|| malformed("empty".into()))?;
        if version != MESSAGE_VERSION {
            return Err(malformed(format!("unknown version {version}")));
        }
        if rest.len() < SIGNATURE_LEN {
            return Err(malformed("shorter than a signature".into()));
        }
        let (body, sig) = rest.split_at(rest.len() - SIGNATURE_LEN);
        let (message, tail): (Message, _) =
            postcard::take_from_bytes(body).map_err(|e| malformed(e.to_string()))?;
        if !tail.is_empty() {
            return Err(malformed(format!("{} bytes after the fields", tail.len())));
        }
        if message.to_bytes() != body {
            return Err(ProtoError::NotCanonical("message"));
        }
        message.validate(limits)?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        Ok(SignedMessage { message, signature })
    }

    /// Checks the signature with the author's public key.
    pub fn verify(&self, author_key: &PublicKey) -> Result<(), ProtoError> {
        author_key.verify(&signing_input(&self.message.to_bytes()), &self.signature)
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
