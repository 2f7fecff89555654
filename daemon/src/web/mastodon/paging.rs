//! Mastodon's paging: `max_id`, `since_id`, `min_id`, `limit`, and the `Link` header.
//!
//! `max_id` pages back (older than), `since_id` gives the newest above it, `min_id` the ones
//! just above it (oldest first in the query, answered newest first like every page). The
//! `Link` header names the next (older) and previous (newer) pages, as clients follow it.

use super::super::io::{static_header, JsonResponse};
use super::super::WebError;
use super::params::Params;

/// Items in a page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// Most items in a page (Mastodon's 40).
pub const MAX_LIMIT: u32 = 40;

/// A page asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    /// Only ids below this.
    pub max_id: Option<i64>,
    /// Only ids above this (the newest of them).
    pub since_id: Option<i64>,
    /// Only ids above this (the oldest of them).
    pub min_id: Option<i64>,
    /// How many.
    pub limit: u32,
}

/// An id as Mastodon clients send it (a decimal string); anything else is 400... except
/// that an id no row can have simply finds nothing.
pub fn parse_id(s: &str) -> Result<i64, WebError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| WebError::NotFound(format!("no record with id {s:?}")))
}

impl Page {
    /// The page of `p`, with `limit` clamped to [`MAX_LIMIT`].
    pub fn of(p: &Params) -> Result<Page, WebError> {
        let id = |k: &str| -> Result<Option<i64>, WebError> {
            match p.text(k) {
                None => Ok(None),
                Some(v) => v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| WebError::BadRequest(format!("{k} must be an id"))),
            }
        };
        let limit = p
            .number("limit")?
            .map_or(DEFAULT_LIMIT, |n| n.clamp(1, MAX_LIMIT as i64) as u32);
        Ok(Page {
            max_id: id("max_id")?,
            since_id: id("since_id")?,
            min_id: id("min_id")?,
            limit,
        })
    }

    /// The lower bound (exclusive) of ids: `min_id` or `since_id`.
    pub fn above(&self) -> i64 {
        self.min_id.or(self.since_id).unwrap_or(0)
    }

    /// The upper bound (exclusive) of ids.
    pub fn below(&self) -> i64 {
        self.max_id.unwrap_or(i64::MAX)
    }

    /// Whether the query must take the oldest above [`Page::above`] (`min_id`) rather than
    /// the newest.
    pub fn oldest_first(&self) -> bool {
        self.min_id.is_some()
    }
}

/// Adds a `Link` header for a page whose items have `ids` (newest first), at `url` (the
/// endpoint's absolute URL without query) keeping the `extra` query pairs.
pub fn link(r: JsonResponse, url: &str, extra: &str, ids: &[i64]) -> JsonResponse {
    let (Some(newest), Some(oldest)) = (ids.iter().max(), ids.iter().min()) else {
        return r;
    };
    let sep = if extra.is_empty() { "" } else { "&" };
    let value = format!(
        "<{url}?{extra}{sep}max_id={oldest}>; rel=\"next\", <{url}?{extra}{sep}min_id={newest}>; rel=\"prev\""
    );
    r.with_header(static_header("Link", &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_parse_and_clamp() {
        let p = Page::of(&Params::from_form("max_id=10&since_id=3&limit=999").unwrap()).unwrap();
        assert_eq!((p.below(), p.above(), p.limit), (10, 3, MAX_LIMIT));
        assert!(!p.oldest_first());
        let p = Page::of(&Params::from_form("min_id=5").unwrap()).unwrap();
        assert_eq!(
            (p.above(), p.limit, p.oldest_first()),
            (5, DEFAULT_LIMIT, true)
        );
        assert!(Page::of(&Params::from_form("max_id=abc").unwrap()).is_err());
    }
}
