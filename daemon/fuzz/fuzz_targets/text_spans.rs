//! Post-text spans: never panics; spans are ordered, disjoint, on character boundaries, bounded.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::text_spans(data));
