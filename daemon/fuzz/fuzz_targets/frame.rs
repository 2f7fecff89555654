//! Frame parser and stream decoder: never panic; agree with each other; stay bounded.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::frame(data));
