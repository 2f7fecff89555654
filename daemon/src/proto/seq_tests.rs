//! Tests of the sequence tracker against a plain set model.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

#[test]
fn in_order_out_of_order_and_duplicates() {
    let mut t = SeqTracker::default();
    assert_eq!(t.insert(1), Seen::New);
    assert_eq!(t.insert(1), Seen::Duplicate);
    assert_eq!(t.insert(0), Seen::Duplicate);
    assert_eq!(t.insert(4), Seen::New);
    assert_eq!(t.insert(6), Seen::New);
    assert_eq!(t.contiguous(), 1);
    assert_eq!(t.missing(10), vec![2..=3, 5..=5]);
    assert_eq!(t.insert(4), Seen::Duplicate);
    assert_eq!(t.insert(2), Seen::New);
    assert_eq!(t.insert(3), Seen::New);
    assert_eq!(t.contiguous(), 4);
    assert_eq!(t.missing(10), vec![5..=5]);
    assert_eq!(t.insert(5), Seen::New);
    assert_eq!(t.contiguous(), 6);
    assert!(t.missing(10).is_empty());
}

#[test]
fn tail_loss_shows_after_a_heartbeat() {
    let mut t = SeqTracker::starting_after(10);
    t.insert(11);
    t.observe_highest(14);
    assert_eq!(t.missing(10), vec![12..=14]);
    t.skip_to(13);
    assert_eq!(t.missing(10), vec![14..=14]);
}

#[test]
fn beyond_window_is_refused_and_reported_as_one_range() {
    let mut t = SeqTracker::default();
    assert_eq!(t.insert(SEQ_WINDOW + 1), Seen::BeyondWindow);
    assert_eq!(t.insert(SEQ_WINDOW), Seen::New);
    t.observe_highest(SEQ_WINDOW * 3);
    assert_eq!(
        t.missing(10),
        vec![1..=SEQ_WINDOW - 1, SEQ_WINDOW + 1..=SEQ_WINDOW * 3]
    );
    assert_eq!(t.missing(1), vec![1..=SEQ_WINDOW - 1]);
    t.skip_to(SEQ_WINDOW * 2);
    assert_eq!(t.contiguous(), SEQ_WINDOW * 2);
    assert!(!t.has(SEQ_WINDOW * 2 + 1));
    assert_eq!(t.insert(SEQ_WINDOW * 2 + 1), Seen::New);
}

proptest! {
    /// Against a model: whatever order and repetition, each seq is New exactly once, and
    /// contiguous/missing/has agree with the set of seqs received.
    #[test]
    fn agrees_with_set_model(ops in proptest::collection::vec(1u64..300, 0..600), skip in proptest::option::of(1u64..300)) {
        let mut t = SeqTracker::default();
        let mut got = BTreeSet::new();
        let mut floor = 0;
        for (i, s) in ops.iter().copied().enumerate() {
            if Some(i as u64) == skip {
                let k = skip.unwrap_or(0);
                t.skip_to(k);
                floor = floor.max(k);
            }
            let verdict = t.insert(s);
            let fresh = s > floor && got.insert(s);
            prop_assert_eq!(verdict == Seen::New, fresh, "seq {}", s);
        }
        let have = |s: u64| s <= floor || got.contains(&s);
        let mut contiguous = 0;
        while have(contiguous + 1) { contiguous += 1; }
        prop_assert_eq!(t.contiguous(), contiguous);
        let highest = got.iter().copied().max().unwrap_or(0).max(floor);
        let mut model_missing = Vec::new();
        let mut s = contiguous + 1;
        while s <= highest {
            if have(s) { s += 1; continue; }
            let a = s;
            while s <= highest && !have(s) { s += 1; }
            model_missing.push(a..=s - 1);
        }
        prop_assert_eq!(t.missing(usize::MAX), model_missing);
        for s in 1..310 {
            prop_assert_eq!(t.has(s), have(s));
        }
    }
}
