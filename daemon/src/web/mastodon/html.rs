//! A post's plain text as the sanitised HTML `content` Mastodon apps render: paragraphs,
//! line breaks, links, mentions and hashtags; everything else escaped.
//!
//! The only markup is what this module writes: `<p>` per paragraph (text between blank lines),
//! `<br>` per line break, and for the spans [`crate::proto::text::spans`] finds (the same
//! finder msm's own pages use, after Mastodon's rules):
//! - a URL (only `http://` and `https://` are ever spans, so no `javascript:`):
//!   `<a href="URL" rel="nofollow noopener" target="_blank">URL</a>`;
//! - `@user@domain`: `<span class="h-card" translate="no"><a href="PROFILE" class="u-url
//!   mention">@<span>user</span></a></span>` (a bare `@user` is on the author's node);
//! - `#tag`: `<a href="{base}/tags/tag" class="mention hashtag" rel="tag">#<span>tag</span></a>`.
//!
//! Every piece of text and every attribute is escaped ([`escape`]), quotes included.

use crate::proto::text::{spans, SpanKind};
use crate::proto::Address;
use crate::web::public::{escape, plain, Site};
use std::fmt::Write;

/// Where the links of a text point.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// `https://host` of this node.
    pub base: &'a str,
    /// This node's domain (profiles on it are at `{base}/@user`).
    pub local_domain: &'a str,
    /// The domain of the text's author (a bare `@user` is someone there).
    pub author_domain: &'a str,
}

impl Links<'_> {
    /// The same links as the public pages make.
    fn site(&self) -> Site<'_> {
        Site {
            base: self.base,
            domain: self.local_domain,
        }
    }

    /// The profile page of `a`: here for a local address, at its node otherwise.
    pub fn profile_url(&self, a: &Address) -> String {
        self.site().profile_url(a)
    }

    /// The page of a (normalised) hashtag.
    pub fn tag_url(&self, tag: &str) -> String {
        self.site().tag_url(tag)
    }
}

pub use crate::web::public::percent_encode;

/// The HTML of `text` ('' for no text).
pub fn content(text: &str, links: &Links<'_>) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() * 2);
    for para in text.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        out.push_str("<p>");
        inline(&mut out, para, links);
        out.push_str("</p>");
    }
    out
}

/// One paragraph: escaped text, spans linked, line breaks as `<br>`.
fn inline(out: &mut String, text: &str, links: &Links<'_>) {
    let mut at = 0;
    for span in spans(text) {
        plain(out, &text[at..span.start]);
        let shown = &text[span.start..span.end];
        match &span.kind {
            SpanKind::Url => {
                let h = escape(shown);
                let _ = write!(
                    out,
                    "<a href=\"{h}\" rel=\"nofollow noopener\" target=\"_blank\">{h}</a>"
                );
            }
            SpanKind::Mention { user, domain } => {
                match Address::new(user, domain.as_deref().unwrap_or(links.author_domain)) {
                    Ok(a) => {
                        let _ = write!(
                            out,
                            "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" \
                             class=\"u-url mention\">@<span>{}</span></a></span>",
                            escape(&links.profile_url(&a)),
                            escape(user)
                        );
                    }
                    Err(_) => plain(out, shown),
                }
            }
            SpanKind::Tag(t) => {
                let written = shown
                    .trim_start_matches('#')
                    .trim_start_matches('＃')
                    .to_string();
                let _ = write!(
                    out,
                    "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                    escape(&links.tag_url(t)),
                    escape(&written)
                );
            }
        }
        at = span.end;
    }
    plain(out, &text[at..]);
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
