//! The collections an account's actor names (outbox, followers, following, featured), paged
//! as Mastodon pages them.
//!
//! The collection itself (`OrderedCollection`) tells its size and names its `first` page. The
//! outbox is paged by post: `?page=true` is its newest page, `?page=true&max_id=SEQ` the page
//! of posts older than `SEQ`; followers and following are paged by number, `?page=1` first. A
//! page (`OrderedCollectionPage`) lists at most [`PAGE_SIZE`] items, newest first, and names
//! the `next` page when there may be more. Featured posts are listed in the collection itself.
//!
//! Pure: the query is read here ([`read_query`]), the items come from the caller.

use serde_json::{json, Value};

/// Most items on one page.
pub const PAGE_SIZE: usize = 20;
/// The highest page number of followers and following: further pages are refused, so a
/// request never makes the store skip more than `MAX_PAGE * PAGE_SIZE` rows.
pub const MAX_PAGE: u32 = 500;
/// Longest query string read.
pub const MAX_QUERY: usize = 256;

/// Which part of a collection a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The collection itself: its size and first page.
    Whole,
    /// An outbox page: posts older than `before` (the newest when `None`).
    Before(Option<u64>),
    /// Page `n` (from 1) of followers or following.
    Numbered(u32),
}

/// Why a page query is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The query is over [`MAX_QUERY`] bytes.
    #[error("the query is over {MAX_QUERY} bytes")]
    TooLong,
    /// `page` or `max_id` is not a number this collection pages by.
    #[error("{0}")]
    Bad(&'static str),
}

/// Reads `?page=…[&max_id=…]` (other parameters ignored): for the outbox (`by_post`) a page
/// is `page=true` with an optional `max_id`; for the others `page=N` (`page=true` is page 1).
pub fn read_query(query: &str, by_post: bool) -> Result<Part, PageError> {
    if query.len() > MAX_QUERY {
        return Err(PageError::TooLong);
    }
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    };
    let Some(page) = param("page") else {
        return Ok(Part::Whole);
    };
    if by_post {
        if page != "true" {
            return Err(PageError::Bad("the outbox's pages are page=true"));
        }
        return match param("max_id") {
            None => Ok(Part::Before(None)),
            Some(s) => s
                .parse()
                .map(|seq| Part::Before(Some(seq)))
                .map_err(|_| PageError::Bad("max_id is a post's number")),
        };
    }
    if page == "true" {
        return Ok(Part::Numbered(1));
    }
    match page.parse::<u32>() {
        Ok(n @ 1..=MAX_PAGE) => Ok(Part::Numbered(n)),
        _ => Err(PageError::Bad("page is a number from 1 to 500")),
    }
}

/// The IRI of the outbox page of posts older than `before` (the newest page for `None`).
pub fn outbox_page_iri(outbox: &str, before: Option<u64>) -> String {
    match before {
        None => format!("{outbox}?page=true"),
        Some(seq) => format!("{outbox}?page=true&max_id={seq}"),
    }
}

/// The IRI of page `n` of followers or following.
pub fn numbered_page_iri(collection: &str, n: u32) -> String {
    format!("{collection}?page={n}")
}

/// A collection's own document: its size and its first page.
pub fn collection(id: &str, total: u64, first: &str) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": first,
    })
}

/// A page `id` of `collection`, listing `items`; `next` names the following page.
pub fn page(collection: &str, id: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut v = json!({
        "@context": super::outbound::context(),
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": items,
    });
    if let Some(n) = next {
        v["next"] = n.into();
    }
    v
}

/// The `next` of an outbox page whose oldest post is `oldest`: present only when the page is
/// full (a shorter page is the last).
pub fn outbox_next(outbox: &str, shown: usize, oldest: Option<u64>) -> Option<String> {
    match oldest {
        Some(seq) if shown >= PAGE_SIZE && seq > 0 => Some(outbox_page_iri(outbox, Some(seq))),
        _ => None,
    }
}

/// The `next` of page `n` of followers or following, when more than `n` pages' worth exist.
pub fn numbered_next(collection: &str, n: u32, total: u64) -> Option<String> {
    let shown = u64::from(n) * PAGE_SIZE as u64;
    (total > shown && n < MAX_PAGE).then(|| numbered_page_iri(collection, n + 1))
}

/// The actor IRI of `address` (`user@domain`) in a followers or following list: its fediverse
/// actor when known, an account of this node under `base`, else an msm account at its node
/// (`https://domain/users/user`, where every msm node serves it).
pub fn actor_iri(base: &str, local_domain: &str, address: &str, fediverse: Option<&str>) -> String {
    if let Some(iri) = fediverse {
        return iri.to_string();
    }
    let (user, domain) = address.split_once('@').unwrap_or((address, local_domain));
    if domain.eq_ignore_ascii_case(local_domain) {
        format!("{base}/users/{user}")
    } else {
        format!("https://{domain}/users/{user}")
    }
}
