//! Tests of reading incoming activities and remote actor documents.

use super::activity::{read, Act, ActivityError};
use super::actor_doc::{self, ActorError};
use super::keys::PublicKey;
use serde_json::json;

#[test]
fn a_follow_names_its_actor_and_object() {
    let a = read(
        &json!({"id": "https://peer.test/f/1", "type": "Follow",
                "actor": "https://peer.test/users/bob", "object": "https://msm.test/users/alice"}),
        false,
    )
    .unwrap();
    assert_eq!(a.actor, "https://peer.test/users/bob");
    assert_eq!(a.id, "https://peer.test/f/1");
    assert_eq!(
        a.act,
        Act::Follow {
            object: "https://msm.test/users/alice".into()
        }
    );
}

#[test]
fn an_undo_reads_the_embedded_activity() {
    let a = read(
        &json!({"id": "https://peer.test/u/1", "type": "Undo", "actor": "https://peer.test/users/bob",
                "object": {"id": "https://peer.test/f/1", "type": "Follow",
                           "actor": "https://peer.test/users/bob", "object": "https://msm.test/users/alice"}}),
        false,
    )
    .unwrap();
    assert_eq!(
        a.act,
        Act::Undo {
            kind: "Follow".into(),
            id: Some("https://peer.test/f/1".into()),
            object: Some("https://msm.test/users/alice".into())
        }
    );
}

#[test]
fn another_servers_id_or_object_is_refused() {
    let forged_id = json!({"id": "https://msm.test/f/1", "type": "Follow",
        "actor": "https://peer.test/users/bob", "object": "https://msm.test/users/alice"});
    assert_eq!(read(&forged_id, false), Err(ActivityError::Origin("id")));
    let forged_note = json!({"id": "https://peer.test/c/1", "type": "Create",
        "actor": "https://peer.test/users/bob",
        "object": {"id": "https://other.test/n/1", "type": "Note", "content": "x"}});
    assert_eq!(
        read(&forged_note, false),
        Err(ActivityError::Origin("object"))
    );
    let undo_of_other = json!({"id": "https://peer.test/u/1", "type": "Undo",
        "actor": "https://peer.test/users/bob",
        "object": {"id": "https://peer.test/f/1", "type": "Follow", "actor": "https://peer.test/users/eve"}});
    assert_eq!(
        read(&undo_of_other, false),
        Err(ActivityError::Origin("object.actor"))
    );
    let delete_elsewhere = json!({"id": "https://peer.test/d/1", "type": "Delete",
        "actor": "https://peer.test/users/bob", "object": "https://msm.test/users/alice/statuses/1"});
    assert_eq!(
        read(&delete_elsewhere, false),
        Err(ActivityError::Origin("object"))
    );
}

#[test]
fn bad_iris_and_missing_fields_are_refused_and_http_only_in_labs() {
    let http = json!({"id": "http://peer.test/f/1", "type": "Follow",
        "actor": "http://peer.test/users/bob", "object": "http://msm.test/users/alice"});
    assert!(read(&http, false).is_err());
    assert!(read(&http, true).is_ok());
    assert_eq!(
        read(&json!({"type": "Follow"}), false),
        Err(ActivityError::Field("actor"))
    );
    assert!(read(
        &json!({"id": "https://peer.test/ x", "type": "Follow",
        "actor": "https://peer.test/users/bob", "object": "https://msm.test/users/alice"}),
        false
    )
    .is_err());
    assert!(read(&json!([1, 2]), false).is_err());
    let other = read(
        &json!({"id": "https://peer.test/x", "type": "Move",
        "actor": "https://peer.test/users/bob"}),
        false,
    )
    .unwrap();
    assert_eq!(other.act, Act::Other("Move".into()));
}

fn rsa_pem() -> String {
    let der = super::keygen::generate_rsa_2048().unwrap();
    super::keys::RsaSigningKey::from_pkcs8(&der)
        .unwrap()
        .public_key()
        .to_pem()
}

#[test]
fn an_actor_gives_its_inboxes_address_and_owned_key() {
    let pem = rsa_pem();
    let doc = json!({
        "id": "https://peer.test/users/bob", "type": "Person", "preferredUsername": "bob",
        "name": "Bob", "inbox": "https://peer.test/users/bob/inbox",
        "followers": "https://peer.test/users/bob/followers",
        "endpoints": {"sharedInbox": "https://peer.test/inbox"},
        "publicKey": {"id": "https://peer.test/users/bob#main-key",
                      "owner": "https://peer.test/users/bob", "publicKeyPem": pem}
    });
    let a = actor_doc::read(&doc, Some("https://peer.test/users/bob#main-key"), false).unwrap();
    assert_eq!(a.address.as_str(), "bob@peer.test");
    assert_eq!(a.delivery_inbox(), "https://peer.test/inbox");
    assert_eq!(
        a.followers.as_deref(),
        Some("https://peer.test/users/bob/followers")
    );
    let (kid, kpem) = a.key.unwrap();
    assert_eq!(kid, "https://peer.test/users/bob#main-key");
    assert!(PublicKey::from_pem(&kpem).is_ok());
    // a key the actor does not own is not its key
    let mut stolen = doc.clone();
    stolen["publicKey"]["owner"] = json!("https://peer.test/users/eve");
    assert!(matches!(
        actor_doc::read(&stolen, Some("https://peer.test/users/bob#main-key"), false),
        Err(ActorError::NoSuchKey(_))
    ));
    // an inbox on another host is refused
    let mut elsewhere = doc.clone();
    elsewhere["endpoints"]["sharedInbox"] = json!("https://victim.test/inbox");
    assert_eq!(
        actor_doc::read(&elsewhere, None, false).unwrap_err(),
        ActorError::Field("sharedInbox")
    );
    let mut not_actor = doc;
    not_actor["type"] = json!("Note");
    assert!(matches!(
        actor_doc::read(&not_actor, None, false),
        Err(ActorError::NotAnActor(_))
    ));
}

#[test]
fn an_actor_key_may_be_a_fep_521a_multikey() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .verifying_key()
        .to_bytes();
    let mb = super::keys::ed25519_multibase(&key);
    let doc = json!({
        "id": "https://peer.test/users/bob", "type": "Person", "preferredUsername": "bob",
        "inbox": "https://peer.test/users/bob/inbox",
        "assertionMethod": [{"id": "https://peer.test/users/bob#ed", "type": "Multikey",
            "controller": "https://peer.test/users/bob", "publicKeyMultibase": mb}]
    });
    let a = actor_doc::read(&doc, Some("https://peer.test/users/bob#ed"), false).unwrap();
    let (_, pem) = a.key.unwrap();
    assert_eq!(
        PublicKey::from_pem(&pem).unwrap(),
        PublicKey::ed25519(&key).unwrap()
    );
}
