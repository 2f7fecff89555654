//! Pictures over HTTP: `POST /api/v1/media` (upload) and `GET /media/{sha256}` (the bytes).
//!
//! An upload's body arrives whole within `media.upload_timeout_s` and at most
//! `media.max_upload_bytes` (the listener's bounds of uploads, [`super::server::bounds`]; two
//! at a time). Its type comes from its magic bytes, never from what the client declares; its
//! metadata (EXIF with GPS, text chunks, XMP, ...) is stripped by walking the container
//! ([`crate::media`]), never by decoding pixels; the stripped bytes are written atomically
//! under their SHA-256 ([`crate::store::media_files`]). Quotas are checked before a byte is
//! written: the person's (`media.user_quota_bytes`, 413), the node's
//! (`media.max_total_bytes`, 507) and the disk's free-space floor (`media.min_free_bytes`, 507).
//!
//! The bytes are served under immutable URLs with `Content-Type` from the stored type,
//! `nosniff` and a CSP that runs nothing; a picture only to whom may read a message that
//! carries it (or an avatar or header, which are public). A picture from another node is
//! fetched from its author's node on first view ([`crate::net::Net::fetch_media`]).

use super::api::Context;
use super::io::{json, static_header, JsonResponse};
use super::{auth, WebError};
use crate::media::{strip, MediaError};
use crate::proto::attachment::{hex, parse_hex256};
use crate::store::media::MediaInfo;
use crate::store::media_files::MediaFiles;
use crate::store::Store;
use std::time::Duration;
use tiny_http::{Method, Request, Response};

/// How long a view waits for a picture fetched from another node.
pub const FETCH_WAIT: Duration = Duration::from_secs(20);
/// `Cache-Control` of a picture: its URL names its bytes, so they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a picture only some may see (followers-only, direct, an upload not yet
/// posted): the reader's browser may keep it, a shared cache may not.
pub const PRIVATE_IMMUTABLE: &str = "private, max-age=31536000, immutable";
/// The policy of a picture's answer: nothing in it may run or load anything.
pub const MEDIA_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// Days a signed picture URL ([`signed_path`]) works: apps load pictures without their
/// token, so a picture only some may see is named to them by a URL that carries who may.
pub const SIGNED_URL_DAYS: u64 = 7;
const DAY_MS: u64 = 86_400_000;

static URL_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// Sets the key of signed picture URLs, derived from the node's secret key (so URLs survive
/// a restart); called once at start.
pub fn set_url_key(node_secret: &[u8; 32]) {
    let _ = URL_KEY.set(crate::identity::hmac_sha256(
        node_secret,
        b"msm signed picture URLs",
    ));
}

fn url_mac(sha: &[u8; 32], viewer: i64, expires_s: u64) -> Option<String> {
    let key = URL_KEY.get()?;
    let mut msg = Vec::with_capacity(48);
    msg.extend_from_slice(sha);
    msg.extend_from_slice(&viewer.to_be_bytes());
    msg.extend_from_slice(&expires_s.to_be_bytes());
    Some(hex(&crate::identity::hmac_sha256(key, &msg)[..16]))
}

/// The path of picture `sha` that shows it to `viewer` without a session for
/// [`SIGNED_URL_DAYS`] to a day more (the URL stays the same all day, so caches keep it):
/// `/media/<sha>?u=<viewer>&e=<expiry s>&s=<mac>`; the plain path when no key is set.
pub fn signed_path(sha: &[u8; 32], viewer: i64, now_ms: u64) -> String {
    let expires_s = (now_ms / DAY_MS + SIGNED_URL_DAYS + 1) * DAY_MS / 1000;
    match url_mac(sha, viewer, expires_s) {
        Some(mac) => format!("/media/{}?u={viewer}&e={expires_s}&s={mac}", hex(sha)),
        None => format!("/media/{}", hex(sha)),
    }
}

/// The viewer a signed URL's query names, if its MAC is right and it has not expired.
fn signed_viewer(query: &str, sha: &[u8; 32], now_ms: u64) -> Option<i64> {
    let p = |k: &str| super::io::query_param(query, k);
    let viewer: i64 = p("u")?.parse().ok()?;
    let expires_s: u64 = p("e")?.parse().ok()?;
    if expires_s.saturating_mul(1000) <= now_ms {
        return None;
    }
    let mac = url_mac(sha, viewer, expires_s)?;
    crate::identity::ct_eq(p("s")?.as_bytes(), mac.as_bytes()).then_some(viewer)
}

