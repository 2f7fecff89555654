//! `GET /api/v1/stream`: the home timeline pushed live as Server-Sent Events.
//!
//! Each event is `id: <cursor>`, `event: post`, `data: <entry JSON>`, or `event: delete`,
//! `data: {"cursor", "kind": "delete", "id", "refers_to": "author/seq"}` when a post that may be shown is
//! deleted; and `event: notifications`, `data: {"unread": N}` (no id) when the opening of the
//! stream finds, or a later commit, read mark or ping changes, the person's count of unread
//! notifications (one count query per wake-up). A client that reconnects
//! with `Last-Event-ID: N` (browsers send it by themselves; `?last_event_id=N` works too) first
//! gets every entry stored after N, oldest first, then live ones: nothing missed, nothing twice.
//! Without it, the stream starts at the present.
//!
//! The database is the buffer: a stream thread holds only its cursor and reads the next
//! [`BATCH`] entries when the writer's [`Pulse`] moves, so a stream costs a small thread, a
//! database connection and one socket whatever the client does. At most `http.max_streams` are
//! open, and at most [`STREAMS_PER_USER`] of one person (so one member cannot hold them all);
//! one more gets 503. A client that stops reading blocks a write until the socket timeout
//! (`http.timeout_s`) and is dropped. Every [`PING`] the stream sends a comment and checks that
//! its session is still valid (a logged-out or expired session ends the stream).

use super::api::Context;
use super::auth;
use super::io::{error_response, header, query_param};
use super::WebError;
use crate::store::pulse::Pulse;
use crate::store::Store;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tiny_http::Request;

/// Time between keep-alive comments (and session checks) on an idle stream.
pub const PING: Duration = Duration::from_secs(15);
/// Live streams one person may hold at once: a phone, a laptop and a tablet, and a tab more.
pub const STREAMS_PER_USER: usize = 4;
/// Entries read and sent at once.
pub const BATCH: u32 = 50;
/// Stack of a stream thread: it formats JSON and calls SQLite, whose buffers are on the heap.
pub const STREAM_STACK: usize = 128 * 1024;

/// The head of a Server-Sent Events answer (also the Mastodon streaming API's), with the
/// client's reconnection delay.
pub const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
    Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n\
    retry: 3000\n\n";

/// Is this request for the stream?
pub fn is_stream(req: &Request) -> bool {
    let url = req.url();
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    path.trim_end_matches('/') == "/api/v1/stream"
}

/// Takes over a stream request: checks it, answers the head and hands the connection to a
/// thread of its own; a refused request is answered with the reason.
pub fn open(ctx: &Arc<Context>, store: &Store, req: Request) {
    let (session, start, conn) = match check(store, &req) {
        Ok(x) => x,
        Err(e) => {
            tracing::debug!(status = e.status(), error = %e, "stream refused");
            let _ = req.respond(error_response(&e));
            return;
        }
    };
    let slot = match StreamSlot::take(ctx, session.user.id) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(user = %session.user.address, error = %e, "live stream refused");
            let _ = req.respond(error_response(&e));
            return;
        }
    };
    let mut out = req.into_writer();
    let head = SSE_HEAD;
    let pulse = ctx.pulse.clone();
    spawn_stream(slot, move || {
        let user = &session.user;
        if out
            .write_all(head.as_bytes())
            .and_then(|()| out.flush())
            .is_ok()
        {
            tracing::debug!(user = %user.address, start, "live stream opened");
            let end = run(&pulse, &conn, &mut out, user.id, start, &session.token_hash);
            tracing::debug!(user = %user.address, why = end, "live stream closed");
        }
    });
}

/// One open live stream, counted in `Context::streams` and per user; dropping it gives the
/// place back. msm's stream and the Mastodon streaming API share these counts, so the node's
/// total stays within `http.max_streams`.
pub struct StreamSlot {
    ctx: Arc<Context>,
    user: i64,
}

