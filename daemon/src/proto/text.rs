//! Placeholder until the parser lands (replaced at merge).
use super::Address;

/// Most mentions.
pub const MAX_MENTIONS: usize = 16;

/// Distinct hashtags.
pub fn tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split_whitespace() {
        if let Some(t) = w.strip_prefix('#') {
            let t: String = t
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .flat_map(char::to_lowercase)
                .collect();
            if !t.is_empty() && !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Distinct mentions.
pub fn mentions(text: &str, local_domain: &str) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    for w in text.split_whitespace() {
        if let Some(m) = w.strip_prefix('@') {
            let m = m.trim_end_matches(['.', ',', '!', '?', ':', ';', ')']);
            let a = if m.contains('@') {
                Address::parse(m)
            } else {
                Address::parse(&format!("{m}@{local_domain}"))
            };
            if let Ok(a) = a {
                if !out.contains(&a) && out.len() < MAX_MENTIONS {
                    out.push(a);
                }
            }
        }
    }
    out
}
