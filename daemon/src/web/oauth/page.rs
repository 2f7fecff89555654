//! `/oauth/authorize`: the node's own log-in and consent page for an app.
//!
//! GET shows which app asks (its name, web site) and for what (the scopes in words), with a
//! form for a name or address and a password and the buttons Authorize and Deny. POST checks
//! the form and answers with a single-use code ([`CODE_TTL_MS`], stored hashed) at the app's
//! redirect URI (`?code=…&state=…`), or `error=access_denied` when denied; for
//! `urn:ietf:wg:oauth:2.0:oob` the code is shown on `/oauth/authorize/native`.
//!
//! The request is checked on both: `client_id` must name a registered app, `redirect_uri` one
//! of its URIs exactly (else the page says so and sends the browser nowhere),
//! `response_type=code`, `scope` within the app's, and a PKCE challenge only with
//! `code_challenge_method=S256`.
//!
//! CSRF: the form carries `csrf`, an HMAC-SHA256 under a random key of this process of the
//! time it was made and every field of the request (client, redirect URI, scopes, state,
//! challenge); POST takes it only unchanged and at most [`FORM_TTL_S`] old, so a POST can
//! authorize only what this node showed, lately, with these parameters (a restart makes open
//! forms stale: the person starts again from the app). No cookie is involved, so a plain
//! script can submit the form, and there is no ambient authority to ride on: every POST
//! carries the password itself. A browser's `Sec-Fetch-Site` other than `same-origin` (a form
//! posted from another site) is refused as well. Clickjacking: `frame-ancestors 'none'` and
//! `X-Frame-Options: DENY`. Everything shown is HTML-escaped, and the CSP allows no script.

use super::super::io::{static_header, JsonResponse};
use super::super::mastodon::params::Params;
use super::super::mastodon::Call;
use super::super::public::escape;
use super::super::WebError;
use super::{check_login, redirect, scopes, secrets};
use crate::identity::token_hash;
use crate::store::oauth::{App, Code};
use base64ct::{Base64UrlUnpadded, Encoding};
use std::sync::OnceLock;
use tiny_http::Response;

/// How long a code may wait for its exchange: ten minutes.
pub const CODE_TTL_MS: u64 = 10 * 60 * 1000;
/// How long a shown form may be submitted: half an hour.
pub const FORM_TTL_S: u64 = 30 * 60;
/// Longest `state` taken (it comes back in the redirect).
pub const MAX_STATE: usize = 1024;
/// Largest form body.
pub const MAX_FORM: usize = 16 * 1024;
/// Longest name or password read from the form.
pub const MAX_CREDENTIAL: usize = crate::identity::MAX_PASSWORD_LEN;

/// A checked authorization request.
#[derive(Debug)]
struct Ask {
    app: App,
    redirect_uri: String,
    scopes: String,
    state: Option<String>,
    challenge: Option<String>,
}

/// Why a request cannot even be shown: the page says so (status 400) and redirects nowhere.
fn refuse(why: impl Into<String>) -> Result<Ask, (u16, String)> {
    Err((400, why.into()))
}

fn check(c: &Call<'_>, p: &Params) -> Result<Ask, (u16, String)> {
    let client_id = p.get("client_id").unwrap_or("");
    let Ok(Some(app)) = c.store.oauth_app_by_client_id(client_id) else {
        return refuse("No app of that client_id is registered here.");
    };
    let uri = p.get("redirect_uri").unwrap_or("");
    if !redirect::is_registered(&app.redirect_uris, uri) {
        return refuse("The redirect_uri is not one the app registered.");
    }
    if p.get("response_type") != Some("code") {
        return refuse("Only response_type=code is supported.");
    }
    let asked = match scopes::parse(p.get("scope").unwrap_or("")) {
        Ok(a) => a,
        Err(e) => return refuse(format!("Invalid scope: {e}.")),
    };
    if !scopes::covers_all(&app.scopes, &asked) {
        return refuse("The app asks for more than it registered for.");
    }
    let state = p.get("state").filter(|s| !s.is_empty());
    if state.is_some_and(|s| s.len() > MAX_STATE) {
        return refuse(format!("state is over {MAX_STATE} bytes."));
    }
    let challenge = p.text("code_challenge");
    match (challenge, p.text("code_challenge_method")) {
        (None, None) => {}
        (Some(ch), Some("S256")) if secrets::is_challenge(ch) => {}
        (Some(_), Some("S256")) => return refuse("The code_challenge is malformed."),
        _ => return refuse("Only code_challenge_method=S256 is supported, with a challenge."),
    }
    Ok(Ask {
        redirect_uri: uri.to_string(),
        scopes: scopes::join(&asked),
        state: state.map(str::to_string),
        challenge: challenge.map(str::to_string),
        app,
    })
}

