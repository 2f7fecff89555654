//! Search v2: accounts, statuses, hashtags; `resolve=true` finds a remote msm address.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

/// (Skeleton.)
pub fn accounts(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn tag(c: &mut Call<'_>, tag: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, tag);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn v2(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}
