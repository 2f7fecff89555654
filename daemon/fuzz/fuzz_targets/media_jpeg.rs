//! The JPEG picture walker: see msmd::fuzz::media_walker for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::media_jpeg(data));
