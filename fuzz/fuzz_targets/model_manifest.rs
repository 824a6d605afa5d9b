#![no_main]
//! libFuzzer binary for the `model_manifest` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::config::model_manifest(data));
