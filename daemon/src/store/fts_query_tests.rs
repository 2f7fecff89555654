//! Tests of the search query translator: what it writes, and that a real store answers every
//! query, everyday or hostile, without an error.

use super::translate;
use crate::proto::{Audience, Body, Limits};
use crate::store::discover::{apply_batch, DiscoverBatch, DiscoverPost, SearchScope};
use crate::store::messages::{sign_own, store_message};
use crate::store::timeline::MAX_QUERY_BYTES;
use crate::store::users::tests::store_with_node;
use crate::store::{NewPost, Role, Store};
use proptest::prelude::*;

/// The posts the store tests search, by seq (1-based).
const POSTS: &[&str] = &[
    "the quick brown #fox jumps",          // 1
    "write to owner@localhost for access", // 2
    "see example.org for more",            // 3
    "read https://example.org/page today", // 4
    "cats AND dogs OR birds",              // 5
    "NEAR the river bank",                 // 6
    "a col:x filter and 3 * 4 = 12",       // 7
    "שלום עולם from Haifa",                // 8
    "party time 🎉 tonight",               // 9
    "crème brûlée at the café",            // 10
    "the foxes are quick",                 // 11
    "nothing to see - at all",             // 12
];

/// A store holding [`POSTS`] as alice's public posts, and a discover post.
fn store() -> (tempfile::TempDir, Store) {
    let (d, mut s) = store_with_node();
    let alice = s.add_user("alice", Role::Owner, "h", false, 1).unwrap();
    for text in POSTS {
        let tx = s.conn_mut().transaction().unwrap();
        let post = NewPost {
            user_id: alice.id,
            audience: Audience::Public,
            body: Body::Post {
                text: (*text).into(),
            },
        };
        let signed = sign_own(&tx, &post, 1000, &Limits::default()).unwrap();
        store_message(&tx, &signed, 1000).unwrap();
        tx.commit().unwrap();
    }
    let far = DiscoverPost {
        author: crate::proto::Address::parse("carol@c.test").unwrap(),
        seq: 1,
        time_ms: 5,
        reply_to: None,
        text: "a #fox far away at example.org".into(),
        verified: false,
    };
    let batch = DiscoverBatch {
        posts: vec![far],
        deletes: vec![],
        keep: 10,
    };
    apply_batch(s.conn(), &batch, 1).unwrap();
    (d, s)
}

/// The seqs of alice's posts that `q` finds, sorted.
fn found(s: &Store, q: &str) -> Vec<u64> {
    let mut seqs: Vec<u64> = s
        .search(q, None, 0, 50)
        .unwrap_or_else(|e| panic!("{q:?}: {e}"))
        .iter()
        .map(|p| p.seq)
        .collect();
    seqs.sort_unstable();
    seqs
}

