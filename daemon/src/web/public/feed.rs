//! Atom 1.0 feeds (RFC 4287) of public posts: a local user's (`/@alice/feed.atom`) and a
//! hashtag's (`/tags/{tag}/feed.atom`, every public post with the tag stored here).
//!
//! Each entry names its real author and links that author's post; a reply names its parent
//! (RFC 4685 `thr:in-reply-to`) and a repost relates to what it repeats. A post with a content
//! warning carries it as the entry's `<summary>` (its text stays in `<content>`, behind
//! `<details>`); `<updated>` is the time of the last edit.

use super::render::{self, escape, parse_ref, rfc3339, Site};
use super::{base_url, local_user, reposted, shown_name, FEED_ENTRIES, TITLE_CHARS};
use crate::proto::Address;
use crate::store::{PostView, Store, StoreError};
use crate::web::api::Context;
use crate::web::io::{static_header, JsonResponse};
use crate::web::WebError;
use std::fmt::Write;
use tiny_http::Response;

/// When a post last changed: its edit, or its publication.
pub fn updated_ms(p: &PostView) -> u64 {
    p.edited_ms.unwrap_or(p.time_ms).max(p.time_ms)
}

/// What a feed is about: its id and page (`alternate`), title, subtitle, and the author of the
/// whole feed (a profile's feed) or none (each entry names its own).
struct FeedHead<'a> {
    page: &'a str,
    title: &'a str,
    subtitle: &'a str,
    author: Option<&'a str>,
    /// The WebSub hub that pushes this feed, if any.
    hub: Option<&'a str>,
}

/// `GET /@user/feed.atom`: the newest public posts of a local user. When the node's hub runs
/// (`crate::websub`), the feed names it and itself, in the document and in `Link` headers.
pub fn atom(ctx: &Context, store: &Store, name: &str) -> Result<JsonResponse, WebError> {
    let (address, profile) = local_user(ctx, store, name)?;
    let base = base_url(ctx);
    let site = Site {
        base: &base,
        domain: &ctx.domain,
    };
    let posts = store.posts_by(&address, None, None, FEED_ENTRIES)?;
    let hub = ctx.fediverse.is_some().then(|| format!("{base}/websub"));
    let x = user_feed(store, &site, &address, &profile, hub.as_deref(), &posts)?;
    let response = atom_response(x);
    Ok(match hub {
        Some(hub) => response.with_header(static_header(
            "Link",
            &format!(
                "<{hub}>; rel=\"hub\", <{base}/@{}/feed.atom>; rel=\"self\"",
                address.user()
            ),
        )),
        None => response,
    })
}

/// The feed document of local user `address` holding `posts` (newest first), naming `hub`:
/// what the hub delivers to subscribers. `None` when `address` is not a local user.
pub fn user_feed_xml(
    store: &Store,
    site: &Site,
    address: &Address,
    hub: &str,
    posts: &[PostView],
) -> Result<Option<String>, StoreError> {
    match store.profile(address, None)? {
        Some(profile) if profile.local => {
            user_feed(store, site, address, &profile, Some(hub), posts).map(Some)
        }
        _ => Ok(None),
    }
}

fn user_feed(
    store: &Store,
    site: &Site,
    address: &Address,
    profile: &crate::store::timeline::Profile,
    hub: Option<&str>,
    posts: &[PostView],
) -> Result<String, StoreError> {
    let author_name = if profile.display_name.is_empty() {
        address.to_string()
    } else {
        profile.display_name.clone()
    };
    let page = format!("{}/@{}", site.base, address.user());
    let head = FeedHead {
        page: &page,
        title: &shown_name(profile),
        subtitle: &profile.bio,
        author: Some(&author_name),
        hub,
    };
    feed_xml(store, site, &head, posts)
}

/// `GET /tags/{tag}/feed.atom`: the newest public posts with hashtag `tag` (normalised).
pub fn tag_atom(ctx: &Context, store: &Store, tag: &str) -> Result<JsonResponse, WebError> {
    let base = base_url(ctx);
    let site = Site {
        base: &base,
        domain: &ctx.domain,
    };
    let posts: Vec<PostView> = store
        .tag_timeline(tag, None, None, FEED_ENTRIES)?
        .into_iter()
        .map(|e| e.post)
        .collect();
    let page = site.tag_url(tag);
    let head = FeedHead {
        page: &page,
        title: &format!("#{tag}"),
        subtitle: &format!("Public posts with #{tag} on {}", ctx.domain),
        author: None,
        hub: None,
    };
    Ok(atom_response(feed_xml(store, &site, &head, &posts)?))
}

/// An Atom document as the answer to a GET.
fn atom_response(x: String) -> JsonResponse {
    Response::from_data(x.into_bytes())
        .with_header(static_header(
            "Content-Type",
            "application/atom+xml; charset=utf-8",
        ))
        .with_header(static_header("X-Content-Type-Options", "nosniff"))
}