/// This process's key for form proofs.
fn form_key() -> Result<&'static [u8; 32], WebError> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    if let Some(k) = KEY.get() {
        return Ok(k);
    }
    let mut k = [0u8; 32];
    getrandom::getrandom(&mut k).map_err(|_| WebError::Internal("no random numbers".into()))?;
    Ok(KEY.get_or_init(|| k))
}

/// The proof of a form shown at `issued_s` for `ask`.
fn proof(key: &[u8; 32], issued_s: u64, ask: &Ask) -> String {
    let mut msg = format!("msm oauth authorize v1\n{issued_s}\n");
    for field in [
        ask.app.client_id.as_str(),
        &ask.redirect_uri,
        &ask.scopes,
        ask.state.as_deref().unwrap_or(""),
        ask.challenge.as_deref().unwrap_or(""),
    ] {
        // length-prefixed, so no field's bytes can pass for another's
        msg.push_str(&format!("{}:{field}\n", field.len()));
    }
    let mac = secrets::hmac_sha256(key, msg.as_bytes());
    format!("{issued_s}.{}", Base64UrlUnpadded::encode_string(&mac))
}

/// Is `csrf` a proof this process made for `ask` within [`FORM_TTL_S`]?
fn proof_holds(key: &[u8; 32], csrf: &str, ask: &Ask, now_s: u64) -> bool {
    let Some((issued, _)) = csrf.split_once('.') else {
        return false;
    };
    let Ok(issued_s) = issued.parse::<u64>() else {
        return false;
    };
    let fresh = issued_s <= now_s + 60 && now_s.saturating_sub(issued_s) <= FORM_TTL_S;
    fresh && secrets::ct_eq(proof(key, issued_s, ask).as_bytes(), csrf.as_bytes())
}

