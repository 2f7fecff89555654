//! RFC 9421 HTTP Message Signatures: `Signature-Input` / `Signature` (structured
//! dictionaries), the signature base, verification (`rsa-v1_5-sha256`, `rsa-pss-sha512`,
//! `ed25519`) and signing with `rsa-v1_5-sha256`.

use super::structured::{self, Bare, Member, Params};
use super::{date, digest, policy, Outgoing, Request, Scheme, Verified};
use super::{MAX_COVERED, MAX_KEY_ID_LEN, MAX_LABELS, MAX_SIGNATURE_HEADER_LEN, MAX_SIGNATURE_LEN};
use crate::activitypub::keys::{Algorithm, PublicKey, RsaSigningKey};
use crate::activitypub::SigError;

/// The label this node signs under.
const LABEL: &str = "sig1";

/// One labelled signature's metadata from `Signature-Input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInput {
    /// The dictionary key (`sig1`).
    pub label: String,
    /// Covered component names, in order.
    pub components: Vec<String>,
    /// `created`, Unix seconds.
    pub created: Option<u64>,
    /// `expires`, Unix seconds.
    pub expires: Option<u64>,
    /// `keyid`.
    pub key_id: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// The inner list as parsed, serialised again for `@signature-params`.
    items: Vec<(Bare, Params)>,
    params: Params,
}

impl SignatureInput {
    fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c == name)
    }
}

/// Parses `Signature-Input` (at most [`MAX_LABELS`] labels of [`MAX_COVERED`] components).
pub fn parse_signature_input(value: &str) -> Result<Vec<SignatureInput>, SigError> {
    if value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(SigError::TooLarge("Signature-Input"));
    }
    let dict = structured::parse_dictionary(value, MAX_LABELS, MAX_COVERED)?;
    let mut out = Vec::with_capacity(dict.len());
    for (label, member) in dict {
        let Member::Inner(items, params) = member else {
            return Err(SigError::Malformed("Signature-Input"));
        };
        let mut components: Vec<String> = Vec::with_capacity(items.len());
        for (item, item_params) in &items {
            let Bare::Str(name) = item else {
                return Err(SigError::Malformed("covered component"));
            };
            if !item_params.is_empty() {
                return Err(SigError::UnsupportedComponent);
            }
            if name.bytes().any(|c| c.is_ascii_uppercase())
                || components.contains(name)
                || name == "@signature-params"
            {
                return Err(SigError::Malformed("covered component"));
            }
            components.push(name.clone());
        }
        let mut input = SignatureInput {
            label,
            components,
            created: None,
            expires: None,
            key_id: None,
            alg: None,
            items,
            params: Vec::new(),
        };
        for (k, v) in &params {
            match (k.as_str(), v) {
                ("created", Bare::Int(t)) if *t >= 0 => input.created = Some(*t as u64),
                ("expires", Bare::Int(t)) if *t >= 0 => input.expires = Some(*t as u64),
                ("keyid", Bare::Str(s)) if s.len() <= MAX_KEY_ID_LEN => {
                    input.key_id = Some(s.clone())
                }
                ("keyid", Bare::Str(_)) => return Err(SigError::TooLarge("keyid")),
                ("alg", Bare::Str(s)) => input.alg = Some(s.clone()),
                ("nonce" | "tag", Bare::Str(_)) => {}
                ("created" | "expires" | "keyid" | "alg" | "nonce" | "tag", _) => {
                    return Err(SigError::Malformed("signature parameter"))
                }
                _ => {}
            }
        }
        input.params = params;
        out.push(input);
    }
    Ok(out)
}

/// The signature base: a line per covered component, then `"@signature-params"`.
pub fn signature_base(req: &Request<'_>, input: &SignatureInput) -> Result<String, SigError> {
    let mut base = String::new();
    for name in &input.components {
        let value = match name.as_str() {
            "@method" => req.method.to_string(),
            "@target-uri" => format!(
                "{}://{}{}",
                req.scheme.to_ascii_lowercase(),
                req.authority.to_ascii_lowercase(),
                req.target
            ),
            "@authority" => req.authority.to_ascii_lowercase(),
            "@scheme" => req.scheme.to_ascii_lowercase(),
            "@request-target" => req.target.to_string(),
            "@path" => match req.target.split('?').next() {
                Some("") | None => "/".to_string(),
                Some(p) => p.to_string(),
            },
            "@query" => match req.target.split_once('?') {
                Some((_, q)) => format!("?{q}"),
                None => "?".to_string(),
            },
            n if n.starts_with('@') => return Err(SigError::UnsupportedComponent),
            n => req
                .header(n)?
                .ok_or_else(|| SigError::MissingHeader(n.to_string()))?,
        };
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&structured::serialize_inner(&input.items, &input.params));
    Ok(base)
}

/// The signature a request is checked by: the first `Signature-Input` entry that has a
/// byte-sequence value in `Signature` (refused if it names no key). [`super::key_id`] and [`verify`] both choose
/// with this, so the key fetched is always the key of the signature checked.
pub(super) fn chosen(
    input_value: &str,
    signature_value: &str,
) -> Result<(SignatureInput, Vec<u8>), SigError> {
    if signature_value.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(SigError::TooLarge("Signature"));
    }
    let inputs = parse_signature_input(input_value)?;
    let signatures = structured::parse_dictionary(signature_value, MAX_LABELS, 0)?;
    let (input, signature) = inputs
        .into_iter()
        .find_map(|i| {
            signatures.iter().find_map(|(label, m)| match m {
                Member::Item(Bare::Bytes(b), _) if *label == i.label => {
                    Some((i.clone(), b.to_vec()))
                }
                _ => None,
            })
        })
        .ok_or(SigError::Malformed("Signature"))?;
    if input.key_id.is_none() {
        return Err(SigError::Malformed("keyid"));
    }
    Ok((input, signature))
}

