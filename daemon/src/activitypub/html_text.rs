//! The HTML `content` of a fediverse post reduced to msm's plain text with links.
//!
//! A remote server's HTML is hostile: this never returns markup, only text, so nothing
//! executable can survive it (the web client and the apps escape text when they show it).
//! What a reader of the post would see is kept:
//! - text, with HTML's whitespace rules (runs of spaces and newlines collapse to one space,
//!   except inside `<pre>`), character references decoded (`&amp;`, `&#233;`, `&#x1F600;`, the
//!   common named ones; an unknown one stays as written);
//! - paragraphs (`<p>`, `<div>`, `<blockquote>`, headings, list items, ...) as blank lines
//!   between them, `<br>` as a line break, list items starting with "• ";
//! - a link as its text, followed by ` (URL)` when the text is not the URL itself; a mention
//!   (`@user` linking to an actor [`Mentions`] knows) as `@user@domain`; a hashtag link as its
//!   `#tag` text; only `http:` and `https:` targets are ever written out;
//! - nothing of `<script>`, `<style>`, `<template>`, `<svg>`, `<math>`, `<iframe>`, `<object>`,
//!   `<head>`, `<title>`, `<noscript>`, `<textarea>`, `<select>`, comments or declarations.
//!
//! The input is bounded ([`MAX_HTML_BYTES`]) and so is the nesting the reducer tracks
//! ([`MAX_DEPTH`]); an overlong input is refused, deeper nesting is flattened. Pure: no I/O.

use crate::proto::Address;

/// Largest `content` read; Mastodon caps a post at 500 characters and GoToSocial at 5,000,
/// so even rich HTML of the longest posts fits many times over.
pub const MAX_HTML_BYTES: usize = 64 * 1024;
/// Open elements tracked at once; deeper elements still give their text, but their links and
/// skipped contents are not told apart any more.
pub const MAX_DEPTH: usize = 64;
/// Longest tag name or attribute value looked at; longer ones are cut (the text survives).
pub const MAX_ATTR_BYTES: usize = 2048;

/// Longest character reference read (`&#x10FFFF;` and the named ones here fit).
const MAX_REFERENCE_BYTES: usize = 12;

/// What the reducer refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HtmlError {
    /// The content is larger than [`MAX_HTML_BYTES`].
    #[error("content of {0} bytes is over the {MAX_HTML_BYTES}-byte limit")]
    TooLong(usize),
}

/// Finds who a mention link names, from the `Mention` tags of the same object.
pub trait Mentions {
    /// The address a link to `href` reading `text` (`@user` or `@user@domain`) names, if the
    /// post's tags name one.
    fn address_of(&self, href: &str, text: &str) -> Option<Address>;
}

impl Mentions for () {
    fn address_of(&self, _: &str, _: &str) -> Option<Address> {
        None
    }
}

impl<F: Fn(&str, &str) -> Option<Address>> Mentions for F {
    fn address_of(&self, href: &str, text: &str) -> Option<Address> {
        self(href, text)
    }
}

/// Elements whose contents are not shown text.
const SKIPPED: &[&str] = &[
    "script", "style", "template", "svg", "math", "iframe", "object", "head", "title", "noscript",
    "textarea", "select", "video", "audio",
];
/// Elements that begin and end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "dl",
    "dt",
    "dd",
];
/// Elements that never have an end tag.
const VOID: &[&str] = &[
    "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track",
    "wbr", "param",
];

/// Reduces `html` to plain text; `mentions` resolves mention links to addresses.
pub fn to_text(html: &str, mentions: &dyn Mentions) -> Result<String, HtmlError> {
    if html.len() > MAX_HTML_BYTES {
        return Err(HtmlError::TooLong(html.len()));
    }
    let mut r = Reducer {
        mentions,
        out: String::with_capacity(html.len().min(4096)),
        stack: Vec::new(),
        skip_depth: None,
        pre: 0,
        pending_break: Break::None,
        link: None,
    };
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            match markup(after) {
                Some((Markup::Start { name, href, class }, used)) => {
                    r.start(&name, href, class);
                    rest = &after[used..];
                }
                Some((Markup::End(name), used)) => {
                    r.end(&name);
                    rest = &after[used..];
                }
                Some((Markup::Ignored, used)) => rest = &after[used..],
                None => {
                    // a lone `<` is text, as browsers read it
                    r.text("<");
                    rest = after;
                }
            }
        } else {
            let n = rest.find('<').unwrap_or(rest.len());
            r.text(&decode(&rest[..n]));
            rest = &rest[n..];
        }
    }
    r.close_link();
    Ok(tidy(&r.out))
}

/// A pending separator before the next text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    None,
    Space,
    Line,
    Paragraph,
}

/// An open `<a>`: where it points, and what it has said so far.
struct Link {
    href: Option<String>,
    hashtag: bool,
    text: String,
    depth: usize,
}

