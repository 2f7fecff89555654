//! Tests of the paged collections.

use super::collection::{
    actor_iri, collection, numbered_next, numbered_page_iri, outbox_next, outbox_page_iri, page,
    read_query, PageError, Part, MAX_PAGE, MAX_QUERY, PAGE_SIZE,
};
use serde_json::json;

const OUTBOX: &str = "https://smith.family/users/alice/outbox";
const FOLLOWERS: &str = "https://smith.family/users/alice/followers";

#[test]
fn queries_read_as_mastodon_writes_them() {
    assert_eq!(read_query("", true), Ok(Part::Whole));
    assert_eq!(read_query("", false), Ok(Part::Whole));
    assert_eq!(read_query("page=true", true), Ok(Part::Before(None)));
    assert_eq!(
        read_query("page=true&max_id=41", true),
        Ok(Part::Before(Some(41)))
    );
    assert_eq!(
        read_query("max_id=41&page=true", true),
        Ok(Part::Before(Some(41)))
    );
    assert_eq!(read_query("page=true", false), Ok(Part::Numbered(1)));
    assert_eq!(read_query("page=3&x=y", false), Ok(Part::Numbered(3)));
    // hostile or wrong: refused with a reason, never a panic
    assert!(matches!(
        read_query("page=0", false),
        Err(PageError::Bad(_))
    ));
    let over = format!("page={}", MAX_PAGE + 1);
    assert!(matches!(read_query(&over, false), Err(PageError::Bad(_))));
    assert!(matches!(
        read_query("page=-1", false),
        Err(PageError::Bad(_))
    ));
    assert!(matches!(read_query("page=2", true), Err(PageError::Bad(_))));
    assert!(matches!(
        read_query("page=true&max_id=99999999999999999999999", true),
        Err(PageError::Bad(_))
    ));
    let long = format!("page=true&pad={}", "x".repeat(MAX_QUERY));
    assert_eq!(read_query(&long, true), Err(PageError::TooLong));
}

#[test]
fn a_collection_names_its_first_page_and_a_page_its_collection() {
    let c = collection(OUTBOX, 3, &outbox_page_iri(OUTBOX, None));
    assert_eq!(c["type"], "OrderedCollection");
    assert_eq!(c["totalItems"], 3);
    assert_eq!(c["first"], format!("{OUTBOX}?page=true"));
    let items = vec![json!({"id": "a"}), json!({"id": "b"})];
    let p = page(OUTBOX, &outbox_page_iri(OUTBOX, Some(9)), items, None);
    assert_eq!(p["type"], "OrderedCollectionPage");
    assert_eq!(p["id"], format!("{OUTBOX}?page=true&max_id=9"));
    assert_eq!(p["partOf"], OUTBOX);
    assert_eq!(p["orderedItems"][1]["id"], "b");
    assert!(p.get("next").is_none());
    let p = page(
        FOLLOWERS,
        &numbered_page_iri(FOLLOWERS, 1),
        vec![],
        Some("n".into()),
    );
    assert_eq!(p["next"], "n");
}

#[test]
fn next_is_named_only_while_there_may_be_more() {
    // the outbox: a full page may have more behind it, a short one is the last
    assert_eq!(
        outbox_next(OUTBOX, PAGE_SIZE, Some(30)),
        Some(format!("{OUTBOX}?page=true&max_id=30"))
    );
    assert_eq!(outbox_next(OUTBOX, PAGE_SIZE - 1, Some(30)), None);
    assert_eq!(outbox_next(OUTBOX, 0, None), None);
    assert_eq!(outbox_next(OUTBOX, PAGE_SIZE, Some(0)), None);
    // numbered pages: by the total
    let total = PAGE_SIZE as u64 + 1;
    assert_eq!(
        numbered_next(FOLLOWERS, 1, total),
        Some(format!("{FOLLOWERS}?page=2"))
    );
    assert_eq!(numbered_next(FOLLOWERS, 2, total), None);
    assert_eq!(numbered_next(FOLLOWERS, 1, PAGE_SIZE as u64), None);
    assert_eq!(numbered_next(FOLLOWERS, MAX_PAGE, u64::MAX), None);
}

#[test]
fn a_follower_is_named_by_its_actor() {
    let base = "https://smith.family";
    let fedi = Some("https://peer.test/users/peer");
    assert_eq!(
        actor_iri(base, "smith.family", "peer@peer.test", fedi),
        "https://peer.test/users/peer"
    );
    assert_eq!(
        actor_iri(base, "smith.family", "bob@smith.family", None),
        "https://smith.family/users/bob"
    );
    assert_eq!(
        actor_iri(base, "smith.family", "carol@jones.family", None),
        "https://jones.family/users/carol"
    );
}
