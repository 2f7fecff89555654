//! Rate limits of the Mastodon API, with Mastodon's numbers and headers, and its CORS answer.
//!
//! As Mastodon does (`config/initializers/rack_attack.rb`): [`CALLS_PER_WINDOW`] calls per
//! [`WINDOW_MS`] per valid token (or per client address without one: an unknown token counts
//! as its address), [`UPLOADS_PER_WINDOW`] picture uploads per [`UPLOAD_WINDOW_MS`], and
//! [`APPS_PER_WINDOW`] app registrations per [`APPS_WINDOW_MS`]. Every answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (RFC 3339); a call over
//! the limit is 429 with `Retry-After`. Fixed windows, for at most [`MAX_TRACKED`] keys: a full
//! table forgets the keys whose window has ended, then the one that began longest ago.
//!
//! CORS: any origin may call, never with credentials (apps hold bearer tokens, not cookies),
//! so a browser app such as Elk or Phanpy works from its own origin and no page can ride on a
//! logged-in browser.

use super::super::api::Context;
use super::super::auth::client_key;
use super::super::io::{static_header, JsonResponse};
use super::super::public::rfc3339;
use super::super::WebError;
use crate::identity::token_hash;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Mutex;
use tiny_http::Request;

/// Calls per window and key.
pub const CALLS_PER_WINDOW: u32 = 300;
/// The calls' window: five minutes.
pub const WINDOW_MS: u64 = 5 * 60 * 1000;
/// Picture uploads per upload window and token.
pub const UPLOADS_PER_WINDOW: u32 = 30;
/// The uploads' window: thirty minutes.
pub const UPLOAD_WINDOW_MS: u64 = 30 * 60 * 1000;
/// App registrations per window and client address (anyone may register an app, and the
/// node keeps at most `store::oauth::MAX_APPS`).
pub const APPS_PER_WINDOW: u32 = 20;
/// The app registrations' window: an hour.
pub const APPS_WINDOW_MS: u64 = 60 * 60 * 1000;
/// Keys remembered at once (each ~64 bytes).
pub const MAX_TRACKED: usize = 4096;

/// Where one key stands in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The limit.
    pub limit: u32,
    /// Calls left in this window.
    pub remaining: u32,
    /// When the window ends, Unix milliseconds.
    pub reset_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: u64,
    used: u32,
}

/// Fixed-window counters, bounded.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: Mutex<HashMap<[u8; 32], Window>>,
}

