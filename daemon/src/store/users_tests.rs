//! Tests of accounts and sessions.

use super::*;

pub(crate) fn store_with_node() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path()).unwrap();
    s.init_node("smith.family").unwrap();
    (dir, s)
}

#[test]
fn add_list_remove_and_reserved_names() {
    let (_d, mut s) = store_with_node();
    let alice = s.add_user("Alice", Role::Owner, "h1", false, 1).unwrap();
    assert_eq!(alice.address.as_str(), "alice@smith.family");
    s.add_user("bob", Role::Member, "h2", true, 2).unwrap();
    assert!(matches!(
        s.add_user("ALICE", Role::Member, "h", false, 3),
        Err(StoreError::NameTaken(_))
    ));
    assert!(matches!(
        s.add_user("no good", Role::Member, "h", false, 3),
        Err(StoreError::Proto(_))
    ));
    let names: Vec<_> = s
        .list_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(matches!(
        s.remove_user("alice"),
        Err(StoreError::LastOwner(_))
    ));
    s.remove_user("bob").unwrap();
    assert!(s.user_by_name("bob").unwrap().is_none());
    assert!(matches!(
        s.add_user("bob", Role::Member, "h", false, 4),
        Err(StoreError::NameTaken(_))
    ));
    assert!(matches!(
        s.remove_user("carol"),
        Err(StoreError::NoSuchUser(_))
    ));
}

#[test]
fn keys_are_per_user_and_stored() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    let b = s.add_user("bob", Role::Member, "h", false, 1).unwrap();
    assert_ne!(a.public_key, b.public_key);
    assert_eq!(s.user_key(a.id).unwrap().public(), a.public_key);
}

#[test]
fn sessions_expire_end_and_are_bounded() {
    let (_d, mut s) = store_with_node();
    let a = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    s.create_session(a.id, &[1; 32], 100, 200).unwrap();
    assert_eq!(s.session_user(&[1; 32], 150).unwrap().unwrap().id, a.id);
    assert!(s.session_user(&[1; 32], 200).unwrap().is_none(), "expired");
    assert!(s.session_user(&[2; 32], 150).unwrap().is_none(), "unknown");
    s.delete_session(&[1; 32]).unwrap();
    assert!(
        s.session_user(&[1; 32], 150).unwrap().is_none(),
        "logged out"
    );
    for i in 0..(MAX_SESSIONS_PER_USER as u8 + 5) {
        s.create_session(a.id, &[i + 10; 32], 300 + i as u64, 10_000)
            .unwrap();
    }
    let n: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, MAX_SESSIONS_PER_USER);
    assert!(
        s.session_user(&[10; 32], 400).unwrap().is_none(),
        "oldest dropped"
    );
    s.conn()
        .execute_batch(&format!(
            "INSERT INTO oauth_apps(id, client_id, secret_hash, name, redirect_uris, scopes, \
                 created_ms) VALUES (1, 'c', x'00', 'app', 'urn:ietf:wg:oauth:2.0:oob', 'read', 0);
             INSERT INTO oauth_tokens(token_hash, app_id, user_id, scopes, created_ms, used_ms)
                 VALUES (x'01', 1, {}, 'read', 0, 0);",
            a.id
        ))
        .unwrap();
    s.set_password("alice", "h2", false).unwrap();
    let n: i64 = s
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM oauth_tokens)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        n, 0,
        "a new password ends every session and every app's token"
    );
}
