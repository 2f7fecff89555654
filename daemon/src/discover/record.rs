//! Pure parts of discovery: SRV ordering (RFC 2782) and the TXT key pin.

use crate::proto::PublicKey;

/// One SRV answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvTarget {
    /// Lower is tried first.
    pub priority: u16,
    /// Share of traffic within a priority.
    pub weight: u16,
    /// Port of the node.
    pub port: u16,
    /// Host name (no trailing dot).
    pub host: String,
}

/// Orders targets: by priority, then within each priority by weighted random selection
/// (RFC 2782: weight 0 entries are tried last but still tried). `random` seeds the choice.
pub fn order_srv(mut targets: Vec<SrvTarget>, random: &[u8; 16]) -> Vec<SrvTarget> {
    targets.sort_by_key(|t| (t.priority, t.weight == 0));
    let mut out = Vec::with_capacity(targets.len());
    let mut r = u128::from_le_bytes(*random);
    while !targets.is_empty() {
        let prio = targets[0].priority;
        let group_len = targets.iter().take_while(|t| t.priority == prio).count();
        let mut group: Vec<SrvTarget> = targets.drain(..group_len).collect();
        while !group.is_empty() {
            let total: u64 = group.iter().map(|t| u64::from(t.weight)).sum();
            let pick = if total == 0 {
                0
            } else {
                let mut x = (r % u128::from(total + 1)) as u64;
                r = r.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
                group
                    .iter()
                    .position(|t| {
                        let w = u64::from(t.weight);
                        if x <= w && w > 0 {
                            true
                        } else {
                            x = x.saturating_sub(w);
                            false
                        }
                    })
                    .unwrap_or(0)
            };
            out.push(group.remove(pick));
        }
    }
    out
}

/// Reads the key pin from the TXT strings of `_msm.<domain>`: the one starting `v=msm1`, with a
/// `k=ed25519:<base64>` field. No such record: `Ok(None)`; a malformed one: an error (a broken
/// pin must not silently turn into no pin).
pub fn parse_pin(texts: &[String]) -> Result<Option<PublicKey>, String> {
    let mut found = None;
    for t in texts {
        let mut fields = t.split_whitespace();
        if fields.next() != Some("v=msm1") {
            continue;
        }
        if found.is_some() {
            return Err("more than one v=msm1 record".into());
        }
        let key = fields
            .find_map(|f| f.strip_prefix("k="))
            .ok_or_else(|| "v=msm1 record without k=".to_string())?;
        found = Some(PublicKey::from_text(key).map_err(|e| e.to_string())?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(priority: u16, weight: u16, host: &str) -> SrvTarget {
        SrvTarget {
            priority,
            weight,
            port: 1,
            host: host.into(),
        }
    }

    #[test]
    fn priority_first_then_weight() {
        let ts = vec![
            t(20, 5, "late"),
            t(10, 0, "zero"),
            t(10, 50, "heavy"),
            t(10, 1, "light"),
        ];
        let mut firsts = std::collections::HashMap::new();
        for i in 0..200u8 {
            let mut seed = [0u8; 16];
            seed[0] = i;
            seed[5] = i.wrapping_mul(37);
            let o = order_srv(ts.clone(), &seed);
            assert_eq!(o.len(), 4);
            assert_eq!(
                o[3].host, "late",
                "priority 20 comes after all of priority 10"
            );
            *firsts.entry(o[0].host.clone()).or_insert(0) += 1;
        }
        assert!(
            firsts["heavy"] > firsts.get("light").copied().unwrap_or(0) * 5,
            "{firsts:?}"
        );
    }

    #[test]
    fn pins() {
        let k = crate::proto::NodeKey::from_bytes(&[4; 32])
            .unwrap()
            .public();
        let good = format!("v=msm1 k={}", k.to_text());
        assert_eq!(parse_pin(std::slice::from_ref(&good)).unwrap(), Some(k));
        assert_eq!(parse_pin(&["v=spf1 -all".into()]).unwrap(), None);
        assert_eq!(parse_pin(&[]).unwrap(), None);
        assert!(parse_pin(&["v=msm1".into()]).is_err());
        assert!(parse_pin(&["v=msm1 k=ed25519:AAAA".into()]).is_err());
        assert!(parse_pin(&[good.clone(), good]).is_err());
    }
}