impl StreamSlot {
    /// Takes a place for a stream of `user`: 503 when they hold [`STREAMS_PER_USER`] already
    /// or the node holds `max_streams`.
    pub fn take(ctx: &Arc<Context>, user: i64) -> Result<StreamSlot, WebError> {
        if !take_user_stream(ctx, user) {
            return Err(WebError::Busy(
                "you have too many live streams open; close one and try again",
            ));
        }
        let max = ctx.max_streams;
        if ctx
            .streams
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            give_back_user_stream(ctx, user);
            return Err(WebError::Busy(
                "too many live streams open; try again later",
            ));
        }
        Ok(StreamSlot {
            ctx: ctx.clone(),
            user,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.ctx.streams.fetch_sub(1, Ordering::SeqCst);
        give_back_user_stream(&self.ctx, self.user);
    }
}

/// Runs `body` on a stream thread of its own ([`STREAM_STACK`]), holding `slot` until it ends.
pub fn spawn_stream(slot: StreamSlot, body: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("stream".into())
        .stack_size(STREAM_STACK)
        .spawn(move || {
            body();
            drop(slot);
        });
    if spawned.is_err() {
        tracing::error!("could not start a stream thread");
    }
}

/// Counts one more stream of `user`; false if they hold [`STREAMS_PER_USER`] already.
fn take_user_stream(ctx: &Context, user: i64) -> bool {
    let mut map = ctx.user_streams.lock().unwrap_or_else(|p| p.into_inner());
    let n = map.entry(user).or_insert(0);
    if *n >= STREAMS_PER_USER {
        return false;
    }
    *n += 1;
    true
}

fn give_back_user_stream(ctx: &Context, user: i64) {
    let mut map = ctx.user_streams.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = map.get_mut(&user) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&user);
        }
    }
}

/// Who asks, from which cursor, and a database connection for the stream.
fn check(store: &Store, req: &Request) -> Result<(auth::Session, i64, Store), WebError> {
    let session = auth::require(store, req, crate::now_ms(), false)?;
    if *req.method() != tiny_http::Method::Get {
        return Err(WebError::MethodNotAllowed);
    }
    let url = req.url();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let last = header(req, "Last-Event-ID")
        .map(str::to_string)
        .or_else(|| query_param(query, "last_event_id"));
    let start = match last.as_deref().map(str::trim) {
        None | Some("") => store.timeline_head(session.user.id)?,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                return Err(WebError::BadRequest(format!(
                    "Last-Event-ID {v:?} is not an event id"
                )))
            }
        },
    };
    Ok((session, start, store.reopen_light()?))
}

/// Sends entries after `cursor` as they are stored, until the client or the session goes.
fn run(
    pulse: &Pulse,
    store: &Store,
    out: &mut dyn Write,
    user_id: i64,
    mut cursor: i64,
    token_hash: &[u8; 32],
) -> &'static str {
    // the unread count last sent; none yet
    let mut unread: Option<u64> = None;
    loop {
        let seen = pulse.now();
        let read = store
            .timeline_after(user_id, cursor, BATCH)
            .and_then(|posts| Ok((posts, store.deletes_after(user_id, cursor, BATCH)?)));
        let (posts, deletes) = match read {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "live stream cannot read the timeline");
                return "database error";
            }
        };
        // Both lists are in cursor order; a full list may have more beyond its last cursor,
        // so this round sends only up to the smaller of those.
        let full = |n: usize, last: Option<i64>| (n as u32 == BATCH).then_some(last).flatten();
        let bound = [
            full(posts.len(), posts.last().map(|e| e.cursor)),
            full(deletes.len(), deletes.last().map(|d| d.0)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(i64::MAX);
        let mut events: Vec<(i64, String, String)> = posts
            .iter()
            .map(|e| {
                (
                    e.cursor,
                    "post",
                    serde_json::to_string(e).unwrap_or_default(),
                )
            })
            .chain(deletes.iter().map(|(c, id)| {
                let data =
                    serde_json::json!({ "cursor": c, "kind": "delete", "id": id, "refers_to": id });
                (*c, "delete", data.to_string())
            }))
            .filter(|(c, _, _)| *c <= bound)
            .map(|(c, kind, data)| (c, kind.to_string(), data))
            .collect();
        events.sort_by_key(|e| e.0);
        let more = bound != i64::MAX;
        for (c, kind, data) in &events {
            if write!(out, "id: {c}\nevent: {kind}\ndata: {data}\n\n").is_err() {
                return "client gone";
            }
            cursor = *c;
        }
        if more {
            cursor = cursor.max(bound);
        }
        match store.unread_notifications(user_id) {
            Ok(n) if unread != Some(n) => {
                if write!(out, "event: notifications\ndata: {{\"unread\":{n}}}\n\n").is_err() {
                    return "client gone";
                }
                unread = Some(n);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "live stream cannot count notifications");
                return "database error";
            }
        }
        if out.flush().is_err() {
            return "client gone";
        }
        if more {
            continue;
        }
        if pulse.wait(seen, PING) == seen {
            match store.session_user(token_hash, crate::now_ms()) {
                Ok(Some(_)) => {}
                Ok(None) => return "session ended",
                Err(_) => return "database error",
            }
            if out
                .write_all(b": ping\n\n")
                .and_then(|()| out.flush())
                .is_err()
            {
                return "client gone";
            }
        }
    }
}
