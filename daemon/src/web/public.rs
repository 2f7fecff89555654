//! Pages anyone may read, without logging in, for posts whose audience is public:
//! `/@alice` (profile and history rendered on the server, readable without JavaScript and by
//! search engines, paged by `?before=SEQ`), `/@alice/{seq}` (one post and its replies),
//! `/@alice/feed.atom` (Atom 1.0, RFC 4287: [`feed`]), `/tags/{tag}` and `/tags/{tag}/feed.atom`
//! (the public posts with a hashtag stored here: [`tags`]) and `/.well-known/webfinger`
//! (RFC 7033) for this node's accounts and for the node itself (`acct:<domain>@<domain>`, which
//! other nodes ask when the domain has no SRV record).
//!
//! Only public posts appear: every page and feed reads the store as nobody (viewer `None`), so
//! followers-only and direct posts are never on them. A post's own page also shows how many
//! likes and reposts of it are stored here.
//!
//! Every piece of text from a post or profile is escaped for HTML/XML ([`escape`]); pages carry
//! a Content-Security-Policy without any script. Posts are rendered by [`render`]: each with its
//! real author and a link to that author's post, reposts with the reposted post, replies with a
//! link to their parent, URLs, mentions and hashtags linked.

mod feed;
mod render;
mod tags;

use super::api::Context;
use super::io::{error_response, query_param, static_header, JsonResponse};
use super::reading::number_param;
use super::WebError;
use crate::discover::jrd;
use crate::proto::Address;
use crate::store::{PostView, Store, StoreError};
pub use feed::{atom, tag_atom, user_feed_xml};
use render::parse_ref;
pub use render::{escape, percent_encode, plain, readable_time, rfc3339, Site};
use serde_json::json;
use std::fmt::Write;
pub use tags::{tag_feed, tag_page};
use tiny_http::Response;

