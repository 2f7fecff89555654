//! Tests of [`parse_url`].

use super::*;

fn ok(url: &str) -> Target {
    parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn bad(url: &str) -> &'static str {
    match parse_url(url) {
        Err(FetchError::BadUrl(why)) => why,
        other => panic!("{url}: {other:?}"),
    }
}

#[test]
fn host_port_authority_and_path_are_as_sent() {
    let t = ok("https://Mastodon.Example/users/alice?page=1#main-key");
    assert_eq!(t.host, "mastodon.example");
    assert_eq!(t.port, 443);
    assert_eq!(t.authority, "mastodon.example");
    assert_eq!(t.path, "/users/alice?page=1");
    let t = ok("HTTPS://a.test:8443");
    assert_eq!(
        (t.port, t.authority.as_str(), t.path.as_str()),
        (8443, "a.test:8443", "/")
    );
    assert_eq!(ok("https://a.test:443/x").authority, "a.test");
    assert_eq!(ok("https://a.test?q=1").path, "/?q=1");
    assert_eq!(ok("https://a.test/%7Ealice").path, "/%7Ealice");
}

#[test]
fn ip_literals_are_parsed_and_bracketed_in_the_authority() {
    let t = ok("https://127.0.0.1:8443/inbox");
    assert_eq!(
        (t.host.as_str(), t.authority.as_str()),
        ("127.0.0.1", "127.0.0.1:8443")
    );
    assert_eq!(t.ip(), Some("127.0.0.1".parse().unwrap()));
    let t = ok("https://[2001:DB8::1]/x");
    assert_eq!(
        (t.host.as_str(), t.authority.as_str()),
        ("2001:db8::1", "[2001:db8::1]")
    );
    assert_eq!(ok("https://[::1]:9000/").authority, "[::1]:9000");
    assert_eq!(ok("https://a.test/").ip(), None);
}

#[test]
fn other_schemes_userinfo_and_bad_authorities_are_refused() {
    assert_eq!(bad("http://a.test/"), "not an https URL");
    assert_eq!(bad("ftp://a.test/"), "not an https URL");
    assert_eq!(bad("https:/a.test/"), "not an https URL");
    assert_eq!(bad(""), "not an https URL");
    assert_eq!(bad("https://user:pw@a.test/"), "userinfo is not allowed");
    assert_eq!(bad("https://@a.test/"), "userinfo is not allowed");
    assert_eq!(bad("https:///x"), "no host");
    assert_eq!(bad("https://a.test:/"), "bad port");
    assert_eq!(bad("https://a.test:0/"), "port out of range");
    assert_eq!(bad("https://a.test:65536/"), "port out of range");
    assert_eq!(bad("https://a.test:123456/"), "bad port");
    assert_eq!(bad("https://a.test:+80/"), "bad port");
    assert_eq!(bad("https://a.test:80:80/"), "bad port");
    assert_eq!(bad("https://[::1/"), "unclosed IPv6 literal");
    assert_eq!(bad("https://[::1]x/"), "junk after IPv6 literal");
    assert_eq!(bad("https://[fe80::1%25eth0]/"), "bad IPv6 literal");
    assert_eq!(
        bad("https://a..test/"),
        "empty or overlong label in host name"
    );
    assert_eq!(
        bad("https://a.test./"),
        "empty or overlong label in host name"
    );
    assert!(bad("https://a_b.test/").contains("character"));
    assert!(bad("https://-a.test/").contains("character"));
    assert!(bad("https://bücher.test/").contains("character"));
    assert!(bad("https://a test/").contains("character"));
    assert!(bad("https://a.test\r\nX: y/").contains("character"));
}

#[test]
fn numeric_hosts_other_than_dotted_quads_are_refused() {
    for url in [
        "https://2130706433/",
        "https://0x7f.1/",
        "https://127.1/",
        "https://a.0x7f/",
        "https://1.2.3.4.5/",
        "https://0177.0.0.1/",
    ] {
        assert!(bad(url).contains("numeric"), "{url}");
    }
    assert_eq!(ok("https://a.0xyz/").host, "a.0xyz");
    assert_eq!(ok("https://1.2.3.x9/").host, "1.2.3.x9");
}

#[test]
fn paths_must_be_percent_encoded_ascii() {
    for url in [
        "https://a.test/a b",
        "https://a.test/\u{e9}",
        "https://a.test/x\r\nHost: evil",
        "https://a.test/?q=\t",
        "https://a.test/\0",
    ] {
        assert!(bad(url).contains("percent-encoded"), "{url:?}");
    }
}

#[test]
fn lengths_are_bounded() {
    let label = "a".repeat(63);
    let host = [label.as_str(); 4].join(".");
    assert_eq!(host.len(), 255);
    assert!(bad(&format!("https://{host}/")).contains("253"));
    let host = format!("{}.{}", "a".repeat(64), "test");
    assert!(bad(&format!("https://{host}/")).contains("overlong"));
    let at_limit = format!("https://a.test/{}", "x".repeat(MAX_URL_LEN - 15));
    assert_eq!(at_limit.len(), MAX_URL_LEN);
    assert_eq!(ok(&at_limit).path.len(), MAX_URL_LEN - 14);
    assert!(bad(&format!("{at_limit}x")).contains("2048"));
}
