//! The HTTPS client's HTTP/1.1 response reader: bounded, never a panic, split-independent.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::http_response(data));
