#![no_main]
//! libFuzzer binary for the `raft_log_record` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::raft_log_record(data));
