//! OTA and boot seeds: a signed bundle (written by `keel_ota::bundle`), its
//! manifest text, update record files in several states, a grubenv block and
//! a redundant U-Boot environment file written by the production writers,
//! and the terminal OTA worker's state files.

use super::{Seed, SeedError};
use crate::ota::UBOOT_ENV_SIZE;
use keel_ota::boot_env::BootEnv;
use keel_ota::bundle::{write_bundle, BundleSpec, PayloadData, PayloadInput};
use keel_ota::grubenv;
use keel_ota::keys::SigningKey;
use keel_ota::manifest::BundleKind;
use keel_ota::slot::Slot;
use keel_ota::ubootenv::{EnvCopy, UbootEnvConfig, UbootEnvFile};
use keel_ota::updater::record_file;
use keel_ota::updater::{UpdateRecord, UpdateState};
use keel_ota::version::Version;
use keel_terminal::ota::layout::{self, PendingFirmware, SlotVersions};
use std::collections::BTreeMap;

fn bundle(key: &SigningKey) -> Result<Vec<u8>, SeedError> {
    let version = Version::parse("1.4.0").map_err(|e| SeedError::produce("a version", e))?;
    let spec = BundleSpec {
        kind: BundleKind::Model,
        version,
        min_version: None,
        boards: vec!["qemu-x86_64".into(), "raspberrypi4-64".into()],
        created_unix_ms: 1_790_000_000_000,
    };
    let payloads = [
        PayloadInput {
            name: "manifest.toml".into(),
            data: PayloadData::Bytes(b"version = \"1.4.0\"\n".to_vec()),
        },
        PayloadInput {
            name: "model.tflite".into(),
            data: PayloadData::Bytes(b"TFL3 not a real model".to_vec()),
        },
    ];
    let mut out = Vec::new();
    write_bundle(&mut out, key, &spec, &payloads).map_err(|e| SeedError::produce("a bundle", e))?;
    Ok(out)
}

fn records() -> Vec<(&'static str, UpdateRecord)> {
    let at = |update| UpdateRecord {
        format: 1,
        since_unix_ms: 1_790_000_000_000,
        update,
    };
    vec![
        ("idle", UpdateRecord::default()),
        (
            "testing",
            at(UpdateState::Testing {
                version: "1.4.0".into(),
                target: Slot::B,
                failures: 1,
                last_failure: Some("health check: ui did not start".into()),
            }),
        ),
        (
            "rolled_back",
            at(UpdateState::RolledBack {
                version: "1.4.0".into(),
                failed_slot: Slot::B,
                reason: "3 boots without a healthy check".into(),
            }),
        ),
    ]
}

/// The variables the A/B boot scripts read, for a system booted from A that
/// tries B next.
fn boot_vars() -> BTreeMap<String, String> {
    let mut env = BootEnv::fresh(Slot::A);
    env.try_slot(Slot::B);
    let mut vars = BTreeMap::new();
    env.to_vars(&mut vars);
    vars
}

fn uboot_file(vars: &BTreeMap<String, String>) -> Result<Vec<u8>, SeedError> {
    let dir = tempfile::tempdir().map_err(|e| SeedError::produce("a temporary directory", e))?;
    let path = dir.path().join("uboot.env");
    std::fs::write(&path, vec![0u8; 2 * UBOOT_ENV_SIZE])
        .map_err(|e| SeedError::produce("an empty U-Boot env file", e))?;
    let copy = |offset| EnvCopy {
        path: path.clone(),
        offset,
    };
    let config = UbootEnvConfig::new(vec![copy(0), copy(UBOOT_ENV_SIZE as u64)], UBOOT_ENV_SIZE)
        .map_err(|e| SeedError::produce("a U-Boot env layout", e))?;
    let file = UbootEnvFile::new(config);
    // Twice: both copies hold an environment, the second one newer.
    for _ in 0..2 {
        file.write_vars(vars)
            .map_err(|e| SeedError::produce("writing a U-Boot env", e))?;
    }
    std::fs::read(&path).map_err(|e| SeedError::produce("reading the U-Boot env", e))
}

pub(super) fn seeds(key: &[u8]) -> Result<Vec<Seed>, SeedError> {
    let key = SigningKey::from_pkcs8(key).map_err(|e| SeedError::produce("the corpus key", e))?;
    let mut out = Vec::new();
    let bundle = bundle(&key)?;
    let header = match keel_ota::verify::parse_header(&bundle) {
        Ok(keel_ota::verify::HeaderParse::Complete(h)) => h,
        other => {
            return Err(SeedError::produce(
                "parsing the seed bundle",
                format!("{other:?}"),
            ))
        }
    };
    out.push(Seed::new(
        "ota_manifest",
        "model_bundle",
        header.manifest_text.clone(),
    ));
    out.push(Seed::new("ota_bundle_header", "model_bundle", bundle));
    for (name, r) in records() {
        out.push(Seed::new(
            "ota_update_record",
            name,
            record_file::encode(&r),
        ));
    }
    let mut vars = boot_vars();
    let block = grubenv::encode(&vars).map_err(|e| SeedError::produce("a grubenv block", e))?;
    out.push(Seed::new("grubenv", "try_b", block));
    vars.insert("bootcmd".into(), "run keel_boot".into());
    let file = uboot_file(&vars)?;
    out.push(Seed::new(
        "ubootenv",
        "try_b_redundant",
        [&[0][..], &file].concat(),
    ));
    out.push(Seed::new(
        "ubootenv",
        "try_b_crc_fixed",
        [&[1][..], &file].concat(),
    ));
    out.extend(state_files()?);
    Ok(out)
}

/// The terminal OTA worker's `pending-firmware.toml` and `slots.toml`, written
/// by the writer `OtaLayout` uses.
fn state_files() -> Result<Vec<Seed>, SeedError> {
    let path = std::path::Path::new("seed.toml");
    let text = |r: Result<String, layout::LayoutError>| {
        r.map_err(|e| SeedError::produce("an OTA state file", e))
    };
    let pending = PendingFirmware {
        bundle: "/data/ota/bundles/4f1c0b.keelb".into(),
        version: "1.4.0".into(),
        allow_downgrade: false,
    };
    let downgrade = PendingFirmware {
        bundle: "/data/ota/bundles/local-1.3.2.keelb".into(),
        version: "1.3.2".into(),
        allow_downgrade: true,
    };
    let mut one = SlotVersions::default();
    one.set(Slot::A, Some("1.3.2".into()));
    let mut both = one.clone();
    both.set(Slot::B, Some("1.4.0".into()));
    Ok(vec![
        Seed::new(
            "ota_pending_firmware",
            "channel",
            text(layout::encode_toml(&pending, path))?,
        ),
        Seed::new(
            "ota_pending_firmware",
            "local_downgrade",
            text(layout::encode_toml(&downgrade, path))?,
        ),
        Seed::new(
            "ota_slots",
            "a_known",
            text(layout::encode_toml(&one, path))?,
        ),
        Seed::new(
            "ota_slots",
            "both_known",
            text(layout::encode_toml(&both, path))?,
        ),
    ])
}
