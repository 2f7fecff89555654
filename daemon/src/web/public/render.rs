//! Posts as HTML, for the public pages and the Atom feed.
//!
//! Post text is escaped piece by piece between the spans [`crate::proto::text::spans`] finds:
//! URLs become links (`rel="nofollow noopener ugc"`; only `http:` and `https:`, so never a
//! `javascript:` link), mentions link to the person's profile (this node's `/@user` for a local
//! one, `https://domain/@user` for a remote one), hashtags link to `/tags/{tag}`, and line breaks
//! become `<br>`. Every byte of text that reaches the page passes through [`escape`], in element
//! content and in attribute values alike.
//!
//! A post shows its real author and links to that author's post URL, wherever the page is; a
//! repost shows the reposted post; a reply links its parent. A post with a content warning
//! shows the warning and keeps its text behind `<details>` (opened without script); an edited
//! post says when it was edited. Display names sit in `<bdi>`, so a right-to-left name does not
//! reorder the address beside it.

use crate::proto::text::{spans, SpanKind};
use crate::proto::Address;
use crate::store::PostView;
use std::fmt::Write;

/// Escapes text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A carriage return (in messages signed before posting normalised line breaks) is
            // a line break: CR LF and a lone CR both become LF.
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.push('\n'),
            // Control characters other than tab and newline, and noncharacters, are not
            // allowed in XML 1.0.
            c if (c.is_control() && c != '\n' && c != '\t')
                || crate::proto::message::is_noncharacter(c) =>
            {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// Where links point: this node's base URL (`scheme://host[:port]`) and its domain.
pub struct Site<'a> {
    /// Base URL of this node's pages.
    pub base: &'a str,
    /// This node's domain: addresses on it are local.
    pub domain: &'a str,
}

impl Site<'_> {
    /// The profile page of `a`: here for a local address, at the author's node otherwise.
    pub fn profile_url(&self, a: &Address) -> String {
        if a.domain() == self.domain {
            format!("{}/@{}", self.base, a.user())
        } else {
            format!("https://{}/@{}", a.domain(), a.user())
        }
    }

    /// The page of `a`'s post `seq`.
    pub fn post_url(&self, a: &Address, seq: u64) -> String {
        format!("{}/{seq}", self.profile_url(a))
    }

    /// The page of a (normalised) hashtag.
    pub fn tag_url(&self, tag: &str) -> String {
        format!("{}/tags/{}", self.base, percent_encode(tag))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for one path segment).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Post text as HTML: escaped, URLs, mentions and hashtags linked, line breaks as `<br>`.
pub fn text_html(site: &Site, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for span in spans(text) {
        plain(&mut out, &text[at..span.start]);
        let shown = escape(&text[span.start..span.end]);
        let href = match &span.kind {
            SpanKind::Url => Some(shown.clone()),
            SpanKind::Mention { user, domain } => {
                Address::new(user, domain.as_deref().unwrap_or(site.domain))
                    .ok()
                    .map(|a| escape(&site.profile_url(&a)))
            }
            SpanKind::Tag(t) => Some(escape(&site.tag_url(t))),
        };
        match (href, &span.kind) {
            (Some(h), SpanKind::Url) => {
                let _ = write!(
                    out,
                    "<a href=\"{h}\" rel=\"nofollow noopener ugc\">{shown}</a>"
                );
            }
            (Some(h), SpanKind::Mention { .. }) => {
                let _ = write!(out, "<a href=\"{h}\" class=\"mention\">{shown}</a>");
            }
            (Some(h), SpanKind::Tag(_)) => {
                let _ = write!(
                    out,
                    "<a href=\"{h}\" class=\"hashtag\" rel=\"tag\">{shown}</a>"
                );
            }
            (None, _) => out.push_str(&shown),
        }
        at = span.end;
    }
    plain(&mut out, &text[at..]);
    out
}

/// Escaped text with line breaks as `<br>`.
pub fn plain(out: &mut String, text: &str) {
    let escaped = escape(text);
    let mut lines = escaped.split('\n');
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for line in lines {
        out.push_str("<br>");
        out.push_str(line);
    }
}

/// Unix milliseconds as a civil UTC date and time: (year, month, day, hour, minute, second).
fn civil(ms: u64) -> (i64, i64, i64, u64, u64, u64) {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
}

/// Unix milliseconds as RFC 3339 UTC (`2026-11-22T10:04:05Z`).
pub fn rfc3339(ms: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// Unix milliseconds as a date people read (`6 Dec 2026, 10:04 UTC`).
pub fn readable_time(ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d, hh, mm, _) = civil(ms);
    let month = MONTHS[(m.clamp(1, 12) - 1) as usize];
    format!("{d} {month} {y}, {hh:02}:{mm:02} UTC")
}

/// `<time datetime="RFC 3339">readable</time>`.
pub fn time_html(ms: u64) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        rfc3339(ms),
        readable_time(ms)
    )
}

