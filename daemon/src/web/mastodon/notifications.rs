//! Notifications and markers.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

/// (Skeleton.)
pub fn markers(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn set_markers(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn list(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn clear(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn unread_count(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn dismiss(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}
