use super::*;

/// An answer to `query(id, name, qtype)` with the given records (owner, type, rdata), the
/// owner written as a pointer to the question's name when it is `None`.
fn respond(
    id: u16,
    flags: u16,
    name: &str,
    qtype: Qtype,
    rrs: &[(Option<&str>, u16, Vec<u8>)],
) -> Vec<u8> {
    let mut m = query(id, name, qtype).unwrap();
    m[2..4].copy_from_slice(&(0x8000 | flags).to_be_bytes());
    m[6..8].copy_from_slice(&(rrs.len() as u16).to_be_bytes());
    for (owner, rtype, rdata) in rrs {
        match owner {
            None => m.extend_from_slice(&[0xc0, 12]),
            Some(o) => encode_name(&mut m, o).unwrap(),
        }
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&300u32.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }
    m
}

fn name_bytes(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    encode_name(&mut v, n).unwrap();
    v
}

#[test]
fn a_query_is_one_question_with_recursion_desired() {
    let q = query(0xbeef, "_msm._tcp.Smith.Family.", Qtype::Srv).unwrap();
    assert_eq!(&q[..12], &[0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        &q[12..],
        [&name_bytes("_msm._tcp.Smith.Family")[..], &[0, 33, 0, 1]].concat()
    );
    for bad in [
        "",
        ".",
        "a..b",
        &"x".repeat(64),
        &format!("{}.b", "a.".repeat(127)),
        "é.fr",
    ] {
        assert!(query(1, bad, Qtype::A).is_err(), "{bad}");
    }
}

#[test]
fn srv_txt_and_addresses_are_read() {
    let mut srv = vec![0, 10, 0, 5, 0x1f, 0x90];
    srv.extend(name_bytes("node.smith.family"));
    let m = respond(
        7,
        0,
        "_msm._tcp.smith.family",
        Qtype::Srv,
        &[(None, 33, srv)],
    );
    let a = answer(&m, 7, "_msm._tcp.smith.family.", Qtype::Srv).unwrap();
    assert_eq!(a.rcode, Rcode::NoError);
    assert_eq!(a.ttl, 300);
    assert_eq!(
        a.records,
        vec![Record::Srv {
            priority: 10,
            weight: 5,
            port: 8080,
            target: "node.smith.family".into()
        }]
    );

    let txt = [&[5][..], b"v=msm", &[1], b"1"].concat();
    let m = respond(8, 0, "_msm.smith.family", Qtype::Txt, &[(None, 16, txt)]);
    let a = answer(&m, 8, "_msm.smith.family", Qtype::Txt).unwrap();
    assert_eq!(a.records, vec![Record::Txt("v=msm1".into())]);

    let m = respond(
        9,
        0,
        "h.test",
        Qtype::Aaaa,
        &[(None, 28, vec![0; 15].into_iter().chain([1]).collect())],
    );
    assert_eq!(
        answer(&m, 9, "h.test", Qtype::Aaaa).unwrap().records,
        vec![Record::Aaaa(Ipv6Addr::LOCALHOST)]
    );
}

#[test]
fn a_cname_chain_is_followed_and_strangers_ignored() {
    let m = respond(
        1,
        0,
        "www.a.test",
        Qtype::A,
        &[
            (None, TYPE_CNAME, name_bytes("B.a.test")),
            (Some("elsewhere.test"), 1, vec![6, 6, 6, 6]),
            (Some("b.a.test"), 1, vec![10, 0, 0, 1]),
        ],
    );
    assert_eq!(
        answer(&m, 1, "WWW.a.test", Qtype::A).unwrap().records,
        vec![Record::A(Ipv4Addr::new(10, 0, 0, 1))]
    );
}

#[test]
fn nxdomain_nodata_and_truncation_are_told_apart() {
    let nx = respond(2, 3, "gone.test", Qtype::A, &[]);
    let a = answer(&nx, 2, "gone.test", Qtype::A).unwrap();
    assert_eq!((a.rcode, a.records.len(), a.ttl), (Rcode::NxDomain, 0, 0));
    let empty = respond(2, 0, "here.test", Qtype::Txt, &[]);
    assert_eq!(
        answer(&empty, 2, "here.test", Qtype::Txt).unwrap().rcode,
        Rcode::NoError
    );
    let tc = respond(2, 0x0200, "big.test", Qtype::Txt, &[]);
    assert!(answer(&tc, 2, "big.test", Qtype::Txt).unwrap().truncated);
    let refused = respond(2, 5, "x.test", Qtype::A, &[]);
    assert_eq!(
        answer(&refused, 2, "x.test", Qtype::A).unwrap().rcode,
        Rcode::Other(5)
    );
}

#[test]
fn answers_to_other_questions_are_refused() {
    let m = respond(3, 0, "a.test", Qtype::A, &[(None, 1, vec![1, 2, 3, 4])]);
    assert!(answer(&m, 4, "a.test", Qtype::A).is_err(), "another id");
    assert!(answer(&m, 3, "b.test", Qtype::A).is_err(), "another name");
    assert!(
        answer(&m, 3, "a.test", Qtype::Aaaa).is_err(),
        "another type"
    );
    let mut q = m.clone();
    q[2] &= 0x7f;
    assert!(answer(&q, 3, "a.test", Qtype::A).is_err(), "a query");
}

#[test]
fn hostile_messages_are_refused_without_panic() {
    let good = respond(5, 0, "a.test", Qtype::A, &[(None, 1, vec![1, 2, 3, 4])]);
    // Every prefix, and every single-byte change, reads or fails cleanly.
    for n in 0..good.len() {
        let _ = answer(&good[..n], 5, "a.test", Qtype::A);
    }
    for i in 0..good.len() {
        for v in [0u8, 0x3f, 0xc0, 0xff] {
            let mut m = good.clone();
            m[i] = v;
            let _ = answer(&m, 5, "a.test", Qtype::A);
        }
    }
    // A pointer to itself loops: refused after MAX_POINTER_HOPS.
    let mut looped = respond(5, 0, "a.test", Qtype::A, &[]);
    looped[6..8].copy_from_slice(&1u16.to_be_bytes());
    let at = looped.len();
    looped.extend_from_slice(&[0xc0 | (at >> 8) as u8, at as u8]);
    assert_eq!(
        answer(&looped, 5, "a.test", Qtype::A),
        Err(DnsError::Malformed("compression loop"))
    );
    // Too many records, a wrong A length, a record running past the end.
    let mut many = good.clone();
    many[6..8].copy_from_slice(&((MAX_RECORDS + 1) as u16).to_be_bytes());
    assert!(answer(&many, 5, "a.test", Qtype::A).is_err());
    let short = respond(5, 0, "a.test", Qtype::A, &[(None, 1, vec![1, 2, 3])]);
    assert!(answer(&short, 5, "a.test", Qtype::A).is_err());
    let mut past = good.clone();
    let l = past.len();
    past[l - 5] = 200;
    assert!(answer(&past, 5, "a.test", Qtype::A).is_err());
    // A label that is not a host name.
    let m = respond(
        5,
        0,
        "a.test",
        Qtype::Srv,
        &[(
            None,
            33,
            [&[0, 1, 0, 1, 0, 1, 2][..], b"\n\0", &[0]].concat(),
        )],
    );
    assert!(answer(&m, 5, "a.test", Qtype::Srv).is_err());
    assert!(answer(&vec![0u8; MAX_MESSAGE + 1], 0, "a.test", Qtype::A).is_err());
}

#[test]
fn a_cname_listed_after_its_target_still_leads_there_and_loops_are_refused() {
    let m = respond(
        6,
        0,
        "_msm.a.test",
        Qtype::Txt,
        &[
            (Some("pin.b.test"), 16, [&[6][..], b"v=msm1"].concat()),
            (None, TYPE_CNAME, name_bytes("pin.b.test")),
        ],
    );
    assert_eq!(
        answer(&m, 6, "_msm.a.test", Qtype::Txt).unwrap().records,
        vec![Record::Txt("v=msm1".into())]
    );
    let looped = respond(
        6,
        0,
        "x.test",
        Qtype::A,
        &[
            (None, TYPE_CNAME, name_bytes("y.test")),
            (Some("y.test"), TYPE_CNAME, name_bytes("x.test")),
        ],
    );
    assert_eq!(
        answer(&looped, 6, "x.test", Qtype::A),
        Err(DnsError::Malformed("CNAME loop"))
    );
}
