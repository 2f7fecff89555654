//! The SSRF guard: which addresses an outgoing request may connect to.
//!
//! A remote server names the URLs this node fetches (actor IRIs, inboxes), so without a guard
//! anyone could make the node reach its own loopback services or the household's LAN (the
//! router's admin page, printers). Only public unicast addresses pass: loopback, private
//! (RFC 1918), carrier-grade NAT, link-local, unique-local, multicast, unspecified, broadcast,
//! reserved, benchmarking and documentation ranges are refused, and so are IPv6 addresses that
//! embed an IPv4 address of those (mapped, compatible, NAT64, 6to4). The client checks every
//! resolved address and connects only to one that passed, with no second resolution between
//! the check and the connect. A lab sets `allow_private` to reach its own machines.

use super::FetchError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `Ok` when the client may connect to `ip`, `Refused` otherwise.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), FetchError> {
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(FetchError::Refused(ip))
    }
}

/// Whether `ip` is a public unicast address of the internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// IPv4 ranges that are not public unicast: (network, prefix length).
const NOT_PUBLIC_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network", including the unspecified address
    ([10, 0, 0, 0], 8),      // private (RFC 1918)
    ([100, 64, 0, 0], 10),   // carrier-grade NAT (RFC 6598)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local
    ([172, 16, 0, 0], 12),   // private (RFC 1918)
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private (RFC 1918)
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, including broadcast 255.255.255.255
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let a = u32::from(ip);
    !NOT_PUBLIC_V4.iter().any(|(net, len)| {
        let mask = u32::MAX << (32 - u32::from(*len));
        a & mask == u32::from_be_bytes(*net)
    })
}

/// IPv6 ranges that are not public unicast: (network, prefix length). The ranges that embed
/// an IPv4 address are handled before this list is consulted.
const NOT_PUBLIC_V6: &[(u128, u8)] = &[
    (0, 96),                           // unspecified, loopback, IPv4-compatible
    (0x0100_0000_0000_0000 << 64, 64), // discard-only (RFC 6666)
    (0x2001_0000 << 96, 32),           // Teredo (hides the real peer)
    (0x2001_0002 << 96, 48),           // benchmarking
    (0x2001_0010 << 96, 28),           // ORCHID
    (0x2001_0db8 << 96, 32),           // documentation
    (0x3fff_0000 << 96, 20),           // documentation (RFC 9637)
    (0xfc00 << 112, 7),                // unique local
    (0xfe80 << 112, 10),               // link-local
    (0xfec0 << 112, 10),               // site-local (deprecated)
    (0xff00 << 112, 8),                // multicast
];

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let a = u128::from(ip);
    // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96): the IPv4 address decides.
    if a >> 32 == 0xffff || a >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return is_public_v4(Ipv4Addr::from(a as u32));
    }
    // 6to4 (2002::/16) carries the IPv4 address in bits 16..48.
    if a >> 112 == 0x2002 {
        return is_public_v4(Ipv4Addr::from((a >> 80) as u32));
    }
    !NOT_PUBLIC_V6.iter().any(|(net, len)| {
        let mask = u128::MAX << (128 - u32::from(*len));
        a & mask == *net
    })
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
