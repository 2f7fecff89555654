//! Firehose datagram decoder and receiver: never panic; canonical; nothing held from garbage.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| msmd::fuzz::stream_packet(data));
