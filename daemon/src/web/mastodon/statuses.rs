//! Statuses: create, get, delete, edit, context, source, history, favourite, reblog, bookmark.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

/// (Skeleton.)
pub fn create(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let _ = c;
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn delete(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn edit(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn context(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn source(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn history(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn acted_by(c: &mut Call<'_>, id: &str, who: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id, who);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn act(c: &mut Call<'_>, id: &str, action: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id, action);
    Err(WebError::NotFound("not yet".into()))
}
