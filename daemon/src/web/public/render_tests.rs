use super::*;

const SITE: Site = Site {
    base: "https://a.test",
    domain: "a.test",
};

fn post(author: &str, seq: u64, kind: &str, text: Option<&str>, refers: Option<&str>) -> PostView {
    PostView {
        id: format!("{author}/{seq}"),
        author: author.into(),
        seq,
        time_ms: 1_796_551_440_000,
        kind: kind.into(),
        audience: "public".into(),
        text: text.map(Into::into),
        refers_to: refers.map(Into::into),
        display_name: String::new(),
        ..Default::default()
    }
}

/// Every `<` in `html` opens one of the tags the renderer writes.
fn only_our_tags(html: &str) {
    let ours = [
        "<a ",
        "</a>",
        "<br>",
        "<p>",
        "</p>",
        "<small>",
        "</small>",
        "<header>",
        "</header>",
        "<time ",
        "</time>",
        "<article>",
        "</article>",
        "<blockquote>",
        "</blockquote>",
        "<b>",
        "</b>",
        "<bdi>",
        "</bdi>",
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
        "<img ",
    ];
    for (i, _) in html.match_indices('<') {
        assert!(
            ours.iter().any(|t| html[i..].starts_with(t)),
            "unexpected markup at {i} in {html}"
        );
    }
}

#[test]
fn links_urls_mentions_and_tags() {
    let html = text_html(
        &SITE,
        "hi @bob, @carol@B.test: see https://x.test/a?b=1&c=2 #Fox\nbye",
    );
    assert_eq!(
        html,
        "hi <a href=\"https://a.test/@bob\" class=\"mention\">@bob</a>, \
         <a href=\"https://b.test/@carol\" class=\"mention\">@carol@B.test</a>: see \
         <a href=\"https://x.test/a?b=1&amp;c=2\" rel=\"nofollow noopener ugc\">https://x.test/a?b=1&amp;c=2</a> \
         <a href=\"https://a.test/tags/fox\" class=\"hashtag\" rel=\"tag\">#Fox</a><br>bye"
    );
    // IDN mentions link to the ASCII host; Unicode tags are percent-encoded in the link
    let html = text_html(&SITE, "@joe@bücher.test #日本");
    assert!(
        html.contains("href=\"https://xn--bcher-kva.test/@joe\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://a.test/tags/%E6%97%A5%E6%9C%AC\""),
        "{html}"
    );
    // an invalid address is plain text
    assert_eq!(text_html(&SITE, "@bad_"), "@bad_");
}

#[test]
fn hostile_text_is_never_markup() {
    for hostile in [
        "<script>alert(1)</script>",
        "https://x.test/\"><script>alert(1)</script>",
        "https://x.test/'onmouseover='alert(1)",
        "javascript:alert(1) JavaScript://x.test/%0aalert(1)",
        "<a href=\"javascript:alert(1)\">x</a>",
        "@bob\"><img src=x onerror=alert(1)> #t<svg onload=alert(1)>",
        "data:text/html,<script>alert(1)</script> vbscript:x",
        "\r\n\u{0}\u{fffe}<",
    ] {
        let html = text_html(&SITE, hostile);
        only_our_tags(&html);
        assert!(!html.contains("href=\"javascript"), "{html}");
        assert!(!html.contains("href=\"data"), "{html}");
        assert!(!html.contains("href=\"vbscript"), "{html}");
        // attribute values never hold a raw quote: each href ends at its own closing quote
        for (i, _) in html.match_indices("href=\"") {
            let value = &html[i + 6..];
            let end = value.find('"').unwrap();
            assert!(!value[..end].contains(['<', '>', '\'']), "{html}");
        }
    }
    assert_eq!(
        text_html(&SITE, "https://x.test/\"><b>"),
        "<a href=\"https://x.test/\" rel=\"nofollow noopener ugc\">https://x.test/</a>&quot;&gt;&lt;b&gt;"
    );
}

#[test]
fn times_are_readable_and_machine_readable() {
    assert_eq!(readable_time(1_796_551_440_000), "6 Dec 2026, 10:04 UTC");
    assert_eq!(readable_time(0), "1 Jan 1970, 00:00 UTC");
    assert_eq!(
        time_html(951_782_400_000),
        "<time datetime=\"2000-02-29T00:00:00Z\">29 Feb 2000, 00:00 UTC</time>"
    );
}

#[test]
fn a_post_shows_its_real_author_and_links_their_post() {
    let remote = post(
        "bob@b.test",
        7,
        "reply",
        Some("yes"),
        Some("alice@a.test/3"),
    );
    let html = post_article(&SITE, &remote, None);
    assert!(
        html.contains("href=\"https://b.test/@bob\">bob@b.test</a>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://b.test/@bob/7\"><time"),
        "{html}"
    );
    assert!(
        html.contains("reply to <a href=\"https://a.test/@alice/3\">alice@a.test/3</a>"),
        "{html}"
    );
    let mut local = post("alice@a.test", 3, "post", Some("hi"), None);
    local.display_name = "Alice <3".into();
    let html = post_article(&SITE, &local, None);
    assert!(
        html.contains("<a class=\"author\" href=\"https://a.test/@alice\"><b><bdi>Alice &lt;3</bdi></b> alice@a.test</a>"),
        "{html}"
    );
    assert!(html.contains("href=\"https://a.test/@alice/3\""), "{html}");
    only_our_tags(&html);
}

