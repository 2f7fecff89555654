//! OAuth of the Mastodon client API against a real node: app registration, the authorize
//! page (headers against clickjacking, the CSRF proof, PKCE S256, single-use codes, exact
//! redirect URIs, deny, out-of-band codes), the password and client-credentials grants,
//! scopes enforced per endpoint, revocation by the app and from msm's settings.

use msm_tests::mastodon::{enc, form, post_form};
use msm_tests::{data_dir, Node, Resp};
use serde_json::{json, Value};

const PW: &str = "a long password";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CB: &str = "https://app.example/cb";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

fn get(node: &Node, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    node.http("GET", path, &[("Authorization", &auth)], None)
}

/// The value of the hidden input `name` in an HTML page (unescaped).
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every hidden field of the authorize form, as a script submitting it would take them.
fn fields(html: &str) -> Vec<(String, String)> {
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "csrf",
    ]
    .iter()
    .map(|n| (n.to_string(), hidden(html, n)))
    .collect()
}

fn submit(node: &Node, fields: &[(String, String)], extra: &[(&str, &str)]) -> Resp {
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend_from_slice(extra);
    post_form(node, "/oauth/authorize", &pairs)
}

fn register(node: &Node, name: &str, uris: &str, scopes: &str) -> Value {
    let r = post_form(
        node,
        "/api/v1/apps",
        &[
            ("client_name", name),
            ("redirect_uris", uris),
            ("scopes", scopes),
            ("website", "https://app.example"),
        ],
    );
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    r.json()
}

