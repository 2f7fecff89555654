//! Lists: `/api/v1/lists` and their members.
//!
//! (Skeleton: filled in by the work on these endpoints; the signatures are fixed.)

use super::super::io::JsonResponse;
use super::super::WebError;
use super::Call;

use tiny_http::Method;

/// (Skeleton.)
pub fn of_account(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let _ = (c, id);
    Err(WebError::NotFound("not yet".into()))
}

/// (Skeleton.)
pub fn route(c: &mut Call<'_>, rest: &[&str], method: &Method) -> Result<JsonResponse, WebError> {
    let _ = (c, rest, method);
    Err(WebError::NotFound("not yet".into()))
}
