//! A DNS answer read by discovery's stub resolver: never panics, and keeps what it bounds.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::dns_answer(data));
