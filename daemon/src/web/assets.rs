//! The web client: `static/index.html`, `app.js` and `app.css`, with what makes it an
//! installable app (`manifest.webmanifest`, three icons, and the service worker `sw.js`, which
//! keeps copies of these files only, never an `/api/` answer), embedded in the binary with a
//! gzipped copy of each text file made at build time (`build.rs`). A client that accepts gzip
//! gets that copy. Only these names are served: a request path is matched against the list,
//! never joined to a directory, so no path can reach anything else.
//!
//! The page is sent with a Content-Security-Policy that allows scripts from this origin only (no
//! inline script), as a second wall behind the client's rule of putting text into the page as
//! text.

use super::io::{header, static_header, JsonResponse};
use super::WebError;
use std::io::Cursor;
use tiny_http::{Request, Response};

/// An embedded file.
pub struct Asset {
    /// File name.
    pub name: &'static str,
    /// Its bytes.
    pub raw: &'static [u8],
    /// Its bytes, gzipped; empty for an image (already compressed).
    pub gz: &'static [u8],
    /// Entity tag (quoted), from its content.
    pub etag: &'static str,
}

/// Every embedded file.
pub const ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Content-Security-Policy of the client's page.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The gzipped size of the client's text files together, which a first visit downloads.
pub const MAX_CLIENT_GZ_BYTES: usize = 100 * 1024;
/// Largest icon: a flat picture compresses to far less.
pub const MAX_ICON_BYTES: usize = 4 * 1024;

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Answers `GET path` for an embedded file.
pub fn serve(path: &str, req: &Request) -> Result<JsonResponse, WebError> {
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        "favicon.ico" => return Ok(Response::from_data(Vec::new()).with_status_code(204)),
        other => other,
    };
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| WebError::NotFound(format!("no such path: {path}")))?;
    let base = |r: JsonResponse| {
        r.with_header(static_header("ETag", asset.etag))
            .with_header(static_header("Cache-Control", "no-cache"))
            .with_header(static_header("Vary", "Accept-Encoding"))
            .with_header(static_header("X-Content-Type-Options", "nosniff"))
    };
    if header(req, "If-None-Match") == Some(asset.etag) {
        return Ok(base(Response::new(
            304.into(),
            Vec::new(),
            Cursor::new(Vec::new()),
            Some(0),
            None,
        )));
    }
    let gzip = !asset.gz.is_empty()
        && header(req, "Accept-Encoding")
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let body = if gzip { asset.gz } else { asset.raw };
    let mut r = base(Response::from_data(body.to_vec()))
        .with_header(static_header("Content-Type", content_type(name)));
    if gzip {
        r = r.with_header(static_header("Content-Encoding", "gzip"));
    }
    if name.ends_with(".html") {
        r = r
            .with_header(static_header("Content-Security-Policy", CSP))
            .with_header(static_header("Referrer-Policy", "no-referrer"));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzipped_copies_match_and_the_client_is_small() {
        let mut total = 0;
        for a in ASSETS {
            if a.name.ends_with(".png") {
                assert!(a.gz.is_empty(), "{}", a.name);
                assert!(a.raw.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", a.name);
                assert!(
                    a.raw.len() < MAX_ICON_BYTES,
                    "{} is {} bytes",
                    a.name,
                    a.raw.len()
                );
                continue;
            }
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(a.gz)
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, a.raw, "{}", a.name);
            total += a.gz.len();
        }
        assert!(
            total < MAX_CLIENT_GZ_BYTES,
            "the web client is {total} bytes gzipped"
        );
    }

    #[test]
    fn the_service_worker_knows_the_client_version_and_its_files() {
        let sw = ASSETS.iter().find(|a| a.name == "sw.js").unwrap();
        let sw = std::str::from_utf8(sw.raw).unwrap();
        assert!(!sw.contains("__CLIENT_VERSION__"), "no version written in");
        for a in ASSETS.iter().filter(|a| a.name != "sw.js") {
            // the page is loaded as "/"
            let path = if a.name == "index.html" { "" } else { a.name };
            assert!(
                sw.contains(&format!("\"/{path}\"")),
                "sw.js does not cache {}",
                a.name
            );
        }
        assert!(!sw.contains("\"/api"), "sw.js names an /api/ path");
    }
}
