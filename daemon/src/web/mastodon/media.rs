//! Pictures in the Mastodon API: `POST /api/v2/media` (and the older `/api/v1/media`) as a
//! `multipart/form-data` form with the picture in `file` and its alt text in `description`;
//! `GET /api/v1/media/{id}` and `PUT /api/v1/media/{id}` (a new description, before the
//! picture is posted).
//!
//! The picture goes through msm's own upload path ([`crate::web::media::store_picture`]): the
//! same bounds, metadata stripping, quotas and atomic write. It is processed before the answer,
//! so the answer is 200 with `url` set (Mastodon answers 202 while it transcodes; apps accept
//! both). `focus` and `thumbnail` are ignored (msm keeps no focal point and makes no
//! thumbnails). The id is the picture's SHA-256 in hex; `status_post`'s `media_ids` name it.

use super::super::io::{header, json, JsonResponse};
use super::super::media::store_picture;
use super::super::multipart::{self, MultipartError};
use super::super::WebError;
use super::entities;
use super::Call;
use crate::proto::attachment::{hex, parse_hex256};
use crate::store::media::MediaInfo;
use crate::store::messages::MediaView;

fn form_error(e: MultipartError) -> WebError {
    WebError::BadRequest(e.to_string())
}

/// The MediaAttachment of an upload.
fn entity(c: &Call<'_>, info: &MediaInfo, description: String) -> serde_json::Value {
    let view = MediaView {
        url: format!("/media/{}", hex(&info.sha256)),
        media_type: info.media_type.mime().to_string(),
        size: info.size,
        width: info.width,
        height: info.height,
        orientation: info.orientation,
        alt: description,
        blurhash: String::new(),
    };
    entities::media(&c.base_url(), &view)
}

/// Checks a description as alt text is checked in a signed reference (422 in words).
fn check_description(description: &str) -> Result<(), WebError> {
    crate::proto::attachment::check_alt(description)
        .map_err(|e| WebError::Unprocessable(format!("description: {e}")))
}

/// The picture of a `multipart/form-data` request, in the part named `field`, with the
/// form's other text fields.
pub fn picture_form<'r>(req: &'r tiny_http::Request) -> Result<Vec<multipart::Part<'r>>, WebError> {
    let ctype = header(req, "Content-Type").unwrap_or("");
    let boundary = multipart::boundary(ctype)
        .ok_or_else(|| {
            WebError::BadRequest(
                "send the picture as multipart/form-data with the file in `file`".into(),
            )
        })?
        .map_err(form_error)?;
    multipart::parse(req.body_bytes(), &boundary).map_err(form_error)
}

/// `POST /api/v2/media`, `POST /api/v1/media`.
pub fn upload(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:media")?;
    let parts = picture_form(c.req)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| WebError::Unprocessable("the form has no `file`".into()))?;
    let description = parts
        .iter()
        .find(|p| p.name == "description")
        .map(|p| p.text())
        .unwrap_or_default();
    // checked before the picture is stored: a refused call stores nothing
    check_description(&description)?;
    let info = store_picture(c.ctx, c.store, &g.user, file.data, c.now)?;
    c.store
        .set_upload_description(g.user.id, &info.sha256, &description)?;
    Ok(json(200, &entity(c, &info, description)))
}

fn own(c: &Call<'_>, user_id: i64, id: &str) -> Result<MediaInfo, WebError> {
    let sha = parse_hex256(id).ok_or_else(|| WebError::NotFound("Record not found".into()))?;
    c.store
        .own_upload(user_id, &sha)
        .map_err(|_| WebError::NotFound("Record not found".into()))
}

/// `GET /api/v1/media/{id}`: one of the caller's uploads.
pub fn get(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:media")?;
    let info = own(c, g.user.id, id)?;
    let description = c.store.upload_description(g.user.id, &info.sha256)?;
    Ok(json(200, &entity(c, &info, description)))
}

/// `PUT /api/v1/media/{id}`: a new `description` of an upload.
pub fn update(c: &mut Call<'_>, id: &str) -> Result<JsonResponse, WebError> {
    let g = c.grant("write:media")?;
    let info = own(c, g.user.id, id)?;
    let p = c.params()?;
    let mut description = c.store.upload_description(g.user.id, &info.sha256)?;
    if let Some(d) = p.get("description") {
        check_description(d)?;
        description = d.to_string();
        c.store
            .set_upload_description(g.user.id, &info.sha256, &description)?;
    }
    Ok(json(200, &entity(c, &info, description)))
}
