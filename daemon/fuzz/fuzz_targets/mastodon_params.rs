//! See msmd::fuzz::mastodon_params for what it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::mastodon_params(data));
