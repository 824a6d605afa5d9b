#![no_main]
//! libFuzzer binary for the `cloud_message` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::uplink::cloud_message(data));
