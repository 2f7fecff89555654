//! A remote post object read into msm's post: never panics; caps and web IRIs hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::ap_note(data));
