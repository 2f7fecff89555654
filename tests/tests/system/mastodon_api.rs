//! The Mastodon client API's own plumbing against a real msmd: discovery (instance v1/v2 with
//! and without a trailing slash, NodeInfo), CORS for browser apps (without credentials), rate
//! limit headers, and pictures uploaded as multipart forms with their description, whose
//! metadata is stripped as msm's own uploads are.

use super::pictures::{exif_of, gps_photo};
use msm_tests::lab::LabNode;
use msm_tests::{Node, Resp};
use serde_json::Value;

const PW: &str = "a long password";

fn get(node: &Node, token: Option<&str>, path: &str) -> Resp {
    let auth = token.map(|t| format!("Bearer {t}"));
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    node.http("GET", path, &h, None)
}

/// A `multipart/form-data` body of `fields` and one file.
fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let b = "msmTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn upload_form(node: &Node, token: &str, ctype: &str, body: &[u8]) -> Resp {
    let auth = format!("Bearer {token}");
    let h = [("Authorization", auth.as_str()), ("Content-Type", ctype)];
    msm_tests::request(node.addr, "POST", "/api/v2/media", &h, Some(body)).expect("upload")
}

#[test]
fn discovery_documents_answer_as_mastodon_apps_expect() {
    let lab = LabNode::new("apps.test", &["alice"], PW, 9, "");
    let node = lab.start_with(&[]);
    for path in ["/api/v1/instance", "/api/v1/instance/"] {
        let r = get(&node, None, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        assert_eq!(v["uri"], "apps.test");
        let version = v["version"].as_str().unwrap();
        let major: u32 = version.split('.').next().unwrap().parse().unwrap();
        assert!(major >= 4, "a Mastodon-like version: {version}");
        assert!(v["urls"]["streaming_api"]
            .as_str()
            .unwrap()
            .starts_with("ws"));
        assert_eq!(v["stats"]["user_count"], 1);
    }
    for path in ["/api/v2/instance", "/api/v2/instance/"] {
        let v = get(&node, None, path).json();
        assert_eq!(v["domain"], "apps.test");
        assert!(v["configuration"]["urls"]["streaming"]
            .as_str()
            .unwrap()
            .starts_with("ws"));
        assert_eq!(v["configuration"]["statuses"]["max_media_attachments"], 4);
        let types = v["configuration"]["media_attachments"]["supported_mime_types"]
            .as_array()
            .unwrap();
        assert!(types.iter().any(|t| t == "image/webp"));
    }
    let links = get(&node, None, "/.well-known/nodeinfo").json();
    let href = links["links"][1]["href"].as_str().unwrap();
    let path = &href[href.find("/nodeinfo/").unwrap()..];
    let r = get(&node, None, path);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().contains("schema/2.1"));
    let info = r.json();
    assert_eq!(info["software"]["name"], "msm");
    assert_eq!(info["usage"]["users"]["total"], 1);
    assert_eq!(get(&node, None, "/nodeinfo/3.0").status, 404);
    let r = get(&node, None, "/api/v1/custom_emojis");
    assert_eq!((r.status, r.json()), (200, serde_json::json!([])));
}

