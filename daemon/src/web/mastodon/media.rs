//! Pictures: `POST /api/v2/media` (multipart), `GET` and `PUT /api/v1/media/{id}`.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

/// (Skeleton.)
pub fn upload(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn update(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}
