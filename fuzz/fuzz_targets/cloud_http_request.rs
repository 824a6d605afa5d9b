#![no_main]
//! libFuzzer binary for the `cloud_http_request` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::http::cloud_http_request(data));
