//! Which interface is the WAN one, and its addresses: the interface configured, else the one of
//! the IPv4 default route (`/proc/net/route`), else the first up, non-loopback interface with an
//! IPv4 address (`getifaddrs`).

use super::FirehoseError;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use std::net::{IpAddr, Ipv4Addr};

/// Longest `/proc/net/route` read: a router's table is a few dozen lines.
const MAX_ROUTE_TABLE: usize = 64 * 1024;

/// The interface chosen and what the firehose needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wan {
    /// Its name.
    pub name: String,
    /// Its index (for IPv6 multicast).
    pub index: u32,
    /// Its first IPv4 address, if any.
    pub v4: Option<Ipv4Addr>,
    /// Every address it has (classified by `is_global`).
    pub addrs: Vec<IpAddr>,
}

/// Finds the WAN interface: `configured` if not empty, else the default route's, else the first
/// up non-loopback one with an IPv4 address.
pub fn wan(configured: &str) -> Result<Wan, FirehoseError> {
    if !configured.is_empty() {
        return describe(configured);
    }
    if let Some(name) = default_route_interface() {
        if let Ok(w) = describe(&name) {
            return Ok(w);
        }
    }
    let ifs = getifaddrs().map_err(|e| FirehoseError::Io(e.into()))?;
    for i in ifs {
        let up = i.flags.contains(InterfaceFlags::IFF_UP);
        let lo = i.flags.contains(InterfaceFlags::IFF_LOOPBACK);
        let v4 = i
            .address
            .as_ref()
            .and_then(|a| a.as_sockaddr_in())
            .is_some();
        if up && !lo && v4 {
            return describe(&i.interface_name);
        }
    }
    Err(FirehoseError::NoInterface(
        "no up, non-loopback interface with an IPv4 address".into(),
    ))
}

/// The addresses of interface `name`.
pub fn describe(name: &str) -> Result<Wan, FirehoseError> {
    let index = nix::net::if_::if_nametoindex(name)
        .map_err(|_| FirehoseError::NoInterface(format!("no interface {name:?}")))?;
    let mut w = Wan {
        name: name.to_string(),
        index,
        v4: None,
        addrs: Vec::new(),
    };
    for i in getifaddrs().map_err(|e| FirehoseError::Io(e.into()))? {
        if i.interface_name != name {
            continue;
        }
        let Some(a) = i.address else { continue };
        if let Some(v4) = a.as_sockaddr_in() {
            let ip = v4.ip();
            w.v4.get_or_insert(ip);
            w.addrs.push(IpAddr::V4(ip));
        } else if let Some(v6) = a.as_sockaddr_in6() {
            w.addrs.push(IpAddr::V6(v6.ip()));
        }
    }
    Ok(w)
}

/// The interface of the IPv4 default route, if the kernel shows one.
fn default_route_interface() -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open("/proc/net/route")
        .ok()?
        .take(MAX_ROUTE_TABLE as u64)
        .read_to_string(&mut text)
        .ok()?;
    default_in_route_table(&text)
}

/// Parses `/proc/net/route`: the first route with destination and mask 0.
fn default_in_route_table(text: &str) -> Option<String> {
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (iface, dest, mask) = (f.first()?, f.get(1)?, f.get(7)?);
        (*dest == "00000000" && *mask == "00000000").then(|| iface.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_route_is_found_in_the_table() {
        let t =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth1\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                 eth0\t00000000\t0164A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(super::default_in_route_table(t).as_deref(), Some("eth0"));
        assert_eq!(super::default_in_route_table("Iface\n"), None);
        assert_eq!(super::default_in_route_table("Iface\nbroken"), None);
    }

    #[test]
    fn loopback_is_described() {
        let w = super::describe("lo").unwrap();
        assert_eq!(w.v4, Some(std::net::Ipv4Addr::LOCALHOST));
        assert!(super::describe("no-such-if0").is_err());
    }
}
