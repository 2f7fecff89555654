//! Remote HTML reduced to text: never panics; no markup or control characters come out.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::html_text(data));