#[test]
fn a_repost_shows_the_reposted_post() {
    let repost = post("alice@a.test", 4, "repost", None, Some("bob@b.test/7"));
    let of = post("bob@b.test", 7, "post", Some("the original"), None);
    let html = post_article(&SITE, &repost, Some(&of));
    assert!(html.contains("alice@a.test</a> reposted"), "{html}");
    assert!(html.contains("<p>the original</p>"), "{html}");
    assert!(html.contains("href=\"https://b.test/@bob/7\""), "{html}");
    assert!(html.contains("href=\"https://a.test/@alice/4\""), "{html}");
    // not stored here: a link to it
    let html = post_article(&SITE, &repost, None);
    assert!(
        html.contains("repost of <a href=\"https://b.test/@bob/7\">bob@b.test/7</a>"),
        "{html}"
    );
}

#[test]
fn a_content_warning_hides_the_text_behind_details() {
    let mut p = post(
        "alice@a.test",
        3,
        "post",
        Some("it ends <well> #Film"),
        None,
    );
    p.summary = Some("spoilers <b>& more".into());
    let html = post_article(&SITE, &p, None);
    assert!(
        html.contains(
            "<details><summary>spoilers &lt;b&gt;&amp; more</summary>\
             <p>it ends &lt;well&gt; <a href=\"https://a.test/tags/film\""
        ),
        "{html}"
    );
    assert!(html.contains("</a></p></details><small>"), "{html}");
    only_our_tags(&html);
    // a reposted post keeps its warning
    let repost = post("bob@b.test", 9, "repost", None, Some("alice@a.test/3"));
    let html = post_article(&SITE, &repost, Some(&p));
    assert!(
        html.contains("<blockquote><header>") && html.contains("<details><summary>spoilers"),
        "{html}"
    );
    // no warning (or a blank one): the text is a plain paragraph
    for summary in [None, Some("  ")] {
        p.summary = summary.map(Into::into);
        let html = post_article(&SITE, &p, None);
        assert!(!html.contains("<details>"), "{html}");
        assert!(html.contains("<p>it ends"), "{html}");
    }
}

#[test]
fn an_edited_post_says_when() {
    let mut p = post(
        "alice@a.test",
        3,
        "reply",
        Some("fixed"),
        Some("bob@b.test/1"),
    );
    let html = post_article(&SITE, &p, None);
    assert!(!html.contains("edited"), "{html}");
    p.edited_ms = Some(951_782_400_000);
    let html = post_article(&SITE, &p, None);
    assert!(
        html.contains(
            "</a> · edited <time datetime=\"2000-02-29T00:00:00Z\">29 Feb 2000, 00:00 UTC</time> · reply to "
        ),
        "{html}"
    );
    only_our_tags(&html);
}

#[test]
fn counts_show_only_when_there_are_some() {
    let mut p = post("alice@a.test", 3, "post", Some("hi"), None);
    assert_eq!(counts_html(&p), "");
    p.likes = 3;
    p.reposts = 1;
    assert_eq!(
        counts_html(&p),
        "<p><small class=\"counts\">3 likes · 1 repost</small></p>"
    );
    p.likes = 1;
    p.reposts = 0;
    assert_eq!(
        counts_html(&p),
        "<p><small class=\"counts\">1 like</small></p>"
    );
    p.likes = 0;
    p.reposts = 2;
    assert_eq!(
        counts_html(&p),
        "<p><small class=\"counts\">2 reposts</small></p>"
    );
}

#[test]
fn pictures_show_with_alt_text_size_and_lazy_loading() {
    let mut p = post("alice@a.test", 3, "post", Some("look"), None);
    p.media = vec![crate::store::messages::MediaView {
        url: format!("/media/{}", "ab".repeat(32)),
        media_type: "image/jpeg".into(),
        size: 1000,
        width: 1200,
        height: 800,
        orientation: 6,
        alt: "a \"red\" <bicycle>".into(),
        blurhash: String::new(),
    }];
    let html = post_article(&SITE, &p, None);
    only_our_tags(&html);
    assert!(
        html.contains(&format!(
            "<img src=\"https://a.test/media/{}\" alt=\"a &quot;red&quot; &lt;bicycle&gt;\" \
             width=\"800\" height=\"1200\" loading=\"lazy\" decoding=\"async\">",
            "ab".repeat(32)
        )),
        "{html}"
    );
    // behind a content warning, the pictures are hidden with the text
    p.summary = Some("spoilers".into());
    let html = post_article(&SITE, &p, None);
    let details = html.find("<details>").unwrap();
    assert!(html.find("<img ").unwrap() > details, "{html}");
}
