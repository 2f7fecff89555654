//! Address parser: never panics; a parsed address is canonical and parses to itself.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::address(data));
