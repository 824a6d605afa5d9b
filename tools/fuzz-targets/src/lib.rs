//! Fuzz targets for every decoder that reads bytes from outside the terminal:
//! console lines, config files, journal records read back from disk, wire
//! messages between terminals and to the cloud, printer status replies,
//! scanner and scale streams, catalog imports, OTA bundle headers and
//! manifests, model manifests, bootloader environments, board files, PNG
//! pictures and V4L2 camera buffers for product recognition, the framing of
//! the terminals' and the uplink's QUIC streams, and the HTTP requests of the
//! cloud and of the terminal's health endpoint, the OTA worker's state
//! files and the certificates and keys read as PEM.
//!
//! Each target is a plain function `fn(&[u8])` that hands the bytes to the
//! very function production calls on outside input and checks what must hold
//! beyond "no panic" where that is cheap (a decoded message re-encodes and
//! decodes to the same value, a console line parses the same with blanks
//! around it). A broken property panics, which is what the fuzzer reports.
//! The same functions run on stable in this crate's tests (every committed
//! corpus and regression input is replayed) and under libFuzzer from the
//! `fuzz/` workspace (`cargo xtask fuzz`). docs/fuzzing.md.
//!
//! This crate owns the targets, the registry [`TARGETS`] and the seed corpus
//! generator ([`seeds`]). It must not hold decoding logic of its own: a
//! decoder that is not reachable gets a small public entry point in its
//! crate instead.

pub mod catalog;
pub mod cluster;
pub mod config;
pub mod console;
pub mod devices;
pub mod frame;
pub mod http;
pub mod identity;
pub mod journal;
pub mod ota;
pub mod seeds;
pub mod uplink;

/// A fuzz target: takes any bytes, panics only when a property breaks.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its fuzz binary and corpus directory).
pub const TARGETS: &[(&str, Target)] = &[
    ("console_line", console::console_line),
    ("terminal_config", config::terminal_config),
    ("board_toml", config::board_toml),
    ("model_manifest", config::model_manifest),
    ("journal_record", journal::journal_record),
    ("journal_chain", journal::journal_chain),
    ("journal_export", journal::journal_export),
    ("raft_message", cluster::raft_message),
    ("raft_command", cluster::raft_command),
    ("raft_conf_change", cluster::raft_conf_change),
    ("raft_log_record", cluster::raft_log_record),
    ("replication_message", cluster::replication_message),
    ("cluster_control", cluster::cluster_control),
    ("mdns_txt", cluster::mdns_txt),
    ("uplink_marks", cluster::uplink_marks),
    ("store_message", uplink::store_message),
    ("cloud_message", uplink::cloud_message),
    ("escpos_status", devices::escpos_status),
    ("scanner_events", devices::scanner_events),
    ("scanner_serial", devices::scanner_serial),
    ("scale_frames", devices::scale_frames),
    ("catalog_import", catalog::catalog_import),
    ("ota_bundle_header", ota::bundle_header),
    ("ota_manifest", ota::bundle_manifest),
    ("ota_update_record", ota::update_record),
    ("grubenv", ota::grubenv),
    ("ubootenv", ota::ubootenv),
    ("ubootenv_config", ota::ubootenv_config),
    ("png_frame", frame::png_frame),
    ("transport_frames", cluster::transport_frames),
    ("cloud_http_request", http::cloud_http_request),
    ("health_request", http::health_request),
    ("v4l2_frame", frame::v4l2_frame),
    ("print_spool_job", devices::print_spool_job),
    ("ota_pending_firmware", ota::pending_firmware),
    ("ota_slots", ota::slots),
    ("identity_pem", identity::identity_pem),
];

/// The target called `name`, if there is one.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Bytes as text the way the readers make it: invalid UTF-8 replaced.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}