impl Limiter {
    /// Counts one call of `key` against `limit` per `window_ms`; `Err` with the standing
    /// when none is left.
    pub fn take(
        &self,
        key: [u8; 32],
        limit: u32,
        window_ms: u64,
        now_ms: u64,
    ) -> Result<Standing, Standing> {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&key) && map.len() >= MAX_TRACKED {
            map.retain(|_, w| now_ms < w.start_ms + window_ms);
            if map.len() >= MAX_TRACKED {
                if let Some(oldest) = map.iter().min_by_key(|(_, w)| w.start_ms).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        let w = map.entry(key).or_insert(Window {
            start_ms: now_ms,
            used: 0,
        });
        if now_ms >= w.start_ms + window_ms {
            *w = Window {
                start_ms: now_ms,
                used: 0,
            };
        }
        let reset_ms = w.start_ms + window_ms;
        if w.used >= limit {
            return Err(Standing {
                limit,
                remaining: 0,
                reset_ms,
            });
        }
        w.used += 1;
        Ok(Standing {
            limit,
            remaining: limit - w.used,
            reset_ms,
        })
    }
}

/// What a call counts against: a valid token (a person's app), else the client's address
/// (IPv6 by /64). An unknown token counts as its address: random tokens get no fresh windows.
fn key_of(store: &Store, req: &Request, now_ms: u64) -> String {
    if let Some(token) = crate::web::oauth::bearer(req) {
        // a known token, whatever its scopes ("" is covered by none: 403 means known)
        match crate::web::oauth::require_token(store, token, now_ms, "") {
            Ok(_) | Err(WebError::Forbidden(_)) => return format!("t:{token}"),
            Err(_) => {}
        }
    }
    match req.remote_addr() {
        Some(a) => format!("ip:{}", client_key(a.ip())),
        None => "ip:?".to_string(),
    }
}

/// Counts this call; a refusal is [`WebError::RateLimited`] with the standing for headers.
pub fn take(
    ctx: &Context,
    store: &Store,
    req: &Request,
    path: &str,
    now_ms: u64,
) -> Result<Standing, (Standing, WebError)> {
    let limiter = &ctx.mastodon_limits;
    let refuse = |s: Standing, what: &'static str| {
        let retry_after_s = s.reset_ms.saturating_sub(now_ms).div_ceil(1000).max(1);
        (
            s,
            WebError::RateLimited {
                what,
                retry_after_s,
            },
        )
    };
    let key = key_of(store, req, now_ms);
    let post = *req.method() == tiny_http::Method::Post;
    let path = path.trim_end_matches('/');
    if post && matches!(path, "/api/v1/media" | "/api/v2/media") {
        let k = token_hash(&format!("u:{key}"));
        limiter
            .take(k, UPLOADS_PER_WINDOW, UPLOAD_WINDOW_MS, now_ms)
            .map_err(|s| refuse(s, "too many picture uploads"))?;
    }
    if post && path == "/api/v1/apps" {
        let k = token_hash(&format!("a:{key}"));
        limiter
            .take(k, APPS_PER_WINDOW, APPS_WINDOW_MS, now_ms)
            .map_err(|s| refuse(s, "too many app registrations"))?;
    }
    limiter
        .take(token_hash(&key), CALLS_PER_WINDOW, WINDOW_MS, now_ms)
        .map_err(|s| refuse(s, "too many requests"))
}

/// Adds the `X-RateLimit-*` headers of `standing`.
pub fn headers(r: JsonResponse, standing: &Result<Standing, Standing>) -> JsonResponse {
    let s = match standing {
        Ok(s) | Err(s) => s,
    };
    r.with_header(static_header("X-RateLimit-Limit", &s.limit.to_string()))
        .with_header(static_header(
            "X-RateLimit-Remaining",
            &s.remaining.to_string(),
        ))
        .with_header(static_header("X-RateLimit-Reset", &rfc3339(s.reset_ms)))
}

/// Adds the CORS headers: any origin, no credentials.
pub fn cors(r: JsonResponse) -> JsonResponse {
    r.with_header(static_header("Access-Control-Allow-Origin", "*"))
        .with_header(static_header(
            "Access-Control-Allow-Methods",
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        ))
        .with_header(static_header(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, Idempotency-Key, Accept",
        ))
        .with_header(static_header(
            "Access-Control-Expose-Headers",
            "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After",
        ))
        .with_header(static_header("Access-Control-Max-Age", "86400"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_its_limit_then_resets() {
        let l = Limiter::default();
        let k = [7u8; 32];
        for i in 0..3 {
            let s = l.take(k, 3, 1000, 10).unwrap();
            assert_eq!(s.remaining, 2 - i);
            assert_eq!(s.reset_ms, 1010);
        }
        assert_eq!(l.take(k, 3, 1000, 500).unwrap_err().remaining, 0);
        assert!(
            l.take([8u8; 32], 3, 1000, 500).is_ok(),
            "other keys unaffected"
        );
        assert_eq!(l.take(k, 3, 1000, 1010).unwrap().remaining, 2);
    }

    #[test]
    fn memory_is_bounded() {
        let l = Limiter::default();
        for i in 0..(MAX_TRACKED as u32 * 2) {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_le_bytes());
            assert!(l.take(k, 5, 1000, 1).is_ok());
        }
        assert!(l.windows.lock().unwrap().len() <= MAX_TRACKED);
    }
}
