//! A fediverse `Note` (or `Article`, `Page`, `Question`) read into what msm keeps of a post.
//!
//! Pure and hostile-input safe: the object is a parsed JSON value (its size bounded by the
//! inbox before parsing); every string read is bounded ([`MAX_IRI_BYTES`], the summary and
//! alt-text caps of msm's messages), lists are fixed-capacity (`heapless`) and stop at msm's
//! own caps (mentions, hashtags, pictures), and nothing is trusted for what it claims:
//! - ids, authors, replies and picture addresses must be `https:` IRIs (`http:` only when the
//!   caller allows it, for labs);
//! - the text is the `content` HTML reduced by [`super::html_text`] (mentions resolved from the
//!   object's own `Mention` tags), cut at the caller's text cap;
//! - the audience follows Mastodon's reading of `to`/`cc`: `as:Public` in `to` is public, in
//!   `cc` unlisted; the author's followers collection without it is followers-only; anything
//!   else is direct.

use super::html_text::{self, cut, HtmlError};
use crate::proto::attachment::{MAX_ALT, MAX_ATTACHMENTS, MAX_BLURHASH};
use crate::proto::message::{MAX_MENTIONS, MAX_SUMMARY};
use crate::proto::text::{MAX_TAGS, MAX_TAG_BYTES};
use crate::proto::Address;
use serde_json::Value;

/// Longest IRI read (ids, authors, links); Mastodon's own are under 200 bytes.
pub const MAX_IRI_BYTES: usize = 2048;
/// Entries of `to`, `cc` and `tag` looked at; past this the rest is ignored.
pub const MAX_LIST_ENTRIES: usize = 256;
/// The ActivityStreams public collection and the two short forms JSON-LD compaction gives it.
pub const PUBLIC: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

/// What a note refuses to be read as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Not an object of a post type.
    #[error("not a post object (type {0:?})")]
    NotAPost(String),
    /// A required field is missing or of the wrong JSON type.
    #[error("missing or malformed field {0}")]
    Field(&'static str),
    /// An IRI that is too long or not `https:` (or `http:` where allowed).
    #[error("unacceptable IRI in {0}")]
    Iri(&'static str),
    /// The content HTML is refused.
    #[error(transparent)]
    Html(#[from] HtmlError),
}

/// Who may read a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Public, in public timelines.
    Public,
    /// Public, but kept out of public timelines (Mastodon's "unlisted", "quiet public").
    Unlisted,
    /// The author's followers.
    Followers,
    /// Only the people it names.
    Direct,
}

/// A person a post mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// Their actor IRI.
    pub href: String,
    /// Their address, from the tag's name (`@user@domain`, or `@user` on the actor's host).
    pub address: Option<Address>,
}

/// A picture a post carries, by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Where the bytes are.
    pub url: String,
    /// Its declared type (`image/jpeg`, ...); checked again when the bytes arrive.
    pub media_type: String,
    /// Alt text, cut at msm's cap.
    pub alt: String,
    /// Blurhash, or "" (dropped when too long).
    pub blurhash: String,
}

/// What msm keeps of a remote post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The object's id.
    pub id: String,
    /// Its author's actor IRI.
    pub attributed_to: String,
    /// The text, with links and mentions as msm writes them.
    pub text: String,
    /// The content warning, "" for none.
    pub summary: String,
    /// Whether its pictures are marked sensitive (with or without a warning).
    pub sensitive: bool,
    /// The id of the post it answers.
    pub in_reply_to: Option<String>,
    /// Who may read it.
    pub visibility: Visibility,
    /// The people it names, at most msm's cap.
    pub mentions: heapless::Vec<Mention, MAX_MENTIONS>,
    /// Its hashtags, without `#`, lowercased.
    pub tags: heapless::Vec<String, MAX_TAGS>,
    /// Its pictures (other attachments are left out).
    pub pictures: heapless::Vec<Picture, MAX_ATTACHMENTS>,
}

/// How a note is read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// The author's followers collection, as its actor document gives it.
    pub followers: Option<&'a str>,
    /// The longest text kept, in bytes (msm's post cap).
    pub max_text: usize,
    /// Whether `http:` IRIs are accepted (labs only).
    pub allow_http: bool,
}

