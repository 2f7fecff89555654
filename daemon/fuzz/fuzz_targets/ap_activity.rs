//! An incoming activity and a remote actor document: never panic; origin and key checks hold.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::ap_activity(data));
