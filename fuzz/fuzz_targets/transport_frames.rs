#![no_main]
//! libFuzzer binary for the `transport_frames` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::transport_frames(data));
