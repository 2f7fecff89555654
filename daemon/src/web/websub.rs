//! `POST /websub`: the node's WebSub hub endpoint ([`crate::websub`]). Subscribers send
//! `application/x-www-form-urlencoded` subscribe and unsubscribe requests; a well-formed one for
//! a user's feed here is stored and answered 202 Accepted, and the hub's thread verifies it with
//! the subscriber afterwards (W3C WebSub §5.2, asynchronous verification). A malformed one is
//! 400 with the reason, nothing stored; 413 over the body limit, 415 without a form body, 503
//! when the hub is full or off.

use super::api::Context;
use super::io::{header, read_body, static_header, JsonResponse};
use super::public::base_url;
use super::WebError;
use crate::store::websub::Full;
use crate::store::{Store, StoreError};
use crate::websub::request::{self, MAX_BODY_BYTES};
use crate::websub::WebSubError;
use std::sync::atomic::Ordering;
use tiny_http::{Request, Response};

/// `POST /websub`.
pub fn post(ctx: &Context, store: &mut Store, req: &mut Request) -> Result<JsonResponse, WebError> {
    let answer = accept(ctx, store, req);
    let counter = match answer {
        Ok(_) => &ctx.websub.accepted,
        Err(_) => &ctx.websub.rejected,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    answer
}

fn accept(ctx: &Context, store: &mut Store, req: &mut Request) -> Result<JsonResponse, WebError> {
    if ctx.fediverse.is_none() {
        return Err(refused(WebSubError::Off));
    }
    let form = header(req, "Content-Type").is_some_and(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form {
        return Err(WebError::UnsupportedMediaType);
    }
    let body = read_body(req, MAX_BODY_BYTES)?;
    let r = request::parse(&body, &base_url(ctx), &ctx.domain).map_err(refused)?;
    let author = format!("{}@{}", r.user, ctx.domain);
    let stored = store.websub_request(
        &author,
        &r.callback,
        &r.callback_host,
        r.mode,
        r.secret.as_deref(),
        r.lease_s,
        crate::now_ms(),
    );
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(Full::Node)) => return Err(refused(WebSubError::Full("on this node"))),
        Ok(Err(Full::CallbackHost)) => {
            return Err(refused(WebSubError::Full("for this callback host")))
        }
        Err(StoreError::NotFound(_)) => return Err(refused(WebSubError::UnknownTopic(r.topic))),
        Err(e) => return Err(e.into()),
    }
    tracing::debug!(callback = %r.callback, topic = %r.topic, mode = r.mode.as_str(), "websub: request accepted");
    Ok(
        Response::from_data(b"Accepted: the subscriber will be asked to confirm\n".to_vec())
            .with_status_code(202)
            .with_header(static_header("Content-Type", "text/plain; charset=utf-8")),
    )
}

/// A refused request as the HTTP error it answers.
fn refused(e: WebSubError) -> WebError {
    match e {
        WebSubError::TooLarge(_) => WebError::TooLarge(e.to_string()),
        WebSubError::Full(_) => WebError::Busy("the hub takes no more subscriptions now"),
        WebSubError::Off => WebError::Busy("the hub is off on this node"),
        _ => WebError::BadRequest(e.to_string()),
    }
}
