//! `user@domain` addresses.
//!
//! An address names one identity on one domain. Its canonical form is all lower case, with the
//! domain in IDNA ASCII form (`xn--` labels); [`Address::parse`] accepts Unicode and upper case and
//! canonicalises. Two addresses are equal exactly when their canonical strings are.
//!
//! Rules (kept strict because addresses become DNS names, URL path segments and database keys):
//! - user: 1..=[`MAX_USER_LEN`] bytes of `a-z 0-9 . _ -`, starting and ending with a letter or digit;
//! - domain: a host name of at most [`MAX_DOMAIN_LEN`] bytes after IDNA (UTS 46, STD3 rules), labels
//!   of 1..=63 bytes of letters, digits and inner hyphens. Single-label names such as `localhost`
//!   are allowed for labs and first runs.

use super::ProtoError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Longest user part, in bytes (the local-part limit of e-mail, RFC 5321).
pub const MAX_USER_LEN: usize = 64;
/// Longest domain, in bytes, in its ASCII form (the DNS limit).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest DNS label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest input [`Address::parse`] looks at; longer input is refused before any IDNA work.
/// Unicode domains are longer than their ASCII form, so this leaves room for them.
pub const MAX_ADDRESS_INPUT: usize = 1024;

/// A canonical `user@domain` address.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// `user@domain`, canonical.
    full: String,
    /// Byte index of the `@`.
    at: usize,
}

impl Address {
    /// Parses and canonicalises an address.
    pub fn parse(input: &str) -> Result<Self, ProtoError> {
        if input.len() > MAX_ADDRESS_INPUT {
            return Err(ProtoError::TooLarge {
                what: "address",
                got: input.len(),
                max: MAX_ADDRESS_INPUT,
            });
        }
        let (user, domain) = input
            .split_once('@')
            .filter(|(u, d)| !u.is_empty() && !d.is_empty() && !d.contains('@'))
            .ok_or_else(|| ProtoError::AddressForm(input.to_string()))?;
        let user = canonical_user(user)?;
        let domain = canonical_domain(domain)?;
        Ok(Address {
            at: user.len(),
            full: format!("{user}@{domain}"),
        })
    }

    /// Builds an address from a user name and a domain, with the same rules as [`Address::parse`].
    pub fn new(user: &str, domain: &str) -> Result<Self, ProtoError> {
        Self::parse(&format!("{user}@{domain}"))
    }

    /// The user part.
    pub fn user(&self) -> &str {
        &self.full[..self.at]
    }

    /// The domain part, in IDNA ASCII form.
    pub fn domain(&self) -> &str {
        &self.full[self.at + 1..]
    }

    /// The whole canonical address.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

/// Checks a user part and returns it lower-cased.
pub fn canonical_user(user: &str) -> Result<String, ProtoError> {
    let bad = |why| ProtoError::UserName {
        name: user.to_string(),
        why,
    };
    if user.is_empty() {
        return Err(bad("it is empty"));
    }
    if user.len() > MAX_USER_LEN {
        return Err(bad("it is longer than 64 bytes"));
    }
    let lower = user.to_ascii_lowercase();
    if !lower
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(bad(
            "only letters a-z, digits, '.', '_' and '-' are allowed",
        ));
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !edge_ok(lower.bytes().next()) || !edge_ok(lower.bytes().last()) {
        return Err(bad("it must start and end with a letter or digit"));
    }
    Ok(lower)
}

/// Checks a domain and returns its canonical IDNA ASCII form.
pub fn canonical_domain(domain: &str) -> Result<String, ProtoError> {
    let bad = |why| ProtoError::Domain {
        domain: domain.to_string(),
        why,
    };
    let ascii =
        idna::domain_to_ascii_strict(domain).map_err(|_| bad("not a valid IDNA host name"))?;
    if ascii.is_empty() {
        return Err(bad("it is empty"));
    }
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(bad("it is longer than 253 bytes"));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(bad("it has an empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad("a label is longer than 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad("a label has a character other than a-z, 0-9 and '-'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("a label starts or ends with '-'"));
        }
    }
    if ascii.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad("an IP address is not a domain"));
    }
    Ok(ascii)
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.full)
    }
}

impl std::str::FromStr for Address {
    type Err = ProtoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.full)
    }
}

impl<'de> Deserialize<'de> for Address {
    /// On the wire an address must already be canonical: a peer that sends `Bob@B.test` sends
    /// bytes that another encoder would not produce, and signatures are over canonical bytes.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let a = Address::parse(&s).map_err(serde::de::Error::custom)?;
        if a.full != s {
            return Err(serde::de::Error::custom(ProtoError::NotCanonical(
                "address",
            )));
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_case_and_idna() {
        let a = Address::parse("Alice@Smith.Family").unwrap();
        assert_eq!(a.as_str(), "alice@smith.family");
        assert_eq!(a.user(), "alice");
        assert_eq!(a.domain(), "smith.family");
        let u = Address::parse("jörg@Bücher.example").unwrap_err();
        assert!(matches!(u, ProtoError::UserName { .. }), "{u}");
        let d = Address::parse("joerg@Bücher.example").unwrap();
        assert_eq!(d.domain(), "xn--bcher-kva.example");
        assert_eq!(Address::parse("x@localhost").unwrap().domain(), "localhost");
    }

    #[test]
    fn refuses_bad_forms_with_reasons() {
        for bad in [
            "",
            "alice",
            "@a.test",
            "alice@",
            "a@b@c.test",
            "-al@a.test",
            "al.@a.test",
            "a b@a.test",
            "a@-a.test",
            "a@a..test",
            "a@a_b.test",
            "a@1.2.3.4",
            "a@a.test.",
        ] {
            let e = Address::parse(bad).expect_err(bad);
            assert!(!e.to_string().is_empty());
        }
        let long_user = format!("{}@a.test", "u".repeat(65));
        assert!(matches!(
            Address::parse(&long_user),
            Err(ProtoError::UserName { .. })
        ));
        let long_label = format!("u@{}.test", "l".repeat(64));
        assert!(matches!(
            Address::parse(&long_label),
            Err(ProtoError::Domain { .. })
        ));
        let huge = "a".repeat(MAX_ADDRESS_INPUT + 1);
        assert!(matches!(
            Address::parse(&huge),
            Err(ProtoError::TooLarge { .. })
        ));
    }

    #[test]
    fn wire_form_must_be_canonical() {
        let ok: Result<Address, _> = serde_json::from_str("\"bob@b.test\"");
        assert_eq!(ok.unwrap().as_str(), "bob@b.test");
        let upper: Result<Address, _> = serde_json::from_str("\"Bob@b.test\"");
        assert!(upper.unwrap_err().to_string().contains("canonical"));
    }
}
