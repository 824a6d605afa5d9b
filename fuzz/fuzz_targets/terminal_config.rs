#![no_main]
//! libFuzzer binary for the `terminal_config` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::config::terminal_config(data));
