#![no_main]
//! libFuzzer binary for the `ota_pending_firmware` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::ota::pending_firmware(data));
