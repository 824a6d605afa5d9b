#![no_main]
//! libFuzzer binary for the `v4l2_frame` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::frame::v4l2_frame(data));