fn authorize_url(app: &Value, redirect: &str, scope: &str, pkce: bool) -> String {
    let mut url = format!(
        "/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=xyz",
        enc(app["client_id"].as_str().unwrap()),
        enc(redirect),
        enc(scope)
    );
    if pkce {
        url.push_str(&format!(
            "&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ));
    }
    url
}

/// Logs in through the page; the code from the redirect.
fn code(node: &Node, app: &Value, redirect: &str, scope: &str, pkce: bool) -> String {
    let page = node.http("GET", &authorize_url(app, redirect, scope, pkce), &[], None);
    assert_eq!(page.status, 200, "{}", page.text());
    let r = submit(
        node,
        &fields(&page.text()),
        &[("username", "alice"), ("password", PW)],
    );
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = r.header("location").unwrap().to_string();
    let rest = loc
        .strip_prefix(&format!("{redirect}?code="))
        .unwrap_or_else(|| panic!("{loc}"));
    let (code, state) = rest.split_once('&').unwrap();
    assert_eq!(state, "state=xyz");
    code.to_string()
}

fn exchange(node: &Node, app: &Value, pairs: &[(&str, &str)]) -> Resp {
    let mut all = vec![
        ("grant_type", "authorization_code"),
        ("client_id", app["client_id"].as_str().unwrap()),
    ];
    all.extend_from_slice(pairs);
    post_form(node, "/oauth/token", &all)
}

#[test]
fn authorize_page_is_safe_and_codes_are_single_use_and_bound_to_pkce() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let session = node.login("alice", PW);

    // discovery
    let meta = node.http("GET", "/.well-known/oauth-authorization-server", &[], None);
    assert_eq!(meta.status, 200);
    let meta = meta.json();
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert!(meta["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth/token"));
    assert!(meta["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("password")));

    // registration, with hostile fields refused
    let app = register(
        &node,
        "Test <b>app</b>",
        &format!("{CB}\n{OOB}"),
        "read write follow push",
    );
    let secret = app["client_secret"].as_str().unwrap().to_string();
    assert_eq!(app["client_id"].as_str().unwrap().len(), 43);
    assert_eq!(app["redirect_uris"], json!([CB, OOB]));
    assert_eq!(app["scopes"], json!(["read", "write", "follow", "push"]));
    assert_eq!(app["vapid_key"], "");
    for (uris, scopes) in [
        ("javascript:alert(1)", "read"),
        (CB, "read admin:read"),
        (CB, "read telepathy"),
    ] {
        let r = node.post_json(
            "/api/v1/apps",
            None,
            &json!({"client_name": "x", "redirect_uris": [uris], "scopes": scopes}),
        );
        assert_eq!(r.status, 422, "{uris} {scopes}: {}", r.text());
    }
    let long = node.post_json(
        "/api/v1/apps",
        None,
        &json!({"client_name": "x".repeat(201), "redirect_uris": CB}),
    );
    assert_eq!(long.status, 422);

    // the page: safe headers, escaped, a plain form
    let page = node.http(
        "GET",
        &authorize_url(&app, CB, "read write", true),
        &[],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = page.text();
    assert!(html.contains("Test &lt;b&gt;app&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>app</b>"));
    assert!(html.contains("<form method=\"post\" action=\"/oauth/authorize\">"));
    let good = fields(&html);

    // an unregistered redirect URI, an unknown client, a scope beyond the app's: no form
    for url in [
        authorize_url(&app, "https://evil.example/cb", "read", true),
        authorize_url(&app, &format!("{CB}/x"), "read", true),
        authorize_url(&json!({"client_id": "nobody"}), CB, "read", true),
        authorize_url(&app, CB, "read admin:read", true),
    ] {
        let r = node.http("GET", &url, &[], None);
        assert_eq!(r.status, 400, "{url}");
        assert!(!r.text().contains("<form"), "{url}");
    }

    // CSRF: missing, wrong, or fields changed under a right proof: refused, nothing issued
    let creds = [("username", "alice"), ("password", PW)];
    let without: Vec<_> = good.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    let mut wrong = good.clone();
    for (k, v) in wrong.iter_mut() {
        if k == "csrf" {
            v.replace_range(v.len() - 2.., "AA");
        }
    }
    let mut widened = good.clone();
    for (k, v) in widened.iter_mut() {
        if k == "scope" {
            *v = "read write follow push".into();
        }
    }
    for (what, f) in [("no", &without), ("wrong", &wrong), ("changed", &widened)] {
        let r = submit(&node, f, &creds);
        assert_eq!(r.status, 403, "{what} CSRF proof: {}", r.text());
        assert!(r.header("location").is_none());
    }
    let cross = node.http(
        "POST",
        "/oauth/authorize",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        Some(&form(
            &good
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain(creds)
                .collect::<Vec<_>>(),
        )),
    );
    assert_eq!(cross.status, 403, "a form posted from another site");
    let apps = get(&node, "/api/v1/account/apps", &session).json();
    assert_eq!(apps["apps"], json!([]), "nothing issued");

    // a wrong password shows the form again
    let r = submit(
        &node,
        &good,
        &[("username", "alice"), ("password", "nope nope")],
    );
    assert_eq!(r.status, 401);
    assert!(r.text().contains("Wrong name or password"));

    // Deny goes back to the app with access_denied
    let r = submit(&node, &good, &[("decision", "deny")]);
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location").unwrap(),
        format!("{CB}?error=access_denied&error_description=The%20person%20denied%20the%20request.&state=xyz")
    );

    // PKCE: a wrong verifier is refused, and the code is spent
    let c1 = code(&node, &app, CB, "read write", true);
    let bad_verifier = "x".repeat(43);
    let r = exchange(
        &node,
        &app,
        &[
            ("code", &c1),
            ("client_secret", &secret),
            ("redirect_uri", CB),
            ("code_verifier", &bad_verifier),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = exchange(
        &node,
        &app,
        &[
            ("code", &c1),
            ("client_secret", &secret),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(
        r.json()["error"],
        "invalid_grant",
        "a refused code is spent"
    );

    // the right verifier: a token; the same code again: refused
    let c2 = code(&node, &app, CB, "read write", true);
    let ok = [
        ("code", c2.as_str()),
        ("client_secret", &secret),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    let r = exchange(&node, &app, &ok);
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    let token = t["access_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 43);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "read write");
    assert!(t["created_at"].as_u64().unwrap() > 1_600_000_000);
    let again = exchange(&node, &app, &ok);
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    let me = get(&node, "/api/v1/preferences", &token);
    assert_eq!(me.status, 200, "{}", me.text());

    // the redirect URI of the exchange must be the authorization's
    let c3 = code(&node, &app, CB, "read", true);
    let r = exchange(
        &node,
        &app,
        &[
            ("code", &c3),
            ("client_secret", &secret),
            ("redirect_uri", OOB),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(r.json()["error"], "invalid_grant");

    // a public client (no secret) only with PKCE; a JSON body
    let c4 = code(&node, &app, CB, "read", false);
    let r = node.post_json(
        "/oauth/token",
        None,
        &json!({"grant_type": "authorization_code", "client_id": app["client_id"], "code": c4, "redirect_uri": CB}),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");
    let c5 = code(&node, &app, CB, "read", true);
    let r = node.post_json(
        "/oauth/token",
        None,
        &json!({"grant_type": "authorization_code", "client_id": app["client_id"], "code": c5, "redirect_uri": CB, "code_verifier": VERIFIER}),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // out of band: the code is shown on the node's page
    let page = node.http("GET", &authorize_url(&app, OOB, "read", false), &[], None);
    let csp = page.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("form-action 'self';"), "{csp}");
    let r = submit(&node, &fields(&page.text()), &creds);
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap().to_string();
    let shown = node.http("GET", &loc, &[], None).text();
    let c6 = loc.split("code=").nth(1).unwrap();
    assert!(shown.contains(&format!(">{c6}<")), "{shown}");
    let r = exchange(
        &node,
        &app,
        &[
            ("code", c6),
            ("client_secret", &secret),
            ("redirect_uri", OOB),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

fn password_grant(node: &Node, app: &Value, user: &str, pw: &str, scope: &str) -> Resp {
    post_form(
        node,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
            ("username", user),
            ("password", pw),
            ("scope", scope),
        ],
    )
}

#[test]
fn tokens_carry_their_scopes_and_stop_when_revoked() {
    let dir = data_dir("a.test", &[("alice", PW, true)]);
    let node = Node::start(dir.path(), &[]);
    let session = node.login("alice", PW);
    let app = register(&node, "CLI", OOB, "read write follow push");

    // the password grant, by name or address; Mastodon.py's default scopes come back whole
    let r = password_grant(&node, &app, "alice@a.test", PW, "read write follow push");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    assert_eq!(r.json()["scope"], "read write follow push");
    let read = password_grant(&node, &app, "alice", PW, "read").json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let write = password_grant(&node, &app, "alice", PW, "write").json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = password_grant(&node, &app, "alice", "wrong password", "read");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = password_grant(&node, &app, "alice", PW, "read admin:write");
    assert_eq!(r.json()["error"], "invalid_scope");
    let narrow = register(&node, "Narrow", OOB, "read");
    let r = password_grant(&node, &narrow, "alice", PW, "read write");
    assert_eq!(
        r.json()["error"],
        "invalid_scope",
        "more than the app registered"
    );
    let r = post_form(
        &node,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("refresh_token", "x"),
        ],
    );
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = post_form(
        &node,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", "not the secret"),
        ],
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");

    // a user who still has a one-time password is refused with words
    let added = node.post_json(
        "/api/v1/admin/users",
        Some(&session),
        &json!({"name": "carol"}),
    );
    assert!(added.status < 300, "{}", added.text());
    let otp = added.json()["one_time_password"]
        .as_str()
        .unwrap()
        .to_string();
    let r = password_grant(&node, &app, "carol", &otp, "read");
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.text().contains("one-time password"), "{}", r.text());

    // scopes per endpoint: preferences need read:accounts
    assert_eq!(get(&node, "/api/v1/preferences", &read).status, 200);
    let r = get(&node, "/api/v1/preferences", &write);
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"],
        "This action is outside the authorized scopes"
    );
    let forged = "A".repeat(43);
    assert_eq!(get(&node, "/api/v1/preferences", &forged).status, 401);
    assert_eq!(
        get(&node, "/api/v1/preferences", &session).status,
        200,
        "an msm session"
    );

    // client credentials: the app itself, no user
    let r = node.post_json(
        "/oauth/token",
        None,
        &json!({"grant_type": "client_credentials", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "redirect_uri": OOB, "scope": "read write"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let app_token = r.json()["access_token"].as_str().unwrap().to_string();
    let v = get(&node, "/api/v1/apps/verify_credentials", &app_token);
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!(v.json()["name"], "CLI");
    assert!(v.json().get("client_secret").is_none());
    assert_eq!(
        get(&node, "/api/v1/apps/verify_credentials", &read).json()["name"],
        "CLI"
    );
    let r = get(&node, "/api/v1/preferences", &app_token);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error"],
        "This method requires an authenticated user"
    );

    // the app revokes a token
    let r = post_form(
        &node,
        "/oauth/revoke",
        &[
            ("token", &read),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({}));
    assert_eq!(get(&node, "/api/v1/preferences", &read).status, 401);

    // msm's settings list the app and revoke its tokens
    let apps = get(&node, "/api/v1/account/apps", &session).json();
    let listed = apps["apps"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{apps}");
    assert_eq!(listed[0]["name"], "CLI");
    let id = listed[0]["id"].as_i64().unwrap();
    let del = node.http(
        "DELETE",
        &format!("/api/v1/account/apps/{id}"),
        &[("Authorization", &format!("Bearer {session}"))],
        None,
    );
    assert_eq!(del.status, 200, "{}", del.text());
    assert_eq!(get(&node, "/api/v1/preferences", &write).status, 401);
    assert_eq!(
        get(&node, "/api/v1/account/apps", &session).json()["apps"],
        json!([])
    );
    let again = node.http(
        "DELETE",
        &format!("/api/v1/account/apps/{id}"),
        &[("Authorization", &format!("Bearer {session}"))],
        None,
    );
    assert_eq!(again.status, 404);
}
