#![no_main]
//! libFuzzer binary for the `console_line` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::console::console_line(data));
