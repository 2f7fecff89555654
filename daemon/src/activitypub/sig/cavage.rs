//! draft-cavage-http-signatures-12, the scheme Mastodon signs with: the `Signature` header
//! (`keyId`, `algorithm`, `headers`, `signature`, `created`, `expires`), the signing string,
//! verification and the signing of POSTs and GETs the way Mastodon makes them.

use base64ct::{Base64, Encoding};

use super::{date, digest, policy, Outgoing, Request, Scheme, Verified};
use super::{MAX_COVERED, MAX_KEY_ID_LEN, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURE_LEN};
use crate::activitypub::keys::{Algorithm, PublicKey, RsaSigningKey};
use crate::activitypub::SigError;

/// Most parameters read from one `Signature` header (six are defined).
pub const MAX_CAVAGE_PARAMS: usize = 8;

/// What Mastodon covers on a POST.
const POST_HEADERS: &[&str] = &["(request-target)", "host", "date", "digest", "content-type"];
/// What Mastodon covers on a GET.
const GET_HEADERS: &[&str] = &["(request-target)", "host", "date"];

/// A parsed draft-cavage `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CavageSignature {
    /// `keyId`.
    pub key_id: String,
    /// `algorithm`, if given (`rsa-sha256`, `hs2019`, …).
    pub algorithm: Option<String>,
    /// `headers`, lower-cased; `date` alone when absent (as Mastodon reads it).
    pub headers: Vec<String>,
    /// The decoded `signature`.
    pub signature: Vec<u8>,
    /// `created`, Unix seconds.
    pub created: Option<u64>,
    /// `expires`, Unix seconds.
    pub expires: Option<u64>,
}

const BAD: SigError = SigError::Malformed("Signature header");

impl CavageSignature {
    /// Parses a `Signature` header value (bounded by [`MAX_SIGNATURE_HEADER_LEN`]).
    pub fn parse(value: &str) -> Result<Self, SigError> {
        if value.len() > MAX_SIGNATURE_HEADER_LEN {
            return Err(SigError::TooLarge("Signature header"));
        }
        let mut fields: Vec<(&str, &str)> = Vec::new();
        let mut rest = value.trim();
        while !rest.is_empty() {
            if fields.len() >= MAX_CAVAGE_PARAMS {
                return Err(SigError::TooLarge("Signature parameters"));
            }
            let (name, after) = rest.split_once('=').ok_or(BAD)?;
            let name = name.trim();
            let (v, after) = if let Some(quoted) = after.strip_prefix('"') {
                quoted.split_once('"').ok_or(BAD)?
            } else {
                after.split_at(after.find(',').unwrap_or(after.len()))
            };
            if fields.iter().any(|(n, _)| *n == name) || name.is_empty() {
                return Err(BAD);
            }
            fields.push((name, v.trim()));
            rest = after.trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => return Err(BAD),
            };
        }
        let get = |n: &str| fields.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        let key_id = get("keyId").ok_or(SigError::Malformed("keyId"))?;
        if key_id.len() > MAX_KEY_ID_LEN {
            return Err(SigError::TooLarge("keyId"));
        }
        let b64 = get("signature").ok_or(SigError::Malformed("signature"))?;
        if b64.len() > MAX_SIGNATURE_LEN * 4 / 3 + 4 {
            return Err(SigError::TooLarge("signature"));
        }
        let signature = Base64::decode_vec(b64).map_err(|_| SigError::Malformed("signature"))?;
        let headers: Vec<String> = match get("headers") {
            None => vec!["date".into()],
            Some(h) => h
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect(),
        };
        if headers.is_empty() {
            return Err(BAD);
        }
        if headers.len() > MAX_COVERED {
            return Err(SigError::TooLarge("covered headers"));
        }
        Ok(CavageSignature {
            key_id: key_id.to_string(),
            algorithm: get("algorithm").map(str::to_string),
            headers,
            signature,
            created: get("created").map(seconds).transpose()?,
            expires: get("expires").map(seconds).transpose()?,
        })
    }

    fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }
}

/// Unix seconds in `created` / `expires` (digits only; at most 12 of them).
fn seconds(s: &str) -> Result<u64, SigError> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(SigError::Malformed("created or expires"));
    }
    s.parse()
        .map_err(|_| SigError::Malformed("created or expires"))
}

