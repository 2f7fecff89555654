//! Tests of the hub request parser: what is taken, and each refusal.

use super::*;

const BASE: &str = "https://a.test";
const DOMAIN: &str = "a.test";
const TOPIC: &str = "https%3A%2F%2Fa.test%2F%40alice%2Ffeed.atom";
const CB: &str = "https%3A%2F%2Fsub.test%2Fcb%3Fid%3D1";

fn form(extra: &str) -> Vec<u8> {
    format!("hub.mode=subscribe&hub.topic={TOPIC}&hub.callback={CB}{extra}").into_bytes()
}

fn refusal(body: &[u8]) -> WebSubError {
    parse(body, BASE, DOMAIN).expect_err("refused")
}

#[test]
fn a_subscribe_request_is_taken_with_its_lease_and_secret() {
    let r = parse(
        &form("&hub.lease_seconds=7200&hub.secret=s3%2Bcret&x.other=1"),
        BASE,
        DOMAIN,
    )
    .unwrap();
    assert_eq!(r.mode, Mode::Subscribe);
    assert_eq!(r.topic, "https://a.test/@alice/feed.atom");
    assert_eq!(r.user, "alice");
    assert_eq!(r.callback, "https://sub.test/cb?id=1");
    assert_eq!(r.callback_host, "sub.test");
    assert_eq!(r.lease_s, 7200);
    assert_eq!(r.secret.as_deref(), Some(&b"s3+cret"[..]));
    // no lease asked: the default; an unsubscribe carries no secret
    let r = parse(&form(""), BASE, DOMAIN).unwrap();
    assert_eq!((r.lease_s, r.secret), (DEFAULT_LEASE_S, None));
    let body = format!("hub.mode=unsubscribe&hub.topic={TOPIC}&hub.callback={CB}&hub.secret=x");
    let r = parse(body.as_bytes(), BASE, DOMAIN).unwrap();
    assert_eq!((r.mode, r.secret), (Mode::Unsubscribe, None));
}

#[test]
fn leases_are_clamped_and_must_be_numbers() {
    let lease = |l: &str| parse(&form(&format!("&hub.lease_seconds={l}")), BASE, DOMAIN);
    assert_eq!(lease("1").unwrap().lease_s, MIN_LEASE_S);
    assert_eq!(lease("99999999999999").unwrap().lease_s, MAX_LEASE_S);
    assert_eq!(lease("86400").unwrap().lease_s, 86_400);
    for bad in ["-5", "1e3", "12a", "99999999999999999999999", "%20"] {
        assert_eq!(lease(bad).unwrap_err(), WebSubError::BadLease, "{bad}");
    }
}

#[test]
fn each_refusal_says_why() {
    assert_eq!(
        refusal(&vec![b'a'; MAX_BODY_BYTES + 1]),
        WebSubError::TooLarge(MAX_BODY_BYTES)
    );
    assert_eq!(refusal(b""), WebSubError::Missing("hub.mode"));
    assert_eq!(
        refusal(&form("&hub.mode=subscribe")),
        WebSubError::Repeated("hub.mode")
    );
    assert_eq!(
        refusal(format!("hub.mode=publish&hub.topic={TOPIC}&hub.callback={CB}").as_bytes()),
        WebSubError::BadMode
    );
    assert_eq!(
        refusal(format!("hub.mode=subscribe&hub.callback={CB}").as_bytes()),
        WebSubError::Missing("hub.topic")
    );
    assert_eq!(
        refusal(format!("hub.mode=subscribe&hub.topic={TOPIC}").as_bytes()),
        WebSubError::Missing("hub.callback")
    );
    assert_eq!(
        refusal(&form("&hub.secret=%zz")),
        WebSubError::Malformed("a broken percent-escape")
    );
    assert_eq!(
        refusal(&form("&hub.secret=%4")),
        WebSubError::Malformed("a broken percent-escape")
    );
    assert_eq!(
        refusal(b"hub.mode=%ff%fe"),
        WebSubError::Malformed("text is not UTF-8")
    );
    let secret = "s".repeat(SECRET_LIMIT);
    assert_eq!(
        refusal(&form(&format!("&hub.secret={secret}"))),
        WebSubError::SecretTooLong
    );
    let ok = "s".repeat(SECRET_LIMIT - 1);
    assert!(parse(&form(&format!("&hub.secret={ok}")), BASE, DOMAIN).is_ok());
    let many = "&x=1".repeat(MAX_PARAMS);
    assert_eq!(
        refusal(&form(&many)),
        WebSubError::Malformed("too many parameters")
    );
}

#[test]
fn the_topic_must_be_a_feed_of_this_node() {
    for topic in [
        "https%3A%2F%2Fb.test%2F%40alice%2Ffeed.atom",
        "https%3A%2F%2Fa.test%2F%40alice",
        "https%3A%2F%2Fa.test%2F%40Alice%2Ffeed.atom",
        "https%3A%2F%2Fa.test%2F%40al%2Fice%2Ffeed.atom",
        "https%3A%2F%2Fa.test%2Ftags%2Fx%2Ffeed.atom",
        "https%3A%2F%2Fa.test%2F%40%2Ffeed.atom",
    ] {
        let body = format!("hub.mode=subscribe&hub.topic={topic}&hub.callback={CB}");
        assert!(
            matches!(refusal(body.as_bytes()), WebSubError::UnknownTopic(_)),
            "{topic}"
        );
    }
}

#[test]
fn the_callback_must_be_a_bounded_https_url() {
    for cb in [
        "http%3A%2F%2Fsub.test%2Fcb",
        "https%3A%2F%2Fuser%40sub.test%2F",
        "ftp%3A%2F%2Fsub.test%2F",
        "https%3A%2F%2Fsub.test%2Fa%20b",
        "https%3A%2F%2Fsub.test%3A0%2F",
        "javascript%3Aalert(1)",
    ] {
        let body = format!("hub.mode=subscribe&hub.topic={TOPIC}&hub.callback={cb}");
        assert!(
            matches!(refusal(body.as_bytes()), WebSubError::BadCallback(_)),
            "{cb}"
        );
    }
    // long enough that the verification query would not fit the client's URL limit
    let long = format!("https://sub.test/{}", "a".repeat(1900));
    let body = format!("hub.mode=subscribe&hub.topic={TOPIC}&hub.callback={long}");
    assert!(matches!(
        refusal(body.as_bytes()),
        WebSubError::BadCallback(_)
    ));
    let long = format!("https://sub.test/{}", "a".repeat(MAX_CALLBACK_BYTES));
    let body = format!("hub.mode=subscribe&hub.topic={TOPIC}&hub.callback={long}");
    assert!(matches!(
        refusal(body.as_bytes()),
        WebSubError::BadCallback(_)
    ));
}
