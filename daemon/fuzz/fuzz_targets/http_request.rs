//! HTTP request heads and body framing (the vendored tiny_http, as a connection reads them):
//! never panic, never take a body past its bound.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd_fuzz_http(data));

/// Parses `data` as requests on one connection, with bodies of at most 4 KiB.
fn msmd_fuzz_http(data: &[u8]) {
    let (bodies, _refusal) = tiny_http::parse_requests(data, 4096);
    assert!(bodies.iter().all(|&n| n <= 4096));
    assert!(bodies.iter().sum::<usize>() <= data.len());
}
