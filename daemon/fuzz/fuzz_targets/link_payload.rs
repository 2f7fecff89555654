//! Link control payload decoders: never panic; what decodes is canonical.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::link_payload(data));
