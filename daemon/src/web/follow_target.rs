//! What a person may type to follow someone: `user@domain`, `@user@domain` (as other
//! networks write it), or the link of their profile page, `https://host/@user` (also
//! `http://`, a port, a trailing slash, a query or a fragment). Each becomes the canonical
//! [`Address`] `user@host`; anything else is a 400 that says what was expected.
//!
//! A link is taken apart by hand, not by a URL library, and only this shape is accepted: no
//! user information before the host (`https://x@host/@u` hides the real host from a reader),
//! no IPv6 literal (not a domain), no path but `/@user`.

use super::WebError;
use crate::proto::Address;

/// Longest follow input looked at, in bytes; longer input is refused before any parsing.
/// The longest address (64-byte user, 253-byte domain) as a link with a port and a short
/// query fits with room to spare.
pub const MAX_FOLLOW_INPUT: usize = 512;

/// The address named by `input` (see the module doc).
pub fn parse_follow_target(input: &str) -> Result<Address, WebError> {
    if input.len() > MAX_FOLLOW_INPUT {
        return Err(WebError::TooLarge(format!(
            "an address to follow is at most {MAX_FOLLOW_INPUT} bytes, this is {}",
            input.len()
        )));
    }
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("the address to follow is empty"));
    }
    if let Some(rest) =
        strip_prefix_ignore_case(s, "https://").or_else(|| strip_prefix_ignore_case(s, "http://"))
    {
        return from_link(rest);
    }
    if s.contains("://") {
        return Err(bad(
            "only http:// and https:// profile links can be followed",
        ));
    }
    let plain = s.strip_prefix('@').unwrap_or(s);
    Ok(Address::parse(plain)?)
}

fn bad(why: &str) -> WebError {
    WebError::BadRequest(format!(
        "{why}: write user@domain, @user@domain or a profile link such as https://domain/@user"
    ))
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `host[:port]/@user[/][?query][#fragment]`, after the scheme.
fn from_link(rest: &str) -> Result<Address, WebError> {
    let rest = rest.split(['#', '?']).next().unwrap_or_default();
    let (authority, path) = rest
        .split_once('/')
        .ok_or_else(|| bad("a profile link ends in /@user"))?;
    if authority.contains('@') {
        return Err(bad(
            "a link with a user name before its host is not followed",
        ));
    }
    if authority.starts_with('[') {
        return Err(bad("a link to an IP address names no domain"));
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad("the link's port is not a number from 1 to 65535"));
            }
            host
        }
        None => authority,
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let user = path
        .strip_prefix('@')
        .filter(|u| !u.is_empty() && !u.contains('/'))
        .ok_or_else(|| bad("a profile link ends in /@user"))?;
    if host.is_empty() {
        return Err(bad("the link names no host"));
    }
    Ok(Address::new(user, host)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        match parse_follow_target(input) {
            Ok(a) => a.as_str().to_string(),
            Err(e) => panic!("{input:?} refused: {e}"),
        }
    }

    #[test]
    fn addresses_handles_and_profile_links_name_the_same_person() {
        for input in [
            "bob@b.test",
            "  Bob@B.Test\n",
            "@bob@b.test",
            "https://b.test/@bob",
            "HTTPS://B.test/@bob/",
            "http://b.test:8080/@bob",
            "https://b.test/@bob?before=12",
            "https://b.test/@bob#top",
        ] {
            assert_eq!(ok(input), "bob@b.test", "{input:?}");
        }
        assert_eq!(ok("https://bücher.test/@anna"), "anna@xn--bcher-kva.test");
    }

    #[test]
    fn hostile_input_is_refused_with_a_reason() {
        let long = format!("bob@{}.test", "a".repeat(MAX_FOLLOW_INPUT));
        for input in [
            "",
            "   ",
            "@",
            "@@b.test",
            "bob",
            "@bob",
            "bob @b.test",
            "bob@b.test extra",
            "bob@b.test/@x",
            "bob@@b.test",
            "böb@b.test",
            "bob@b\u{202e}tset",
            "\u{0}bob@b.test",
            long.as_str(),
            "ftp://b.test/@bob",
            "javascript://b.test/@bob",
            "https://b.test",
            "https://b.test/",
            "https://b.test/bob",
            "https://b.test/@",
            "https://b.test/@bob/12",
            "https://b.test/@bob/feed.atom",
            "https://b.test/users/@bob",
            "https://b.test/@bob@c.test",
            "https://evil.test@b.test/@bob",
            "https://[::1]/@bob",
            "https://b.test:0/@bob",
            "https://b.test:99999/@bob",
            "https://b.test:x/@bob",
            "https:///@bob",
            "https://:80/@bob",
            "https://b.test/@b%6fb",
            "https://b test/@bob",
        ] {
            match parse_follow_target(input) {
                Err(WebError::BadRequest(why)) | Err(WebError::TooLarge(why)) => {
                    assert!(!why.is_empty(), "{input:?}")
                }
                other => panic!("{input:?} gave {other:?}"),
            }
        }
    }
}