/// Reads `obj` as a post.
pub fn read(obj: &Value, opts: &ReadOptions<'_>) -> Result<Note, NoteError> {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "Note" | "Article" | "Page" | "Question") {
        return Err(NoteError::NotAPost(cut(kind, 64).to_string()));
    }
    let id = iri(obj.get("id"), "id", opts)?;
    let attributed_to = iri(first(obj.get("attributedTo")), "attributedTo", opts)?;
    let in_reply_to = match first(obj.get("inReplyTo")) {
        None | Some(Value::Null) => None,
        v => Some(iri(v, "inReplyTo", opts)?),
    };

    let mut mentions = heapless::Vec::new();
    let mut tags = heapless::Vec::new();
    for t in list(obj.get("tag")) {
        let kind = t.get("type").and_then(Value::as_str);
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        match kind {
            Some("Mention") if !mentions.is_full() => {
                let Ok(href) = iri(t.get("href"), "tag.href", opts) else {
                    continue;
                };
                if mentions.iter().any(|m: &Mention| m.href == href) {
                    continue;
                }
                let address = mention_address(name, &href);
                let _ = mentions.push(Mention { href, address });
            }
            Some("Hashtag") if !tags.is_full() => {
                let tag = name.trim_start_matches('#').to_lowercase();
                if !tag.is_empty()
                    && tag.len() <= MAX_TAG_BYTES
                    && tag.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !tags.contains(&tag)
                {
                    let _ = tags.push(tag);
                }
            }
            _ => {}
        }
    }

    let content = obj
        .get("content")
        .and_then(Value::as_str)
        .or_else(|| {
            // a content map only: its first language
            obj.get("contentMap")
                .and_then(Value::as_object)
                .and_then(|m| m.values().find_map(Value::as_str))
        })
        .unwrap_or("");
    let by_href =
        |href: &str, text: &str| -> Option<Address> { mention_of_link(&mentions, href, text) };
    let mut text = html_text::to_text(content, &by_href)?;
    if kind != "Note" {
        // an article or a page: its title first, and a link to it (Mastodon shows the same)
        let title = obj.get("name").and_then(Value::as_str).unwrap_or("");
        let url = iri(first(obj.get("url")), "url", opts).unwrap_or_else(|_| id.clone());
        let title = html_text::to_text(cut(title, MAX_SUMMARY), &())?;
        if !title.is_empty() && kind != "Question" {
            text = format!("{title}\n\n{text}\n\n{url}");
        }
    }
    cut_string(&mut text, opts.max_text);
    let mut summary = html_text::to_text(
        obj.get("summary").and_then(Value::as_str).unwrap_or(""),
        &(),
    )?;
    cut_string(&mut summary, MAX_SUMMARY);
    let sensitive = obj
        .get("sensitive")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || !summary.is_empty();

    let mut pictures = heapless::Vec::new();
    for a in list(obj.get("attachment")) {
        if pictures.is_full() {
            break;
        }
        let media_type = a.get("mediaType").and_then(Value::as_str).unwrap_or("");
        if !media_type.starts_with("image/") || media_type.len() > 64 {
            continue;
        }
        let url = match first(a.get("url")) {
            Some(Value::Object(link)) => link.get("href"),
            other => other,
        };
        let Ok(url) = iri(url, "attachment.url", opts) else {
            continue;
        };
        let mut alt = a
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        alt.retain(|c| !c.is_control() || c == '\n');
        cut_string(&mut alt, MAX_ALT);
        let blurhash = a
            .get("blurhash")
            .and_then(Value::as_str)
            .filter(|b| b.len() <= MAX_BLURHASH && b.is_ascii())
            .unwrap_or("")
            .to_string();
        let _ = pictures.push(Picture {
            url,
            media_type: media_type.to_string(),
            alt,
            blurhash,
        });
    }

    let visibility = visibility(obj, opts.followers);
    Ok(Note {
        id,
        attributed_to,
        text,
        summary,
        sensitive,
        in_reply_to,
        visibility,
        mentions,
        tags,
        pictures,
    })
}

