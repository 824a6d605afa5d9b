#![no_main]
//! libFuzzer binary for the `board_toml` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::config::board_toml(data));
