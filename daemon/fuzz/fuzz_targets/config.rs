//! Configuration parser: never panics on any text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::config(data));
