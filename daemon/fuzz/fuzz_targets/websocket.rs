//! WebSocket decoder: never panic; the same messages whatever the split; bounded messages.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::websocket(data));
