//! WebSub hub requests: never a panic; what is taken is bounded and fetchable.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::websub_request(data));
