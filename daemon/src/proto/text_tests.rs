use super::*;
use proptest::prelude::*;

/// The spans of `text` as (covered text, kind) pairs, for readable asserts.
fn found(text: &str) -> Vec<(&str, SpanKind)> {
    spans(text)
        .into_iter()
        .map(|s| (&text[s.start..s.end], s.kind))
        .collect()
}

fn m(user: &str, domain: Option<&str>) -> SpanKind {
    SpanKind::Mention {
        user: user.into(),
        domain: domain.map(Into::into),
    }
}

fn tag(t: &str) -> SpanKind {
    SpanKind::Tag(t.into())
}

#[test]
fn mentions_local_and_remote_with_sentence_punctuation() {
    assert_eq!(
        found("hi @bob@b.test. and (@carol) @dave, @e-v.a_!"),
        vec![
            ("@bob@b.test", m("bob", Some("b.test"))),
            ("@carol", m("carol", None)),
            ("@dave", m("dave", None)),
            ("@e-v.a_", m("e-v.a_", None)),
        ]
    );
    assert_eq!(
        found("@bob@b.test,"),
        vec![("@bob@b.test", m("bob", Some("b.test")))]
    );
    // a trailing '@' with no host leaves a local mention
    assert_eq!(found("@bob@ x"), vec![("@bob", m("bob", None))]);
}

#[test]
fn emails_and_url_paths_are_not_mentions() {
    assert_eq!(found("mail a@b.test or x.@y or a=@b"), vec![]);
    assert_eq!(
        found("see https://b.test/@bob/3 and http://c.test/#frag"),
        vec![
            ("https://b.test/@bob/3", SpanKind::Url),
            ("http://c.test/#frag", SpanKind::Url),
        ]
    );
    assert_eq!(found("@ alone, @-x, @.y"), vec![]);
}

#[test]
fn idn_mentions_become_canonical_addresses() {
    let text = "@Jörg@bücher.example @Joerg@Bücher.Example @bob @BOB @bad_@x.test @al@-x";
    let got: Vec<String> = mentions(text, "home.test")
        .iter()
        .map(|a| a.to_string())
        .collect();
    // users are ASCII: "@Jörg…" is a local mention of "j" (as on Mastodon); "bad_" does not end
    // with a letter or digit, so Address refuses it; "@al@-x" has no host, so it is local
    assert_eq!(
        got,
        vec![
            "j@home.test",
            "joerg@xn--bcher-kva.example",
            "bob@home.test",
            "al@home.test"
        ]
    );
}

#[test]
fn hashtags_in_many_scripts() {
    assert_eq!(
        found("#Fox_2 #123 #שלום #日本語 #café #cafe\u{301} #🦀 #a·b· #_x"),
        vec![
            ("#Fox_2", tag("fox_2")),
            ("#שלום", tag("שלום")),
            ("#日本語", tag("日本語")),
            ("#café", tag("café")),
            ("#cafe\u{301}", tag("cafe\u{301}")),
            ("#a·b", tag("a·b")),
            ("#_x", tag("_x")),
        ]
    );
    // full-width hash, Hebrew with points (combining marks), Japanese after Japanese punctuation
    assert_eq!(
        found("＃Rust שָׁלוֹם #שָׁלוֹם 「#東京」"),
        vec![
            ("＃Rust", tag("rust")),
            ("#שָׁלוֹם", tag("שָׁלוֹם")),
            ("#東京", tag("東京")),
        ]
    );
}

#[test]
fn hashes_in_words_urls_and_entities_are_not_tags() {
    assert_eq!(found("a#b &#39; x/#y (1)#z =#w #"), vec![]);
    assert_eq!(found("#123 #1_2 #·a"), vec![("#1_2", tag("1_2"))]);
}

