//! Signed OTA bundles made up for tests: the OTA channel's and the cloud's
//! release tests need a real, verifiable bundle of a given kind, version and
//! size, signed by a fresh key (trusted by nothing). Owns only that; it must
//! not decide anything about what a terminal accepts.

use keel_ota::bundle::{write_bundle_file, BundleSpec, PayloadData, PayloadInput};
use keel_ota::manifest::BundleKind;
use std::path::{Path, PathBuf};

/// Writes `dir/name`: a bundle of `kind` and `version` for the qemu-x86_64
/// board with `payload_len` bytes of payload (a firmware's `rootfs`, or a
/// model's `model.tflite` beside a small `manifest.toml`), signed with a new
/// key. Panics on any failure (test support).
pub fn signed_test_bundle(
    dir: &Path,
    name: &str,
    kind: BundleKind,
    version: &str,
    payload_len: usize,
) -> PathBuf {
    let rng = ring::rand::SystemRandom::new();
    let key = keel_ota::keys::generate(&rng).expect("a new signing key");
    let path = dir.join(name);
    let payloads = match kind {
        BundleKind::Firmware => vec![PayloadInput {
            name: "rootfs".into(),
            data: PayloadData::Bytes((0..payload_len).map(|i| (i * 13 % 251) as u8).collect()),
        }],
        BundleKind::Model => vec![
            PayloadInput {
                name: "manifest.toml".into(),
                data: PayloadData::Bytes(b"name = \"m\"\n".to_vec()),
            },
            PayloadInput {
                name: "model.tflite".into(),
                data: PayloadData::Bytes(vec![5u8; payload_len]),
            },
        ],
    };
    let spec = BundleSpec {
        kind,
        version: version.parse().expect("a MAJOR.MINOR.PATCH version"),
        min_version: None,
        boards: vec!["qemu-x86_64".into()],
        created_unix_ms: 1_790_000_000_000,
    };
    write_bundle_file(&path, &key, &spec, &payloads).expect("the bundle is written");
    path
}
