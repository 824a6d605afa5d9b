#![no_main]
//! libFuzzer binary for the `escpos_status` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::devices::escpos_status(data));
