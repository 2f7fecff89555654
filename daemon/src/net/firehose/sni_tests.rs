//! Tests of reading the server name from a real ClientHello (rustls makes it).

use super::{server_name, Sni, SniError};
use std::sync::Arc;

/// The first flight of a rustls client for `name`.
fn client_hello(name: &str) -> Vec<u8> {
    use rustls::pki_types::ServerName;
    let roots = rustls::RootCertStore::empty();
    let config = rustls::ClientConfig::builder_with_provider(crate::web::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut c = rustls::ClientConnection::new(
        Arc::new(config),
        ServerName::try_from(name.to_string()).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    c.write_tls(&mut out).unwrap();
    out
}

#[test]
fn a_real_client_hello_names_its_host() {
    let hello = client_hello("Home.Test");
    assert_eq!(server_name(&hello), Ok(Sni::Name("home.test".into())));
}

#[test]
fn a_short_start_asks_for_more_and_every_prefix_is_safe() {
    let hello = client_hello("home.test");
    assert_eq!(server_name(&hello[..3]), Ok(Sni::NeedMore(5)));
    assert_eq!(server_name(&hello[..5]), Ok(Sni::NeedMore(hello.len())));
    for n in 0..hello.len() {
        assert!(
            matches!(server_name(&hello[..n]), Ok(Sni::NeedMore(_))),
            "{n}"
        );
    }
}

#[test]
fn an_address_has_no_name_and_garbage_is_refused() {
    // rustls sends no SNI for an IP address
    let hello = client_hello("192.0.2.1");
    assert_eq!(server_name(&hello), Ok(Sni::NoName));
    assert_eq!(
        server_name(b"GET / HTTP/1.1\r\n"),
        Err(SniError::NotClientHello)
    );
    assert!(
        server_name(&[0x16, 3, 1, 0xff, 0xff]).is_err(),
        "over a record"
    );
    // every byte flipped in turn: an answer or an error, never a panic
    let good = client_hello("home.test");
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0xff;
        let _ = server_name(&b);
    }
}
