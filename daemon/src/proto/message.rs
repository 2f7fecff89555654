//! Messages: what an author says, signed by the author's key.
//!
//! A message's id is `(author, seq)`; `seq` counts from 1 per author and never skips, so a gap
//! shows a missing message. Relays and multicast carry messages without being trusted: the
//! signature covers every field.
//!
//! # Byte layout (versions 1, 2 and 3)
//!
//! The wire form of a [`SignedMessage`] is
//!
//! ```text
//! offset  size      field
//! 0       1         version = 0x01, 0x02 or 0x03
//! 1       n         postcard(Message)            (the "body bytes")
//! 1+n     64        Ed25519 signature over  b"msm-message-vN\0" ++ body bytes  (N = version)
//! ```
//!
//! Version 2 adds the direct audience and the body kinds 5–7 (a post with a content warning and
//! mentions, a like, an edit); a message is version 2 exactly when it uses one of them, else
//! version 1, so each message has one encoding, and a node that knows only version 1 refuses the
//! new kinds by their version byte instead of misreading them. The signing context names the
//! version, so a signature never carries over from one version to the other. Version 3 adds
//! pictures (body kinds 8 and 9, see [`super::attachment`]) by the same rule: a message is
//! version 3 exactly when it is one of those kinds.
//!
//! and postcard encodes [`Message`] as its fields in order, with no padding or tags:
//!
//! ```text
//! author    varint(len) ++ UTF-8 bytes   canonical "user@domain" (lower case, IDNA ASCII)
//! seq       varint(u64)                  LEB128, 1..
//! time_ms   varint(u64)                  Unix time in milliseconds, as the author's node saw it
//! audience  varint(u32)                  0 = public, 1 = followers, 2 = direct (v2: the mentioned only)
//! body      varint(u32) variant, then the variant's fields:
//!           0 Post     text: string
//!           1 Reply    to: MessageId (author string, seq varint), text: string
//!           2 Repost   of: MessageId
//!           3 Delete   target: varint(u64)   a seq of the same author, below this one
//!           4 Profile  display_name: string, bio: string
//!           5 Note     (v2) text: string, summary: string (content warning, "" for none),
//!                      reply_to: option(MessageId) (0 = none, 1 then the id),
//!                      mentions: varint(n ≤ 16) addresses, distinct, in text order
//!           6 Like     (v2) of: MessageId           (withdrawn by a Delete of the like)
//!           7 Edit     (v2) target: varint(u64) (an earlier post of the same author),
//!                      text: string, summary: string, mentions: as in Note
//!           8 Pictures (v3) text: string ("" allowed), summary, reply_to, mentions as in Note,
//!                      attachments: varint(n, 1..=4) attachments (see `attachment`)
//!           9 Portrait (v3) display_name: string, bio: string,
//!                      avatar: option(attachment), header: option(attachment)
//! ```
//!
//! (`varint` is unsigned LEB128, 7 bits per byte, low group first; a string is `varint(len)` then
//! its bytes.) Decoding accepts only this canonical form: the bytes are decoded, re-encoded and
//! compared, so an over-long varint or a non-canonical address is refused rather than accepted
//! with a second encoding of the same message.

use super::attachment::{Attachment, Attachments};
use super::keys::{NodeKey, PublicKey, SIGNATURE_LEN};
use super::{Address, ProtoError};
use serde::{Deserialize, Serialize};