/// An HTML answer with the page's security headers; `to` is the CSP source of where the
/// form may send the browser (the app's redirect origin).
fn html(status: u16, body: String, to: Option<&str>) -> JsonResponse {
    let form_action = match to {
        Some(src) => format!("'self' {src}"),
        None => "'self'".into(),
    };
    Response::from_data(body.into_bytes())
        .with_status_code(status)
        .with_header(static_header("Content-Type", "text/html; charset=utf-8"))
        .with_header(static_header(
            "Content-Security-Policy",
            &format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .with_header(static_header("X-Frame-Options", "DENY"))
        .with_header(static_header("Cache-Control", "no-store"))
        .with_header(static_header("Referrer-Policy", "no-referrer"))
        .with_header(static_header("X-Content-Type-Options", "nosniff"))
}

const STYLE: &str =
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}\
main{max-width:28rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}\
h1{font-size:1.3rem}label{display:block;margin:.8rem 0}input{display:block;width:100%;\
box-sizing:border-box;padding:.5rem;font:inherit}button{font:inherit;padding:.5rem 1.2rem;\
margin:.8rem .5rem 0 0}.error{color:#a00}.small{font-size:.85rem;color:#555}\
code{font-size:1.1rem;word-break:break-all;background:#eee;padding:.3rem}";

/// A whole page around `inner` (already escaped).
fn page(title: &str, inner: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{}</title>\
         <style>{STYLE}</style></head><body><main>{inner}</main></body></html>",
        escape(title)
    )
}

/// A page that only says something.
fn message(c: &Call<'_>, status: u16, title: &str, text: &str) -> JsonResponse {
    let inner = format!(
        "<h1>{}</h1><p>{}</p><p class=\"small\">{}</p>",
        escape(title),
        escape(text),
        escape(&c.ctx.domain)
    );
    html(status, page(title, &inner), None)
}

/// What a scope lets an app do, in words.
fn in_words(scope: &str) -> String {
    let subject = |s: &str| match s {
        "accounts" => "your account and profile",
        "blocks" => "whom you block",
        "bookmarks" => "your bookmarks",
        "favourites" => "your likes",
        "filters" => "your filters",
        "follows" => "whom you follow",
        "lists" => "your lists",
        "mutes" => "whom you mute",
        "notifications" => "your notifications",
        "search" => "search",
        "statuses" => "posts",
        "media" => "pictures",
        "conversations" => "your conversations",
        "reports" => "reports",
        _ => "other things",
    };
    match scope {
        "read" => "Read everything your account sees: posts, timelines, notifications, your \
                   lists, follows, mutes and blocks"
            .into(),
        "write" => "Post, reply, edit and delete your posts, like, repost and bookmark, follow, \
                    mute and block, and change your profile"
            .into(),
        "follow" => "Follow, mute and block people, and see whom you follow, mute and block".into(),
        "push" => "Receive notifications by push".into(),
        "profile" => "See your name and profile".into(),
        s => match s.split_once(':') {
            Some(("read", what)) => format!("Read {}", subject(what)),
            Some(("write", "statuses")) => "Post, edit and delete your posts".into(),
            Some(("write", "media")) => "Upload pictures".into(),
            Some(("write", what)) => format!("Change {}", subject(what)),
            _ => s.to_string(),
        },
    }
}

/// The consent form for `ask`, with `error` above it.
fn form(
    c: &Call<'_>,
    status: u16,
    ask: &Ask,
    error: Option<&str>,
) -> Result<JsonResponse, WebError> {
    let key = form_key()?;
    let csrf = proof(key, c.now / 1000, ask);
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let mut fields = String::new();
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", ask.app.client_id.as_str()),
        ("redirect_uri", &ask.redirect_uri),
        ("scope", &ask.scopes),
        ("state", ask.state.as_deref().unwrap_or("")),
        ("code_challenge", ask.challenge.as_deref().unwrap_or("")),
        (
            "code_challenge_method",
            if ask.challenge.is_some() { "S256" } else { "" },
        ),
        ("csrf", &csrf),
    ] {
        fields.push_str(&hidden(name, value));
    }
    let name = escape(&ask.app.name);
    let site = match &ask.app.website {
        Some(w) => format!(" (<span class=\"small\">{}</span>)", escape(w)),
        None => String::new(),
    };
    let list: String = ask
        .scopes
        .split(' ')
        .map(|s| format!("<li>{}</li>", escape(&in_words(s))))
        .collect();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let after = if ask.redirect_uri == redirect::OOB {
        "Afterwards this page shows a code to copy into the app.".to_string()
    } else {
        format!("Afterwards you go to {}", escape(&ask.redirect_uri))
    };
    let domain = escape(&c.ctx.domain);
    let inner = format!(
        "<h1>Authorize {name}?</h1>\
         <p><b>{name}</b>{site} asks to use your account on {domain} to:</p><ul>{list}</ul>\
         {error}\
         <form method=\"post\" action=\"/oauth/authorize\">{fields}\
         <label>Name or address <input name=\"username\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\"></label>\
         <label>Password <input type=\"password\" name=\"password\" \
         autocomplete=\"current-password\"></label>\
         <button type=\"submit\" name=\"decision\" value=\"authorize\">Authorize</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         </form><p class=\"small\">{after}. You can revoke the app in the settings of your \
         node's web page.</p>"
    );
    let to = redirect::csp_source(&ask.redirect_uri);
    Ok(html(
        status,
        page(
            &format!("Authorize {} · {}", ask.app.name, c.ctx.domain),
            &inner,
        ),
        to.as_deref(),
    ))
}

/// `GET /oauth/authorize`.
pub fn show(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let p = Params::from_form(c.query)?;
    match check(c, &p) {
        Ok(ask) => form(c, 200, &ask, None),
        Err((status, why)) => Ok(message(c, status, "This app cannot log in here", &why)),
    }
}

/// A 302 to `location` (built from a registered URI and escaped parameters).
fn see_other(location: &str) -> JsonResponse {
    html(302, String::new(), None).with_header(static_header("Location", location))
}

/// `POST /oauth/authorize`.
pub fn submit(c: &mut Call<'_>) -> Result<JsonResponse, WebError> {
    let p = Params::read(c.req, "", MAX_FORM)?;
    let ask = match check(c, &p) {
        Ok(ask) => ask,
        Err((status, why)) => {
            return Ok(message(c, status, "This app cannot log in here", &why));
        }
    };
    let cross_site = super::super::io::header(c.req, "Sec-Fetch-Site")
        .is_some_and(|v| !v.eq_ignore_ascii_case("same-origin") && !v.eq_ignore_ascii_case("none"));
    let key = form_key()?;
    let csrf = p.get("csrf").unwrap_or("");
    if cross_site || !proof_holds(key, csrf, &ask, c.now / 1000) {
        tracing::info!(app = %ask.app.name, "OAuth form refused: stale or forged");
        return Ok(message(
            c,
            403,
            "This form has expired",
            "It is too old, or it did not come from this node's page. Go back to the app and \
             log in again.",
        ));
    }
    if p.get("decision") == Some("deny") {
        if ask.redirect_uri == redirect::OOB {
            return Ok(message(c, 200, "Denied", "The app was not authorized."));
        }
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "The person denied the request."),
        ];
        if let Some(s) = &ask.state {
            params.push(("state", s));
        }
        return Ok(see_other(&redirect::with_params(
            &ask.redirect_uri,
            &params,
        )));
    }
    let name = p.get("username").unwrap_or("");
    let password = p.get("password").unwrap_or("");
    if name.is_empty() || password.is_empty() {
        return form(c, 400, &ask, Some("Enter your name and password."));
    }
    if name.len() > MAX_CREDENTIAL || password.len() > MAX_CREDENTIAL {
        return form(c, 401, &ask, Some("Wrong name or password."));
    }
    let user = match check_login(c.ctx, c.store, c.req, name, password) {
        Err(WebError::TooManyRequests) => {
            return form(
                c,
                429,
                &ask,
                Some("Too many attempts from here; try again in a minute."),
            )
        }
        Err(e) => return Err(e),
        Ok(None) => return form(c, 401, &ask, Some("Wrong name or password.")),
        Ok(Some(u)) => u,
    };
    if user.must_change_password {
        return Ok(message(
            c,
            403,
            "Choose your own password first",
            "This account still has its one-time password. Log in on this node's web page, \
             choose your own password, then come back to the app.",
        ));
    }
    let code =
        secrets::random_token().map_err(|_| WebError::Internal("no random numbers".into()))?;
    let stored = Code {
        app_id: ask.app.id,
        user_id: user.id,
        redirect_uri: ask.redirect_uri.clone(),
        scopes: ask.scopes.clone(),
        challenge: ask.challenge.clone(),
    };
    c.store
        .oauth_store_code(&token_hash(&code), &stored, c.now, c.now + CODE_TTL_MS)
        .map_err(|e| match e {
            crate::store::StoreError::Full { .. } => {
                WebError::Busy("too many authorizations are waiting; try again in a few minutes")
            }
            other => other.into(),
        })?;
    tracing::info!(app = %ask.app.name, user = %user.address, "OAuth code issued");
    if ask.redirect_uri == redirect::OOB {
        return Ok(see_other(&format!("/oauth/authorize/native?code={code}")));
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &ask.state {
        params.push(("state", s));
    }
    Ok(see_other(&redirect::with_params(
        &ask.redirect_uri,
        &params,
    )))
}

