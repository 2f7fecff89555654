//! Tests of the tunnel and per-address budgets.

use super::*;

#[test]
fn tls_takes_at_most_half_and_links_keep_the_rest() {
    let mut t = Table::default();
    for id in 0..MAX_TLS_TUNNELS as u32 {
        assert_eq!(t.open(id, Kind::Tls, ()), Ok(()));
    }
    assert_eq!(t.open(100, Kind::Tls, ()), Err(Refused::TlsShare));
    assert_eq!(t.tls(), MAX_TLS_TUNNELS);
    // every tunnel left is a link's
    for id in 0..(MAX_TUNNELS - MAX_TLS_TUNNELS) as u32 {
        assert_eq!(t.open(1000 + id, Kind::Link, ()), Ok(()), "{id}");
    }
    assert_eq!(t.len(), MAX_TUNNELS);
    assert_eq!(t.open(5000, Kind::Link, ()), Err(Refused::Full));
    assert_eq!(t.open(5000, Kind::Tls, ()), Err(Refused::Full));
    // a TLS tunnel closed frees a TLS slot
    assert_eq!(t.remove(0), Some(()));
    assert_eq!(t.tls(), MAX_TLS_TUNNELS - 1);
    assert_eq!(t.open(0, Kind::Tls, ()), Ok(()));
    // a link closed frees a slot TLS may not take while it holds its share
    assert_eq!(t.remove(1000), Some(()));
    assert_eq!(t.admits(Kind::Tls), Err(Refused::TlsShare));
    assert_eq!(t.admits(Kind::Link), Ok(()));
}

#[test]
fn links_may_fill_the_table_and_ids_are_not_reused_while_open() {
    let mut t = Table::default();
    for id in 0..MAX_TUNNELS as u32 {
        assert_eq!(t.open(id, Kind::Link, id), Ok(()));
    }
    assert_eq!(t.admits(Kind::Tls), Err(Refused::Full));
    assert_eq!(t.get(7), Some(&7));
    assert_eq!(t.remove(7), Some(7));
    assert_eq!(t.remove(7), None, "closed once");
    assert_eq!(t.open(8, Kind::Tls, 0), Err(Refused::InUse));
    assert_eq!(t.get(8), Some(&8), "the open tunnel kept");
    assert_eq!(t.tls(), 0);
    t.clear();
    assert!(t.is_empty());
    assert_eq!(t.tls(), 0);
}

#[test]
fn one_address_holds_at_most_its_share_and_gets_it_back() {
    let mut p = PerSource::default();
    let a: IpAddr = "198.51.100.7".parse().unwrap();
    let b: IpAddr = "198.51.100.8".parse().unwrap();
    for _ in 0..MAX_PER_SOURCE {
        assert!(p.take(a));
    }
    assert!(!p.take(a), "over its share");
    assert!(p.take(b), "another address is not limited by it");
    p.release(a);
    assert!(p.take(a));
    for _ in 0..MAX_PER_SOURCE {
        p.release(a);
    }
    p.release(b);
    assert_eq!(p.held(a), 0);
    assert_eq!(
        p.sources(),
        0,
        "nothing kept for addresses that hold nothing"
    );
    // a release without a take changes nothing
    p.release(a);
    assert_eq!(p.sources(), 0);
}

#[test]
fn an_ipv6_subscriber_counts_as_its_64_and_mapped_ipv4_as_ipv4() {
    let mut p = PerSource::default();
    for i in 0..MAX_PER_SOURCE {
        let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
        assert!(p.take(ip));
    }
    assert!(!p.take("2001:db8:1:2:ffff::1".parse().unwrap()), "same /64");
    assert!(p.take("2001:db8:1:3::1".parse().unwrap()), "another /64");
    let v4: IpAddr = "203.0.113.5".parse().unwrap();
    let mapped: IpAddr = "::ffff:203.0.113.5".parse().unwrap();
    assert_eq!(source(mapped), v4);
    for _ in 0..MAX_PER_SOURCE {
        assert!(p.take(mapped));
    }
    assert!(!p.take(v4));
}
