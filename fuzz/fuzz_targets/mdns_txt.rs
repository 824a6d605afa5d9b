#![no_main]
//! libFuzzer binary for the `mdns_txt` target of keel-fuzz-targets.
libfuzzer_sys::fuzz_target!(|data: &[u8]| keel_fuzz_targets::cluster::mdns_txt(data));