/// The signing string: one `name: value` line per covered header, joined by `\n`.
pub fn cavage_signing_string(req: &Request<'_>, sig: &CavageSignature) -> Result<String, SigError> {
    let mut lines = Vec::with_capacity(sig.headers.len());
    for h in &sig.headers {
        let value = match h.as_str() {
            "(request-target)" => {
                format!("{} {}", req.method.to_ascii_lowercase(), req.target)
            }
            "(created)" => sig
                .created
                .ok_or(SigError::Malformed("created"))?
                .to_string(),
            "(expires)" => sig
                .expires
                .ok_or(SigError::Malformed("expires"))?
                .to_string(),
            name if name.starts_with('(') => return Err(SigError::UnsupportedComponent),
            "host" if req.header("host")?.is_none() => req.authority.to_string(),
            name => req
                .header(name)?
                .ok_or_else(|| SigError::MissingHeader(name.to_string()))?,
        };
        lines.push(format!("{h}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// Verifies a draft-cavage `Signature` header against the request and the policy.
pub(super) fn verify<F>(
    req: &Request<'_>,
    value: &str,
    now: u64,
    key_for: F,
) -> Result<Verified, SigError>
where
    F: FnOnce(&str) -> Option<PublicKey>,
{
    let sig = CavageSignature::parse(value)?;
    if !sig.covers("date") && !sig.covers("(created)") {
        return Err(SigError::NotCovered("date or (created)"));
    }
    if !sig.covers("(request-target)") && !sig.covers("digest") {
        return Err(SigError::NotCovered("(request-target) or digest"));
    }
    if req.method.eq_ignore_ascii_case("GET") && !sig.covers("host") {
        return Err(SigError::NotCovered("host"));
    }
    if sig.covers("(created)") || sig.created.is_some() {
        policy::check_time(sig.created.ok_or(SigError::Malformed("created"))?, now)?;
    }
    if sig.covers("date") {
        policy::check_date_header(req, now)?;
    }
    policy::check_expires(sig.expires, now)?;
    policy::check_body(req, |h| sig.covers(h))?;
    let signing_string = cavage_signing_string(req, &sig)?;
    let key = key_for(&sig.key_id).ok_or(SigError::UnknownKey)?;
    let alg = match sig.algorithm.as_deref() {
        None | Some("hs2019") if key.is_rsa() => Algorithm::RsaSha256,
        None | Some("hs2019") | Some("ed25519") => Algorithm::Ed25519,
        Some("rsa-sha256") => Algorithm::RsaSha256,
        Some("rsa-sha512") => Algorithm::RsaSha512,
        Some(_) => return Err(SigError::UnsupportedAlgorithm),
    };
    key.verify(alg, signing_string.as_bytes(), &sig.signature)?;
    Ok(Verified {
        key_id: sig.key_id,
        scheme: Scheme::Cavage,
    })
}

/// Signs a POST as Mastodon does (`(request-target) host date digest content-type`, RSA
/// SHA-256). Returns the headers to send besides `Host` and `Content-Type`: `Date`, `Digest`,
/// `Signature`.
pub fn sign_post(
    key: &RsaSigningKey,
    key_id: &str,
    out: &Outgoing<'_>,
    now: u64,
) -> Result<Vec<(&'static str, String)>, SigError> {
    let date = date::format(now);
    let digest = digest::digest_header(out.body);
    let headers = [
        ("host", out.authority),
        ("date", date.as_str()),
        ("digest", digest.as_str()),
        ("content-type", out.content_type),
    ];
    let signature = sign(key, key_id, out, &headers, POST_HEADERS)?;
    Ok(vec![
        ("Date", date),
        ("Digest", digest),
        ("Signature", signature),
    ])
}

/// Signs a GET as Mastodon does (`(request-target) host date`). Returns `Date` and `Signature`.
pub fn sign_get(
    key: &RsaSigningKey,
    key_id: &str,
    out: &Outgoing<'_>,
    now: u64,
) -> Result<Vec<(&'static str, String)>, SigError> {
    let date = date::format(now);
    let headers = [("host", out.authority), ("date", date.as_str())];
    let signature = sign(key, key_id, out, &headers, GET_HEADERS)?;
    Ok(vec![("Date", date), ("Signature", signature)])
}

fn sign(
    key: &RsaSigningKey,
    key_id: &str,
    out: &Outgoing<'_>,
    headers: &[(&str, &str)],
    covered: &[&str],
) -> Result<String, SigError> {
    if key_id.contains('"') || key_id.len() > MAX_KEY_ID_LEN {
        return Err(SigError::Malformed("keyId"));
    }
    let req = Request {
        method: out.method,
        scheme: out.scheme,
        authority: out.authority,
        target: out.target,
        headers,
        body: out.body,
    };
    let sig = CavageSignature {
        key_id: key_id.to_string(),
        algorithm: Some("rsa-sha256".into()),
        headers: covered.iter().map(|h| h.to_string()).collect(),
        signature: Vec::new(),
        created: None,
        expires: None,
    };
    let bytes = key.sign_sha256(cavage_signing_string(&req, &sig)?.as_bytes())?;
    Ok(format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
        covered.join(" "),
        Base64::encode_string(&bytes)
    ))
}
