//! The public page of a hashtag, `/tags/{tag}` (the public posts with it that are stored here,
//! newest first, paged by `?before=CURSOR`), and its Atom feed, `/tags/{tag}/feed.atom`.
//!
//! The path segment comes percent-encoded and may be any bytes: it is bounded
//! ([`MAX_TAG_PATH`]), decoded, and must be one whole hashtag (with or without its `#`), which
//! is then normalised as the index stores it (`#Fox` and `fox` are the same page). Anything else
//! is a 404 page.

use super::render::{escape, Site};
use super::{base_url, error_page, html_page, render_post, PAGE};
use crate::proto::text::{spans, tags, SpanKind};
use crate::store::Store;
use crate::web::api::Context;
use crate::web::conversation::MAX_TAG_PATH;
use crate::web::io::{percent_decode, JsonResponse};
use crate::web::reading::number_param;
use crate::web::WebError;
use std::fmt::Write;

/// The normalised hashtag a path segment names, or 404.
pub fn tag_of(segment: &str) -> Result<String, WebError> {
    let not_found = || WebError::NotFound("no such hashtag".into());
    if segment.is_empty() || segment.len() > MAX_TAG_PATH {
        return Err(not_found());
    }
    let decoded = percent_decode(segment);
    let text = format!("#{}", decoded.strip_prefix('#').unwrap_or(&decoded));
    // the whole segment must be the one hashtag: `fox bar` or `fox#x` is no tag's page
    let whole = spans(&text)
        .first()
        .is_some_and(|s| s.start == 0 && s.end == text.len() && matches!(s.kind, SpanKind::Tag(_)));
    if !whole {
        return Err(not_found());
    }
    tags(&text).into_iter().next().ok_or_else(not_found)
}

/// `GET /tags/{tag}?before=CURSOR`.
pub fn tag_page(
    ctx: &Context,
    store: &Store,
    segment: &str,
    query: &str,
) -> Result<JsonResponse, WebError> {
    let tag = match tag_of(segment) {
        Ok(t) => t,
        Err(e) => return Ok(error_page(e)),
    };
    let before = match number_param(query, "before") {
        Ok(b) => b.map(|b| b as i64),
        Err(e) => return Ok(error_page(e)),
    };
    let base = base_url(ctx);
    let site = Site {
        base: &base,
        domain: &ctx.domain,
    };
    let page_url = site.tag_url(&tag);
    let feed = format!("{page_url}/feed.atom");
    let head = format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"{}\">",
        escape(&feed)
    );
    let title = format!("#{tag}");
    let mut body = format!(
        "<header><h1>{}</h1><small>Public posts with this hashtag on {} · \
         <a href=\"{}\">Atom feed</a></small></header><main>",
        escape(&title),
        escape(&ctx.domain),
        escape(&feed)
    );
    let entries = store.tag_timeline(&tag, None, before, PAGE)?;
    if entries.is_empty() {
        body.push_str("<p>No public posts here.</p>");
    }
    for e in &entries {
        render_post(&mut body, &site, store, &e.post)?;
    }
    body.push_str("</main>");
    if entries.len() as u32 == PAGE {
        if let Some(last) = entries.last() {
            let _ = write!(
                body,
                "<nav><a rel=\"next\" href=\"{}?before={}\">Older posts</a></nav>",
                escape(&page_url),
                last.cursor
            );
        }
    }
    Ok(html_page(200, &title, &body, &head))
}

/// `GET /tags/{tag}/feed.atom`.
pub fn tag_feed(ctx: &Context, store: &Store, segment: &str) -> Result<JsonResponse, WebError> {
    super::tag_atom(ctx, store, &tag_of(segment)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_one_whole_hashtag_or_nothing() {
        assert_eq!(tag_of("Fox").unwrap(), "fox");
        assert_eq!(tag_of("%23Fox").unwrap(), "fox");
        assert_eq!(tag_of("%E6%97%A5%E6%9C%AC").unwrap(), "日本");
        for bad in [
            "",
            "fox%20bar",
            "fox%23x",
            "%23",
            "%00",
            "..",
            "123",
            "%3Cscript%3E",
            &"a".repeat(MAX_TAG_PATH + 1),
        ] {
            assert!(
                matches!(tag_of(bad), Err(WebError::NotFound(_))),
                "{bad:?} is no tag"
            );
        }
    }
}
