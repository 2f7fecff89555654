//! `POST /inbox` (the shared inbox) and `POST /users/{name}/inbox`: the fediverse's way in,
//! and `GET /actor`, the node's instance actor that signs its fetches.
//!
//! Anonymous by nature (a signature, not a session, says who sends), so the HTTP side reads
//! little before the checks: only `application/activity+json` or `application/ld+json`, a body
//! of at most [`MAX_ACTIVITY_BYTES`] (within the listener's body budget and deadlines). The
//! rest is [`crate::fediverse::Fediverse::receive`]. Each answer is counted in `/metrics`
//! (`msm_activitypub_inbox_total`); refusals are 401 (signature, key, actor, replay), 400
//! (malformed), 413, 415 or 503 (key fetches busy).

use super::api::Context;
use super::io::{json, read_body, static_header, JsonResponse};
use super::public::{base_url, local_user};
use super::WebError;
use crate::activitypub::activity::MAX_ACTIVITY_BYTES;
use crate::activitypub::outbound::Iris;
use crate::activitypub::sig;
use crate::fediverse::inbox::Node;
use crate::store::Store;
use serde_json::json;
use tiny_http::{Request, Response};

/// `POST /inbox` and `POST /users/{name}/inbox`.
pub fn post(
    ctx: &Context,
    store: &mut Store,
    req: &mut Request,
    user: Option<&str>,
) -> Result<JsonResponse, WebError> {
    let Some(fed) = ctx.fediverse.clone() else {
        return Err(WebError::Busy("the fediverse is off on this node"));
    };
    if let Some(name) = user {
        local_user(ctx, store, name)?;
    }
    let activity_json = super::io::header(req, "Content-Type").is_some_and(|v| {
        let t = v.split(';').next().unwrap_or("").trim();
        t.eq_ignore_ascii_case(super::actor::ACTIVITY_JSON)
            || t.eq_ignore_ascii_case("application/ld+json")
    });
    if !activity_json {
        fed.count("malformed");
        return Ok(json(
            415,
            &json!({"error": "expected Content-Type: application/activity+json"}),
        ));
    }
    let body = read_body(req, MAX_ACTIVITY_BYTES).inspect_err(|_| fed.count("malformed"))?;
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let base = base_url(ctx);
    let scheme = if base.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let authority = super::io::header(req, "Host").unwrap_or("").to_string();
    let target = req.url().to_string();
    let view = sig::Request {
        method: "POST",
        scheme,
        authority: &authority,
        target: &target,
        headers: &headers,
        body: &body,
    };
    let node = Node {
        base: &base,
        domain: &ctx.domain,
    };
    let sink = crate::fediverse::notes::Sink {
        writer: &ctx.writer,
        runtime: &ctx.runtime,
        max_text: ctx.max_text.load(std::sync::atomic::Ordering::Relaxed),
        blocked: &ctx.net.blocked_domains,
    };
    match fed.receive(store, &sink, node, &view, crate::now_ms()) {
        Ok(done) => {
            fed.count(done.label());
            Ok(Response::from_data(Vec::new()).with_status_code(202))
        }
        Err(e) => {
            fed.count(e.label());
            tracing::info!(error = %e, from = ?req.remote_addr(), "inbox POST refused");
            Ok(json(e.status(), &json!({"error": e.to_string()})))
        }
    }
}

/// `GET /actor`: the instance actor.
pub fn instance_actor(ctx: &Context, store: &Store) -> Result<JsonResponse, WebError> {
    let key = crate::fediverse::instance::signing_key(store).map_err(|e| {
        tracing::warn!(error = %e, "the instance actor's key");
        WebError::Busy("the node's key is not ready")
    })?;
    let base = base_url(ctx);
    let doc = crate::fediverse::instance::document(
        &Iris { base: &base },
        &ctx.domain,
        &key.public_key().to_pem(),
    );
    Ok(Response::from_data(doc.to_string().into_bytes())
        .with_header(static_header("Content-Type", super::actor::ACTIVITY_JSON))
        .with_header(static_header("Access-Control-Allow-Origin", "*")))
}
