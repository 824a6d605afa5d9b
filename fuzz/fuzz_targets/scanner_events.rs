#![no_main]
//! libFuzzer binary for the `scanner_events` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::devices::scanner_events(data));
