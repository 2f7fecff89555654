//! More of the exchange between msmd and a real Fedify 2.3.6 peer (issue 16), beside
//! `fedify_exchange`: the fields of what alice sends and the acts the first exchange leaves out.
//!
//! - [`alice_sends_every_kind_of_post_and_boosts_both_ways`]: a note with a mention of the
//!   peer, a hashtag, a picture with alt text (which the peer can GET) and a content warning;
//!   a followers-only note (addressed to her followers, not to Public); a reply to the peer's
//!   note (`inReplyTo`): each arrives as a verified `Create` with those fields. The peer boosts
//!   her note (a repost notification), alice boosts the peer's note and takes the boost back:
//!   the peer receives a verified `Announce`, then `Undo` of it.
//! - [`alice_updates_her_profile_and_blocks_the_peer`]: her new display name reaches the peer
//!   as a verified `Update` of her `Person`; her block reaches it as a verified `Block`, the
//!   peer stops being her follower, and its later posts naming her are not stored; her unblock
//!   reaches it as `Undo` of the `Block`.
//! - [`an_app_finds_the_peer_by_its_address_and_follows_it_by_account_id`]: a Mastodon app's
//!   search with `resolve=true` makes the peer known (WebFinger, its actor); the follow by the
//!   account id it gives reaches the peer as a verified `Follow`.
//!
//! Needs root, iproute2, dnsmasq, openssl, npm and ImageMagick (`tests/run` installs them).

use msm_tests::fedify::{FedLab, Peer, Signing};
use msm_tests::Node;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PEER: &str = "peer.test";
const MSM: &str = "msm.test";
const ALICE: &str = "https://msm.test/users/alice";
const PW: &str = "a long password";
/// How long the node may take to show what the peer sent.
const WAIT: Duration = Duration::from_secs(20);

/// A lab with msmd (its own HTTPS, trusting the lab CA) and a Fedify peer that follows alice.
struct Exchange {
    // Field order is drop order: the processes first, then the lab.
    peer: Peer,
    node: Node,
    token: String,
    /// The id of the peer's follow of alice.
    follow: String,
    _cfg: tempfile::TempDir,
    _data: tempfile::TempDir,
    lab: FedLab,
}

impl Exchange {
    fn new() -> Exchange {
        let lab = FedLab::new(&[(PEER, "127.0.0.2"), (MSM, "127.0.0.4")]);
        let data = msm_tests::data_dir(MSM, &[("alice", PW, true)]);
        let cfg = tempfile::tempdir().unwrap();
        let file = lab.write_msmd_config(MSM, cfg.path());
        let node = Node::start_in(lab.ns(), data.path(), &["--config", file.to_str().unwrap()]);
        let peer = lab.peer(PEER, Signing::Rfc9421);
        let follow = peer.ok("follow", &json!({ "acct": "@alice@msm.test" }))["id"]
            .as_str()
            .unwrap()
            .to_string();
        let accept = peer.wait_received("alice's Accept", |r| r["type"] == "Accept");
        assert_eq!(accept["verified"], true, "{accept:#}\n{}", node.log());
        assert_eq!(followers(&node), 1);
        let token = node.login("alice", PW);
        Exchange {
            peer,
            node,
            token,
            follow,
            _cfg: cfg,
            _data: data,
            lab,
        }
    }

    /// `method path` as alice, with a JSON body; the answer must be `want`.
    fn call(&self, method: &str, path: &str, body: Option<Value>, want: u16) -> Value {
        let auth = format!("Bearer {}", self.token);
        let h = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        let r = self
            .node
            .http(method, path, &h, body.map(|b| b.to_string()).as_deref());
        assert_eq!(r.status, want, "{method} {path}: {}", r.text());
        serde_json::from_str(&r.text()).unwrap_or(Value::Null)
    }

