//! Search query translator: any text runs as an FTS5 query without an error.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::search_query(data));
