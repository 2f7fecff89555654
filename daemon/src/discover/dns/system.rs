//! The system's resolver configuration, read as text (sans-IO): the `nameserver` lines of
//! `/etc/resolv.conf` and the names of `/etc/hosts`. Both files are bounded before they are
//! read ([`MAX_FILE`]); lines that do not parse are skipped, as the C library skips them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Name servers used from resolv.conf (the C library's MAXNS).
pub const MAX_NAMESERVERS: usize = 3;
/// Largest resolv.conf or hosts file read.
pub const MAX_FILE: u64 = 64 * 1024;
/// Entries kept from the hosts file.
pub const MAX_HOSTS: usize = 1024;
/// The server asked when resolv.conf names none (what the C library does).
pub const FALLBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

/// The name servers resolv.conf names, in order, on port 53. IPv6 addresses with a zone
/// (`fe80::1%eth0`) are skipped: a link-local server needs its interface, which a socket
/// address read from text does not carry.
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next()?.parse::<IpAddr>().ok())
                .flatten()
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .take(MAX_NAMESERVERS)
        .collect()
}

/// The hosts file as (lowercase name, address) pairs, aliases included.
pub fn hosts(text: &str) -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        for name in words {
            if out.len() >= MAX_HOSTS {
                return out;
            }
            out.push((name.trim_end_matches('.').to_ascii_lowercase(), ip));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_are_read_in_order_and_odd_lines_skipped() {
        let conf = "# generated\nsearch lan\nnameserver 192.168.1.1\nnameserver  ::1\n\
                    nameserver fe80::1%eth0\nnameserver bogus\noptions ndots:1\n\
                    nameserver 10.0.0.1\nnameserver 10.0.0.2\n";
        assert_eq!(
            nameservers(conf),
            vec![
                "192.168.1.1:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "10.0.0.1:53".parse().unwrap(),
            ]
        );
        assert!(nameservers("").is_empty());
    }

    #[test]
    fn hosts_names_and_aliases_lowercase() {
        let h = hosts("127.0.0.1 localhost\n10.0.0.4  Msm.Test msm-alias. # lab\nnot-an-ip x\n");
        let ip: IpAddr = "10.0.0.4".parse().unwrap();
        assert!(h.contains(&("msm.test".into(), ip)));
        assert!(h.contains(&("msm-alias".into(), ip)));
        assert!(!h.iter().any(|(n, _)| n == "x" || n == "lab"));
    }
}