/// Mastodon's reading of an object's `to` and `cc`.
pub fn visibility(obj: &Value, followers: Option<&str>) -> Visibility {
    let has = |field: &str, want: &dyn Fn(&str) -> bool| {
        list(obj.get(field)).filter_map(Value::as_str).any(want)
    };
    let public = |s: &str| PUBLIC.contains(&s);
    if has("to", &public) {
        Visibility::Public
    } else if has("cc", &public) {
        Visibility::Unlisted
    } else if followers.is_some_and(|f| has("to", &|s| s == f) || has("cc", &|s| s == f)) {
        Visibility::Followers
    } else {
        Visibility::Direct
    }
}

/// Whom a mention link names: the tag with the link's `href` (GoToSocial, msm), else the
/// tag whose address the link's text and host spell (Mastodon links a mention to the
/// person's profile page, not to the actor its tag names).
fn mention_of_link(mentions: &[Mention], href: &str, text: &str) -> Option<Address> {
    if let Some(m) = mentions.iter().find(|m| m.href == href) {
        return m.address.clone();
    }
    let text = text.strip_prefix('@').unwrap_or(text);
    let host = host_of(href)?;
    mentions.iter().find_map(|m| {
        let a = m.address.as_ref()?;
        let (user, domain) = a.as_str().split_once('@')?;
        let spelled = if text.contains('@') {
            text.eq_ignore_ascii_case(a.as_str())
        } else {
            text.eq_ignore_ascii_case(user)
                && (host.eq_ignore_ascii_case(domain)
                    || host_of(&m.href).is_some_and(|h| h.eq_ignore_ascii_case(host)))
        };
        spelled.then(|| a.clone())
    })
}

/// The address a mention names: `@user@domain` as written, or `@user` on the actor's host.
/// A name whose domain is not the actor's host names nobody (a tag naming
/// `@ceo@bank.example` with an actor elsewhere must not show as that person; WebFinger of
/// the actor, later, can tell a split host/account domain apart).
fn mention_address(name: &str, href: &str) -> Option<Address> {
    let name = name.strip_prefix('@').unwrap_or(name);
    let host = host_of(href)?;
    let address = if name.contains('@') {
        Address::parse(name).ok()?
    } else {
        Address::parse(&format!("{name}@{host}")).ok()?
    };
    address
        .domain()
        .eq_ignore_ascii_case(host)
        .then_some(address)
}

/// The host of an `https://host[:port]/...` IRI (without its port).
pub fn host_of(iri: &str) -> Option<&str> {
    let rest = iri
        .strip_prefix("https://")
        .or_else(|| iri.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// An IRI field: a string, or an object with an `id` (a link or an embedded object).
pub(crate) fn iri(
    v: Option<&Value>,
    field: &'static str,
    opts: &ReadOptions<'_>,
) -> Result<String, NoteError> {
    let s = match v {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o
            .get("id")
            .or_else(|| o.get("href"))
            .and_then(Value::as_str)
            .ok_or(NoteError::Field(field))?,
        _ => return Err(NoteError::Field(field)),
    };
    let scheme_ok = s.starts_with("https://") || (opts.allow_http && s.starts_with("http://"));
    if !scheme_ok
        || s.len() > MAX_IRI_BYTES
        || host_of(s).is_none()
        || s.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(NoteError::Iri(field));
    }
    Ok(s.to_string())
}

/// The first entry of a field that may be one value or an array.
pub(crate) fn first(v: Option<&Value>) -> Option<&Value> {
    match v {
        Some(Value::Array(a)) => a.first(),
        other => other,
    }
}

/// A field that may be one value or an array, as at most [`MAX_LIST_ENTRIES`] values.
pub(crate) fn list(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match v {
        Some(Value::Array(a)) => a,
        Some(one) => std::slice::from_ref(one),
        None => &[],
    };
    items.iter().take(MAX_LIST_ENTRIES)
}

fn cut_string(s: &mut String, max: usize) {
    let n = cut(s, max).len();
    s.truncate(n);
}