/// `POST /api/v1/media`: stores an uploaded picture, stripped of its metadata.
pub fn upload(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    now: u64,
) -> Result<JsonResponse, WebError> {
    let s = auth::require(store, req, now, false)?;
    let info = store_picture(ctx, store, &s.user, req.body_bytes(), now)?;
    Ok(json(200, &upload_view(&info)))
}

/// Stores the picture `data` uploaded by `user`: the bounds, the metadata stripped, the
/// quotas checked before a byte is written, the file written atomically and recorded as the
/// user's upload. Shared by msm's upload and the Mastodon API's (uploads, avatars, headers).
pub fn store_picture(
    ctx: &Context,
    store: &mut Store,
    user: &crate::store::User,
    data: &[u8],
    now: u64,
) -> Result<MediaInfo, WebError> {
    let cfg = &ctx.media;
    if data.len() as u64 > cfg.max_upload_bytes {
        return Err(WebError::TooLarge(format!(
            "the picture is {} bytes, over the limit of {} (media.max_upload_bytes)",
            data.len(),
            cfg.max_upload_bytes
        )));
    }
    if data.is_empty() {
        return Err(WebError::BadRequest(
            "no picture: send its bytes as the request body".into(),
        ));
    }
    let stripped = strip(data).map_err(|e| match e {
        MediaError::Unsupported(_) => WebError::NotAPicture(e.to_string()),
        _ => WebError::BadRequest(e.to_string()),
    })?;
    let len = stripped.len() as u64;
    let (mine, all) = store.media_usage(user.id)?;
    if mine + len > cfg.user_quota_bytes {
        return Err(WebError::TooLarge(format!(
            "your pictures use {mine} of your {} bytes (media.user_quota_bytes); delete some \
             posts with pictures first",
            cfg.user_quota_bytes
        )));
    }
    if all + len > cfg.max_total_bytes {
        return Err(WebError::StorageCap(format!(
            "the node's space for pictures is full ({all} of {} bytes, media.max_total_bytes); \
             nothing was stored",
            cfg.max_total_bytes
        )));
    }
    let files = MediaFiles::of(store);
    check_free_space(&files, len, cfg.min_free_bytes)?;
    let mut f = files.create().map_err(io_error)?;
    stripped.write_to(data, &mut f).map_err(io_error)?;
    let sha256 = files.commit(f, None).map_err(io_error)?;
    let info = MediaInfo {
        sha256,
        media_type: stripped.media_type,
        size: len,
        width: stripped.width,
        height: stripped.height,
        orientation: stripped.orientation,
        state: "local".into(),
    };
    if let Err(e) = store.record_upload(user.id, &info, now) {
        // not recorded: the file goes now rather than at the next start's sweep, unless
        // another upload of the same bytes holds it
        if !store.media_has_file(&sha256).unwrap_or(true) {
            files.remove(&sha256);
        }
        return Err(e.into());
    }
    tracing::info!(user = %user.name, sha256 = %hex(&sha256), bytes = len, "picture uploaded");
    Ok(info)
}

/// The answer to an upload.
pub fn upload_view(info: &MediaInfo) -> serde_json::Value {
    let h = hex(&info.sha256);
    serde_json::json!({
        "id": h,
        "type": info.media_type.mime(),
        "size": info.size,
        "width": info.width,
        "height": info.height,
        "orientation": info.orientation,
        "url": format!("/media/{h}"),
    })
}

fn io_error(e: std::io::Error) -> WebError {
    if e.raw_os_error() == Some(nix::libc::ENOSPC) {
        WebError::StorageFull
    } else {
        WebError::Internal(format!("picture file: {e}"))
    }
}

/// Refuses a write of `len` bytes that would leave less than `floor` free on the disk.
fn check_free_space(files: &MediaFiles, len: u64, floor: u64) -> Result<(), WebError> {
    let dir = files.root().parent().unwrap_or(files.root()).to_path_buf();
    let Ok(st) = nix::sys::statvfs::statvfs(&dir) else {
        return Ok(());
    };
    // the field types differ between targets (u32 on 32-bit ones)
    #[allow(clippy::unnecessary_cast)]
    let free = (st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64);
    if free < len.saturating_add(floor) {
        return Err(WebError::StorageCap(format!(
            "the node's disk is nearly full ({free} bytes free; media.min_free_bytes keeps \
             {floor}); nothing was stored"
        )));
    }
    Ok(())
}

/// Whether `req` asks for a picture's bytes (answered by [`serve`], which streams a file).
pub fn is_media_get(req: &Request) -> bool {
    matches!(req.method(), Method::Get | Method::Head) && req.url().starts_with("/media/")
}

