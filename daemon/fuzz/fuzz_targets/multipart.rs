//! See msmd::fuzz::multipart for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::multipart(data));