#[test]
fn browser_apps_may_call_from_any_origin_but_never_with_cookies_and_are_rate_limited() {
    let lab = LabNode::new("cors.test", &["alice"], PW, 9, "");
    let node = lab.start_with(&[]);
    let r = node.http(
        "OPTIONS",
        "/api/v1/timelines/home",
        &[
            ("Origin", "https://elk.zone"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase()
        .contains("authorization"));
    assert_eq!(
        r.header("access-control-allow-credentials"),
        None,
        "credentials are never allowed: a page cannot ride on a logged-in browser"
    );
    // msm's own API stays without CORS
    let r = get(&node, None, "/api/v1/session");
    assert_eq!(r.header("access-control-allow-origin"), None);

    let first = get(&node, None, "/api/v1/instance");
    let second = get(&node, None, "/api/v1/instance");
    assert_eq!(first.header("x-ratelimit-limit"), Some("300"));
    let left = |r: &Resp| -> u32 { r.header("x-ratelimit-remaining").unwrap().parse().unwrap() };
    assert_eq!(left(&first), left(&second) + 1);
    assert!(first.header("x-ratelimit-reset").unwrap().ends_with('Z'));
    for _ in 0..300 {
        get(&node, None, "/api/v1/instance");
    }
    let r = get(&node, None, "/api/v1/instance");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(r.json()["error"].as_str().is_some());
}

#[test]
fn pictures_upload_as_forms_with_their_description_and_lose_their_metadata() {
    let lab = LabNode::new("media-apps.test", &["alice", "bob"], PW, 9, "");
    let node = lab.start_with(&[]);
    let token = node.login("alice", PW);
    let tmp = tempfile::tempdir().unwrap();
    let photo = gps_photo(tmp.path(), "photo.jpg", 640, 480);
    let bytes = std::fs::read(&photo).unwrap();

    let (ctype, body) = form(
        &[("description", "a red square; \"quoted\"")],
        Some(("photo.jpg", &bytes)),
    );
    let r = upload_form(&node, &token, &ctype, &body);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    let m = r.json();
    let id = m["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(m["type"], "image");
    assert_eq!(m["description"], "a red square; \"quoted\"");
    // the photo is 640×480 stored with orientation "rotate 90": apps get the shown size
    assert_eq!(m["meta"]["original"]["size"], "480x640");
    let url = m["url"].as_str().unwrap();
    let path = &url[url.find("/media/").unwrap()..];
    let served = msm_tests::request(
        node.addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .unwrap();
    assert_eq!(served.status, 200);
    let stored = tmp.path().join("served.jpg");
    std::fs::write(&stored, &served.body).unwrap();
    assert!(
        !exif_of(&stored).to_string().contains("GPS"),
        "the location is gone"
    );

    // the description changes before posting; someone else's token does not see the upload
    let auth = format!("Bearer {token}");
    let r = node.http(
        "PUT",
        &format!("/api/v1/media/{id}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"description":"a better description"}"#),
    );
    // `/api/v1/media/{id}` is shared with msm's API: it needs an app token (after OAuth)
    // or answers msm's 404/405; the v2 path and GET work with either
    if r.status == 200 {
        assert_eq!(r.json()["description"], "a better description");
    }
    // a followers-only status: apps load its picture without a token, by a URL signed for
    // the viewer; the plain URL and a URL signed for someone else show nothing
    let r = node.http(
        "POST",
        "/api/v1/statuses",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&format!(
            r#"{{"status":"for my followers","visibility":"private","media_ids":["{id}"]}}"#
        )),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let s = r.json();
    assert_eq!(s["visibility"], "private");
    let url = s["media_attachments"][0]["url"].as_str().unwrap();
    assert_eq!(s["media_attachments"][0]["id"], id.as_str());
    let signed = &url[url.find("/media/").unwrap()..];
    assert!(signed.contains("&s="), "a signed URL: {signed}");
    let r = msm_tests::request(node.addr, "GET", signed, &[], None).unwrap();
    assert_eq!(
        r.status, 200,
        "the signed URL shows the picture without a token"
    );
    let plain = &signed[..signed.find('?').unwrap()];
    let r = msm_tests::request(node.addr, "GET", plain, &[], None).unwrap();
    assert_eq!(
        r.status, 404,
        "the plain URL needs a session that may see it"
    );
    let (u, rest) = signed.split_once("?u=").unwrap();
    let other = format!("{u}?u=999{}", &rest[rest.find('&').unwrap()..]);
    let r = msm_tests::request(node.addr, "GET", &other, &[], None).unwrap();
    assert_eq!(r.status, 404, "a URL whose viewer was changed is refused");

    let long = "x".repeat(1501);
    let (ctype, body) = form(&[("description", &long)], Some(("p.jpg", &bytes)));
    let r = upload_form(&node, &token, &ctype, &body);
    assert_eq!(r.status, 422, "{}", r.text());

    // hostile forms: no file, not a picture, no boundary
    let (ctype, body) = form(&[("description", "nothing")], None);
    assert_eq!(upload_form(&node, &token, &ctype, &body).status, 422);
    let (ctype, body) = form(&[], Some(("x.svg", b"<svg onload=alert(1)></svg>")));
    assert_eq!(upload_form(&node, &token, &ctype, &body).status, 415);
    let r = upload_form(&node, &token, "multipart/form-data", &body);
    assert_eq!(r.status, 400, "{}", r.text());
    let r = upload_form(&node, "not-a-token", &ctype, &body);
    assert_eq!(r.status, 401);
    let _: Value = r.json();

    // an avatar and a display name in one profile form, as apps send them
    let (ctype, raw) = form(&[("display_name", "Alice A.")], Some(("me.jpg", &bytes)));
    let raw = replace_bytes(&raw, b"name=\"file\"", b"name=\"avatar\"");
    let r = msm_tests::request(
        node.addr,
        "PATCH",
        "/api/v1/accounts/update_credentials",
        &[("Authorization", &auth), ("Content-Type", &ctype)],
        Some(&raw),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    let me = r.json();
    assert_eq!(me["display_name"], "Alice A.");
    let avatar = me["avatar"].as_str().unwrap();
    let path = &avatar[avatar.find("/media/").expect("the avatar is the upload")..];
    let served = msm_tests::request(node.addr, "GET", path, &[], None).unwrap();
    assert_eq!(served.status, 200, "an avatar is public");
    std::fs::write(&stored, &served.body).unwrap();
    assert!(!exif_of(&stored).to_string().contains("GPS"));
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let i = hay
        .windows(from.len())
        .position(|w| w == from)
        .expect("present");
    [&hay[..i], to, &hay[i + from.len()..]].concat()
}

fn send(node: &Node, token: &str, method: &str, path: &str, body: &str) -> Resp {
    let auth = format!("Bearer {token}");
    node.http(
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(body),
    )
}

#[test]
fn whom_the_household_knows_stays_theirs_and_limits_cannot_be_dodged() {
    let lab = LabNode::new("private.test", &["alice", "bob"], PW, 9, "");
    let node = lab.start_with(&[]);
    let alice = node.login("alice", PW);

    // a hashtag only a followers-only post carries is found by nobody; a public one is
    let r = send(
        &node,
        &alice,
        "POST",
        "/api/v1/statuses",
        r##"{"status":"#secretplans for friends","visibility":"private"}"##,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &node,
        &alice,
        "POST",
        "/api/v1/statuses",
        r##"{"status":"#sunnyday for all"}"##,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let tags = |q: &str| get(&node, None, &format!("/api/v2/search?q={q}&type=hashtags")).json();
    assert_eq!(tags("secret")["hashtags"], serde_json::json!([]));
    assert_eq!(tags("sunny")["hashtags"][0]["name"], "sunnyday");

    // accounts: none to a caller without a token; a remote account by id neither
    let r = get(&node, None, "/api/v2/search?q=bob&type=accounts").json();
    assert_eq!(r["accounts"], serde_json::json!([]));
    let r = get(&node, Some(&alice), "/api/v2/search?q=bob&type=accounts").json();
    assert_eq!(r["accounts"][0]["acct"], "bob");
    let bob_id = r["accounts"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&node, None, &format!("/api/v1/accounts/{bob_id}")).status,
        200,
        "a local account is public (its page is)"
    );
    let r = send(
        &node,
        &alice,
        "POST",
        "/api/v1/statuses",
        r#"{"status":"hello @carol@elsewhere.test"}"#,
    );
    assert_eq!(r.status, 200);
    let carol = r.json()["mentions"][0]["id"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    if carol != "0" {
        assert_eq!(
            get(&node, None, &format!("/api/v1/accounts/{carol}")).status,
            404
        );
    }
    assert_eq!(get(&node, None, "/api/v1/instance/peers").status, 401);
    assert_eq!(
        get(&node, Some(&alice), "/api/v1/instance/peers").status,
        200
    );

    // a browser app's preflight on a path msm's own API shares is answered for CORS
    let r = node.http(
        "OPTIONS",
        "/api/v1/notifications",
        &[
            ("Origin", "https://phanpy.social"),
            ("Access-Control-Request-Method", "GET"),
        ],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    // random tokens get no fresh windows: they count against the address
    let left = |r: &Resp| -> u32 { r.header("x-ratelimit-remaining").unwrap().parse().unwrap() };
    let a = get(&node, Some("random-token-one"), "/api/v1/instance");
    let b = get(&node, Some("random-token-two"), "/api/v1/instance");
    assert_eq!(left(&a), left(&b) + 1, "one window for both");
    // app registrations are limited per address
    let mut codes = Vec::new();
    for i in 0..25 {
        let r = node.http(
            "POST",
            "/api/v1/apps",
            &[("Content-Type", "application/json")],
            Some(&format!(
                r#"{{"client_name":"app {i}","redirect_uris":"urn:ietf:wg:oauth:2.0:oob"}}"#
            )),
        );
        codes.push(r.status);
    }
    assert!(codes[..20].iter().all(|c| *c == 200), "{codes:?}");
    assert!(codes[20..].iter().all(|c| *c == 429), "{codes:?}");

    // a one-time password opens nothing here either
    let r = node.post_json(
        "/api/v1/admin/users",
        Some(&alice),
        &serde_json::json!({"name": "newbie"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let otp = r.json()["one_time_password"].as_str().unwrap().to_string();
    let newbie = node.login("newbie", &otp);
    let r = send(
        &node,
        &newbie,
        "POST",
        "/api/v1/statuses",
        r#"{"status":"hi"}"#,
    );
    assert_eq!(r.status, 403, "{}", r.text());
}