/// `GET /media/{sha256}`: answers the request with the picture's bytes or an error.
pub fn serve(ctx: &Context, store: &mut Store, req: Request) {
    let now = crate::now_ms();
    match open(ctx, store, &req, now) {
        Ok((file, len, mime, public)) => {
            // a picture only some may see must not sit in a shared cache
            let cache = if public { IMMUTABLE } else { PRIVATE_IMMUTABLE };
            let r = Response::new(
                tiny_http::StatusCode(200),
                vec![
                    static_header("Content-Type", mime),
                    static_header("Cache-Control", cache),
                    static_header("X-Content-Type-Options", "nosniff"),
                    static_header("Content-Security-Policy", MEDIA_CSP),
                    static_header("Cross-Origin-Resource-Policy", "same-site"),
                ],
                file,
                Some(len as usize),
                None,
            );
            if let Err(e) = req.respond(r) {
                tracing::debug!(error = %e, "client went away during a picture");
            }
        }
        Err(e) => {
            let r = super::io::error_response(&e);
            if let Err(e) = req.respond(r) {
                tracing::debug!(error = %e, "client went away");
            }
        }
    }
}

fn open(
    ctx: &Context,
    store: &mut Store,
    req: &Request,
    now: u64,
) -> Result<(std::fs::File, u64, &'static str, bool), WebError> {
    let url = req.url();
    let name = url
        .trim_start_matches("/media/")
        .split(['?', '.'])
        .next()
        .unwrap_or("");
    let missing = || WebError::NotFound("no such picture".into());
    let sha = parse_hex256(name).ok_or_else(missing)?;
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let viewer = auth::optional(store, req, now)
        .map(|u| u.id)
        .or_else(|| signed_viewer(query, &sha, now))
        .unwrap_or(-1);
    if !store.media_visible(&sha, viewer)? {
        return Err(missing());
    }
    let info = store.media_info(&sha)?.ok_or_else(missing)?;
    let files = MediaFiles::of(store);
    if info.state == "remote" || !files.exists(&sha) {
        if info.state == "local" {
            return Err(missing());
        }
        let net = ctx.net.clone();
        let fetched = ctx
            .runtime
            .block_on(async move { tokio::time::timeout(FETCH_WAIT, net.fetch_media(sha)).await });
        match fetched {
            Ok(Ok(())) => {}
            Ok(Err(crate::net::NetError::NoSuchMedia(_))) => return Err(missing()),
            Ok(Err(crate::net::NetError::MediaBusy)) => {
                return Err(WebError::Busy(
                    "pictures are being fetched from other nodes; try again shortly",
                ))
            }
            Ok(Err(e)) => {
                return Err(WebError::BadGateway(format!(
                    "the picture could not be fetched from its author's node: {e}"
                )))
            }
            Err(_) => {
                return Err(WebError::BadGateway(
                    "the author's node did not send the picture in time".into(),
                ))
            }
        }
    } else if info.state == "cached" {
        store.media_used(&sha, now)?;
    }
    let (file, len) = files.open(&sha).map_err(|_| missing())?;
    if len != info.size {
        // a cached copy a crash cut short: fetched again on the next view
        store.media_lost(&sha)?;
        return Err(missing());
    }
    let public = store.media_visible(&sha, -1)?;
    Ok((file, len, info.media_type.mime(), public))
}

/// Removes the pictures nothing uses any more (after a delete, at start), and keeps the
/// cache within `media.cache_bytes`.
pub fn collect(store: &mut Store, cache_bytes: u64, now: u64) {
    let files = MediaFiles::of(store);
    match store.collect_media(now, cache_bytes) {
        Ok(c) => {
            for sha in &c.files {
                files.remove(sha);
            }
            if !c.files.is_empty() {
                tracing::info!(files = c.files.len(), "pictures no longer used removed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "pictures not collected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_name_their_viewer_until_they_expire() {
        set_url_key(&[9u8; 32]);
        let sha = [3u8; 32];
        let now = 1_800_000_000_000;
        let path = signed_path(&sha, 42, now);
        let query = path.split_once('?').unwrap().1;
        assert_eq!(signed_viewer(query, &sha, now), Some(42));
        assert_eq!(
            signed_path(&sha, 42, now + 1000),
            path,
            "stable within a day"
        );
        let later = now + (SIGNED_URL_DAYS + 2) * DAY_MS;
        assert_eq!(signed_viewer(query, &sha, later), None, "expired");
        assert_eq!(
            signed_viewer(query, &[4u8; 32], now),
            None,
            "another picture"
        );
        let forged = query.replace("u=42", "u=43");
        assert_eq!(signed_viewer(&forged, &sha, now), None, "another viewer");
        assert_eq!(signed_viewer("u=42", &sha, now), None);
    }
}
