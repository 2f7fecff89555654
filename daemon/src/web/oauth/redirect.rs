//! Redirect URIs (sans-IO): which an app may register, exact matching, where the authorize
//! page may send the browser (its `form-action`), and adding `code`/`state` to one.
//!
//! An app registers at most [`MAX_URIS`] URIs of at most [`MAX_URI_LEN`] bytes each, sent as
//! one string separated by spaces or newlines (Mastodon's form) or as a list. Taken: `http` and
//! `https` with a plain host (no user part), an app's own scheme (`com.example.app:/cb`,
//! `oauth2redirect://app/`), and `urn:ietf:wg:oauth:2.0:oob` (the code is shown on the page).
//! Refused: schemes a browser would run or read locally (`javascript:`, `data:`, `file:`...),
//! fragments (RFC 6749 section 3.1.2), and anything but printable ASCII (so a URI is safe in a
//! `Location` header and a CSP source). An authorization names one of them exactly.

/// Redirect URIs one app may register.
pub const MAX_URIS: usize = 8;
/// Longest redirect URI.
pub const MAX_URI_LEN: usize = 2000;
/// "Show the code on the page" (out of band).
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// Schemes never taken as an app's own.
const REFUSED_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "about",
    "blob",
    "filesystem",
    "view-source",
    "ws",
    "wss",
    "ftp",
    "mailto",
    "tel",
    "urn",
];

/// Why redirect URIs are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectError {
    /// No URI given.
    Missing,
    /// More than [`MAX_URIS`].
    TooMany,
    /// One is over [`MAX_URI_LEN`].
    TooLong,
    /// One is not a URI this node redirects to, in words.
    Refused(&'static str),
}

impl std::fmt::Display for RedirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedirectError::Missing => write!(f, "redirect_uris is required"),
            RedirectError::TooMany => write!(f, "more than {MAX_URIS} redirect URIs"),
            RedirectError::TooLong => write!(f, "a redirect URI is over {MAX_URI_LEN} bytes"),
            RedirectError::Refused(why) => write!(f, "redirect URI refused: {why}"),
        }
    }
}

/// The URIs of a registration: each item may hold several separated by whitespace.
pub fn parse_list(items: &[&str]) -> Result<Vec<String>, RedirectError> {
    let mut out: Vec<String> = Vec::new();
    for uri in items.iter().flat_map(|i| i.split_ascii_whitespace()) {
        if out.len() >= MAX_URIS {
            return Err(RedirectError::TooMany);
        }
        validate(uri)?;
        if !out.iter().any(|u| u == uri) {
            out.push(uri.to_string());
        }
    }
    if out.is_empty() {
        return Err(RedirectError::Missing);
    }
    Ok(out)
}

/// The scheme of `uri`, lower-cased, if it has a well-formed one.
fn scheme(uri: &str) -> Option<String> {
    let (s, _) = uri.split_once(':')?;
    let mut b = s.bytes();
    let first_ok = b.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    (first_ok && rest_ok).then(|| s.to_ascii_lowercase())
}

/// The `host[:port]` of an `http(s)://` URI, if plain.
fn authority(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let plain = !auth.is_empty()
        && auth
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then_some(auth)
}

/// Checks one URI.
pub fn validate(uri: &str) -> Result<(), RedirectError> {
    if uri.len() > MAX_URI_LEN {
        return Err(RedirectError::TooLong);
    }
    if !uri.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(RedirectError::Refused("only printable ASCII"));
    }
    if uri == OOB {
        return Ok(());
    }
    if uri.contains('#') {
        return Err(RedirectError::Refused("no fragment"));
    }
    let scheme = scheme(uri).ok_or(RedirectError::Refused("no scheme"))?;
    match scheme.as_str() {
        "http" | "https" => authority(uri)
            .map(|_| ())
            .ok_or(RedirectError::Refused("an http(s) URI needs a plain host")),
        s if REFUSED_SCHEMES.contains(&s) => Err(RedirectError::Refused("that scheme")),
        s if uri.len() == s.len() + 1 => Err(RedirectError::Refused("nothing after the scheme")),
        _ => Ok(()),
    }
}

/// Is `uri` one of the registered ones (exactly, byte for byte)?
pub fn is_registered(registered: &[String], uri: &str) -> bool {
    registered.iter().any(|r| r == uri)
}

/// The CSP source the authorize page may send the browser to after the form: the origin of
/// an http(s) URI, the scheme of an app's own, nothing for [`OOB`].
pub fn csp_source(uri: &str) -> Option<String> {
    if uri == OOB {
        return None;
    }
    let scheme = scheme(uri)?;
    match scheme.as_str() {
        "http" | "https" => Some(format!("{scheme}://{}", authority(uri)?)),
        _ => Some(format!("{scheme}:")),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `uri` with `params` added to its query.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_string();
    for (k, v) in params {
        let sep = match out.find('?') {
            None => '?',
            Some(_) if out.ends_with(['?', '&']) => {
                out.push_str(&format!("{k}={}", encode(v)));
                continue;
            }
            Some(_) => '&',
        };
        out.push(sep);
        out.push_str(&format!("{k}={}", encode(v)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_takes_web_app_and_oob_uris() {
        let got =
            parse_list(&["https://app.example/cb com.example.app:/cb\nurn:ietf:wg:oauth:2.0:oob"])
                .unwrap();
        assert_eq!(
            got,
            vec!["https://app.example/cb", "com.example.app:/cb", OOB]
        );
        assert_eq!(
            parse_list(&["http://127.0.0.1:8080/x", "oauth2redirect://tusky/"])
                .unwrap()
                .len(),
            2
        );
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "https://app.example/cb#frag",
            "https://user@evil.example/",
            "https:///nohost",
            "noscheme/path",
            "1abc:/x",
            "urn:other",
            "app:",
        ] {
            assert!(parse_list(&[bad]).is_err(), "{bad} was taken");
        }
        assert_eq!(parse_list(&["", "  "]), Err(RedirectError::Missing));
        let many = (0..=MAX_URIS)
            .map(|i| format!("https://a.example/{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(parse_list(&[&many]), Err(RedirectError::TooMany));
        let long = format!("https://a.example/{}", "x".repeat(MAX_URI_LEN));
        assert_eq!(parse_list(&[&long]), Err(RedirectError::TooLong));
        assert!(parse_list(&["https://a.example/\u{7f}"]).is_err());
    }

    #[test]
    fn matching_is_exact() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert!(is_registered(&reg, "https://app.example/cb"));
        for other in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "http://app.example/cb",
            "https://app.example/c",
            "https://app.example/cb.evil.example",
        ] {
            assert!(!is_registered(&reg, other), "{other} matched");
        }
    }

    #[test]
    fn csp_sources_and_query_building() {
        assert_eq!(
            csp_source("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            csp_source("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source(OOB), None);
        assert_eq!(
            with_params(
                "https://a.example/cb",
                &[("code", "abc"), ("state", "x y&z")]
            ),
            "https://a.example/cb?code=abc&state=x%20y%26z"
        );
        assert_eq!(
            with_params("https://a.example/cb?k=v", &[("code", "c")]),
            "https://a.example/cb?k=v&code=c"
        );
    }
}
