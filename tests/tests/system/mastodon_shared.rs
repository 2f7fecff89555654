//! The Mastodon endpoints on paths msm's own API also has (`/api/v1/notifications`, `lists`,
//! `bookmarks`, `follow_requests`, `mutes`, `blocks`, `tags`, `media/{id}`, `search`), called
//! as apps call them: with tokens from OAuth's password grant, which is what sends a request on
//! a shared path to the Mastodon handlers. msm's web client, with its session, keeps msm's
//! answers on the same paths. Also: scopes on these paths and revoked tokens.

use msm_tests::mastodon::{call, ok, post_form};
use msm_tests::{data_dir, Node, Resp};
use serde_json::{json, Value};

const PW: &str = "a long password";

/// An app registered with every scope.
fn register(node: &Node) -> Value {
    let r = post_form(
        node,
        "/api/v1/apps",
        &[
            ("client_name", "Shared paths"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write follow push"),
        ],
    );
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    r.json()
}

/// An app token of `user` with `scope` (one password check of the log-in limiter each).
fn token(node: &Node, app: &Value, user: &str, scope: &str) -> String {
    let r = post_form(
        node,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
            ("username", user),
            ("password", PW),
            ("scope", scope),
        ],
    );
    assert_eq!(r.status, 200, "{}\n{}", r.text(), node.log());
    let t = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(t.len(), 43, "an app token, which shared paths route by");
    t
}

/// A node of a.test with alice (owner), bob and carol, an app, and each one's full token.
fn node() -> (tempfile::TempDir, Node, Value, [String; 3]) {
    let dir = data_dir(
        "a.test",
        &[
            ("alice", PW, true),
            ("bob", PW, false),
            ("carol", PW, false),
        ],
    );
    let node = Node::start(dir.path(), &[]);
    let app = register(&node);
    let tokens = ["alice", "bob", "carol"].map(|n| token(&node, &app, n, "read write follow push"));
    (dir, node, app, tokens)
}

fn get(node: &Node, token: &str, path: &str) -> Value {
    ok(call(node, Some(token), "GET", path, None))
}

fn post(node: &Node, token: &str, path: &str, body: Value) -> Value {
    ok(call(node, Some(token), "POST", path, Some(body)))
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().expect("a list").iter().map(id).collect()
}

/// The account id of the token's user.
fn me(node: &Node, token: &str) -> String {
    id(&get(node, token, "/api/v1/accounts/verify_credentials"))
}

/// The path and query of the `Link` header's `rel` page.
fn link(r: &Resp, rel: &str) -> Option<String> {
    let h = r.header("link")?;
    h.split(", ").find_map(|part| {
        let (url, r) = part.split_once(">; rel=\"")?;
        if r.trim_end_matches('"') != rel {
            return None;
        }
        let url = url.trim_start_matches('<');
        Some(url[url.find("/api/")?..].to_string())
    })
}

