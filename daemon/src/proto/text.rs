//! Mentions, hashtags and links in post text.
//!
//! A single left-to-right pass over the text finds [`Span`]s: `@user` / `@user@domain` mentions,
//! `#tag` hashtags and `http(s)://` URLs. The rules follow Mastodon's (`Account::MENTION_RE`,
//! `Tag::HASHTAG_RE` and its link finder), so text written for one reads the same on the other:
//!
//! - a **mention** starts at the start of the text or after a character that is not a word
//!   character, `/`, `.` or `=` (so `a@b.test` e-mails and `…/@bob` URL paths are not mentions);
//!   the user is ASCII letters, digits and `_`, with `.` and `-` inside; an optional `@domain` is a
//!   host name (Unicode letters and digits, `.` and `-`; IDN allowed), without a trailing `.` or
//!   `-` (so `@bob@b.test.` at the end of a sentence names `b.test`);
//! - a **hashtag** is `#` (or the full-width `＃`) and word characters (Unicode letters, marks,
//!   decimal digits, connector punctuation such as `_`) with Mastodon's separators `·`, `・` and
//!   ZWNJ allowed inside; it is not all digits (`#123` is not a tag), starts with a word character,
//!   and does not follow a word character, `&`, `/`, `)` or `=` (so `page#frag` and `&#39;` are
//!   not tags);
//! - a **URL** is `http://` or `https://` (any case) after a non-word character, up to white
//!   space, a control character or `<`, `>`, `"`, with trailing `.,;:!?'` and unbalanced `)`
//!   trimmed (Wikipedia's `…/Rust_(language)` keeps its parenthesis).
//!
//! Everything is bounded: at most [`MAX_SPANS`] spans per text; a URL longer than
//! [`MAX_URL_BYTES`], a user longer than [`crate::proto::address::MAX_USER_LEN`] or a tag longer than
//! [`MAX_TAG_BYTES`] is plain text. The pass is linear in the text and never panics; spans are in
//! order, do not overlap and start and end on character boundaries.

use crate::proto::address::{MAX_ADDRESS_INPUT, MAX_USER_LEN};
use crate::proto::Address;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
use icu_properties::{CodePointMapData, CodePointMapDataBorrowed};

/// Most distinct mentions [`mentions`] returns: a post that names more people than this is a
/// mass mention, and each mention may cost a notification and a delivery.
pub const MAX_MENTIONS: usize = 16;
/// Most distinct hashtags [`tags`] returns (each becomes a row in the tag index).
pub const MAX_TAGS: usize = 16;
/// Longest hashtag, in bytes of its normalised (lower-case) form, without the `#`; a longer one
/// is plain text. Mastodon allows more, but no one reads a 65-byte tag.
pub const MAX_TAG_BYTES: usize = 64;
/// Most spans [`spans`] returns for one text; the rest of the text is plain. A post is at most a
/// few thousand bytes, so this is far above any honest post and bounds the rendering work.
pub const MAX_SPANS: usize = 256;
/// Longest URL that is linked, in bytes; a longer one is plain text. 2,000 bytes is the length
/// browsers and servers have long agreed to handle.
pub const MAX_URL_BYTES: usize = 2000;

/// What a span of post text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanKind {
    /// `@user` or `@user@domain`, both as written (not yet canonical: see [`mentions`]).
    Mention {
        /// The user part, as written.
        user: String,
        /// The domain, as written, or `None` for a mention of someone on the writer's own node.
        domain: Option<String>,
    },
    /// A hashtag, normalised as [`tags`] gives it (lower case, no `#`).
    Tag(String),
    /// An `http://` or `https://` URL, exactly the span's text.
    Url,
}

/// A found span: byte range into the text, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Byte index of the span's first character (the `@`, `#` or `h`).
    pub start: usize,
    /// Byte index just after the span's last character.
    pub end: usize,
    /// What the span is.
    pub kind: SpanKind,
}

