#![no_main]
//! libFuzzer binary for the `replication_message` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::replication_message(data));
