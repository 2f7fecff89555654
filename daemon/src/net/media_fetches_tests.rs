//! Tests of the fetch table: chunks in order, and every way an answer can be wrong.

use super::*;
use crate::proto::media_wire::MEDIA_CHUNK;

const SHA: [u8; 32] = [5; 32];
const NODE: &str = "b.test";

fn part(offset: u32, total: u32, len: usize) -> MediaPart {
    MediaPart {
        sha256: SHA,
        offset,
        total,
        data: vec![offset as u8; len],
    }
}

#[test]
fn chunks_arrive_in_order_until_the_size() {
    let mut t = MediaFetches::default();
    let size = (MEDIA_CHUNK + 10) as u32;
    assert_eq!(t.start(SHA, NODE, size, 0), Start::Go);
    assert_eq!(t.take(&SHA), None, "nothing yet");
    assert_eq!(t.ask(&SHA), Some(0));
    assert_eq!(t.ask(&SHA), None, "one chunk in flight");
    assert!(t.on_part(NODE, part(0, size, MEDIA_CHUNK)));
    assert_eq!(t.held_bytes(), MEDIA_CHUNK);
    assert_eq!(t.take(&SHA), Some(Arrived::Chunk(vec![0; MEDIA_CHUNK])));
    assert_eq!(t.held_bytes(), 0);
    assert!(!t.complete(&SHA));
    assert_eq!(t.ask(&SHA), Some(MEDIA_CHUNK as u32));
    assert!(t.on_part(NODE, part(MEDIA_CHUNK as u32, size, 10)));
    assert!(matches!(t.take(&SHA), Some(Arrived::Chunk(d)) if d.len() == 10));
    assert!(t.complete(&SHA));
    assert_eq!(t.ask(&SHA), None, "nothing more to ask");
    t.finish(&SHA);
    assert!(!t.in_flight(&SHA));
}

/// Feeds one answer to a fresh fetch of 100 bytes whose first chunk was asked.
fn after(answer: MediaPart) -> Option<Arrived> {
    let mut t = MediaFetches::default();
    assert_eq!(t.start(SHA, NODE, 100, 0), Start::Go);
    assert_eq!(t.ask(&SHA), Some(0));
    assert!(t.on_part(NODE, answer));
    let got = t.take(&SHA);
    assert_eq!(t.ask(&SHA), None, "a failed fetch asks no more");
    assert_eq!(t.take(&SHA), got, "a failure stays");
    got
}

#[test]
fn a_wrong_offset_a_wrong_total_or_bytes_past_the_size_fail_the_fetch() {
    assert!(matches!(after(part(1, 100, 10)), Some(Arrived::Failed(_))));
    assert!(matches!(after(part(0, 101, 10)), Some(Arrived::Failed(_))));
    assert!(matches!(after(part(0, 99, 10)), Some(Arrived::Failed(_))));
    // the decoder refuses data past `total`; the table checks against the reference too
    let mut over = part(0, 100, 10);
    over.data = vec![0; 101];
    assert!(matches!(after(over), Some(Arrived::Failed(_))));
}

#[test]
fn an_answer_nobody_asked_for_fails_or_is_ignored() {
    let mut t = MediaFetches::default();
    assert!(!t.on_part(NODE, part(0, 100, 10)), "no fetch: ignored");
    assert_eq!(t.start(SHA, NODE, 100, 0), Start::Go);
    assert!(
        !t.on_part("c.test", part(0, 100, 10)),
        "another node's: ignored"
    );
    assert!(!t.on_missing("c.test", MediaMissing { sha256: SHA }));
    assert!(t.on_part(NODE, part(0, 100, 10)), "before any ask");
    assert!(matches!(t.take(&SHA), Some(Arrived::Failed(_))));

    let mut t = MediaFetches::default();
    t.start(SHA, NODE, 100, 0);
    t.ask(&SHA);
    assert!(t.on_part(NODE, part(0, 100, 10)));
    assert!(t.on_part(NODE, part(10, 100, 10)), "a second one unasked");
    assert!(matches!(t.take(&SHA), Some(Arrived::Failed(_))));
    assert_eq!(t.held_bytes(), 0, "nothing of a failed fetch is held");
}

#[test]
fn missing_ends_the_fetch() {
    let mut t = MediaFetches::default();
    t.start(SHA, NODE, 100, 0);
    t.ask(&SHA);
    assert!(t.on_missing(NODE, MediaMissing { sha256: SHA }));
    assert_eq!(t.take(&SHA), Some(Arrived::Missing));
    assert_eq!(t.ask(&SHA), None);
}

#[test]
fn the_table_is_bounded_one_fetch_per_picture_and_old_fetches_go() {
    let mut t = MediaFetches::default();
    assert_eq!(t.start(SHA, NODE, 100, 0), Start::Go);
    assert_eq!(t.start(SHA, NODE, 100, 1), Start::Busy);
    for i in 1..MAX_MEDIA_FETCHES {
        assert_eq!(t.start([i as u8 + 100; 32], NODE, 100, 1), Start::Go);
    }
    assert_eq!(t.start([1; 32], NODE, 100, 2), Start::Full);
    assert_eq!(
        t.start([1; 32], NODE, 100, MEDIA_FETCH_WAIT_MS - 1),
        Start::Full
    );
    // a fetch whose task was dropped without finishing goes after MEDIA_FETCH_WAIT_MS
    assert_eq!(t.start([1; 32], NODE, 100, MEDIA_FETCH_WAIT_MS), Start::Go);
    assert!(!t.in_flight(&SHA));
}
