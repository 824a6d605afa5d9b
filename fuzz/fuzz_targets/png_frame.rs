#![no_main]
//! libFuzzer binary for the `png_frame` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::frame::png_frame(data));
