#![no_main]
//! libFuzzer binary for the `cluster_control` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::cluster_control(data));