    /// Uploads a JPEG picture as alice; its id.
    fn upload(&self, bytes: Vec<u8>) -> String {
        let (addr, auth) = (self.node.addr, format!("Bearer {}", self.token));
        let r = msm_tests::netns::in_netns(self.lab.ns(), move || {
            let h = [
                ("Authorization", auth.as_str()),
                ("Content-Type", "image/jpeg"),
            ];
            msm_tests::request(addr, "POST", "/api/v1/media", &h, Some(&bytes))
        })
        .expect("upload");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_string()
    }

    /// Polls GET `path` (as alice) until `found` picks something out of the answer.
    fn wait_for(&self, path: &str, found: impl Fn(&Value) -> Option<Value>) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.call("GET", path, None, 200);
            if let Some(x) = found(&v) {
                return x;
            }
            assert!(
                Instant::now() < deadline,
                "nothing found at {path}: {v:#}\n{}",
                self.node.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for alice's notification of `kind` by the peer for which `pred` holds.
    fn notified(&self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for("/api/v1/notifications", |v| {
            v["notifications"].as_array().and_then(|n| {
                n.iter()
                    .find(|n| n["actor"] == "peer@peer.test" && n["kind"] == kind && pred(n))
                    .cloned()
            })
        })
    }

    /// The activity of `kind` the peer received whose object is `object`, verified.
    fn received(&self, kind: &str, object: &str) -> Value {
        let got = self
            .peer
            .wait_received(&format!("alice's {kind} of {object}"), |r| {
                r["type"] == kind && r["object"] == object
            });
        assert_eq!(got["verified"], true, "{got:#}\n{}", self.node.log());
        assert_eq!(got["actor"], ALICE, "{got:#}");
        got
    }

    /// The `Create` the peer received of the note whose content contains `text`, verified.
    fn created(&self, text: &str) -> Value {
        let got = self
            .peer
            .wait_received(&format!("alice's Create of {text:?}"), |r| {
                r["type"] == "Create"
                    && r["activity"]["object"]["content"]
                        .as_str()
                        .is_some_and(|c| c.contains(text))
            });
        assert_eq!(got["verified"], true, "{got:#}\n{}", self.node.log());
        assert_eq!(got["actor"], ALICE, "{got:#}");
        got
    }
}

/// The node's count of inbox POSTs with `outcome` (`/metrics` is rebuilt once a second).
fn inbox_count(node: &Node, outcome: &str) -> u64 {
    let r = node.http("GET", "/metrics", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let line = format!("msm_activitypub_inbox_total{{outcome=\"{outcome}\"}} ");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(&line).and_then(|n| n.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {line} in /metrics:\n{}", r.text()))
}

/// A JSON-LD value that may be compacted to one item or a list, as a list.
fn many(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Whether an audience entry names the public collection (compacted or not).
fn is_public(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s == "as:Public" || s == "Public" || s.ends_with("#Public"))
}

/// GET `path` as a fediverse server asks for it: the ActivityStreams JSON.
fn activity(node: &Node, path: &str) -> Value {
    let r = node.http(
        "GET",
        path,
        &[("Accept", "application/activity+json")],
        None,
    );
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

/// alice's followers count, as her followers collection says.
fn followers(node: &msm_tests::Node) -> u64 {
    msm_tests::fedify::followers_count(node, "alice")
}

#[test]
fn alice_sends_every_kind_of_post_and_boosts_both_ways() {
    let x = Exchange::new();

    // a note naming the peer, with a hashtag, a picture with alt text and a content warning
    let tmp = tempfile::tempdir().unwrap();
    let photo = crate::pictures::gps_photo(tmp.path(), "photo.jpg", 64, 48);
    let media = x.upload(std::fs::read(&photo).unwrap());
    let alt = "A red and blue plasma, for the peer";
    let posted = x.call(
        "POST",
        "/api/v1/posts",
        Some(
            json!({ "text": "a picture for @peer@peer.test #fedmore", "summary": "colours",
                     "media": [{ "id": media, "alt": alt }] }),
        ),
        201,
    );
    let create = x.created("a picture for");
    let note = &create["activity"]["object"];
    assert_eq!(note["summary"], "colours", "{create:#}");
    assert_eq!(note["sensitive"], true, "{create:#}");
    let tags = many(&note["tag"]);
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Mention" && t["href"] == x.peer.actor()),
        "{create:#}"
    );
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Hashtag" && t["name"] == "#fedmore"),
        "{create:#}"
    );
    let pictures = many(&note["attachment"]);
    assert_eq!(pictures.len(), 1, "{create:#}");
    assert_eq!(pictures[0]["name"], alt, "{create:#}");
    assert_eq!(pictures[0]["mediaType"], "image/jpeg", "{create:#}");
    // `url` as a string, or as a `Link` (Fedify's compaction of a typed URL)
    let picture = match &pictures[0]["url"] {
        Value::String(s) => s.clone(),
        link => link["href"].as_str().unwrap_or_default().to_string(),
    };
    assert!(picture.starts_with("https://msm.test/"), "{create:#}");
    let got = x.peer.ok("get", &json!({ "url": &picture }));
    assert_eq!(got["status"], 200, "GET {picture}: {got}");
    assert_eq!(got["type"], "image/jpeg", "GET {picture}: {got}");
    assert!(got["length"].as_u64().unwrap_or(0) > 0, "{got}");
    // the peer is addressed as the note's mention
    assert!(
        many(&note["cc"])
            .iter()
            .any(|c| c == &json!(x.peer.actor())),
        "{create:#}"
    );
    let alice_note = create["object"].as_str().unwrap().to_string();
    assert_eq!(
        alice_note,
        format!("{ALICE}/statuses/{}", posted["seq"]),
        "{create:#}"
    );

    // followers only: to her followers collection, never to Public
    x.call(
        "POST",
        "/api/v1/posts",
        Some(json!({ "text": "for my followers only", "audience": "followers" })),
        201,
    );
    let create = x.created("for my followers only");
    let note = &create["activity"]["object"];
    for v in [
        &note["to"],
        &note["cc"],
        &create["activity"]["to"],
        &create["activity"]["cc"],
    ] {
        assert!(!many(v).iter().any(is_public), "{create:#}");
    }
    assert!(
        many(&note["to"])
            .iter()
            .any(|t| t == &json!(format!("{ALICE}/followers"))),
        "{create:#}"
    );

    // the peer posts naming alice; her reply names the peer's note as `inReplyTo`
    let theirs = x.peer.ok(
        "post",
        &json!({ "content": "<p>a question for <a href=\"https://msm.test/@alice\">@alice</a></p>",
                 "mentions": ["@alice@msm.test"] }),
    );
    let their_note = theirs["id"].as_str().unwrap().to_string();
    let mention = x.notified("mention", |_| true);
    let message = mention["message"].as_str().unwrap().to_string();
    x.call(
        "POST",
        "/api/v1/posts",
        Some(json!({ "text": "an answer", "reply_to": message })),
        201,
    );
    let create = x.created("an answer");
    assert_eq!(
        create["activity"]["object"]["inReplyTo"],
        their_note.as_str(),
        "{create:#}"
    );

    // the peer boosts alice's note: a repost notification; its Undo takes the repost away
    x.peer.ok("announce", &json!({ "object": alice_note }));
    let boost = x.notified("repost", |_| true);
    let seq = alice_note.rsplit('/').next().unwrap();
    assert_eq!(
        boost["target"],
        format!("alice@msm.test/{seq}"),
        "{boost:#}"
    );
    x.peer.ok("unannounce", &json!({ "object": alice_note }));
    x.wait_for("/api/v1/notifications", |v| {
        let n = v["notifications"].as_array()?;
        (!n.iter().any(|n| n["kind"] == "repost")).then_some(Value::Null)
    });

    // alice boosts the peer's note, then takes it back: Announce, then Undo of it
    let repost = x.call(
        "POST",
        "/api/v1/reposts",
        Some(json!({ "of": message })),
        201,
    );
    let announce = x.received("Announce", &their_note);
    assert!(
        many(&announce["activity"]["to"]).iter().any(is_public),
        "{announce:#}"
    );
    x.call(
        "DELETE",
        &format!("/api/v1/posts/{}", repost["seq"]),
        None,
        201,
    );
    let undo = x.received("Undo", announce["id"].as_str().unwrap());
    assert_eq!(undo["activity"]["object"]["type"], "Announce", "{undo:#}");

    // her collections, paged as Mastodon pages them: the outbox lists her public posts newest
    // first (not the followers-only one), followers the peer's actor, featured nothing
    let outbox = activity(&x.node, "/users/alice/outbox");
    assert_eq!(outbox["type"], "OrderedCollection", "{outbox:#}");
    assert_eq!(
        outbox["first"],
        format!("{ALICE}/outbox?page=true"),
        "{outbox:#}"
    );
    let page = activity(&x.node, "/users/alice/outbox?page=true");
    assert_eq!(page["type"], "OrderedCollectionPage", "{page:#}");
    assert_eq!(page["partOf"], format!("{ALICE}/outbox"), "{page:#}");
    let items = page["orderedItems"].as_array().unwrap();
    let notes: Vec<&str> = items
        .iter()
        .filter(|a| a["type"] == "Create")
        .filter_map(|a| a["object"]["content"].as_str())
        .collect();
    assert_eq!(notes.len(), 2, "{page:#}");
    assert!(
        notes[0].contains("an answer") && notes[1].contains("a picture for"),
        "{notes:?}"
    );
    assert!(page.get("next").is_none(), "{page:#}");
    let followers = activity(&x.node, "/users/alice/followers");
    assert_eq!(followers["totalItems"], 1, "{followers:#}");
    let first = followers["first"]
        .as_str()
        .unwrap()
        .strip_prefix("https://msm.test")
        .unwrap();
    let page = activity(&x.node, first);
    assert_eq!(page["orderedItems"], json!([x.peer.actor()]), "{page:#}");
    let page = activity(&x.node, "/users/alice/following?page=1");
    assert_eq!(page["orderedItems"], json!([]), "{page:#}");
    let featured = activity(&x.node, "/users/alice/collections/featured");
    assert_eq!(featured["orderedItems"], json!([]), "{featured:#}");
    // a hostile page number is refused, with a reason
    let r = x.node.http(
        "GET",
        "/users/alice/followers?page=99999999999",
        &[("Accept", "application/activity+json")],
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // the peer reads her outbox as an ActivityStreams collection
    let read = x
        .peer
        .ok("fetch", &json!({ "uri": format!("{ALICE}/outbox") }));
    assert_eq!(read["totalItems"], outbox["totalItems"], "{read:#}");

    let errors = x.peer.errors();
    assert!(errors.is_empty(), "the peer logged errors: {errors:?}");
}

#[test]
fn alice_updates_her_profile_and_blocks_the_peer() {
    let x = Exchange::new();

    // a new display name and bio: the peer receives a verified Update of her Person
    let profile = json!({ "display_name": "Alice of the router", "bio": "tending #msm" });
    x.call("PUT", "/api/v1/profile", Some(profile), 201);
    let update = x.received("Update", ALICE);
    let person = &update["activity"]["object"];
    assert_eq!(person["type"], "Person", "{update:#}");
    assert_eq!(person["name"], "Alice of the router", "{update:#}");
    assert!(
        person["summary"]
            .as_str()
            .is_some_and(|s| s.contains("tending")),
        "{update:#}"
    );

    // a note the peer will try to like once blocked
    let posted = x.call(
        "POST",
        "/api/v1/posts",
        Some(json!({ "text": "before the block" })),
        201,
    );
    let create = x.created("before the block");
    let alice_note = create["object"].as_str().unwrap().to_string();
    assert_eq!(alice_note, format!("{ALICE}/statuses/{}", posted["seq"]));

    // alice blocks the peer: its follow is rejected and it receives a verified Block; it is no
    // longer her follower, on either side
    x.call(
        "POST",
        "/api/v1/blocks",
        Some(json!({ "address": "peer@peer.test" })),
        200,
    );
    x.received("Reject", &x.follow);
    let block = x.received("Block", &x.peer.actor());
    assert_eq!(followers(&x.node), 0);
    assert!(
        !x.peer.following().iter().any(|f| f["state"] == "accepted"),
        "{:?}",
        x.peer.following()
    );

    // what the peer sends her now is answered and dropped: a post naming her, a like
    let ignored = inbox_count(&x.node, "ignored");
    x.peer.ok(
        "post",
        &json!({ "content": "<p>still there, <a href=\"https://msm.test/@alice\">@alice</a>?</p>",
                 "mentions": ["@alice@msm.test"] }),
    );
    x.peer.ok("like", &json!({ "object": alice_note }));
    let deadline = Instant::now() + WAIT;
    while inbox_count(&x.node, "ignored") < ignored + 2 {
        assert!(Instant::now() < deadline, "{}", x.node.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let n = x.call("GET", "/api/v1/notifications", None, 200);
    assert!(
        !n["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["actor"] == "peer@peer.test" && n["kind"] != "follow"),
        "{n:#}"
    );
    // nothing of the peer's is stored: msmd knows no post of it
    let auth = format!("Bearer {}", x.token);
    let posts = x.node.http(
        "GET",
        "/api/v1/users/peer@peer.test/posts",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(posts.status, 404, "{}", posts.text());

    // alice lifts the block: the peer receives a verified Undo of it
    x.call("DELETE", "/api/v1/blocks/peer@peer.test", None, 200);
    let undo = x.received("Undo", block["id"].as_str().unwrap());
    assert_eq!(undo["activity"]["object"]["type"], "Block", "{undo:#}");
    let errors = x.peer.errors();
    assert!(errors.is_empty(), "the peer logged errors: {errors:?}");
}

/// A Mastodon app finds a fediverse account as apps do before they follow: a search with
/// `resolve=true` for its address (msmd asks the peer's WebFinger and fetches its actor),
/// then a follow by the account id the search gave. The peer receives a verified `Follow`.
#[test]
fn an_app_finds_the_peer_by_its_address_and_follows_it_by_account_id() {
    use msm_tests::mastodon::{call, ok, post_form};
    let x = Exchange::new();
    let app = post_form(
        &x.node,
        "/api/v1/apps",
        &[
            ("client_name", "Fediverse search"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write follow"),
        ],
    )
    .json();
    let token = ok(post_form(
        &x.node,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("client_secret", app["client_secret"].as_str().unwrap()),
            ("username", "alice"),
            ("password", PW),
            ("scope", "read write follow"),
        ],
    ))["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let acct = x.peer.acct().trim_start_matches('@').to_string();
    // without resolve, an address not known here finds nobody
    let q = format!(
        "/api/v2/search?type=accounts&q=%40{}",
        acct.replace('@', "%40")
    );
    let none = ok(call(&x.node, Some(&token), "GET", &q, None));
    assert_eq!(many(&none["accounts"]).len(), 0, "{none:#}");
    let found = ok(call(
        &x.node,
        Some(&token),
        "GET",
        &format!("{q}&resolve=true"),
        None,
    ));
    let accounts = many(&found["accounts"]);
    assert_eq!(accounts.len(), 1, "{found:#}\n{}", x.node.log());
    assert_eq!(accounts[0]["acct"], acct.as_str(), "{found:#}");
    let id = accounts[0]["id"].as_str().unwrap().to_string();
    let rel = ok(call(
        &x.node,
        Some(&token),
        "POST",
        &format!("/api/v1/accounts/{id}/follow"),
        None,
    ));
    assert_eq!(rel["id"], id.as_str(), "{rel:#}");
    let got = x
        .peer
        .wait_received("alice's Follow", |r| r["type"] == "Follow");
    assert_eq!(got["verified"], true, "{got:#}\n{}", x.node.log());
    assert_eq!(got["actor"], ALICE, "{got:#}");
}
