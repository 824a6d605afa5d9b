#![no_main]
//! libFuzzer binary for the `health_request` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::http::health_request(data));