struct Reducer<'a> {
    mentions: &'a dyn Mentions,
    out: String,
    stack: Vec<String>,
    /// The stack depth of the skipped element being ignored, if any.
    skip_depth: Option<usize>,
    pre: usize,
    pending_break: Break,
    link: Option<Link>,
}

impl Reducer<'_> {
    fn start(&mut self, name: &str, href: Option<String>, class: Option<String>) {
        if self.skip_depth.is_some() {
            if !VOID.contains(&name) && self.stack.len() < MAX_DEPTH {
                self.stack.push(name.to_string());
            }
            return;
        }
        if name == "br" {
            self.line_break();
            return;
        }
        if BLOCKS.contains(&name) {
            self.separate(Break::Paragraph);
            if name == "li" {
                self.emit("• ");
            }
        }
        if VOID.contains(&name) {
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            return;
        }
        self.stack.push(name.to_string());
        if SKIPPED.contains(&name) {
            self.skip_depth = Some(self.stack.len());
        } else if name == "pre" {
            self.pre += 1;
        } else if name == "a" && self.link.is_none() {
            let hashtag = class
                .as_deref()
                .is_some_and(|c| c.split_ascii_whitespace().any(|w| w == "hashtag"));
            self.link = Some(Link {
                href: href.filter(|h| is_web_url(h)),
                hashtag,
                text: String::new(),
                depth: self.stack.len(),
            });
        }
    }

    fn end(&mut self, name: &str) {
        // close up to the matching open element; a stray end tag closes nothing
        let Some(at) = self.stack.iter().rposition(|n| n == name) else {
            if name == "br" {
                // `</br>` is read as `<br>` by browsers
                self.start("br", None, None);
            }
            return;
        };
        while self.stack.len() > at {
            let depth = self.stack.len();
            let closed = self.stack.pop().unwrap_or_default();
            if self.skip_depth == Some(depth) {
                self.skip_depth = None;
                continue;
            }
            if self.skip_depth.is_some() {
                continue;
            }
            if closed == "pre" {
                self.pre = self.pre.saturating_sub(1);
            }
            if self.link.as_ref().is_some_and(|l| l.depth == depth) {
                self.close_link();
            }
            if BLOCKS.contains(&closed.as_str()) {
                self.separate(Break::Paragraph);
            }
        }
    }

    fn text(&mut self, t: &str) {
        if self.skip_depth.is_some() {
            return;
        }
        if self.pre > 0 {
            self.emit(t);
            return;
        }
        let mut words = t.split(is_html_space).peekable();
        if t.starts_with(is_html_space) {
            self.separate(Break::Space);
        }
        while let Some(w) = words.next() {
            if !w.is_empty() {
                self.emit(w);
            }
            if words.peek().is_some() && !w.is_empty() {
                self.separate(Break::Space);
            }
        }
        if t.ends_with(is_html_space) {
            self.separate(Break::Space);
        }
    }

    /// Asks for at least `b` between what was written and what comes next.
    fn separate(&mut self, b: Break) {
        self.pending_break = self.pending_break.max(b);
    }

    /// A `<br>`: each one is a line break of its own (two make a blank line).
    fn line_break(&mut self) {
        self.pending_break = match self.pending_break {
            Break::None | Break::Space => Break::Line,
            Break::Line | Break::Paragraph => Break::Paragraph,
        };
    }

    fn emit(&mut self, t: &str) {
        let sep = match self.pending_break {
            _ if self.current_is_empty() => "",
            Break::None => "",
            Break::Space => " ",
            Break::Line => "\n",
            Break::Paragraph => "\n\n",
        };
        self.pending_break = Break::None;
        match &mut self.link {
            // a separator never starts a link's text: it goes before the link
            Some(l) if l.text.is_empty() => {
                self.out.push_str(sep);
                l.text.push_str(t);
            }
            Some(l) => {
                l.text.push_str(sep);
                l.text.push_str(t);
            }
            None => {
                self.out.push_str(sep);
                self.out.push_str(t);
            }
        }
    }

    fn current_is_empty(&self) -> bool {
        self.out.is_empty() && self.link.as_ref().is_none_or(|l| l.text.is_empty())
    }

    fn close_link(&mut self) {
        let Some(l) = self.link.take() else { return };
        let text = l.text.trim();
        let mention = match &l.href {
            Some(href) if text.starts_with('@') => self.mentions.address_of(href, text),
            _ => None,
        };
        match mention {
            Some(a) => {
                self.out.push('@');
                self.out.push_str(a.as_str());
            }
            None => self
                .out
                .push_str(&link_text(text, l.href.as_deref(), l.hashtag)),
        }
    }
}

