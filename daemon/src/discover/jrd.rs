//! The WebFinger (RFC 7033) document that names a domain's msm node: built by the node for its
//! own accounts and read by discovery when a domain has no SRV record.
//!
//! A JRD names the node in a link of relation [`REL_NODE`] whose `href` is `msm://host:port`
//! (host a DNS name or an IP literal, `[v6]` bracketed) and whose optional property
//! [`PROP_KEY`] is the node key (`ed25519:<base64>`), which then pins the link like a DNS TXT
//! record does. The document is fetched over HTTPS from the domain's web site, so it is as
//! trustworthy as that site's certificate.

use crate::proto::PublicKey;
use serde_json::{json, Value};

/// Link relation naming the msm node that serves an account.
pub const REL_NODE: &str = "urn:msm:node";
/// Link property holding the node key.
pub const PROP_KEY: &str = "urn:msm:key";
/// Link relation of the account's public profile page (WebFinger's well-known one).
pub const REL_PROFILE: &str = "http://webfinger.net/rel/profile-page";
/// Largest JRD accepted (a real one is a few hundred bytes).
pub const MAX_JRD_BYTES: usize = 16 * 1024;
/// Media type of a JRD.
pub const JRD_TYPE: &str = "application/jrd+json";

/// A node named by a JRD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JrdNode {
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Link port.
    pub port: u16,
    /// The key the node must prove, when the document names one.
    pub key: Option<PublicKey>,
}

/// The `msm://host:port` link of a node.
pub fn node_href(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("msm://[{host}]:{port}")
    } else {
        format!("msm://{host}:{port}")
    }
}

/// The JRD for `subject` (`acct:user@domain`) served by a node at `href` with key `key`, with
/// a profile page link when `profile` is given.
pub fn document(subject: &str, href: &str, key: &PublicKey, profile: Option<&str>) -> Value {
    let mut links = vec![json!({
        "rel": REL_NODE,
        "href": href,
        "properties": { PROP_KEY: key.to_text() },
    })];
    if let Some(p) = profile {
        links.push(json!({ "rel": REL_PROFILE, "type": "text/html", "href": p }));
    }
    json!({ "subject": subject, "links": links })
}

/// The node a JRD names: the first link of relation [`REL_NODE`] with a usable `href`.
pub fn parse(body: &[u8]) -> Result<JrdNode, String> {
    if body.len() > MAX_JRD_BYTES {
        return Err(format!("document larger than {MAX_JRD_BYTES} bytes"));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let links = v
        .get("links")
        .and_then(Value::as_array)
        .ok_or("no \"links\" array")?;
    let link = links
        .iter()
        .find(|l| l.get("rel").and_then(Value::as_str) == Some(REL_NODE))
        .ok_or_else(|| format!("no link with rel {REL_NODE}"))?;
    let href = link
        .get("href")
        .and_then(Value::as_str)
        .ok_or("node link has no href")?;
    let (host, port) = parse_href(href)?;
    let key = match link
        .get("properties")
        .and_then(|p| p.get(PROP_KEY))
        .and_then(Value::as_str)
    {
        Some(k) => Some(PublicKey::from_text(k).map_err(|e| format!("bad {PROP_KEY}: {e}"))?),
        None => None,
    };
    Ok(JrdNode { host, port, key })
}

/// `msm://host:port` → host and port.
fn parse_href(href: &str) -> Result<(String, u16), String> {
    let rest = href
        .strip_prefix("msm://")
        .ok_or_else(|| format!("href {href:?} is not msm://host:port"))?;
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, p) = v6
            .split_once("]:")
            .ok_or_else(|| format!("href {href:?}: bad [v6]:port"))?;
        (h, p)
    } else {
        rest.rsplit_once(':')
            .ok_or_else(|| format!("href {href:?} has no port"))?
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("href {href:?}: bad port"))?;
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
    if !ok {
        return Err(format!("href {href:?}: bad host"));
    }
    Ok((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::NodeKey;

    #[test]
    fn document_round_trips() {
        let key = NodeKey::generate().unwrap().public();
        let doc = document(
            "acct:alice@a.test",
            &node_href("node.a.test", 7450),
            &key,
            Some("https://a.test/@alice"),
        );
        let n = parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(
            n,
            JrdNode {
                host: "node.a.test".into(),
                port: 7450,
                key: Some(key)
            }
        );
        let v6 = document("acct:a@b", &node_href("::1", 9), &key, None);
        assert_eq!(parse(v6.to_string().as_bytes()).unwrap().host, "::1");
    }

    #[test]
    fn bad_documents_say_why() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not JSON"),
            ("{}", "no \"links\""),
            (
                r#"{"links":[{"rel":"other","href":"msm://a:1"}]}"#,
                "no link",
            ),
            (r#"{"links":[{"rel":"urn:msm:node"}]}"#, "no href"),
            (
                r#"{"links":[{"rel":"urn:msm:node","href":"https://a/"}]}"#,
                "not msm://",
            ),
            (
                r#"{"links":[{"rel":"urn:msm:node","href":"msm://a"}]}"#,
                "no port",
            ),
            (
                r#"{"links":[{"rel":"urn:msm:node","href":"msm://a:0"}]}"#,
                "bad port",
            ),
            (
                r#"{"links":[{"rel":"urn:msm:node","href":"msm://a b:1"}]}"#,
                "bad host",
            ),
            (
                r#"{"links":[{"rel":"urn:msm:node","href":"msm://a:1","properties":{"urn:msm:key":"x"}}]}"#,
                "bad urn:msm:key",
            ),
        ];
        for (doc, why) in cases {
            let e = parse(doc.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{doc}: {e}");
        }
        let big = vec![b' '; MAX_JRD_BYTES + 1];
        assert!(parse(&big).unwrap_err().contains("larger"));
    }
}
