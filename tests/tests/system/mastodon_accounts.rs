//! The Mastodon client API's accounts, relationships, markers, search and tags against a real
//! node: credentials read and changed, lookups, follow of a locked account (requested, then
//! following once accepted), mutes and blocks as relationship flags, followers kept private,
//! markers with versions, and search of accounts, statuses and hashtags.

use msm_tests::{data_dir, Node};
use serde_json::{json, Value};

const PW: &str = "a long password";

struct Api<'a> {
    node: &'a Node,
}

impl Api<'_> {
    fn call(&self, token: &str, method: &str, path: &str, form: Option<&str>) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        let mut h = vec![("Authorization", auth.as_str())];
        if form.is_some() {
            h.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let r = self.node.http(method, path, &h, form);
        let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        (r.status, v)
    }

    fn ok(&self, token: &str, method: &str, path: &str, form: Option<&str>) -> Value {
        let (status, v) = self.call(token, method, path, form);
        assert_eq!(status, 200, "{method} {path}: {v}\n{}", self.node.log());
        v
    }

    fn id_of(&self, token: &str, acct: &str) -> String {
        let v = self.ok(
            token,
            "GET",
            &format!("/api/v1/accounts/lookup?acct={acct}"),
            None,
        );
        v["id"].as_str().expect("id").to_string()
    }

    fn rel(&self, token: &str, id: &str) -> Value {
        let v = self.ok(
            token,
            "GET",
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            None,
        );
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
        v[0].clone()
    }
}

fn node() -> (tempfile::TempDir, Node) {
    let dir = data_dir(
        "a.test",
        &[("alice", PW, true), ("bob", PW, false), ("cid", PW, false)],
    );
    let node = Node::start(dir.path(), &[]);
    (dir, node)
}

#[test]
fn credentials_lookup_and_relationships_through_follow_block_and_mute() {
    let (_d, node) = node();
    let api = Api { node: &node };
    let (alice, bob, cid) = (
        node.login("alice", PW),
        node.login("bob", PW),
        node.login("cid", PW),
    );
    let me = api.ok(&alice, "GET", "/api/v1/accounts/verify_credentials", None);
    assert_eq!(me["acct"], "alice", "{me}");
    assert_eq!(me["source"]["privacy"], "public");
    assert_eq!(me["source"]["note"], "");
    let changed = api.ok(
        &alice,
        "PATCH",
        "/api/v1/accounts/update_credentials",
        Some("display_name=Alice%20A&note=gardens%20%26%20bees&locked=true"),
    );
    assert_eq!(changed["display_name"], "Alice A", "{changed}");
    assert_eq!(changed["source"]["note"], "gardens & bees");
    assert_eq!(changed["locked"], true);
    let me = api.ok(&alice, "GET", "/api/v1/accounts/verify_credentials", None);
    assert_eq!(me["display_name"], "Alice A");
    // msm's own profile sees the same change
    let p = api.ok(&alice, "GET", "/api/v1/users/alice@a.test", None);
    assert_eq!(p["bio"], "gardens & bees", "{p}");

    let alice_id = me["id"].as_str().unwrap().to_string();
    let bob_id = api.id_of(&alice, "bob");
    assert_eq!(api.id_of(&alice, "bob@a.test"), bob_id);
    assert_eq!(api.id_of(&alice, "@bob@a.test"), bob_id);
    let (status, _) = api.call(
        &alice,
        "GET",
        "/api/v1/accounts/lookup?acct=zed@far.test",
        None,
    );
    assert_eq!(status, 404);
    let b = api.ok(&alice, "GET", &format!("/api/v1/accounts/{bob_id}"), None);
    assert_eq!(b["acct"], "bob");
    let (status, _) = api.call(&alice, "GET", "/api/v1/accounts/999999", None);
    assert_eq!(status, 404);

    // bob asks to follow the locked alice: requested, then following once she accepts
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{alice_id}/follow"),
        None,
    );
    assert_eq!(
        (r["requested"].clone(), r["following"].clone()),
        (json!(true), json!(false)),
        "{r}"
    );
    let r = api.rel(&alice, &bob_id);
    assert_eq!(r["requested_by"], true, "{r}");
    assert_eq!(r["followed_by"], false, "{r}");
    let me = api.ok(&alice, "GET", "/api/v1/accounts/verify_credentials", None);
    assert_eq!(me["source"]["follow_requests_count"], 1, "{me}");
    // (accepted through msm's own API until OAuth gives this test an app token)
    let accepted = node.post_json(
        "/api/v1/follow_requests/bob@a.test/authorize",
        Some(&alice),
        &json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    let r = api.rel(&bob, &alice_id);
    assert_eq!(
        (r["following"].clone(), r["requested"].clone()),
        (json!(true), json!(false)),
        "{r}"
    );
    assert_eq!(api.rel(&alice, &bob_id)["followed_by"], true);

    // followers: alice sees hers (with a Link header), bob sees nobody's but his own
    let r = node.http(
        "GET",
        &format!("/api/v1/accounts/{alice_id}/followers"),
        &[("Authorization", &format!("Bearer {alice}"))],
        None,
    );
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["acct"], "bob");
    assert!(
        r.header("link").is_some_and(|l| l.contains("max_id=")),
        "{:?}",
        r.headers
    );
    let seen = api.ok(
        &bob,
        "GET",
        &format!("/api/v1/accounts/{alice_id}/followers"),
        None,
    );
    assert_eq!(seen, json!([]));
    let following = api.ok(
        &bob,
        "GET",
        &format!("/api/v1/accounts/{bob_id}/following"),
        None,
    );
    assert_eq!(following[0]["acct"], "alice", "{following}");

    // unfollow, and an unfollow of nobody followed is still a Relationship
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{alice_id}/unfollow"),
        None,
    );
    assert_eq!(r["following"], false, "{r}");
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{alice_id}/unfollow"),
        None,
    );
    assert_eq!(r["following"], false);

    // mute and block as flags on both sides
    let cid_id = api.id_of(&bob, "cid");
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{cid_id}/mute"),
        None,
    );
    assert_eq!(
        (r["muting"].clone(), r["muting_notifications"].clone()),
        (json!(true), json!(true))
    );
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{cid_id}/unmute"),
        None,
    );
    assert_eq!(r["muting"], false);
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{cid_id}/block"),
        None,
    );
    assert_eq!(r["blocking"], true, "{r}");
    assert_eq!(api.rel(&cid, &bob_id)["blocked_by"], true);
    let r = api.ok(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{cid_id}/unblock"),
        None,
    );
    assert_eq!(r["blocking"], false);
    assert_eq!(api.rel(&cid, &bob_id)["blocked_by"], false);

    // what msm cannot do, or may not be asked
    let (status, v) = api.call(
        &alice,
        "POST",
        &format!("/api/v1/accounts/{bob_id}/remove_from_followers"),
        None,
    );
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("block")),
        "{v}"
    );
    let (status, _) = api.call(
        &bob,
        "POST",
        &format!("/api/v1/accounts/{bob_id}/block"),
        None,
    );
    assert_eq!(status, 422);
    let many: String = (0..41).map(|i| format!("id[]={i}&")).collect();
    let (status, _) = api.call(
        &bob,
        "GET",
        &format!("/api/v1/accounts/relationships?{many}"),
        None,
    );
    assert_eq!(status, 422);
    let (status, _) = api.call(
        "not-a-token",
        "GET",
        "/api/v1/accounts/verify_credentials",
        None,
    );
    assert_eq!(status, 401);
}

