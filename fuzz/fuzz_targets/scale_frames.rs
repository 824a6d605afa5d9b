#![no_main]
//! libFuzzer binary for the `scale_frames` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::devices::scale_frames(data));