fn feed_xml(
    store: &Store,
    site: &Site,
    head: &FeedHead,
    posts: &[PostView],
) -> Result<String, StoreError> {
    let updated = posts.iter().map(updated_ms).max().unwrap_or(0);
    let mut x = String::with_capacity(1024 + posts.len() * 512);
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:thr=\"http://purl.org/syndication/thread/1.0\">\
         <id>{page}</id><title>{title}</title><subtitle>{subtitle}</subtitle>\
         <link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{page}/feed.atom\"/>\
         <updated>{updated}</updated>",
        page = escape(head.page),
        title = escape(head.title),
        subtitle = escape(head.subtitle),
        updated = rfc3339(updated),
    );
    if let Some(hub) = head.hub {
        let _ = write!(x, "<link rel=\"hub\" href=\"{}\"/>", escape(hub));
    }
    if let Some(name) = head.author {
        let _ = write!(
            x,
            "<author><name>{}</name><uri>{}</uri></author>",
            escape(name),
            escape(head.page)
        );
    }
    let _ = write!(
        x,
        "<generator version=\"{}\">msmd</generator>",
        env!("CARGO_PKG_VERSION")
    );
    for p in posts {
        let Ok(author) = Address::parse(&p.author) else {
            continue;
        };
        let of = reposted(store, p)?;
        entry(&mut x, site, &author, p, of.as_ref());
    }
    x.push_str("</feed>\n");
    Ok(x)
}

/// One `<entry>`, appended to `x`.
fn entry(x: &mut String, site: &Site, author: &Address, p: &PostView, of: Option<&PostView>) {
    let url = escape(&site.post_url(author, p.seq));
    let name = if p.display_name.is_empty() {
        author.to_string()
    } else {
        p.display_name.clone()
    };
    let _ = write!(
        x,
        "<entry><id>{url}</id><title type=\"text\">{title}</title>\
         <link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\
         <author><name>{name}</name><uri>{profile}</uri></author>",
        title = escape(&entry_title(p, of)),
        name = escape(&name),
        profile = escape(&site.profile_url(author)),
    );
    if let Some((to, seq)) = p.refers_to.as_deref().and_then(parse_ref) {
        // RFC 4685: a reply names its parent; a repost relates to what it repeats
        let href = escape(&site.post_url(&to, seq));
        if p.kind == "reply" {
            let _ = write!(x, "<thr:in-reply-to ref=\"{href}\" href=\"{href}\"/>");
        }
        let _ = write!(
            x,
            "<link rel=\"related\" type=\"text/html\" href=\"{href}\"/>"
        );
    }
    if let Some(warning) = p.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        let _ = write!(x, "<summary type=\"text\">{}</summary>", escape(warning));
    }
    for m in &of.unwrap_or(p).media {
        // RFC 4287 §4.2.7.2: a related resource that may be large
        let _ = write!(
            x,
            "<link rel=\"enclosure\" type=\"{}\" length=\"{}\" href=\"{}\"/>",
            escape(&m.media_type),
            m.size,
            escape(&format!("{}{}", site.base, m.url))
        );
    }
    let _ = write!(
        x,
        "<published>{published}</published><updated>{updated}</updated>\
         <content type=\"html\">{content}</content></entry>",
        published = rfc3339(p.time_ms),
        updated = rfc3339(updated_ms(p)),
        content = escape(&render::post_inner(site, p, of)),
    );
}

/// An entry's title: the first line of the text (of the reposted post, for a repost), at most
/// [`TITLE_CHARS`] characters. A post with a content warning is titled by the warning, so a
/// reader that shows titles only does not show what the warning hides.
fn entry_title(p: &PostView, reposted: Option<&PostView>) -> String {
    let (prefix, shown) = match (p.kind.as_str(), reposted) {
        ("repost", Some(of)) => (format!("Repost of {}: ", of.author), of),
        ("repost", None) => {
            let of = p.refers_to.as_deref().unwrap_or_default();
            return format!("Repost of {of}");
        }
        _ => (String::new(), p),
    };
    let warning = shown.summary.as_deref().filter(|s| !s.trim().is_empty());
    let text = warning.or(shown.text.as_deref()).unwrap_or("");
    let first_line = text.lines().next().unwrap_or("");
    let mut title: String = first_line.chars().take(TITLE_CHARS).collect();
    if title.len() < first_line.len() || text.lines().nth(1).is_some() {
        title.push('…');
    }
    if title.is_empty() {
        title = format!("{} {}", p.kind, p.seq);
    }
    prefix + &title
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str, summary: Option<&str>) -> PostView {
        PostView {
            author: "alice@a.test".into(),
            seq: 3,
            time_ms: 1_000,
            kind: "post".into(),
            text: Some(text.into()),
            summary: summary.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn an_entry_carries_its_warning_its_text_and_its_edit_time() {
        let site = Site {
            base: "https://a.test",
            domain: "a.test",
        };
        let mut p = post("the spoiler <b>", Some("film & plot"));
        p.edited_ms = Some(61_000);
        let author = Address::parse(&p.author).unwrap();
        let mut x = String::new();
        entry(&mut x, &site, &author, &p, None);
        assert!(
            x.contains("<summary type=\"text\">film &amp; plot</summary>"),
            "{x}"
        );
        assert!(
            x.contains("<title type=\"text\">film &amp; plot</title>"),
            "{x}"
        );
        assert!(x.contains("the spoiler &amp;lt;b&amp;gt;"), "{x}");
        assert!(x.contains("&lt;details&gt;&lt;summary&gt;film"), "{x}");
        assert!(
            x.contains("<published>1970-01-01T00:00:01Z</published>"),
            "{x}"
        );
        assert!(x.contains("<updated>1970-01-01T00:01:01Z</updated>"), "{x}");
        // no warning, no edit: no summary, updated is the publication
        let mut x = String::new();
        entry(&mut x, &site, &author, &post("plain", None), None);
        assert!(!x.contains("<summary"), "{x}");
        assert!(x.contains("<updated>1970-01-01T00:00:01Z</updated>"), "{x}");
        assert!(x.contains("<title type=\"text\">plain</title>"), "{x}");
    }
}
