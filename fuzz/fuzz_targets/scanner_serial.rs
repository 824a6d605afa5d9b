#![no_main]
//! libFuzzer binary for the `scanner_serial` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::devices::scanner_serial(data));
