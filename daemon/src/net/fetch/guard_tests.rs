//! Tests of the address guard: one address in (and at the edges of) each refused range.

use super::*;

fn refused(s: &str) -> bool {
    let ip: IpAddr = s.parse().unwrap();
    let r = check(ip, false);
    assert!(
        check(ip, true).is_ok(),
        "{s}: allow_private lets everything through"
    );
    match r {
        Err(FetchError::Refused(got)) => {
            assert_eq!(got, ip);
            true
        }
        Ok(()) => false,
        Err(e) => panic!("{s}: {e}"),
    }
}

#[test]
fn every_non_public_ipv4_range_is_refused() {
    for s in [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.0.9",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        assert!(refused(s), "{s} passed");
    }
}

#[test]
fn public_ipv4_addresses_next_to_the_ranges_pass() {
    for s in [
        "1.1.1.1",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.1",
        "169.253.255.255",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.1",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "203.0.114.1",
        "223.255.255.255",
    ] {
        assert!(!refused(s), "{s} refused");
    }
}

#[test]
fn every_non_public_ipv6_range_is_refused() {
    for s in [
        "::",
        "::1",
        "::10.0.0.1",
        "::8.8.8.8",
        "100::1",
        "2001::1",
        "2001:2::1",
        "2001:10::1",
        "2001:db8::1",
        "3fff::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        // IPv4 embedded: mapped, NAT64, 6to4
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:192.168.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "2002:c0a8:101::",
    ] {
        assert!(refused(s), "{s} passed");
    }
}

#[test]
fn public_ipv6_addresses_pass() {
    for s in [
        "2a00:1450:4001:82a::200e",
        "2606:4700::6810:84e5",
        "2001:4860::1",
        "2001:db9::1",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ] {
        assert!(!refused(s), "{s} refused");
    }
}