/// What a link is written as.
fn link_text(text: &str, href: Option<&str>, hashtag: bool) -> String {
    let Some(href) = href else {
        return text.to_string();
    };
    if hashtag || text.starts_with('#') {
        return text.to_string();
    }
    if text.is_empty() || same_url(text, href) {
        return href.to_string();
    }
    format!("{text} ({href})")
}

/// Whether a link's text shows its target: Mastodon writes the URL without its scheme and
/// cuts it with "…" in an element it hides, so the text read here is the whole URL.
fn same_url(text: &str, href: &str) -> bool {
    let strip = |s: &str| -> String {
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(s);
        s.trim_end_matches(['/', '…']).to_string()
    };
    let (t, h) = (strip(text), strip(href));
    t == h || (!t.is_empty() && h.starts_with(&t) && text.ends_with('…'))
}

fn is_web_url(h: &str) -> bool {
    let lower = h.get(..8).unwrap_or(h).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !h.chars().any(|c| c.is_control() || c == ' ')
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// A piece of markup after its `<`.
enum Markup {
    Start {
        name: String,
        href: Option<String>,
        class: Option<String>,
    },
    End(String),
    Ignored,
}

/// Reads the markup that starts right after a `<`: how it reads, and the bytes it took.
/// `None` when this `<` does not start markup (it is text).
fn markup(s: &str) -> Option<(Markup, usize)> {
    if let Some(r) = s.strip_prefix("!--") {
        // a comment ends at the first `-->`, or takes the rest
        let used = r.find("-->").map(|i| 3 + i + 3).unwrap_or(s.len());
        return Some((Markup::Ignored, used));
    }
    if s.starts_with('!') || s.starts_with('?') {
        let used = s.find('>').map(|i| i + 1).unwrap_or(s.len());
        return Some((Markup::Ignored, used));
    }
    let (end, body) = match s.strip_prefix('/') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let Some(close) = tag_end(body) else {
        // a tag the input ends in is dropped, as browsers do
        return Some((Markup::Ignored, s.len()));
    };
    let used = close + 1 + usize::from(end);
    let inner = &body[..close];
    let name_len = inner
        .find(|c: char| is_html_space(c) || c == '/')
        .unwrap_or(inner.len());
    let name: String = cut(&inner[..name_len], MAX_ATTR_BYTES).to_ascii_lowercase();
    if end {
        return Some((Markup::End(name), used));
    }
    let attrs = attributes(&inner[name_len..]);
    let get = |want: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == want)
            .map(|(_, v)| v.clone())
    };
    Some((
        Markup::Start {
            href: get("href"),
            class: get("class"),
            name,
        },
        used,
    ))
}

/// Where a tag's `>` is, outside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The attributes of a start tag (names lowercased, values decoded and cut at
/// [`MAX_ATTR_BYTES`]); only the few read here are kept.
fn attributes(mut s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| is_html_space(c) || c == '/');
        if s.is_empty() {
            return out;
        }
        let n = s
            .find(|c: char| is_html_space(c) || c == '=' || c == '/')
            .unwrap_or(s.len());
        let name = s[..n].to_ascii_lowercase();
        s = s[n..].trim_start_matches(is_html_space);
        let mut value = String::new();
        if let Some(r) = s.strip_prefix('=') {
            let r = r.trim_start_matches(is_html_space);
            let (v, rest) = match r.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &r[1..];
                    let e = body.find(q).unwrap_or(body.len());
                    (&body[..e], body.get(e + 1..).unwrap_or(""))
                }
                _ => {
                    let e = r.find(is_html_space).unwrap_or(r.len());
                    (&r[..e], &r[e..])
                }
            };
            value = decode(cut(v, MAX_ATTR_BYTES));
            s = rest;
        }
        if matches!(name.as_str(), "href" | "class") && out.len() < 2 {
            out.push((name, value));
        }
    }
}

/// At most `max` bytes of `s`, on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Decodes character references; one that is not understood stays as written.
pub fn decode(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match reference(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference at the start of `s` (`&...;`) names, and its length.
fn reference(s: &str) -> Option<(char, usize)> {
    let end = s
        .bytes()
        .take(MAX_REFERENCE_BYTES)
        .position(|b| b == b';')?;
    let body = &s[1..end];
    let c = if let Some(num) = body.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        match char::from_u32(n)? {
            '\0' => '\u{FFFD}',
            c => c,
        }
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => ' ',
            "hellip" => '…',
            "mdash" => '—',
            "ndash" => '–',
            "laquo" => '«',
            "raquo" => '»',
            "lsquo" => '‘',
            "rsquo" => '’',
            "ldquo" => '“',
            "rdquo" => '”',
            "copy" => '©',
            "euro" => '€',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// The final text: no control characters but line breaks, no trailing spaces on lines, at
/// most one blank line in a row, nothing blank at either end.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.split('\n') {
        let line: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_matches(|c: char| c == '\n' || c == ' ')
        .to_string()
}
