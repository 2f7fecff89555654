//! HTTP signatures (draft-cavage and RFC 9421): never panic, never accept a forgery, bounded.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::http_signature(data));
