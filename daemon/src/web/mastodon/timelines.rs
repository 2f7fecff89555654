//! Timelines: home, public, tag, list, an account's statuses, bookmarks, favourites.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

/// (Skeleton.)
pub fn account_statuses(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn home(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn public(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn tag(c: &mut Call<'_>, tag: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, tag);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn list(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn bookmarks(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn favourites(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}
