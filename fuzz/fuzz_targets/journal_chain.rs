#![no_main]
//! libFuzzer binary for the `journal_chain` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::journal::journal_chain(data));
