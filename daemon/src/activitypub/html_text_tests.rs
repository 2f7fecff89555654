//! Tests of reducing remote HTML to plain text.

use super::html_text::{decode, to_text, HtmlError, MAX_HTML_BYTES};
use crate::proto::Address;

fn text(html: &str) -> String {
    to_text(html, &()).unwrap()
}

#[test]
fn paragraphs_and_line_breaks() {
    assert_eq!(
        text("<p>Hello<br>world</p><p>Second   one\n here</p>"),
        "Hello\nworld\n\nSecond one here"
    );
    assert_eq!(text("  plain  text  "), "plain text");
    assert_eq!(
        text("<ul><li>one</li><li>two</li></ul>after"),
        "• one\n\n• two\n\nafter"
    );
    assert_eq!(text("<pre>a\n  b</pre>"), "a\n  b");
}

#[test]
fn references_are_decoded_and_unknown_ones_kept() {
    assert_eq!(
        text("<p>Tom &amp; Jerry &lt;3 &#233;t&#xE9; &#x1F600; &bogus; &#xFFFFFFFF;</p>"),
        "Tom & Jerry <3 été 😀 &bogus; &#xFFFFFFFF;"
    );
    assert_eq!(decode("a&#0;b"), "a\u{FFFD}b");
    // a reference followed closely by a character of several bytes
    assert_eq!(decode("&amp;&amp;\u{FFFD}"), "&&\u{FFFD}");
}

#[test]
fn nothing_executable_or_hidden_survives() {
    let html = "<p>hi<script>alert(1)</script><style>p{}</style>\
                <img src=x onerror=alert(2)><iframe src=\"javascript:alert(3)\">x</iframe>\
                <!-- <b>secret</b> --><svg><text>drawn</text></svg> there</p>";
    let t = text(html);
    assert_eq!(t, "hi there");
    for bad in ["alert", "<", "javascript", "secret", "drawn"] {
        assert!(!t.contains(bad), "{bad} survived in {t:?}");
    }
}

#[test]
fn links_keep_their_targets_and_only_web_ones() {
    // Mastodon's own rendering of a long link: the scheme and the tail are hidden, the text
    // read is the whole URL
    let mastodon = "<p>see <a href=\"https://example.com/a/very/long/path\" rel=\"nofollow\">\
                    <span class=\"invisible\">https://</span><span class=\"ellipsis\">example.com/a/very/</span>\
                    <span class=\"invisible\">long/path</span></a></p>";
    assert_eq!(text(mastodon), "see https://example.com/a/very/long/path");
    assert_eq!(
        text("<a href=\"https://x.test/doc\">the docs</a>"),
        "the docs (https://x.test/doc)"
    );
    assert_eq!(
        text("<a href=\"javascript:alert(1)\">click</a>"),
        "click",
        "a non-web link is only its text"
    );
    assert_eq!(
        text("<a href=\"https://x.test/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>rust</span></a>"),
        "#rust"
    );
}

#[test]
fn mentions_are_written_as_addresses_when_the_tags_name_them() {
    let html = "<p><span class=\"h-card\"><a href=\"https://social.test/users/bob\" class=\"u-url mention\">\
                @<span>bob</span></a></span> hello</p>";
    let tags = |href: &str, _text: &str| {
        (href == "https://social.test/users/bob")
            .then(|| Address::parse("bob@social.test").unwrap())
    };
    assert_eq!(to_text(html, &tags).unwrap(), "@bob@social.test hello");
    // unknown to the tags: the link as it reads
    assert_eq!(
        to_text(html, &()).unwrap(),
        "@bob (https://social.test/users/bob) hello"
    );
}

#[test]
fn broken_markup_still_reads() {
    assert_eq!(text("a < b and c > d"), "a < b and c > d");
    assert_eq!(text("<p>unclosed <b>bold"), "unclosed bold");
    assert_eq!(text("</p></div>stray</a>"), "stray");
    assert_eq!(text("<a href='https://x.test/'"), "");
    assert_eq!(text("x<br/>y</br>z"), "x\ny\nz");
    // a tag name longer than the bound, cut inside a character of several bytes
    assert_eq!(text(&format!("<a{}>x", "é".repeat(1500))), "x");
    let deep = "<div>".repeat(5_000) + "deep" + &"</div>".repeat(5_000);
    assert_eq!(text(&deep), "deep");
}

#[test]
fn oversize_content_is_refused() {
    let big = "a".repeat(MAX_HTML_BYTES + 1);
    assert_eq!(
        to_text(&big, &()),
        Err(HtmlError::TooLong(MAX_HTML_BYTES + 1))
    );
}

proptest::proptest! {
    #[test]
    fn any_input_gives_text_without_markup_or_control_characters(s in "\\PC{0,200}|[<>&/a-z=\"' #;x0-9!-]{0,200}") {
        let t = to_text(&s, &()).unwrap();
        proptest::prop_assert!(t.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
        proptest::prop_assert!(!t.starts_with(['\n', ' ']) && !t.ends_with(['\n', ' ']));
    }
}
