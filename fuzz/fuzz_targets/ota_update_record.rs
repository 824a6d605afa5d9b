#![no_main]
//! libFuzzer binary for the `ota_update_record` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::ota::update_record(data));