fn types(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn notifications_answer_apps_as_mastodon_and_the_web_client_as_msm() {
    let (_d, node, app, [alice, bob, carol]) = node();
    let session = node.login("alice", PW);
    let read_only = token(&node, &app, "alice", "read");
    let bob_id = me(&node, &bob);

    // bob favourites alice's post, then mentions her
    let post1 = post(
        &node,
        &alice,
        "/api/v1/statuses",
        json!({"status": "hello"}),
    );
    post(
        &node,
        &bob,
        &format!("/api/v1/statuses/{}/favourite", id(&post1)),
        json!({}),
    );
    let mention = post(
        &node,
        &bob,
        "/api/v1/statuses",
        json!({"status": "hi @alice@a.test"}),
    );

    let r = call(&node, Some(&alice), "GET", "/api/v1/notifications", None);
    let all = ok(r);
    assert_eq!(types(&all), ["mention", "favourite"], "{all}");
    assert_eq!(all[0]["status"]["id"], mention["id"]);
    assert_eq!(all[0]["account"]["id"], json!(bob_id));
    assert_eq!(all[0]["account"]["acct"], "bob");
    assert_eq!(all[1]["status"]["id"], post1["id"]);
    assert_eq!(all[1]["account"]["acct"], "bob");
    assert!(all[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let (n_mention, n_like) = (id(&all[0]), id(&all[1]));

    // filters by Mastodon's type names
    let only = get(&node, &alice, "/api/v1/notifications?types[]=mention");
    assert_eq!(ids(&only), [n_mention.as_str()]);
    let without = get(
        &node,
        &alice,
        "/api/v1/notifications?exclude_types[]=mention",
    );
    assert_eq!(ids(&without), [n_like.as_str()]);
    let both = get(
        &node,
        &alice,
        "/api/v1/notifications?types[]=favourite&types[]=mention",
    );
    assert_eq!(ids(&both).len(), 2);
    assert_eq!(
        get(&node, &alice, "/api/v1/notifications?types[]=poll"),
        json!([])
    );

    // paging with Link, keeping the filter
    let r = call(
        &node,
        Some(&alice),
        "GET",
        "/api/v1/notifications?limit=1",
        None,
    );
    let next = link(&r, "next").expect("a next page");
    assert_eq!(ids(&ok(r)), [n_mention.as_str()]);
    assert!(next.contains("limit=1"), "{next}");
    let r = call(&node, Some(&alice), "GET", &next, None);
    let prev = link(&r, "prev").expect("a previous page");
    assert_eq!(ids(&ok(r)), [n_like.as_str()]);
    assert_eq!(ids(&get(&node, &alice, &prev)), [n_mention.as_str()]);
    let r = call(
        &node,
        Some(&alice),
        "GET",
        "/api/v1/notifications?limit=1&exclude_types[]=favourite",
        None,
    );
    let next = link(&r, "next").unwrap();
    assert!(next.contains("exclude_types[]=favourite"), "{next}");
    assert_eq!(get(&node, &alice, &next), json!([]));

    // one by id; someone else's is not found
    let one = get(&node, &alice, &format!("/api/v1/notifications/{n_like}"));
    assert_eq!(one["type"], "favourite");
    assert_eq!(one["status"]["id"], post1["id"]);
    let r = call(
        &node,
        Some(&bob),
        "GET",
        &format!("/api/v1/notifications/{n_like}"),
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        get(&node, &alice, "/api/v1/notifications/unread_count"),
        json!({"count": 2})
    );

    // msm's web client on the same path still gets msm's answer
    let r = call(&node, Some(&session), "GET", "/api/v1/notifications", None);
    let msm = ok(r);
    assert_eq!(msm["unread"], 2, "{msm}");
    let kinds: Vec<&str> = msm["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["mention", "like"], "{msm}");

    // a read-only token reads but changes nothing
    assert_eq!(
        ids(&get(&node, &read_only, "/api/v1/notifications")).len(),
        2
    );
    for path in [
        format!("/api/v1/notifications/{n_like}/dismiss"),
        "/api/v1/notifications/clear".to_string(),
        "/api/v1/lists".to_string(),
    ] {
        let r = call(
            &node,
            Some(&read_only),
            "POST",
            &path,
            Some(json!({"title": "x"})),
        );
        assert_eq!(r.status, 403, "{path}: {}", r.text());
    }
    assert_eq!(get(&node, &alice, "/api/v1/lists"), json!([]));

    // dismiss one (someone else cannot), then clear
    let path = format!("/api/v1/notifications/{n_like}/dismiss");
    assert_eq!(call(&node, Some(&bob), "POST", &path, None).status, 404);
    assert_eq!(post(&node, &alice, &path, json!({})), json!({}));
    assert_eq!(call(&node, Some(&alice), "POST", &path, None).status, 404);
    assert_eq!(
        ids(&get(&node, &alice, "/api/v1/notifications")),
        [n_mention]
    );
    assert_eq!(
        post(&node, &alice, "/api/v1/notifications/clear", json!({})),
        json!({})
    );
    assert_eq!(get(&node, &alice, "/api/v1/notifications"), json!([]));
    assert_eq!(
        get(&node, &alice, "/api/v1/notifications/unread_count"),
        json!({"count": 0})
    );

    // follows, reblogs and replies arrive with their Mastodon types; min_id pages from below
    let last = id(&all[0]);
    let carol_id = me(&node, &carol);
    let alice_id = me(&node, &alice);
    post(
        &node,
        &carol,
        &format!("/api/v1/accounts/{alice_id}/follow"),
        json!({}),
    );
    post(
        &node,
        &bob,
        &format!("/api/v1/statuses/{}/reblog", id(&post1)),
        json!({}),
    );
    let reply = post(
        &node,
        &bob,
        "/api/v1/statuses",
        json!({"status": "a reply", "in_reply_to_id": id(&post1)}),
    );
    let more = get(&node, &alice, "/api/v1/notifications");
    assert_eq!(types(&more), ["mention", "reblog", "follow"], "{more}");
    assert_eq!(more[0]["status"]["id"], reply["id"]);
    assert_eq!(more[1]["status"]["id"], post1["id"]);
    assert_eq!(more[2]["account"]["id"], json!(carol_id));
    assert!(more[2]["status"].is_null(), "{more}");
    let oldest = get(
        &node,
        &alice,
        &format!("/api/v1/notifications?min_id={last}&limit=2"),
    );
    assert_eq!(
        types(&oldest),
        ["reblog", "follow"],
        "newest first: {oldest}"
    );
    let newest = get(
        &node,
        &alice,
        &format!("/api/v1/notifications?since_id={last}&limit=2"),
    );
    assert_eq!(types(&newest), ["mention", "reblog"], "{newest}");

    // a revoked token stops on the shared paths too
    let r = post_form(
        &node,
        "/oauth/revoke",
        &[
            ("token", &read_only),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for path in [
        "/api/v1/notifications",
        "/api/v1/lists",
        "/api/v1/bookmarks",
        "/api/v1/mutes",
    ] {
        let r = call(&node, Some(&read_only), "GET", path, None);
        assert_eq!(r.status, 401, "{path}: {}", r.text());
        assert!(r.json()["error"].is_string());
    }
}

#[test]
fn lists_bookmarks_favourites_follow_requests_mutes_and_blocks() {
    let (_d, node, _app, [alice, bob, carol]) = node();
    let (bob_id, carol_id) = (me(&node, &bob), me(&node, &carol));

    // lists hold only people alice follows
    let rel = post(
        &node,
        &alice,
        &format!("/api/v1/accounts/{bob_id}/follow"),
        json!({}),
    );
    assert_eq!(rel["following"], true, "{rel}");
    let list = post(&node, &alice, "/api/v1/lists", json!({"title": "friends"}));
    assert_eq!(list["title"], "friends");
    let lid = id(&list);
    let r = call(
        &node,
        Some(&alice),
        "PUT",
        &format!("/api/v1/lists/{lid}"),
        Some(json!({"title": "pals"})),
    );
    assert_eq!(ok(r)["title"], "pals");
    let lists = get(&node, &alice, "/api/v1/lists");
    assert_eq!(lists[0]["title"], "pals");
    assert_eq!(lists.as_array().unwrap().len(), 1);
    assert_eq!(get(&node, &bob, "/api/v1/lists"), json!([]), "alice's own");
    let members = format!("/api/v1/lists/{lid}/accounts");
    let r = call(
        &node,
        Some(&alice),
        "POST",
        &members,
        Some(json!({"account_ids": [bob_id, carol_id]})),
    );
    assert_eq!(r.status, 422, "carol is not followed: {}", r.text());
    assert_eq!(get(&node, &alice, &members), json!([]), "nothing added");
    let r = call(
        &node,
        Some(&bob),
        "POST",
        &members,
        Some(json!({"account_ids": [carol_id]})),
    );
    assert_eq!(r.status, 404, "not bob's list");
    post(&node, &alice, &members, json!({"account_ids": [bob_id]}));
    assert_eq!(ids(&get(&node, &alice, &members)), [bob_id.as_str()]);
    let in_list = post(
        &node,
        &bob,
        "/api/v1/statuses",
        json!({"status": "for the list"}),
    );
    post(
        &node,
        &carol,
        "/api/v1/statuses",
        json!({"status": "not in it"}),
    );
    let timeline = get(&node, &alice, &format!("/api/v1/timelines/list/{lid}"));
    assert_eq!(ids(&timeline), [id(&in_list)], "{timeline}");
    let holding = get(&node, &alice, &format!("/api/v1/accounts/{bob_id}/lists"));
    assert_eq!(ids(&holding), [lid.as_str()]);
    let r = call(
        &node,
        Some(&alice),
        "DELETE",
        &format!("{members}?account_ids[]={bob_id}"),
        None,
    );
    assert_eq!(ok(r), json!({}));
    assert_eq!(get(&node, &alice, &members), json!([]));
    assert_eq!(
        get(&node, &alice, &format!("/api/v1/accounts/{bob_id}/lists")),
        json!([])
    );
    let r = call(
        &node,
        Some(&alice),
        "DELETE",
        &format!("/api/v1/lists/{lid}"),
        None,
    );
    assert_eq!(ok(r), json!({}));
    let gone = call(
        &node,
        Some(&alice),
        "GET",
        &format!("/api/v1/lists/{lid}"),
        None,
    );
    assert_eq!(gone.status, 404);
    let gone = call(
        &node,
        Some(&alice),
        "GET",
        &format!("/api/v1/timelines/list/{lid}"),
        None,
    );
    assert_eq!(gone.status, 404);

    // bookmarks page with Link; unbookmark
    let other = post(&node, &bob, "/api/v1/statuses", json!({"status": "second"}));
    for s in [&in_list, &other] {
        let b = post(
            &node,
            &alice,
            &format!("/api/v1/statuses/{}/bookmark", id(s)),
            json!({}),
        );
        assert_eq!(b["bookmarked"], true);
    }
    let r = call(
        &node,
        Some(&alice),
        "GET",
        "/api/v1/bookmarks?limit=1",
        None,
    );
    let next = link(&r, "next").expect("a next page of bookmarks");
    assert_eq!(ids(&ok(r)), [id(&other)]);
    assert_eq!(ids(&get(&node, &alice, &next)), [id(&in_list)]);
    post(
        &node,
        &alice,
        &format!("/api/v1/statuses/{}/unbookmark", id(&other)),
        json!({}),
    );
    let left = get(&node, &alice, "/api/v1/bookmarks");
    assert_eq!(ids(&left), [id(&in_list)]);
    assert_eq!(left[0]["bookmarked"], true);
    assert_eq!(get(&node, &bob, "/api/v1/bookmarks"), json!([]));

    // favourites
    post(
        &node,
        &alice,
        &format!("/api/v1/statuses/{}/favourite", id(&other)),
        json!({}),
    );
    let favs = get(&node, &alice, "/api/v1/favourites");
    assert_eq!(ids(&favs), [id(&other)]);
    assert_eq!(favs[0]["favourited"], true);

    // follow requests of a locked account, by account id
    let locked = call(
        &node,
        Some(&carol),
        "PATCH",
        "/api/v1/accounts/update_credentials",
        Some(json!({"locked": true})),
    );
    assert_eq!(ok(locked)["locked"], true);
    let alice_id = me(&node, &alice);
    for t in [&alice, &bob] {
        let rel = post(
            &node,
            t,
            &format!("/api/v1/accounts/{carol_id}/follow"),
            json!({}),
        );
        assert_eq!(rel["requested"], true, "{rel}");
    }
    let mut asking = ids(&get(&node, &carol, "/api/v1/follow_requests"));
    asking.sort();
    let mut want = vec![alice_id.clone(), bob_id.clone()];
    want.sort();
    assert_eq!(asking, want);
    let rel = post(
        &node,
        &carol,
        &format!("/api/v1/follow_requests/{bob_id}/authorize"),
        json!({}),
    );
    assert_eq!(rel["id"], json!(bob_id));
    assert_eq!(rel["followed_by"], true, "{rel}");
    let rel = post(
        &node,
        &carol,
        &format!("/api/v1/follow_requests/{alice_id}/reject"),
        json!({}),
    );
    assert_eq!(rel["followed_by"], false, "{rel}");
    assert_eq!(rel["requested_by"], false, "{rel}");
    assert_eq!(get(&node, &carol, "/api/v1/follow_requests"), json!([]));
    let r = call(
        &node,
        Some(&carol),
        "POST",
        &format!("/api/v1/follow_requests/{alice_id}/authorize"),
        None,
    );
    assert_eq!(r.status, 404, "no request left: {}", r.text());
    let rel = get(
        &node,
        &bob,
        &format!("/api/v1/accounts/relationships?id[]={carol_id}"),
    );
    assert_eq!(rel[0]["following"], true, "{rel}");

    // mutes and blocks
    assert_eq!(get(&node, &alice, "/api/v1/mutes"), json!([]));
    post(
        &node,
        &alice,
        &format!("/api/v1/accounts/{bob_id}/mute"),
        json!({}),
    );
    post(
        &node,
        &alice,
        &format!("/api/v1/accounts/{carol_id}/block"),
        json!({}),
    );
    assert_eq!(ids(&get(&node, &alice, "/api/v1/mutes")), [bob_id.as_str()]);
    assert_eq!(ids(&get(&node, &alice, "/api/v1/blocks")), [carol_id]);
    assert_eq!(get(&node, &bob, "/api/v1/blocks"), json!([]));

    // hostile input is refused in words and changes nothing
    let many: Vec<String> = (0..41).map(|i| i.to_string()).collect();
    let bad = [
        (
            "POST",
            "/api/v1/lists".to_string(),
            json!({"title": "x".repeat(5000)}),
            422,
        ),
        (
            "POST",
            "/api/v1/lists".to_string(),
            json!({"title": "  "}),
            422,
        ),
        ("GET", "/api/v1/lists/-1".to_string(), json!({}), 404),
        (
            "GET",
            "/api/v1/lists/99999999999999999999".to_string(),
            json!({}),
            404,
        ),
        (
            "GET",
            "/api/v1/notifications/abc".to_string(),
            json!({}),
            404,
        ),
        (
            "GET",
            "/api/v1/notifications?max_id=abc".to_string(),
            json!({}),
            400,
        ),
        (
            "GET",
            "/api/v1/bookmarks?limit=x".to_string(),
            json!({}),
            400,
        ),
        (
            "GET",
            format!("/api/v1/tags/{}", "a".repeat(300)),
            json!({}),
            404,
        ),
        (
            "GET",
            "/api/v1/tags/%3Cscript%3E".to_string(),
            json!({}),
            404,
        ),
    ];
    for (method, path, body, status) in bad {
        let r = call(&node, Some(&alice), method, &path, Some(body));
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert!(r.json()["error"].is_string(), "{}", r.text());
    }
    let seventeen: String = (0..17).map(|_| "types[]=mention&").collect();
    let r = call(
        &node,
        Some(&alice),
        "GET",
        &format!("/api/v1/notifications?{seventeen}"),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let list = post(&node, &alice, "/api/v1/lists", json!({"title": "many"}));
    let r = call(
        &node,
        Some(&alice),
        "POST",
        &format!("/api/v1/lists/{}/accounts", id(&list)),
        Some(json!({ "account_ids": many })),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let r = call(
        &node,
        Some(&alice),
        "POST",
        &format!("/api/v1/lists/{}/accounts", id(&list)),
        Some(json!({ "account_ids": ["424242"] })),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    for title in ["x".repeat(5000), " ".to_string()] {
        let r = call(
            &node,
            Some(&alice),
            "PUT",
            &format!("/api/v1/lists/{}", id(&list)),
            Some(json!({ "title": title })),
        );
        assert_eq!(r.status, 422, "{}", r.text());
    }
    let lists = get(&node, &alice, "/api/v1/lists");
    assert_eq!(ids(&lists), [id(&list)], "only the good one: {lists}");
    assert_eq!(lists[0]["title"], "many");
    // msm's web client on the same path gets msm's answer (with members)
    let session = node.login("alice", PW);
    let msm = get(&node, &session, "/api/v1/lists");
    assert_eq!(msm["lists"][0]["title"], "many", "{msm}");
    assert_eq!(msm["lists"][0]["members"], json!([]), "{msm}");
    assert_eq!(
        get(
            &node,
            &alice,
            &format!("/api/v1/lists/{}/accounts", id(&list))
        ),
        json!([])
    );
    let all = get(&node, &carol, "/api/v1/notifications");
    assert!(types(&all).contains(&"follow_request".to_string()), "{all}");
    let r = call(
        &node,
        Some(&carol),
        "GET",
        "/api/v1/notifications?limit=-5",
        None,
    );
    assert_eq!(ids(&ok(r)).len(), 1, "a limit below 1 is 1");

    // a tag and a search on their shared paths
    post(
        &node,
        &bob,
        "/api/v1/statuses",
        json!({"status": "about #Rust"}),
    );
    let tag = get(&node, &alice, "/api/v1/tags/rust");
    assert_eq!(
        tag["name"].as_str().unwrap().to_lowercase(),
        "rust",
        "{tag}"
    );
    let found = get(&node, &alice, "/api/v1/search?q=bob&type=accounts");
    assert_eq!(found["accounts"][0]["acct"], "bob", "{found}");
}

/// A `multipart/form-data` body with `description` and the picture in `file`.
fn form(description: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let b = "msmSharedBoundary4c2a";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn upload(node: &Node, token: &str, description: &str, bytes: &[u8]) -> Value {
    let (ctype, body) = form(description, bytes);
    let auth = format!("Bearer {token}");
    let h = [("Authorization", auth.as_str()), ("Content-Type", &ctype)];
    let r = msm_tests::request(node.addr, "POST", "/api/v2/media", &h, Some(&body)).unwrap();
    ok(r)
}

/// The path of an entity's URL on this node.
fn local_path(url: &str) -> &str {
    &url[url.find("/media/").expect("a picture of this node")..]
}

#[test]
fn media_descriptions_reach_the_status_and_its_picture_loads_without_a_token() {
    let (_d, node, _app, [alice, bob, _]) = node();
    let session = node.login("alice", PW);
    let tmp = tempfile::tempdir().unwrap();
    let photo =
        |name: &str| std::fs::read(super::pictures::gps_photo(tmp.path(), name, 120, 80)).unwrap();

    let m = upload(&node, &alice, "first words", &photo("a.jpg"));
    let mid = id(&m);
    assert_eq!(m["description"], "first words");
    let path = format!("/api/v1/media/{mid}");
    let r = call(
        &node,
        Some(&alice),
        "PUT",
        &path,
        Some(json!({"description": "a red and blue cloud"})),
    );
    assert_eq!(ok(r)["description"], "a red and blue cloud");
    assert_eq!(
        get(&node, &alice, &path)["description"],
        "a red and blue cloud"
    );
    let r = call(&node, Some(&bob), "GET", &path, None);
    assert_eq!(r.status, 404, "not bob's upload");
    let r = call(
        &node,
        Some(&alice),
        "PUT",
        &path,
        Some(json!({"description": "x".repeat(5000)})),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    // msm's web client on the same path does not reach the Mastodon handler
    let r = call(
        &node,
        Some(&session),
        "PUT",
        &path,
        Some(json!({"description": "from the web"})),
    );
    assert_ne!(r.status, 200, "{}", r.text());

    let s = post(
        &node,
        &alice,
        "/api/v1/statuses",
        json!({"status": "look", "media_ids": [mid]}),
    );
    let att = &s["media_attachments"][0];
    assert_eq!(att["id"], json!(mid));
    assert_eq!(att["description"], "a red and blue cloud", "{s}");
    let seen = get(&node, &bob, &format!("/api/v1/statuses/{}", id(&s)));
    let url = seen["media_attachments"][0]["url"].as_str().unwrap();
    let served = node.http("GET", local_path(url), &[], None);
    assert_eq!(served.status, 200, "a public post's picture loads bare");
    assert!(served.body.starts_with(&[0xff, 0xd8]), "a JPEG");

    // a followers-only post's picture: not served bare by its plain path
    post(
        &node,
        &bob,
        &format!("/api/v1/accounts/{}/follow", me(&node, &alice)),
        json!({}),
    );
    let m = upload(&node, &alice, "", &photo("b.jpg"));
    let s = post(
        &node,
        &alice,
        "/api/v1/statuses",
        json!({"status": "ours", "media_ids": [id(&m)], "visibility": "private"}),
    );
    assert_eq!(s["visibility"], "private");
    assert_eq!(s["media_attachments"][0]["description"], Value::Null);
    let bare = node.http("GET", &format!("/media/{}", id(&m)), &[], None);
    assert_ne!(bare.status, 200, "a followers-only picture needs a viewer");
}
