use super::*;

const LINKS: Links<'static> = Links {
    base: "https://smith.family",
    local_domain: "smith.family",
    author_domain: "smith.family",
};

#[test]
fn paragraphs_and_line_breaks() {
    assert_eq!(content("", &LINKS), "");
    assert_eq!(content("one", &LINKS), "<p>one</p>");
    assert_eq!(
        content("a\nb\n\nc\r\n\r\n\n\nd", &LINKS),
        "<p>a<br>b</p><p>c</p><p>d</p>"
    );
}

#[test]
fn hostile_text_stays_text() {
    let html = content("<script>alert('x')</script> & \"q\"", &LINKS);
    assert_eq!(
        html,
        "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>"
    );
    // only http(s) is a link
    let html = content("javascript:alert(1) data:text/html,<b>x</b>", &LINKS);
    assert!(!html.contains("<a"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    // a quote or an angle bracket ends a URL, and what follows is escaped text
    let html = content("https://e.test/a\"onmouseover=\"x<img src=x>", &LINKS);
    assert_eq!(
        html,
        "<p><a href=\"https://e.test/a\" rel=\"nofollow noopener\" target=\"_blank\">\
         https://e.test/a</a>&quot;onmouseover=&quot;x&lt;img src=x&gt;</p>"
    );
    // an apostrophe inside a URL is escaped in the attribute
    let html = content("see https://e.test/it's", &LINKS);
    assert!(html.contains("href=\"https://e.test/it&#39;s\""), "{html}");
    assert!(!html.contains("href=\"https://e.test/it's"), "{html}");
}

#[test]
fn links_mentions_and_tags() {
    let html = content(
        "hi @bob and @carol@other.test, see https://e.test/x?a=1&b=2 #Rust",
        &LINKS,
    );
    assert_eq!(
        html,
        "<p>hi <span class=\"h-card\" translate=\"no\"><a href=\"https://smith.family/@bob\" \
         class=\"u-url mention\">@<span>bob</span></a></span> and \
         <span class=\"h-card\" translate=\"no\"><a href=\"https://other.test/@carol\" \
         class=\"u-url mention\">@<span>carol</span></a></span>, see \
         <a href=\"https://e.test/x?a=1&amp;b=2\" rel=\"nofollow noopener\" target=\"_blank\">\
         https://e.test/x?a=1&amp;b=2</a> \
         <a href=\"https://smith.family/tags/rust\" class=\"mention hashtag\" rel=\"tag\">\
         #<span>Rust</span></a></p>"
    );
}

#[test]
fn a_bare_mention_is_on_the_authors_node() {
    let remote = Links {
        author_domain: "other.test",
        ..LINKS
    };
    let html = content("@dan hello", &remote);
    assert!(html.contains("href=\"https://other.test/@dan\""), "{html}");
}

#[test]
fn tags_are_percent_encoded_in_links() {
    let html = content("#café", &LINKS);
    assert!(
        html.contains("href=\"https://smith.family/tags/caf%C3%A9\""),
        "{html}"
    );
}
