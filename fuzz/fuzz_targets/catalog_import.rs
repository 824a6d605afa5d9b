#![no_main]
//! libFuzzer binary for the `catalog_import` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::catalog::catalog_import(data));