#[test]
fn words_are_strings_and_syntax_is_kept() {
    for (typed, fts) in [
        ("fox", r#"("fox")"#),
        ("#fox", r##"("#fox")"##),
        ("owner@localhost", r#"("owner@localhost")"#),
        ("a\"b", r#"("a""b")"#),
        ("\"quick brown\" fox", r#"("quick brown" "fox")"#),
        ("\"unclosed phrase", r#"("unclosed phrase")"#),
        ("fox*", r#"("fox"*)"#),
        ("\"quick bro\"*", r#"("quick bro"*)"#),
        ("cats OR dogs", r#"("cats") OR ("dogs")"#),
        ("cats AND dogs", r#"("cats" "dogs")"#),
        ("AND OR", r#"("AND" "OR")"#),
        ("OR cats", r#"("OR" "cats")"#),
        ("cats or dogs", r#"("cats" "or" "dogs")"#),
        ("cats OR", r#"("cats" "OR")"#),
        ("fox -brown", r#"(("fox")) NOT ("brown")"#),
        (
            "fox NOT brown -\"the quick\"",
            r#"(("fox")) NOT ("brown" OR "the quick")"#,
        ),
        ("a OR b -c", r#"(("a") OR ("b")) NOT ("c")"#),
        ("NEAR", r#"("NEAR")"#),
        ("NEAR(a b)", r#"("NEAR(a" "b)")"#),
        ("col:x", r#"("col:x")"#),
        ("fox - *", r#"("fox")"#),
        ("a\0b", r#"("a" "b")"#),
        ("\"a\tb\"", r#"("a b")"#),
    ] {
        assert_eq!(translate(typed).as_deref(), Some(fts), "{typed:?}");
    }
}

#[test]
fn nothing_to_look_for_is_none() {
    for typed in [
        "", "   ", "\"", "\"\"", "*", "(", ")", "-", "- -", "\"!!!\"", "-fox", "\0\n",
    ] {
        assert_eq!(translate(typed), None, "{typed:?}");
    }
}

#[test]
fn every_everyday_query_finds_its_posts() {
    let (_d, s) = store();
    for (q, want) in [
        ("fox", vec![1]),
        ("#fox", vec![1]),
        ("fox*", vec![1, 11]),
        ("\"quick brown\"", vec![1]),
        ("\"brown quick\"", vec![]),
        ("owner@localhost", vec![2]),
        ("example.org", vec![3, 4]),
        ("https://example.org/page", vec![4]),
        ("AND OR", vec![5]),
        ("cats OR river", vec![5, 6]),
        ("fox -brown", vec![]),
        ("fox* -brown", vec![11]),
        ("quick -\"brown fox\"", vec![11]),
        ("fox* NOT jumps", vec![11]),
        ("NEAR", vec![6]),
        ("col:x", vec![7]),
        ("(", vec![]),
        ("\"", vec![]),
        ("*", vec![]),
        ("-", vec![]),
        ("", vec![]),
        ("nothing -", vec![12]),
    ] {
        assert_eq!(found(&s, q), want, "{q:?}");
    }
}

#[test]
fn hebrew_emoji_and_combining_marks() {
    let (_d, s) = store();
    assert_eq!(found(&s, "שלום"), [8]);
    assert_eq!(found(&s, "\"שלום עולם\""), [8]);
    assert_eq!(found(&s, "שלו*"), [8]);
    // whether the tokenizer indexes emoji depends on SQLite's version; either way no error
    assert!(found(&s, "🎉").iter().all(|seq| *seq == 9));
    assert_eq!(found(&s, "🎉 party"), [9]);
    assert_eq!(found(&s, "party -🎉x"), [9]);
    // precomposed, plain and decomposed (e + U+0301) all find "café"
    assert_eq!(found(&s, "café"), [10]);
    assert_eq!(found(&s, "cafe"), [10]);
    assert_eq!(found(&s, "cafe\u{301}"), [10]);
    assert_eq!(found(&s, "brulee creme"), [10]);
    assert!(found(&s, "\u{301}").is_empty());
    assert!(found(&s, "\u{200d}\u{fe0f}").is_empty());
}

#[test]
fn the_discover_window_reads_the_same_syntax() {
    let (_d, s) = store();
    let far = |q: &str| s.search_discover(q, 0, 10).unwrap().len();
    assert_eq!(far("#fox"), 1);
    assert_eq!(far("example.org -brown"), 1);
    assert_eq!(far("example.org -away"), 0);
    assert_eq!(far("("), 0);
    let all = s
        .search_scoped("#fox", Some(1), SearchScope::All, 0, 10)
        .unwrap();
    assert_eq!(all.len(), 2, "alice's post, then carol's from the window");
}

#[test]
fn many_terms_and_operators_at_the_length_limit() {
    let (_d, s) = store();
    let ors = "a OR ".repeat(MAX_QUERY_BYTES / 5) + "a";
    assert!(ors.len() <= MAX_QUERY_BYTES);
    let nots = "fox ".to_string() + &"-a ".repeat((MAX_QUERY_BYTES - 4) / 3);
    let quotes = "\"".repeat(MAX_QUERY_BYTES);
    let words = "x ".repeat(MAX_QUERY_BYTES / 2);
    for q in [ors, nots, quotes, words] {
        assert!(q.len() <= MAX_QUERY_BYTES);
        s.search(&q, None, 0, 10)
            .unwrap_or_else(|e| panic!("{q:?}: {e}"));
    }
}

thread_local! {
    /// One store for all the property cases (opening one per case is slow).
    static SHARED: (tempfile::TempDir, Store) = store();
}

/// Characters that mean something to FTS5 or to the translator, with letters, marks and emoji.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_string()),
        Just("*".to_string()),
        Just("-".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(":".to_string()),
        Just("^".to_string()),
        Just("+".to_string()),
        Just(" ".to_string()),
        Just("OR".to_string()),
        Just("AND".to_string()),
        Just("NOT".to_string()),
        Just("NEAR".to_string()),
        Just("\0".to_string()),
        Just("\u{301}".to_string()),
        Just("🎉".to_string()),
        Just("שלום".to_string()),
        "[a-z]{1,5}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| {
        let mut s = v.concat();
        while s.len() > MAX_QUERY_BYTES {
            s.pop();
        }
        s
    })
}

proptest! {
    #[test]
    fn no_query_up_to_the_limit_errors(q in tricky_text()) {
        SHARED.with(|(_d, s)| {
            let posts = s.search(&q, None, 0, 10);
            prop_assert!(posts.is_ok(), "{:?} → {:?}: {:?}", q, translate(&q), posts);
            let scoped = s.search_scoped(&q, Some(1), SearchScope::All, 3, 10);
            prop_assert!(scoped.is_ok(), "{:?} → {:?}: {:?}", q, translate(&q), scoped);
            Ok(())
        })?;
    }

    #[test]
    fn no_string_of_any_characters_errors(chars in proptest::collection::vec(any::<char>(), 0..80)) {
        let mut q = String::new();
        for c in chars {
            if q.len() + c.len_utf8() <= MAX_QUERY_BYTES {
                q.push(c);
            }
        }
        SHARED.with(|(_d, s)| {
            let found = s.search_discover(&q, 0, 10);
            prop_assert!(found.is_ok(), "{:?} → {:?}: {:?}", q, translate(&q), found);
            Ok(())
        })?;
    }
}
