//! Who is asking: sessions, the CSRF rule, and the log-in rate limit.
//!
//! A client proves a session with `Authorization: Bearer <token>` (apps, scripts) or the
//! `msm_session` cookie (the web client; `HttpOnly; SameSite=Strict`). A cookie-authenticated
//! request that changes anything must also carry the header `X-Msm-Csrf: 1`: a page on another
//! site cannot add a custom header without a CORS preflight, which this server never grants.
//!
//! Log-in attempts are limited per client address with a token bucket ([`LOGIN_BURST`]
//! attempts, then one per [`LOGIN_REFILL`]), tracked for at most [`MAX_TRACKED_CLIENTS`]
//! addresses. An IPv6 client is keyed by its /64 (one household or phone holds a whole /64 and
//! can pick any address in it). The same limiter guards the old-password check of a password
//! change, and [`MAX_PASSWORD_FAILURES`] wrong old passwords end the session that sent them,
//! so a stolen session cannot be used to guess the password.

use super::io::{cookie, header};
use super::WebError;
use crate::identity::token_hash;
use crate::store::{Store, User};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tiny_http::{Method, Request};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "msm_session";
/// Header a cookie-authenticated write must carry.
pub const CSRF_HEADER: &str = "X-Msm-Csrf";
/// Log-in attempts a client may make at once.
pub const LOGIN_BURST: f64 = 10.0;
/// Time for one more attempt to become available.
pub const LOGIN_REFILL: Duration = Duration::from_secs(6);
/// Client addresses the limiter remembers; 1024 × ~40 bytes.
pub const MAX_TRACKED_CLIENTS: usize = 1024;
/// Wrong old passwords a session may send (password change) before it is ended.
pub const MAX_PASSWORD_FAILURES: u8 = 3;
/// Sessions whose failures are remembered; 1024 × ~40 bytes.
pub const MAX_TRACKED_SESSIONS: usize = 1024;

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: User,
    /// The stored hash of the token used.
    pub token_hash: [u8; 32],
}

/// The session token the request presents, if any, and whether it came in a cookie.
fn presented_token(req: &Request) -> Option<(&str, bool)> {
    if let Some(v) = header(req, "Authorization") {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then_some((token.trim(), false));
    }
    cookie(req, SESSION_COOKIE).map(|t| (t, true))
}

/// The session of a request, or 401. `password_change_ok` lets a user who must replace a
/// one-time password through; everything else answers 403 until they do.
pub fn require(
    store: &Store,
    req: &Request,
    now_ms: u64,
    password_change_ok: bool,
) -> Result<Session, WebError> {
    let (token, via_cookie) = presented_token(req).ok_or(WebError::Unauthorized("log in first"))?;
    let hash = token_hash(token);
    let user = store
        .session_user(&hash, now_ms)?
        .ok_or(WebError::Unauthorized(
            "session expired or unknown; log in again",
        ))?;
    let safe = matches!(req.method(), Method::Get | Method::Head);
    if via_cookie && !safe && header(req, CSRF_HEADER) != Some("1") {
        return Err(WebError::Forbidden(
            "cookie-authenticated writes need the X-Msm-Csrf: 1 header",
        ));
    }
    if user.must_change_password && !password_change_ok {
        return Err(WebError::Forbidden(
            "change the one-time password first (POST /api/v1/account/password)",
        ));
    }
    Ok(Session {
        user,
        token_hash: hash,
    })
}

/// The user of a request if it has a valid session, without enforcing anything.
pub fn optional(store: &Store, req: &Request, now_ms: u64) -> Option<User> {
    let (token, _) = presented_token(req)?;
    store
        .session_user(&token_hash(token), now_ms)
        .ok()
        .flatten()
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets of log-in attempts per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// The key a client address is limited by: an IPv4 address (also when mapped into IPv6), or
/// an IPv6 address's /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::V6(std::net::Ipv6Addr::from(octets))
            }
        },
    }
}

/// Wrong old passwords per session, bounded.
#[derive(Debug, Default)]
pub struct SessionFailures {
    counts: Mutex<HashMap<[u8; 32], u8>>,
}

impl SessionFailures {
    /// Counts one failure of the session `token_hash`; true when it has reached
    /// [`MAX_PASSWORD_FAILURES`] (the caller ends the session, and the count is forgotten).
    pub fn fail(&self, token_hash: &[u8; 32]) -> bool {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(token_hash) && map.len() >= MAX_TRACKED_SESSIONS {
            // Keeps the bound; an attacker who cycles sessions still meets the address limiter.
            map.clear();
        }
        let n = map.entry(*token_hash).or_insert(0);
        *n += 1;
        if *n >= MAX_PASSWORD_FAILURES {
            map.remove(token_hash);
            return true;
        }
        false
    }

    /// Forgets a session's failures (after a right password).
    pub fn clear(&self, token_hash: &[u8; 32]) {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token_hash);
    }
}

impl LoginLimiter {
    /// Takes one attempt for the client at `ip` (see [`client_key`]); false when it has none
    /// left.
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = client_key(ip);
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let refill = |b: &mut Bucket| {
            let gained =
                now.saturating_duration_since(b.at).as_secs_f64() / LOGIN_REFILL.as_secs_f64();
            b.tokens = (b.tokens + gained).min(LOGIN_BURST);
            b.at = now;
        };
        if !map.contains_key(&ip) && map.len() >= MAX_TRACKED_CLIENTS {
            // Forget clients whose buckets are full again; if none, the one idle longest.
            map.retain(|_, b| {
                refill(b);
                b.tokens < LOGIN_BURST
            });
            if map.len() >= MAX_TRACKED_CLIENTS {
                if let Some(oldest) = map
                    .iter()
                    .min_by(|a, b| a.1.tokens.total_cmp(&b.1.tokens).reverse())
                    .map(|(k, _)| *k)
                {
                    map.remove(&oldest);
                }
            }
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: LOGIN_BURST,
            at: now,
        });
        refill(b);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_a_burst_then_refills() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..LOGIN_BURST as usize {
            assert!(l.allow(ip, t0));
        }
        assert!(!l.allow(ip, t0));
        assert!(
            l.allow("192.0.2.2".parse().unwrap(), t0),
            "other clients are not affected"
        );
        assert!(l.allow(ip, t0 + LOGIN_REFILL));
        assert!(!l.allow(ip, t0 + LOGIN_REFILL));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..LOGIN_BURST as u16 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(l.allow(ip, t0));
        }
        assert!(!l.allow("2001:db8:1:2:ffff::1".parse().unwrap(), t0));
        assert!(l.allow("2001:db8:1:3::1".parse().unwrap(), t0));
        assert_eq!(
            client_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_few_password_failures_end_a_session() {
        let f = SessionFailures::default();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert!(!f.fail(&a));
        assert!(!f.fail(&b));
        assert!(!f.fail(&a));
        assert!(f.fail(&a), "the third failure ends the session");
        f.clear(&b);
        assert!(!f.fail(&b));
    }

    #[test]
    fn limiter_memory_is_bounded() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED_CLIENTS as u32 * 3) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(l.allow(ip, t0));
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_TRACKED_CLIENTS);
    }
}
