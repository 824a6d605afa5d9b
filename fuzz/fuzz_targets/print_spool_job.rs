#![no_main]
//! libFuzzer binary for the `print_spool_job` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::devices::print_spool_job(data));