/// First byte of a version-1 signed message.
pub const MESSAGE_VERSION: u8 = 1;
/// First byte of a version-2 signed message (direct audience, notes, likes, edits).
pub const MESSAGE_VERSION_2: u8 = 2;
/// First byte of a version-3 signed message (pictures).
pub const MESSAGE_VERSION_3: u8 = 3;
/// Domain separation for signatures: a message signature can never be mistaken for another one.
pub const SIGNING_CONTEXT: &[u8] = b"msm-message-v1\0";
/// The signing context of version-2 messages.
pub const SIGNING_CONTEXT_V2: &[u8] = b"msm-message-v2\0";
/// The signing context of version-3 messages.
pub const SIGNING_CONTEXT_V3: &[u8] = b"msm-message-v3\0";
/// Most people one message mentions (Mastodon's default limit of mentions per post is larger,
/// but each mention is a delivery to a server that may not follow the author: a spam path).
pub const MAX_MENTIONS: usize = 16;
/// Longest content warning, in bytes.
pub const MAX_SUMMARY: usize = 512;
/// The mentions a message carries: a fixed-capacity list.
pub type Mentions = heapless::Vec<Address, MAX_MENTIONS>;
/// Default cap on a post's text, in bytes (posts are short by habit, not by limit).
pub const DEFAULT_MAX_TEXT: usize = 16 * 1024;
/// Highest cap an operator may configure: one message must fit a link frame.
pub const MAX_TEXT_LIMIT: usize = 64 * 1024;
/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME: usize = 64;
/// Longest bio, in bytes.
pub const MAX_BIO: usize = 1024;
/// Largest encoded signed message: text at its highest cap, content warning, mentions and four
/// pictures' references with their alt text, and the rest.
pub const MAX_ENCODED_MESSAGE: usize = MAX_TEXT_LIMIT + 4096 + 4 * 1024 + MAX_MENTIONS * 260;

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
    /// Only the people the message mentions (version 2).
    Direct,
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
    /// A post or reply with a content warning and mentions (version 2).
    Note {
        /// The text.
        text: String,
        /// The content warning shown instead of the text until a reader opens it; "" for none.
        summary: String,
        /// The message answered, for a reply.
        reply_to: Option<MessageId>,
        /// The people mentioned, distinct, in the order the text names them.
        mentions: Mentions,
    },
    /// A like of another message (version 2); a Delete of the like withdraws it.
    Like {
        /// The message liked.
        of: MessageId,
    },
    /// A new text for one of the author's earlier posts (version 2); earlier versions stay
    /// in the history of the nodes that saw them.
    Edit {
        /// The seq of the edited post (same author).
        target: u64,
        /// The new text.
        text: String,
        /// The new content warning; "" for none.
        summary: String,
        /// The people the new text mentions.
        mentions: Mentions,
    },
    /// A post or reply with pictures (version 3); the text may be empty.
    Pictures {
        /// The text.
        text: String,
        /// The content warning, which also hides the pictures; "" for none.
        summary: String,
        /// The message answered, for a reply.
        reply_to: Option<MessageId>,
        /// The people mentioned, distinct, in the order the text names them.
        mentions: Mentions,
        /// The pictures, 1 to 4, by reference (boxed: every other kind is far smaller).
        attachments: Box<Attachments>,
    },
    /// A new display name, bio, avatar and header for the author (version 3).
    Portrait {
        /// Display name.
        display_name: String,
        /// Free text about the author.
        bio: String,
        /// The author's picture.
        avatar: Option<Attachment>,
        /// The banner shown above the author's profile.
        header: Option<Attachment>,
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
            Body::Profile { .. } | Body::Portrait { .. } => "profile",
            Body::Note { reply_to: None, .. } | Body::Pictures { reply_to: None, .. } => "post",
            Body::Note { .. } | Body::Pictures { .. } => "reply",
            Body::Like { .. } => "like",
            Body::Edit { .. } => "edit",
        }
    }

    /// The text a person reads, if the kind has one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Body::Post { text }
            | Body::Reply { text, .. }
            | Body::Note { text, .. }
            | Body::Pictures { text, .. }
            | Body::Edit { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The message this one answers, repeats or likes.
    pub fn refers_to(&self) -> Option<&MessageId> {
        match self {
            Body::Reply { to, .. } => Some(to),
            Body::Note { reply_to, .. } | Body::Pictures { reply_to, .. } => reply_to.as_ref(),
            Body::Repost { of } | Body::Like { of } => Some(of),
            _ => None,
        }
    }

    /// The people the message mentions.
    pub fn mentions(&self) -> &[Address] {
        match self {
            Body::Note { mentions, .. }
            | Body::Edit { mentions, .. }
            | Body::Pictures { mentions, .. } => mentions,
            _ => &[],
        }
    }

    /// The content warning, if any.
    pub fn summary(&self) -> Option<&str> {
        match self {
            Body::Note { summary, .. }
            | Body::Edit { summary, .. }
            | Body::Pictures { summary, .. }
                if !summary.is_empty() =>
            {
                Some(summary)
            }
            _ => None,
        }
    }

    /// The pictures the message carries (a post's, or a profile's avatar and header).
    pub fn attachments(&self) -> Vec<&Attachment> {
        match self {
            Body::Pictures { attachments, .. } => attachments.iter().collect(),
            Body::Portrait { avatar, header, .. } => avatar.iter().chain(header.iter()).collect(),
            _ => Vec::new(),
        }
    }

    /// True for a post, reply or repost: what timelines show.
    pub fn is_shown(&self) -> bool {
        matches!(
            self,
            Body::Post { .. }
                | Body::Reply { .. }
                | Body::Repost { .. }
                | Body::Note { .. }
                | Body::Pictures { .. }
        )
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

    /// The version byte of this message's one encoding: 3 for pictures, 2 if it uses anything
    /// version 2 added, else 1.
    pub fn version(&self) -> u8 {
        if matches!(self.body, Body::Pictures { .. } | Body::Portrait { .. }) {
            return MESSAGE_VERSION_3;
        }
        let v2 = self.audience == Audience::Direct
            || matches!(
                self.body,
                Body::Note { .. } | Body::Like { .. } | Body::Edit { .. }
            );
        if v2 {
            MESSAGE_VERSION_2
        } else {
            MESSAGE_VERSION
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
            Body::Note {
                text,
                summary,
                reply_to,
                mentions,
            } => {
                check_text(text, max_text)?;
                check_summary(summary)?;
                check_mentions(mentions)?;
                if let Some(to) = reply_to {
                    check_ref(to)?;
                }
            }
            Body::Like { of } => check_ref(of)?,
            Body::Pictures {
                text,
                summary,
                reply_to,
                mentions,
                attachments,
            } => {
                if attachments.is_empty() {
                    return Err(ProtoError::InvalidMessage(
                        "a post with pictures carries at least one",
                    ));
                }
                check_len("text", text, max_text)?;
                check_chars(text)?;
                check_summary(summary)?;
                check_mentions(mentions)?;
                if let Some(to) = reply_to {
                    check_ref(to)?;
                }
                for a in attachments.iter() {
                    a.validate()?;
                }
            }
            Body::Portrait {
                display_name,
                bio,
                avatar,
                header,
            } => {
                check_len("display name", display_name, MAX_DISPLAY_NAME)?;
                check_len("bio", bio, MAX_BIO)?;
                check_chars(display_name)?;
                check_chars(bio)?;
                for a in avatar.iter().chain(header.iter()) {
                    a.validate()?;
                }
            }
            Body::Edit {
                target,
                text,
                summary,
                mentions,
            } => {
                if *target == 0 || *target >= self.seq {
                    return Err(ProtoError::InvalidMessage(
                        "an edit names an earlier seq of its own author",
                    ));
                }
                check_text(text, max_text)?;
                check_summary(summary)?;
                check_mentions(mentions)?;
            }
        }
        if self.audience == Audience::Direct
            && self.body.is_shown()
            && self.body.mentions().is_empty()
        {
            return Err(ProtoError::InvalidMessage(
                "a direct message mentions at least one person",
            ));
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
        let signature = key.sign(&signing_input(self.version(), &self.to_bytes()));
        Ok(SignedMessage {
            message: self,
            signature,
        })
    }
}

fn signing_input(version: u8, body: &[u8]) -> Vec<u8> {
    let context = match version {
        MESSAGE_VERSION_3 => SIGNING_CONTEXT_V3,
        MESSAGE_VERSION_2 => SIGNING_CONTEXT_V2,
        _ => SIGNING_CONTEXT,
    };
    let mut v = Vec::with_capacity(context.len() + body.len());
    v.extend_from_slice(context);
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
    // Most text is ASCII, where a control character is a byte below 0x20 or DEL and there are
    // no noncharacters: one pass over bytes instead of two over decoded chars (decoding was
    // ~5 % of a node's CPU while it ingested posts).
    if s.is_ascii() {
        if s.bytes()
            .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
        {
            return Err(ProtoError::InvalidMessage("text holds a control character"));
        }
        return Ok(());
    }
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

fn check_summary(summary: &str) -> Result<(), ProtoError> {
    check_len("content warning", summary, MAX_SUMMARY)?;
    check_chars(summary)
}

/// Mentions are distinct: one person is one delivery, and one list has one encoding.
fn check_mentions(mentions: &[Address]) -> Result<(), ProtoError> {
    for (i, a) in mentions.iter().enumerate() {
        if mentions[..i].contains(a) {
            return Err(ProtoError::InvalidMessage("a person is mentioned twice"));
        }
    }
    Ok(())
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
    /// Whether it carries no signature (all zeros): a post taken from the fediverse, whose
    /// HTTP signature the inbox checked. Such a message is stored, never relayed.
    pub fn is_unsigned(&self) -> bool {
        self.signature == [0; SIGNATURE_LEN]
    }

    /// The wire form (see the module doc for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let body = self.message.to_bytes();
        let mut out = Vec::with_capacity(1 + body.len() + SIGNATURE_LEN);
        out.push(self.message.version());
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
        if !(MESSAGE_VERSION..=MESSAGE_VERSION_3).contains(&version) {
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
        if message.to_bytes() != body || message.version() != version {
            return Err(ProtoError::NotCanonical("message"));
        }
        message.validate(limits)?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        Ok(SignedMessage { message, signature })
    }

    /// Checks the signature with the author's public key.
    pub fn verify(&self, author_key: &PublicKey) -> Result<(), ProtoError> {
        author_key.verify(
            &signing_input(self.message.version(), &self.message.to_bytes()),
            &self.signature,
        )
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
