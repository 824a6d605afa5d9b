#![no_main]
//! libFuzzer binary for the `identity_pem` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::identity::identity_pem(data));
