//! Tests of people search: needles, matching, escaping, order and bounds.

use super::*;
use crate::store::users::tests::store_with_node;
use crate::store::Role;

/// A store with local users alice and bob (display name "Bob Builder"), and remote authors
/// bob@b.test ("Robert"), bobby@c.test, x_y@d.test ("100% Real") and xay@d.test.
fn store() -> (tempfile::TempDir, Store, i64) {
    let (d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    s.conn()
        .execute_batch(
            "UPDATE authors SET display_name = 'Bob Builder' WHERE address = 'bob@smith.family';
             INSERT INTO authors(address, display_name) VALUES
                 ('bob@b.test', 'Robert'), ('bobby@c.test', ''),
                 ('x_y@d.test', '100% Real'), ('xay@d.test', 'Xay');",
        )
        .unwrap();
    s.conn()
        .execute(
            "INSERT INTO follows(user_id, address, created_ms) VALUES (?1, 'bob@b.test', 1)",
            [alice.id],
        )
        .unwrap();
    (d, s, alice.id)
}

fn addresses(s: &Store, q: &str) -> Vec<String> {
    s.search_people(q, None, MAX_PEOPLE_RESULTS)
        .unwrap()
        .into_iter()
        .map(|p| p.address)
        .collect()
}

#[test]
fn needles_from_handles_and_profile_urls() {
    for (typed, want) in [
        ("bob@b.test", Some("bob@b.test")),
        ("  @Bob@B.test ", Some("bob@b.test")),
        ("acct:bob@b.test", Some("bob@b.test")),
        ("https://b.test/@bob", Some("bob@b.test")),
        ("http://b.test:8080/@bob/12?x#y", Some("bob@b.test")),
        ("https://b.test/about", Some("https://b.test/about")),
        ("Bob", Some("bob")),
        ("@", None),
        ("   ", None),
    ] {
        assert_eq!(needle(typed).as_deref(), want, "{typed:?}");
    }
}

#[test]
fn exact_address_then_prefixes_then_the_rest() {
    let (_d, s, _) = store();
    for q in [
        "bob@b.test",
        "@bob@b.test",
        "https://b.test/@bob",
        "BOB@B.TEST",
    ] {
        assert_eq!(addresses(&s, q)[0], "bob@b.test", "{q}");
    }
    // prefixes (local first), then bob inside an address; never alice
    assert_eq!(
        addresses(&s, "bob"),
        ["bob@smith.family", "bob@b.test", "bobby@c.test"]
    );
    // by display name, a whole one or a word of one, in any ASCII case
    assert_eq!(addresses(&s, "robert"), ["bob@b.test"]);
    assert_eq!(addresses(&s, "builder"), ["bob@smith.family"]);
    assert_eq!(addresses(&s, "uild"), ["bob@smith.family"]);
    assert_eq!(addresses(&s, "alice"), ["alice@smith.family"]);
    assert!(addresses(&s, "nobody").is_empty());
    assert!(addresses(&s, "@").is_empty());
}

#[test]
fn like_wildcards_typed_are_literal() {
    let (_d, s, _) = store();
    assert_eq!(addresses(&s, "x_y"), ["x_y@d.test"]);
    assert_eq!(addresses(&s, "100%"), ["x_y@d.test"]);
    assert_eq!(
        addresses(&s, "%"),
        ["x_y@d.test"],
        "only the display name with a '%'"
    );
    assert!(addresses(&s, "b%t").is_empty());
    assert!(addresses(&s, "_").len() == 1, "only the address with a '_'");
    assert!(addresses(&s, "\\").is_empty());
}

#[test]
fn fields_followed_and_bounds() {
    let (_d, s, alice) = store();
    let found = s.search_people("bob", Some(alice), 10).unwrap();
    let remote = found.iter().find(|p| p.address == "bob@b.test").unwrap();
    assert_eq!(
        remote,
        &Person {
            address: "bob@b.test".into(),
            name: "bob".into(),
            display_name: "Robert".into(),
            local: false,
            followed: true,
        }
    );
    let local = &found[0];
    assert!(local.local && !local.followed && local.display_name == "Bob Builder");
    assert!(!s.search_people("bob", None, 10).unwrap()[1].followed);
    assert_eq!(s.search_people("bob", None, 1).unwrap().len(), 1);
    assert!(matches!(
        s.search_people(&"b".repeat(MAX_PEOPLE_QUERY_BYTES + 1), None, 10),
        Err(StoreError::BadQuery(_))
    ));
    s.search_people(&"%".repeat(MAX_PEOPLE_QUERY_BYTES), None, 10)
        .unwrap();
}