#[test]
fn markers_and_search_of_accounts_statuses_and_hashtags() {
    let (_d, node) = node();
    let api = Api { node: &node };
    let (alice, bob) = (node.login("alice", PW), node.login("bob", PW));
    assert_eq!(
        api.ok(&alice, "GET", "/api/v1/markers?timeline[]=home", None),
        json!({})
    );
    let m = api.ok(
        &alice,
        "POST",
        "/api/v1/markers",
        Some("home[last_read_id]=5&notifications[last_read_id]=7"),
    );
    assert_eq!(m["home"]["last_read_id"], "5", "{m}");
    assert_eq!(m["home"]["version"], 1);
    let m = api.ok(
        &alice,
        "POST",
        "/api/v1/markers",
        Some("home[last_read_id]=9"),
    );
    assert_eq!(
        (m["home"]["version"].clone(), m.get("notifications")),
        (json!(2), None),
        "{m}"
    );
    let m = api.ok(
        &alice,
        "GET",
        "/api/v1/markers?timeline[]=home&timeline[]=notifications",
        None,
    );
    assert_eq!(m["home"]["last_read_id"], "9");
    assert_eq!(m["notifications"]["last_read_id"], "7");
    assert!(m["home"]["updated_at"]
        .as_str()
        .is_some_and(|d| d.ends_with('Z')));
    let (status, _) = api.call(
        &alice,
        "POST",
        "/api/v1/markers",
        Some("home[last_read_id]=x"),
    );
    assert_eq!(status, 422);
    assert!(api
        .ok(&bob, "GET", "/api/v1/markers", None)
        .as_object()
        .unwrap()
        .is_empty());

    for text in ["growing #tomatoes on the balcony", "a quiet day"] {
        let r = node.post_json("/api/v1/posts", Some(&bob), &json!({ "text": text }));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let found = api.ok(
        &alice,
        "GET",
        "/api/v2/search?q=tomatoes&type=statuses",
        None,
    );
    let statuses = found["statuses"].as_array().unwrap();
    assert_eq!(statuses.len(), 1, "{found}");
    assert_eq!(statuses[0]["account"]["acct"], "bob");
    assert_eq!(found["accounts"], json!([]));
    let found = api.ok(&alice, "GET", "/api/v2/search?q=tom&type=hashtags", None);
    assert_eq!(found["hashtags"][0]["name"], "tomatoes", "{found}");
    assert!(found["hashtags"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/tags/tomatoes"));
    let found = api.ok(&alice, "GET", "/api/v2/search?q=bob", None);
    assert_eq!(found["accounts"][0]["acct"], "bob", "{found}");
    let found = api.ok(&alice, "GET", "/api/v2/search?q=bob&following=true", None);
    assert_eq!(found["accounts"], json!([]), "alice follows nobody");
    let found = api.ok(&alice, "GET", "/api/v1/accounts/search?q=bo&limit=1", None);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let (status, _) = api.call(&alice, "GET", "/api/v2/search?q=x&type=people", None);
    assert_eq!(status, 400);
    // resolve: a full address nobody here knows, on a node that cannot be found, is no error
    let found = api.ok(
        &alice,
        "GET",
        "/api/v2/search?q=zed@nowhere.invalid&resolve=true",
        None,
    );
    assert_eq!(found["accounts"], json!([]), "{found}");
}