/// `author/seq` as an address and a seq.
pub fn parse_ref(r: &str) -> Option<(Address, u64)> {
    let (author, seq) = r.rsplit_once('/')?;
    Some((Address::parse(author).ok()?, seq.parse().ok()?))
}

/// The author line of a post: display name and address, linked to the author's profile.
fn author_html(site: &Site, p: &PostView) -> String {
    let name = if p.display_name.is_empty() {
        String::new()
    } else {
        format!("<b><bdi>{}</bdi></b> ", escape(&p.display_name))
    };
    match Address::parse(&p.author) {
        Ok(a) => format!(
            "<a class=\"author\" href=\"{}\">{name}{}</a>",
            escape(&site.profile_url(&a)),
            escape(a.as_str())
        ),
        Err(_) => format!("{name}{}", escape(&p.author)),
    }
}

/// Link to a post's page, the post's time as its text.
fn time_link(site: &Site, p: &PostView) -> String {
    match Address::parse(&p.author) {
        Ok(a) => format!(
            "<a href=\"{}\">{}</a>",
            escape(&site.post_url(&a, p.seq)),
            time_html(p.time_ms)
        ),
        Err(_) => time_html(p.time_ms),
    }
}

/// A link to `author/seq`'s page, the reference as its text.
fn ref_link(site: &Site, r: &str) -> String {
    match parse_ref(r) {
        Some((a, seq)) => format!(
            "<a href=\"{}\">{}</a>",
            escape(&site.post_url(&a, seq)),
            escape(r)
        ),
        None => escape(r),
    }
}

/// The text of a post and its pictures: a paragraph, or both behind its content warning in
/// `<details>`.
fn text_block(site: &Site, p: &PostView) -> String {
    let text = text_html(site, p.text.as_deref().unwrap_or(""));
    let pictures = pictures_html(site, p);
    match p.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(warning) => format!(
            "<details><summary>{}</summary><p>{text}</p>{pictures}</details>",
            escape(warning)
        ),
        None => format!("<p>{text}</p>{pictures}"),
    }
}

/// A post's pictures: each an `<img>` with its alt text and its size (so the page does not
/// jump as they load; swapped for an orientation that turns it), loaded lazily, linked to the
/// full picture.
pub fn pictures_html(site: &Site, p: &PostView) -> String {
    let mut out = String::new();
    for m in &p.media {
        let url = escape(&format!("{}{}", site.base, m.url));
        let (w, h) = if (5..=8).contains(&m.orientation) {
            (m.height, m.width)
        } else {
            (m.width, m.height)
        };
        let _ = write!(
            out,
            "<a href=\"{url}\"><img src=\"{url}\" alt=\"{alt}\" width=\"{w}\" height=\"{h}\" \
             loading=\"lazy\" decoding=\"async\"></a>",
            alt = escape(&m.alt)
        );
    }
    if out.is_empty() {
        out
    } else {
        format!("<p>{out}</p>")
    }
}

/// A post or reply: author, text, time linked to the post, when it was edited, and the parent
/// of a reply.
fn body_html(site: &Site, p: &PostView) -> String {
    let mut out = format!(
        "<header>{}</header>{}<small>{}",
        author_html(site, p),
        text_block(site, p),
        time_link(site, p)
    );
    if let Some(t) = p.edited_ms {
        let _ = write!(out, " · edited {}", time_html(t));
    }
    if p.kind == "reply" {
        if let Some(r) = &p.refers_to {
            let _ = write!(out, " · reply to {}", ref_link(site, r));
        }
    }
    out.push_str("</small>");
    out
}

/// The inside of a post's `<article>` (also the HTML content of its Atom entry). A repost shows
/// who reposted it and when, then `reposted` (the post it repeats, when stored and public here),
/// or a link to it.
pub fn post_inner(site: &Site, p: &PostView, reposted: Option<&PostView>) -> String {
    if p.kind != "repost" {
        return body_html(site, p);
    }
    let mut out = format!(
        "<small>{} reposted · {}</small>",
        author_html(site, p),
        time_link(site, p)
    );
    match (reposted, &p.refers_to) {
        (Some(of), _) => {
            let _ = write!(out, "<blockquote>{}</blockquote>", body_html(site, of));
        }
        (None, Some(r)) => {
            let _ = write!(out, "<p>repost of {}</p>", ref_link(site, r));
        }
        (None, None) => {}
    }
    out
}

/// A post as an `<article>`.
pub fn post_article(site: &Site, p: &PostView, reposted: Option<&PostView>) -> String {
    format!("<article>{}</article>", post_inner(site, p, reposted))
}

/// `3 likes · 1 repost` (the counts stored here) in a `<small>`; nothing when both are 0.
pub fn counts_html(p: &PostView) -> String {
    let plural = |n: u64, one: &str| {
        let s = if n == 1 { "" } else { "s" };
        format!("{n} {one}{s}")
    };
    let parts: Vec<String> = [(p.likes, "like"), (p.reposts, "repost")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| plural(n, what))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "<p><small class=\"counts\">{}</small></p>",
            parts.join(" · ")
        )
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
