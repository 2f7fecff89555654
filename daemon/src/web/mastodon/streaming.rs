//! `/api/v1/streaming`: the Mastodon streaming API, as Server-Sent Events
//! (`/api/v1/streaming/{user,public,hashtag,list}`) and as a WebSocket (`/api/v1/streaming`).
//!
//! (Skeleton: filled in by the streaming work.)

use super::super::api::Context;
use crate::store::Store;
use std::sync::Arc;
use tiny_http::Request;

/// Is this request for the Mastodon streaming API?
pub fn is_streaming(req: &Request) -> bool {
    let url = req.url();
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    path.trim_end_matches('/').starts_with("/api/v1/streaming")
}

/// Takes over a streaming request.
pub fn open(ctx: &Arc<Context>, store: &Store, req: Request) {
    let _ = (ctx, store);
    let _ = req.respond(super::super::io::error_response(
        &super::super::WebError::NotFound("not yet".into()),
    ));
}
