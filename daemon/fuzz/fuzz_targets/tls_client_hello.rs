//! The server name of a TLS ClientHello (a hub's HTTPS routing): never panics.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::tls_client_hello(data));
