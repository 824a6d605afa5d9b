#![no_main]
//! libFuzzer binary for the `uplink_marks` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::uplink_marks(data));