/// `GET /oauth/authorize/native?code=…`: the code to copy into an app that asked for
/// `urn:ietf:wg:oauth:2.0:oob`.
pub fn native(c: &Call<'_>) -> JsonResponse {
    let code = Params::from_form(c.query)
        .ok()
        .and_then(|p| p.get("code").map(str::to_string))
        .filter(|code| super::is_app_token(code));
    match code {
        Some(code) => {
            let inner = format!(
                "<h1>Authorized</h1><p>Copy this code into the app:</p>\
                 <p><code id=\"authorization-code\">{}</code></p>\
                 <p class=\"small\">It works once, within ten minutes.</p>",
                escape(&code)
            );
            html(200, page("Authorization code", &inner), None)
        }
        None => message(
            c,
            400,
            "No code",
            "This page shows a code only after you authorize an app.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(state: &str) -> Ask {
        Ask {
            app: App {
                id: 1,
                client_id: "cid".into(),
                secret_hash: [0; 32],
                name: "x".into(),
                website: None,
                redirect_uris: vec![redirect::OOB.into()],
                scopes: "read".into(),
                created_ms: 0,
            },
            redirect_uri: redirect::OOB.into(),
            scopes: "read".into(),
            state: Some(state.into()),
            challenge: None,
        }
    }

    #[test]
    fn a_form_proof_binds_its_fields_and_time() {
        let key = [5u8; 32];
        let now = 1_800_000_000;
        let p = proof(&key, now, &ask("s"));
        assert!(proof_holds(&key, &p, &ask("s"), now + 10));
        assert!(!proof_holds(&key, &p, &ask("t"), now + 10), "another state");
        assert!(!proof_holds(&[6u8; 32], &p, &ask("s"), now), "another key");
        assert!(
            !proof_holds(&key, &p, &ask("s"), now + FORM_TTL_S + 1),
            "stale"
        );
        assert!(!proof_holds(&key, "", &ask("s"), now));
        assert!(!proof_holds(&key, "x.y", &ask("s"), now));
        let later = proof(&key, now + 5, &ask("s"));
        assert_ne!(p, later);
    }

    #[test]
    fn scopes_read_as_words() {
        assert!(in_words("read").starts_with("Read everything"));
        assert_eq!(in_words("read:statuses"), "Read posts");
        assert_eq!(in_words("write:blocks"), "Change whom you block");
    }
}
