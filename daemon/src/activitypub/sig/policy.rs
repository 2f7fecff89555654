//! What a signature must cover and how old it may be, as Mastodon decides it
//! (app/lib/signed_request.rb and signature verification): `date` or `created` signed, the
//! digest signed on a POST, the host signed on a GET, a date within [`MAX_FUTURE_SKEW_SECS`]
//! ahead and [`MAX_AGE_SECS`] behind, `expires` honoured, the body matching its digest.

use super::date;
use super::digest;
use super::Request;
use crate::activitypub::SigError;

/// How far ahead of our clock a signature's date may be (Mastodon: 1 hour of clock skew).
pub const MAX_FUTURE_SKEW_SECS: u64 = 3600;
/// How old a signature's date may be (Mastodon: 12 hours).
pub const MAX_AGE_SECS: u64 = 12 * 3600;

/// Refuses a time outside the window around `now` (all Unix seconds).
pub fn check_time(t: u64, now: u64) -> Result<(), SigError> {
    if t > now.saturating_add(MAX_FUTURE_SKEW_SECS) {
        Err(SigError::FromFuture)
    } else if t.saturating_add(MAX_AGE_SECS) < now {
        Err(SigError::Stale)
    } else {
        Ok(())
    }
}

/// Refuses an `expires` that has passed.
pub fn check_expires(expires: Option<u64>, now: u64) -> Result<(), SigError> {
    match expires {
        Some(e) if e < now => Err(SigError::Expired),
        _ => Ok(()),
    }
}

/// Checks the `Date` header against the window (when the signature covers it).
pub fn check_date_header(req: &Request<'_>, now: u64) -> Result<(), SigError> {
    let value = req
        .header("date")?
        .ok_or_else(|| SigError::MissingHeader("date".into()))?;
    check_time(date::parse(&value)?, now)
}

/// Checks the body against whichever digest headers the request has; a POST must have one,
/// and `covered(name)` must say that one of them is signed.
pub fn check_body(req: &Request<'_>, covered: impl Fn(&str) -> bool) -> Result<(), SigError> {
    let digest = req.header("digest")?;
    let content_digest = req.header("content-digest")?;
    if let Some(v) = &digest {
        digest::check_digest(v, req.body)?;
    }
    if let Some(v) = &content_digest {
        digest::check_content_digest(v, req.body)?;
    }
    if req.method.eq_ignore_ascii_case("POST") {
        if digest.is_none() && content_digest.is_none() {
            return Err(SigError::MissingDigest);
        }
        let signed = (digest.is_some() && covered("digest"))
            || (content_digest.is_some() && covered("content-digest"));
        if !signed {
            return Err(SigError::NotCovered("the body digest"));
        }
    }
    Ok(())
}