/// Posts on one page of a public profile.
pub const PAGE: u32 = 20;
/// Entries in an Atom feed.
pub const FEED_ENTRIES: u32 = 50;
/// Longest entry title, in characters (the first line of the post, cut with `…`).
pub const TITLE_CHARS: usize = 80;
/// Content-Security-Policy of server-rendered pages: no script at all.
pub const PAGE_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";
/// Style of server-rendered pages (inline: one request per page).
const STYLE: &str =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:auto;padding:1rem}\
     article{border-bottom:1px solid #ddd;padding:.75rem 0}p{white-space:pre-wrap;margin:.25rem 0}\
     time,small{color:#666;font-size:.85rem}a.author{color:inherit;text-decoration:none}\
     blockquote{margin:.5rem 0;padding-left:.75rem;border-left:3px solid #ddd}\
     img{max-width:100%;height:auto;border-radius:4px;margin:.25rem .25rem 0 0}\
     img.banner{display:block;width:100%;max-height:12rem;object-fit:cover}\
     img.avatar{width:4rem;height:4rem;border-radius:50%;object-fit:cover}";

/// `scheme://host[:port]` of this node's pages: `http.public_url`, or the domain. Never the
/// request's Host header: any client sets that, and a page or feed cached with a forged host
/// would send readers elsewhere.
pub(crate) fn base_url(ctx: &Context) -> String {
    match ctx.public_url.get() {
        Some(u) => u.clone(),
        None => {
            let scheme = if ctx.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{}", ctx.domain)
        }
    }
}

fn html_page(status: u16, title: &str, body: &str, head: &str) -> JsonResponse {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title>{head}<style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    );
    Response::from_data(page.into_bytes())
        .with_status_code(status)
        .with_header(static_header("Content-Type", "text/html; charset=utf-8"))
        .with_header(static_header("Content-Security-Policy", PAGE_CSP))
        .with_header(static_header("X-Content-Type-Options", "nosniff"))
}

/// A local user's address and profile, or 404.
pub(crate) fn local_user(
    ctx: &Context,
    store: &Store,
    name: &str,
) -> Result<(Address, crate::store::timeline::Profile), WebError> {
    let name = super::io::percent_decode(name);
    let address = Address::new(&name, &ctx.domain)
        .map_err(|_| WebError::NotFound(format!("no user {name} here")))?;
    match store.profile(&address, None)? {
        Some(p) if p.local => Ok((address, p)),
        _ => Err(WebError::NotFound(format!("no user {name} here"))),
    }
}

fn shown_name(p: &crate::store::timeline::Profile) -> String {
    if p.display_name.is_empty() {
        p.address.clone()
    } else {
        format!("{} ({})", p.display_name, p.address)
    }
}

/// [`shown_name`] as HTML, the display name isolated in `<bdi>`.
fn shown_name_html(p: &crate::store::timeline::Profile) -> String {
    if p.display_name.is_empty() {
        escape(&p.address)
    } else {
        format!(
            "<bdi>{}</bdi> ({})",
            escape(&p.display_name),
            escape(&p.address)
        )
    }
}

/// The page of an error, as HTML.
fn error_page(e: WebError) -> JsonResponse {
    html_page(
        e.status(),
        "msm",
        &format!("<p>{}</p>", escape(&e.to_string())),
        "",
    )
}

/// The post a repost repeats, when it is stored here and public.
fn reposted(store: &Store, p: &PostView) -> Result<Option<PostView>, StoreError> {
    match p.refers_to.as_deref().and_then(parse_ref) {
        Some((author, seq)) if p.kind == "repost" => store.post(&author, seq, None),
        _ => Ok(None),
    }
}

/// A post as an `<article>`, appended to `out`.
fn render_post(out: &mut String, site: &Site, store: &Store, p: &PostView) -> Result<(), WebError> {
    let of = reposted(store, p)?;
    out.push_str(&render::post_article(site, p, of.as_ref()));
    Ok(())
}

/// `GET /@user` and `GET /@user/{seq}`.
pub fn profile_page(
    ctx: &Context,
    store: &Store,
    name: &str,
    seq: Option<&str>,
    query: &str,
) -> Result<JsonResponse, WebError> {
    let page = error_page;
    let (address, profile) = match local_user(ctx, store, name) {
        Ok(x) => x,
        Err(e) => return Ok(page(e)),
    };
    let base = base_url(ctx);
    let site = Site {
        base: &base,
        domain: &ctx.domain,
    };
    let user = address.user();
    let feed = format!("{base}/@{user}/feed.atom");
    let head = format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" href=\"{}\">",
        escape(&feed)
    );
    // the header and avatar pictures, when there are: decorative (alt ""), the name says who
    let picture = |url: &Option<String>, class: &str| {
        url.as_deref()
            .map(|u| {
                format!(
                    "<img class=\"{class}\" src=\"{}\" alt=\"\" loading=\"lazy\">",
                    escape(&format!("{base}{u}"))
                )
            })
            .unwrap_or_default()
    };
    let mut body = format!(
        "<header>{}{}<h1>{}</h1><p>{}</p><small>{} · <a href=\"{}\">Atom feed</a></small></header><main>",
        picture(&profile.header, "banner"),
        picture(&profile.avatar, "avatar"),
        shown_name_html(&profile),
        escape(&profile.bio),
        escape(address.as_str()),
        escape(&feed)
    );
    if let Some(seq) = seq {
        let seq: u64 = match seq.parse() {
            Ok(s) => s,
            Err(_) => return Ok(page(WebError::NotFound("no such post".into()))),
        };
        let (post, replies) = store.thread(&address, seq, None)?;
        let Some(post) = post else {
            return Ok(page(WebError::NotFound("no such public post".into())));
        };
        let of = reposted(store, &post)?;
        let _ = write!(
            body,
            "<article>{}{}</article>",
            render::post_inner(&site, &post, of.as_ref()),
            render::counts_html(&post)
        );
        if !replies.is_empty() {
            body.push_str("<h2>Replies</h2>");
            for r in &replies {
                render_post(&mut body, &site, store, r)?;
            }
        }
        body.push_str("</main>");
        return Ok(html_page(200, &shown_name(&profile), &body, &head));
    }
    let before = match number_param(query, "before") {
        Ok(b) => b,
        Err(e) => return Ok(page(e)),
    };
    let posts = store.posts_by(&address, None, before, PAGE)?;
    if posts.is_empty() {
        body.push_str("<p>No public posts here.</p>");
    }
    for p in &posts {
        render_post(&mut body, &site, store, p)?;
    }
    body.push_str("</main>");
    if posts.len() as u32 == PAGE {
        if let Some(last) = posts.last() {
            let _ = write!(
                body,
                "<nav><a rel=\"next\" href=\"{base}/@{}?before={}\">Older posts</a></nav>",
                escape(user),
                last.seq
            );
        }
    }
    Ok(html_page(200, &shown_name(&profile), &body, &head))
}

/// `GET /.well-known/webfinger?resource=acct:user@domain`. Every answer, errors too, carries
/// `Access-Control-Allow-Origin: *` (RFC 7033 §5); a missing or malformed resource is 400 and
/// a well-formed one that is not an account here 404 (§4.2).
pub fn webfinger(ctx: &Context, store: &Store, query: &str) -> JsonResponse {
    let answer = match webfinger_document(ctx, store, query) {
        Ok(doc) => Response::from_data(doc.to_string().into_bytes())
            .with_header(static_header("Content-Type", jrd::JRD_TYPE)),
        Err(e) => error_response(&e),
    };
    answer.with_header(static_header("Access-Control-Allow-Origin", "*"))
}

fn webfinger_document(
    ctx: &Context,
    store: &Store,
    query: &str,
) -> Result<serde_json::Value, WebError> {
    let resource = query_param(query, "resource")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| WebError::BadRequest("resource is missing".into()))?;
    let malformed = || WebError::BadRequest(format!("{resource:?} is not a well-formed resource"));
    let (scheme, rest) = resource.split_once(':').ok_or_else(malformed)?;
    if scheme.is_empty() || rest.is_empty() {
        return Err(malformed());
    }
    if !scheme.eq_ignore_ascii_case("acct") {
        return Err(WebError::NotFound(format!(
            "{resource} is not an acct: resource here"
        )));
    }
    let address = Address::parse(rest).map_err(|_| malformed())?;
    if address.domain() != ctx.domain {
        return Err(WebError::NotFound(format!(
            "{resource} is not an account here"
        )));
    }
    let base = base_url(ctx);
    let href = node_href(ctx);
    let key = ctx.net.key().public();
    let node_itself = address.user() == ctx.domain;
    let doc = if node_itself {
        jrd::document(&format!("acct:{address}"), &href, &key, None)
    } else {
        let (_, _) = local_user(ctx, store, address.user())?;
        let profile = format!("{base}/@{}", address.user());
        let mut d = jrd::document(&format!("acct:{address}"), &href, &key, Some(&profile));
        d["aliases"] = json!([profile]);
        if let Some(links) = d["links"].as_array_mut() {
            // the ActivityPub actor, which is how fediverse servers find the account
            links.push(json!({
                "rel": "self",
                "type": super::actor::ACTIVITY_JSON,
                "href": format!("{base}/users/{}", address.user()),
            }));
            links.push(json!({
                "rel": "http://schemas.google.com/g/2010#updates-from",
                "type": "application/atom+xml",
                "href": format!("{profile}/feed.atom"),
            }));
            // the avatar, as Mastodon and GoToSocial publish it
            if let (Some(a), _) = store.profile_pictures(address.as_str())? {
                links.push(json!({
                    "rel": "http://webfinger.net/rel/avatar",
                    "type": a.media_type.mime(),
                    "href": format!("{base}/media/{}", a.hex()),
                }));
            }
        }
        d
    };
    Ok(doc)
}

/// `msm://host:port` of this node's links: the listen address, or the host this request came to
/// when the node listens on every address.
fn node_href(ctx: &Context) -> String {
    let listen: std::net::SocketAddr = match ctx.links_listen.parse() {
        Ok(a) => a,
        Err(_) => return jrd::node_href(&ctx.domain, crate::config::DEFAULT_LINK_PORT),
    };
    if !listen.ip().is_unspecified() {
        return jrd::node_href(&listen.ip().to_string(), listen.port());
    }
    let base = base_url(ctx);
    let host = base.split("://").nth(1).unwrap_or(&ctx.domain);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    jrd::node_href(
        host.trim_start_matches('[').trim_end_matches(']'),
        listen.port(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_341_845_123), "2026-11-22T10:04:05Z");
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("a\u{0}b\nc"), "a\u{fffd}b\nc");
        assert_eq!(
            escape("a\r\nb\rc\u{fffe}d\u{ffff}"),
            "a\nb\nc\u{fffd}d\u{fffd}"
        );
    }
}
