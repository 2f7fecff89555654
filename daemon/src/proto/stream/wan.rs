//! Is a WAN address global? Multicast from the internet only reaches a node whose WAN address is
//! public; behind NAT or carrier-grade NAT the node uses a relay session instead.
//!
//! Not global: RFC 1918 private, 100.64.0.0/10 (CGNAT), loopback, link-local, unspecified,
//! benchmarking, the documentation ranges, multicast, reserved, and their IPv6 counterparts
//! (unique local, link-local, documentation, NAT64 well-known prefix; an IPv4-mapped address is
//! judged as its IPv4 address). A lab whose "internet" uses private or documentation addresses
//! lists those prefixes as "treat as global"; that list is checked first.

use super::StreamError;
use std::net::IpAddr;

/// An address prefix such as `192.0.2.0/24` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// Parses `address/length`; refuses a length beyond the address family's.
    pub fn parse(text: &str) -> Result<Prefix, StreamError> {
        let bad = || StreamError::BadPrefix(text.chars().take(64).collect());
        let (a, l) = text.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let len: u8 = l.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(bad());
        }
        Ok(Prefix { addr, len })
    }

    /// True if `ip` lies in the prefix (same family only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                same_prefix(u32::from(p).into(), u32::from(a).into(), self.len, 32)
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => same_prefix(p.into(), a.into(), self.len, 128),
            _ => false,
        }
    }
}

fn same_prefix(p: u128, a: u128, len: u8, bits: u32) -> bool {
    let len = u32::from(len).min(bits);
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (p >> shift) == (a >> shift)
}

/// IPv4 ranges that are not reachable from the internet (or not unicast).
const V4_NOT_GLOBAL: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // RFC 1918
    ([100, 64, 0, 0], 10),   // CGNAT, RFC 6598
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local
    ([172, 16, 0, 0], 12),   // RFC 1918
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // TEST-NET-1
    ([192, 168, 0, 0], 16),  // RFC 1918
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // TEST-NET-2
    ([203, 0, 113, 0], 24),  // TEST-NET-3
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved and broadcast
];

/// IPv6 ranges that are not global unicast, as (first 16-bit groups, prefix length).
const V6_NOT_GLOBAL: &[([u16; 2], u8)] = &[
    ([0xfc00, 0], 7),       // unique local
    ([0xfe80, 0], 10),      // link-local
    ([0x2001, 0x0db8], 32), // documentation
    ([0xff00, 0], 8),       // multicast
    ([0x0064, 0xff9b], 32), // NAT64 (64:ff9b::/96 and the local-use /48 inside it)
];

/// True if `ip` is a global unicast address, or lies in one of `treat_as_global` (lab setups).
pub fn is_global(ip: IpAddr, treat_as_global: &[Prefix]) -> bool {
    if treat_as_global.iter().any(|p| p.contains(ip)) {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => {
            let a = u32::from(v4);
            !V4_NOT_GLOBAL
                .iter()
                .any(|(p, l)| same_prefix(u32::from_be_bytes(*p).into(), a.into(), *l, 32))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_global(IpAddr::V4(v4), treat_as_global);
            }
            if v6.is_unspecified() || v6.is_loopback() {
                return false;
            }
            let a = u128::from(v6);
            !V6_NOT_GLOBAL.iter().any(|(g, l)| {
                let p = (u128::from(g[0]) << 112) | (u128::from(g[1]) << 96);
                same_prefix(p, a, *l, 128)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> bool {
        is_global(s.parse().unwrap(), &[])
    }

    #[test]
    fn private_cgnat_and_special_ranges_are_not_global() {
        for s in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.1.1",
            "192.0.2.7",
            "198.51.100.1",
            "203.0.113.9",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "ff02::1",
            "::ffff:192.168.1.1",
            "64:ff9b::1",
        ] {
            assert!(!g(s), "{s} judged global");
        }
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2a00:1450::1",
            "::ffff:1.1.1.1",
        ] {
            assert!(g(s), "{s} judged not global");
        }
    }

    #[test]
    fn lab_prefixes_override_and_parse_strictly() {
        let lab = [
            Prefix::parse("192.168.50.0/24").unwrap(),
            Prefix::parse("fd00::/8").unwrap(),
        ];
        assert!(is_global("192.168.50.9".parse().unwrap(), &lab));
        assert!(!is_global("192.168.51.9".parse().unwrap(), &lab));
        assert!(is_global("fd00::5".parse().unwrap(), &lab));
        assert!(Prefix::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert!(!Prefix::parse("0.0.0.0/0")
            .unwrap()
            .contains("::1".parse().unwrap()));
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "::/129",
            "x/8",
            "10.0.0.0/-1",
            "",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad}");
        }
    }
}