/// Verifies the first labelled signature that has both an input and a value.
pub(super) fn verify<F>(
    req: &Request<'_>,
    input_value: &str,
    signature_value: &str,
    now: u64,
    key_for: F,
) -> Result<Verified, SigError>
where
    F: FnOnce(&str) -> Option<PublicKey>,
{
    let (input, signature) = chosen(input_value, signature_value)?;
    let signature = &signature;
    if signature.len() > MAX_SIGNATURE_LEN {
        return Err(SigError::TooLarge("signature"));
    }
    check_policy(req, &input, now)?;
    let base = signature_base(req, &input)?;
    let key_id = input.key_id.clone().ok_or(SigError::Malformed("keyid"))?;
    let key = key_for(&key_id).ok_or(SigError::UnknownKey)?;
    let alg = match input.alg.as_deref() {
        None if key.is_rsa() => Algorithm::RsaSha256,
        None | Some("ed25519") => Algorithm::Ed25519,
        Some("rsa-v1_5-sha256") => Algorithm::RsaSha256,
        Some("rsa-pss-sha512") => Algorithm::RsaPssSha512,
        Some(_) => return Err(SigError::UnsupportedAlgorithm),
    };
    key.verify(alg, base.as_bytes(), signature)?;
    Ok(Verified {
        key_id,
        scheme: Scheme::Rfc9421,
    })
}

/// Mastodon's rules in RFC 9421 terms: `created` (or `date`), the method and the target,
/// the authority on a GET, the body digest on a POST; dates in the window.
fn check_policy(req: &Request<'_>, input: &SignatureInput, now: u64) -> Result<(), SigError> {
    if input.created.is_none() && !input.covers("date") {
        return Err(SigError::NotCovered("created or date"));
    }
    if !input.covers("@method") {
        return Err(SigError::NotCovered("@method"));
    }
    if !["@target-uri", "@path", "@request-target"]
        .iter()
        .any(|c| input.covers(c))
    {
        return Err(SigError::NotCovered("@target-uri"));
    }
    if req.method.eq_ignore_ascii_case("GET")
        && !["@target-uri", "@authority", "host"]
            .iter()
            .any(|c| input.covers(c))
    {
        return Err(SigError::NotCovered("@authority"));
    }
    if let Some(created) = input.created {
        policy::check_time(created, now)?;
    }
    if input.covers("date") {
        policy::check_date_header(req, now)?;
    }
    policy::check_expires(input.expires, now)?;
    policy::check_body(req, |c| input.covers(c))
}

/// Signs a request with RFC 9421, `rsa-v1_5-sha256`, covering `@method`, `@target-uri`,
/// `@authority`, `date` and, on a POST, `content-digest`. Returns the headers to send besides
/// `Host` and `Content-Type`: `Date`, `Content-Digest` (POST), `Signature-Input`, `Signature`.
pub fn sign_rfc9421(
    key: &RsaSigningKey,
    key_id: &str,
    out: &Outgoing<'_>,
    now: u64,
) -> Result<Vec<(&'static str, String)>, SigError> {
    if key_id.len() > MAX_KEY_ID_LEN || !key_id.bytes().all(|c| (0x20..=0x7e).contains(&c)) {
        return Err(SigError::Malformed("keyid"));
    }
    let post = out.method.eq_ignore_ascii_case("POST");
    let date = date::format(now);
    let content_digest = digest::content_digest_header(out.body);
    let mut headers = vec![("date", date.as_str())];
    let mut components = vec!["@method", "@target-uri", "@authority", "date"];
    if post {
        headers.push(("content-digest", content_digest.as_str()));
        components.push("content-digest");
    }
    let items: Vec<(Bare, Params)> = components
        .iter()
        .map(|c| (Bare::Str(c.to_string()), Vec::new()))
        .collect();
    let params: Params = vec![
        ("created".into(), Bare::Int(now.min(i64::MAX as u64) as i64)),
        ("keyid".into(), Bare::Str(key_id.into())),
        ("alg".into(), Bare::Str("rsa-v1_5-sha256".into())),
    ];
    let input = SignatureInput {
        label: LABEL.into(),
        components: components.iter().map(|c| c.to_string()).collect(),
        created: Some(now),
        expires: None,
        key_id: Some(key_id.into()),
        alg: Some("rsa-v1_5-sha256".into()),
        items,
        params,
    };
    let req = Request {
        method: out.method,
        scheme: out.scheme,
        authority: out.authority,
        target: out.target,
        headers: &headers,
        body: out.body,
    };
    let base = signature_base(&req, &input)?;
    let signature = key.sign_sha256(base.as_bytes())?;
    let mut sig_value = format!("{LABEL}=");
    structured::serialize_bare(&Bare::Bytes(signature), &mut sig_value);
    let input_value = format!(
        "{LABEL}={}",
        structured::serialize_inner(&input.items, &input.params)
    );
    let mut result = vec![("Date", date.clone())];
    if post {
        result.push(("Content-Digest", content_digest.clone()));
    }
    result.push(("Signature-Input", input_value));
    result.push(("Signature", sig_value));
    Ok(result)
}