#[test]
fn urls_trim_punctuation_and_keep_balanced_parens() {
    assert_eq!(
        found(
            "(see https://en.wikipedia.org/wiki/Rust_(language)). Or HTTP://X.test/a?b=1&c=\"2\"!"
        ),
        vec![
            (
                "https://en.wikipedia.org/wiki/Rust_(language)",
                SpanKind::Url
            ),
            ("HTTP://X.test/a?b=1&c=", SpanKind::Url),
        ]
    );
    assert_eq!(
        found("https:// http://) ftp://x.test xhttp://a.test"),
        vec![]
    );
    assert_eq!(
        found("<https://a.test/x>"),
        vec![("https://a.test/x", SpanKind::Url)]
    );
    let long = format!("https://a.test/{} #tag", "x".repeat(MAX_URL_BYTES));
    assert_eq!(found(&long), vec![("#tag", tag("tag"))]);
    let longest = format!("https://a.test/{}", "x".repeat(MAX_URL_BYTES - 15));
    assert_eq!(found(&longest), vec![(longest.as_str(), SpanKind::Url)]);
}

#[test]
fn adjacent_spans_and_emoji() {
    assert_eq!(
        found("🎉@bob🎉#party🎉https://a.test🎉"),
        vec![
            ("@bob", m("bob", None)),
            ("#party", tag("party")),
            ("https://a.test🎉", SpanKind::Url),
        ]
    );
    assert_eq!(
        found("@a #b,@c"),
        vec![("@a", m("a", None)), ("#b", tag("b")), ("@c", m("c", None))]
    );
    // a '#' right after a mention follows a word character, so it starts no tag
    assert_eq!(found("@a#b"), vec![("@a", m("a", None))]);
}

#[test]
fn caps_at_the_limits() {
    let many: String = (0..40).map(|i| format!("@u{i} #t{i} ")).collect();
    let ms = mentions(&many, "h.test");
    assert_eq!(ms.len(), MAX_MENTIONS);
    assert_eq!(ms[0].as_str(), "u0@h.test");
    assert_eq!(ms[15].as_str(), "u15@h.test");
    let ts = tags(&many);
    assert_eq!(ts.len(), MAX_TAGS);
    assert_eq!(ts[15], "t15");
    let flood = "#x ".repeat(MAX_SPANS * 2);
    assert_eq!(spans(&flood).len(), MAX_SPANS);
    assert_eq!(tags(&flood), vec!["x"]);
    // duplicates count once, in first-seen order, whatever their case
    assert_eq!(tags("#B #a #b #A"), vec!["b", "a"]);
    let at = |n| format!("#{}", "t".repeat(n));
    assert_eq!(tags(&at(MAX_TAG_BYTES)).len(), 1);
    assert_eq!(tags(&at(MAX_TAG_BYTES + 1)), Vec::<String>::new());
    let user = |n| format!("@{}", "u".repeat(n));
    assert_eq!(spans(&user(MAX_USER_LEN)).len(), 1);
    assert_eq!(spans(&user(MAX_USER_LEN + 1)), vec![]);
}

/// Pathological inputs finish quickly (the pass is linear).
#[test]
fn hostile_repetitions_are_linear() {
    for unit in ["http://-", "@a-", "#a·", "(((", ")))", "@a@", "h"] {
        let text = unit.repeat(200_000 / unit.len());
        let t = std::time::Instant::now();
        let s = spans(&text);
        assert!(s.len() <= MAX_SPANS);
        assert!(t.elapsed().as_secs() < 5, "{unit} took {:?}", t.elapsed());
    }
    let parens = format!("https://a.test/{}", ")".repeat(MAX_URL_BYTES - 20));
    assert_eq!(spans(&parens)[0].end, "https://a.test/".len());
}

proptest! {
    #[test]
    fn spans_are_ordered_disjoint_and_on_boundaries(text in "\\PC{0,200}") {
        check(&text)?;
    }

    #[test]
    fn spans_of_span_shaped_text(text in "([@#＃/.()=&a-zA-Z0-9_·\u{200C} é日\u{301}-]|https?://|\n){0,80}") {
        check(&text)?;
    }
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let all = spans(text);
    prop_assert!(all.len() <= MAX_SPANS);
    let mut last = 0;
    for s in &all {
        prop_assert!(s.start >= last && s.start < s.end && s.end <= text.len());
        prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        last = s.end;
    }
    prop_assert!(mentions(text, "h.test").len() <= MAX_MENTIONS);
    for t in tags(text) {
        prop_assert!(!t.is_empty() && t.len() <= MAX_TAG_BYTES);
    }
    crate::fuzz::text_spans(text.as_bytes());
    Ok(())
}