/// Every mention, tag and URL in `text`, in order, non-overlapping; at most [`MAX_SPANS`].
pub fn spans(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    let mut i = 0;
    while i < text.len() && out.len() < MAX_SPANS {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        let found = match c {
            '@' if mention_may_follow(prev) => mention_at(text, i),
            '#' | '＃' if tag_may_follow(prev) => tag_at(text, i, c.len_utf8()),
            'h' | 'H' if url_may_follow(prev) => match url_at(text, i) {
                Scan::Found(s) => Some(s),
                // a URL too long to link stays plain text, all of it
                Scan::Skip(end) => {
                    prev = text[..end].chars().next_back();
                    i = end;
                    continue;
                }
                Scan::None => None,
            },
            _ => None,
        };
        match found {
            Some(span) => {
                prev = text[..span.end].chars().next_back();
                i = span.end;
                out.push(span);
            }
            None => {
                prev = Some(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The distinct mentions, in first-seen order, at most [`MAX_MENTIONS`]; `@bob` (no domain) gets
/// `local_domain`; each is a canonical [`Address`] (parsed by [`Address::parse`], so lower case
/// and IDNA as everywhere else); invalid ones are skipped.
pub fn mentions(text: &str, local_domain: &str) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    if !text.contains('@') {
        return out; // most posts: no span to scan for (the store runs this for each received one)
    }
    for span in spans(text) {
        if out.len() == MAX_MENTIONS {
            break;
        }
        if let SpanKind::Mention { user, domain } = span.kind {
            let domain = domain.as_deref().unwrap_or(local_domain);
            if let Ok(a) = Address::new(&user, domain) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// The distinct hashtags, normalised for the index (Unicode lower case, NFC not required),
/// without `#`, in first-seen order, at most [`MAX_TAGS`], each at most [`MAX_TAG_BYTES`].
pub fn tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if !text.contains(['#', '＃']) {
        return out; // most posts: no span to scan for (the store runs this for each received one)
    }
    for span in spans(text) {
        if out.len() == MAX_TAGS {
            break;
        }
        if let SpanKind::Tag(t) = span.kind {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Unicode general categories, from the tables the IDNA code already links in.
const CATEGORIES: CodePointMapDataBorrowed<'static, GeneralCategory> = CodePointMapData::new();

/// A word character as Ruby's `[[:word:]]`: a letter, mark, decimal digit or connector
/// punctuation (`_`).
fn is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    let word = GeneralCategoryGroup::Letter
        .union(GeneralCategoryGroup::Mark)
        .union(GeneralCategoryGroup::DecimalNumber)
        .union(GeneralCategoryGroup::ConnectorPunctuation);
    word.contains(CATEGORIES.get(c))
}

/// Mastodon's hashtag separators other than `_`: middle dot, katakana middle dot, ZWNJ. They may
/// be inside a tag, never at its start or end.
fn is_tag_separator(c: char) -> bool {
    matches!(c, '\u{00B7}' | '\u{30FB}' | '\u{200C}')
}

fn mention_may_follow(prev: Option<char>) -> bool {
    prev.is_none_or(|p| !(is_word(p) || matches!(p, '/' | '.' | '=')))
}

fn tag_may_follow(prev: Option<char>) -> bool {
    prev.is_none_or(|p| !(is_word(p) || matches!(p, '&' | '/' | ')' | '=')))
}

fn url_may_follow(prev: Option<char>) -> bool {
    prev.is_none_or(|p| !(is_word(p) || matches!(p, '/' | '.' | '@' | '#')))
}

/// End of the longest run at `from` whose characters satisfy `ok`.
fn run_end(text: &str, from: usize, ok: impl Fn(char) -> bool) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| !ok(c))
        .map_or(text.len(), |(j, _)| from + j)
}

/// `end` moved back over any trailing characters that satisfy `strip`.
fn trim_end(text: &str, from: usize, end: usize, strip: impl Fn(char) -> bool) -> usize {
    from + text[from..end].trim_end_matches(strip).len()
}

/// A mention whose `@` is at `at`, if one is there.
fn mention_at(text: &str, at: usize) -> Option<Span> {
    let u0 = at + 1;
    let first = text[u0..].chars().next()?;
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return None;
    }
    let user_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let u1 = trim_end(text, u0, run_end(text, u0, user_char), |c| {
        matches!(c, '.' | '-')
    });
    if u1 - u0 > MAX_USER_LEN {
        return None;
    }
    let mut end = u1;
    let mut domain = None;
    if text[u1..].starts_with('@') {
        let d0 = u1 + 1;
        let host_char = |c: char| c == '.' || c == '-' || (is_word(c) && c != '_');
        let d1 = trim_end(text, d0, run_end(text, d0, host_char), |c| {
            matches!(c, '.' | '-')
        });
        let host = &text[d0..d1];
        if !host.is_empty() && !host.starts_with(['.', '-']) && host.len() <= MAX_ADDRESS_INPUT {
            domain = Some(host.to_string());
            end = d1;
        }
    }
    Some(Span {
        start: at,
        end,
        kind: SpanKind::Mention {
            user: text[u0..u1].to_string(),
            domain,
        },
    })
}

/// A hashtag whose `#` (of `hash_len` bytes) is at `at`, if one is there.
fn tag_at(text: &str, at: usize, hash_len: usize) -> Option<Span> {
    let t0 = at + hash_len;
    if !text[t0..].chars().next().is_some_and(is_word) {
        return None;
    }
    let raw_end = run_end(text, t0, |c| is_word(c) || is_tag_separator(c));
    let t1 = trim_end(text, t0, raw_end, is_tag_separator);
    let name = &text[t0..t1];
    if name.chars().all(|c| c.is_ascii_digit()) || name.len() > MAX_TAG_BYTES * 4 {
        return None;
    }
    let normal = name.to_lowercase();
    if normal.len() > MAX_TAG_BYTES {
        return None;
    }
    Some(Span {
        start: at,
        end: t1,
        kind: SpanKind::Tag(normal),
    })
}

/// What a look for a URL found.
enum Scan {
    /// A URL span.
    Found(Span),
    /// Something URL-shaped but too long: plain text up to this byte.
    Skip(usize),
    /// No URL here.
    None,
}

/// A URL starting at `at`, if one is there.
fn url_at(text: &str, at: usize) -> Scan {
    let rest = &text.as_bytes()[at..];
    let scheme = if starts_with_ignore_case(rest, b"https://") {
        8
    } else if starts_with_ignore_case(rest, b"http://") {
        7
    } else {
        return Scan::None;
    };
    // a host must follow the scheme (checked first, so a failed look costs nothing)
    if !text[at + scheme..]
        .chars()
        .next()
        .is_some_and(|c| is_word(c) && c != '_')
    {
        return Scan::None;
    }
    let raw_end = run_end(text, at, |c| {
        !(c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
    });
    if raw_end - at > MAX_URL_BYTES {
        return Scan::Skip(raw_end);
    }
    Scan::Found(Span {
        start: at,
        end: at + trim_url(&text[at..raw_end]),
        kind: SpanKind::Url,
    })
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Length of `url` without its trailing punctuation: `.,;:!?'` always, `)` when it closes no `(`
/// of the URL. Linear: the parentheses are counted once.
fn trim_url(url: &str) -> usize {
    let open = url.bytes().filter(|&b| b == b'(').count();
    let mut close = url.bytes().filter(|&b| b == b')').count();
    let mut end = url.len();
    while let Some(&last) = url.as_bytes()[..end].last() {
        match last {
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b'\'' => {}
            b')' if close > open => close -= 1,
            _ => return end,
        }
        end -= 1;
    }
    end
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
