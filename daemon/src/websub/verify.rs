//! Intent verification (W3C WebSub §5.3): before a subscription starts, is renewed or ends, the
//! hub GETs the callback with `hub.mode`, `hub.topic`, `hub.challenge` (32 random bytes in hex)
//! and, to subscribe, `hub.lease_seconds` (the lease granted). The request is verified only by a
//! 2xx answer whose body is exactly the challenge; a subscriber that did not ask (or that
//! echoes anything else) never receives a delivery.
//!
//! The URL and the judgement of the answer are pure ([`verification_url`], [`judge`]); [`verify`]
//! makes the GET with the node's client.

use super::request::{form_encode, Mode};
use crate::net::fetch::{Client, FetchError, Response};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of randomness in a challenge (sent as twice as many hex digits).
pub const CHALLENGE_BYTES: usize = 32;
/// Largest answer read from a verification: the challenge and a little more, so a body that
/// is longer than the challenge is read far enough to be seen to differ.
pub const MAX_ANSWER_BYTES: usize = 1024;

/// What a verification came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx with exactly the challenge: the subscriber wants this.
    Confirmed,
    /// The subscriber answered and did not confirm (another status, or another body): the
    /// request is dropped.
    Refused(String),
    /// No usable answer (unreachable, timeout, 5xx, 408, 429): worth asking again.
    Unanswered(String),
}

/// A fresh challenge: [`CHALLENGE_BYTES`] random bytes as lower-case hex.
pub fn challenge() -> String {
    let mut b = [0u8; CHALLENGE_BYTES];
    if SystemRandom::new().fill(&mut b).is_err() {
        // the system has no randomness to give: a challenge nobody can guess cannot be made,
        // so make one nobody can answer (the verification fails, nothing is subscribed)
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The verification GET's URL: the callback (without fragment) with the hub's parameters
/// appended to any query it has, as §5.3 says.
pub fn verification_url(
    callback: &str,
    mode: Mode,
    topic: &str,
    challenge: &str,
    lease_s: u32,
) -> String {
    let callback = callback.split('#').next().unwrap_or(callback);
    let join = if callback.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{callback}{join}hub.mode={}&hub.topic={}&hub.challenge={}",
        mode.as_str(),
        form_encode(topic),
        form_encode(challenge)
    );
    if mode == Mode::Subscribe {
        url.push_str(&format!("&hub.lease_seconds={lease_s}"));
    }
    url
}

/// Judges the answer to a verification that sent `challenge`.
pub fn judge(answer: Result<&Response, &FetchError>, challenge: &str) -> Verdict {
    match answer {
        Ok(r) if (200..300).contains(&r.status) => {
            if !challenge.is_empty() && r.body == challenge.as_bytes() {
                Verdict::Confirmed
            } else {
                Verdict::Refused("the answer is not the challenge".into())
            }
        }
        Ok(r) if r.status >= 500 || matches!(r.status, 408 | 429) => {
            Verdict::Unanswered(format!("answered {}", r.status))
        }
        Ok(r) => Verdict::Refused(format!("answered {}", r.status)),
        Err(FetchError::TooLarge(_)) => Verdict::Refused("the answer is not the challenge".into()),
        Err(e @ (FetchError::BadUrl(_) | FetchError::Refused(_))) => {
            Verdict::Refused(e.to_string())
        }
        Err(e) => Verdict::Unanswered(e.to_string()),
    }
}

/// Asks the subscriber at `callback` whether it wants `mode` of `topic`.
pub fn verify(client: &Client, callback: &str, mode: Mode, topic: &str, lease_s: u32) -> Verdict {
    let challenge = challenge();
    let url = verification_url(callback, mode, topic, &challenge, lease_s);
    let answer = client.get(&url, &[], MAX_ANSWER_BYTES);
    judge(answer.as_ref(), &challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn challenges_are_fresh_hex() {
        let (a, b) = (challenge(), challenge());
        assert_eq!(a.len(), 2 * CHALLENGE_BYTES);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_url_keeps_the_callback_query_and_encodes_the_topic() {
        let url = verification_url(
            "https://sub.test/cb?id=7#frag",
            Mode::Subscribe,
            "https://a.test/@al/feed.atom",
            "abc",
            7200,
        );
        assert_eq!(
            url,
            "https://sub.test/cb?id=7&hub.mode=subscribe\
             &hub.topic=https%3A%2F%2Fa.test%2F%40al%2Ffeed.atom&hub.challenge=abc\
             &hub.lease_seconds=7200"
        );
        let url = verification_url("https://s.test/", Mode::Unsubscribe, "t", "c", 1);
        assert_eq!(
            url,
            "https://s.test/?hub.mode=unsubscribe&hub.topic=t&hub.challenge=c"
        );
    }

    #[test]
    fn only_the_exact_challenge_in_a_2xx_confirms() {
        let c = "00ff";
        assert_eq!(judge(Ok(&answer(200, c)), c), Verdict::Confirmed);
        assert_eq!(judge(Ok(&answer(204, c)), c), Verdict::Confirmed);
        for wrong in ["", "00FF", "00ff\n", "ok", "00f"] {
            assert!(
                matches!(judge(Ok(&answer(200, wrong)), c), Verdict::Refused(_)),
                "{wrong:?}"
            );
        }
        assert!(matches!(judge(Ok(&answer(404, c)), c), Verdict::Refused(_)));
        assert!(matches!(judge(Ok(&answer(302, c)), c), Verdict::Refused(_)));
        assert!(matches!(
            judge(Ok(&answer(503, c)), c),
            Verdict::Unanswered(_)
        ));
        assert!(matches!(
            judge(Err(&FetchError::Timeout), c),
            Verdict::Unanswered(_)
        ));
        assert!(matches!(
            judge(Err(&FetchError::TooLarge("body")), c),
            Verdict::Refused(_)
        ));
        // a challenge that could not be made is never confirmed, even by an empty answer
        assert!(matches!(
            judge(Ok(&answer(200, "")), ""),
            Verdict::Refused(_)
        ));
    }
}
