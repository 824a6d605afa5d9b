//! OTA and boot input: a bundle's header (`keel_ota::verify::parse_header`),
//! a bundle manifest (`BundleManifest::parse`), the updater's record file
//! (`updater::record_file::decode`), a GRUB environment block
//! (`keel_ota::grubenv::parse`), a U-Boot environment read from its two
//! redundant copies on disk (`ubootenv::UbootEnvFile::read_vars`) and
//! `fw_env.config` (`UbootEnvConfig::parse`), and the terminal OTA worker's
//! state files `pending-firmware.toml` and `slots.toml`
//! (`keel_terminal::ota::layout::decode_toml`).
//!
//! Properties: a complete header's manifest is the one its text parses to
//! and the header's length is within the bundle bytes; a manifest, a record
//! and an environment that parse re-encode to text that parses to the same.

use keel_ota::boot_env::BootEnv;
use keel_ota::grubenv;
use keel_ota::manifest::BundleManifest;
use keel_ota::ubootenv::{self, EnvCopy, UbootEnvConfig, UbootEnvFile};
use keel_ota::updater::record_file;
use keel_ota::verify::{parse_header, HeaderParse};
use keel_terminal::ota::layout::{self, PendingFirmware, SlotVersions};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// `data` as the first bytes of a bundle.
pub fn bundle_header(data: &[u8]) {
    if let Ok(HeaderParse::Complete(header)) = parse_header(data) {
        assert!(
            header.len() <= data.len() as u64,
            "header longer than its bytes"
        );
        let again = BundleManifest::parse(&header.manifest_text);
        assert_eq!(
            again.as_ref().ok(),
            Some(&header.manifest),
            "manifest text differs"
        );
    }
}

/// `data` as a bundle manifest's TOML.
pub fn bundle_manifest(data: &[u8]) {
    if let Ok(m) = BundleManifest::parse(&crate::text(data)) {
        let Ok(text) = m.to_toml() else {
            panic!("a parsed manifest does not render: {m:?}");
        };
        let again = BundleManifest::parse(&text);
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "manifest does not round-trip"
        );
    }
}

/// `data` as the updater's record file.
pub fn update_record(data: &[u8]) {
    let path = Path::new("/data/ota/update.toml");
    if let Ok(r) = record_file::decode(&crate::text(data), path) {
        let again = record_file::decode(&record_file::encode(&r), path);
        assert_eq!(
            again.as_ref().ok(),
            Some(&r),
            "update record does not round-trip"
        );
    }
}

/// `data` as the terminal's `<data-dir>/ota/pending-firmware.toml`, read by
/// `keel_terminal::ota::layout::decode_toml`; what reads writes back the same.
pub fn pending_firmware(data: &[u8]) {
    let path = Path::new("/data/ota/pending-firmware.toml");
    if let Ok(p) = layout::decode_toml::<PendingFirmware>(&crate::text(data), path) {
        let text = layout::encode_toml(&p, path).expect("an accepted file cannot be written");
        let again = layout::decode_toml::<PendingFirmware>(&text, path);
        assert_eq!(
            again.ok(),
            Some(p),
            "pending-firmware.toml does not round-trip"
        );
    }
}

/// `data` as the terminal's `<data-dir>/ota/slots.toml`, read by
/// `keel_terminal::ota::layout::decode_toml`; what reads writes back the same.
pub fn slots(data: &[u8]) {
    let path = Path::new("/data/ota/slots.toml");
    if let Ok(v) = layout::decode_toml::<SlotVersions>(&crate::text(data), path) {
        let text = layout::encode_toml(&v, path).expect("an accepted file cannot be written");
        let again = layout::decode_toml::<SlotVersions>(&text, path);
        assert_eq!(again.ok(), Some(v), "slots.toml does not round-trip");
    }
}

/// Reads the A/B boot variables from `vars` as the updater does; what reads
/// writes back the same.
fn check_boot_env(vars: &BTreeMap<String, String>) {
    if let Ok(env) = BootEnv::from_vars(vars) {
        let mut written = vars.clone();
        env.to_vars(&mut written);
        assert_eq!(
            BootEnv::from_vars(&written).ok(),
            Some(env),
            "boot env does not round-trip"
        );
    }
    let _ = BootEnv::from_vars_as_bootloader(vars);
}

/// `data` as a grubenv file's block.
pub fn grubenv(data: &[u8]) {
    if let Ok(vars) = grubenv::parse(data) {
        check_boot_env(&vars);
        if let Ok(block) = grubenv::encode(&vars) {
            let again = grubenv::parse(&block);
            assert_eq!(
                again.as_ref().ok(),
                Some(&vars),
                "grubenv does not round-trip"
            );
        }
    }
}

/// Size of one copy of the environment in the U-Boot seeds and target.
pub const UBOOT_ENV_SIZE: usize = 256;

/// Puts the right CRC-32 in front of each copy's data in `file` (layout with
/// `copies` copies), so the fuzzer reaches the variable parser and the choice
/// of the newer copy instead of stopping at the checksum.
fn fix_crcs(file: &mut [u8], copies: usize) {
    let header = if copies == 2 { 5 } else { 4 };
    for copy in file.chunks_mut(UBOOT_ENV_SIZE).take(copies) {
        let crc = ubootenv::crc32(&copy[header..]);
        copy[..4].copy_from_slice(&crc.to_le_bytes());
    }
}

/// `data` as a mode byte and a file holding U-Boot environment copies of
/// [`UBOOT_ENV_SIZE`] bytes (short input is padded with zeros), read as
/// `fw_printenv` would. Mode 0: the file as it is, read as the redundant
/// layout (two copies) and as the single one; 1: redundant with the CRCs
/// made right; 2: single with the CRC made right.
pub fn ubootenv(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    bytes.resize(2 * UBOOT_ENV_SIZE, 0);
    let layouts: &[usize] = match mode % 3 {
        0 => &[2, 1],
        1 => &[2],
        _ => &[1],
    };
    if mode % 3 != 0 {
        fix_crcs(&mut bytes, layouts[0]);
    }
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        log::warn!("ubootenv: no temporary file; input skipped");
        return;
    };
    if file.write_all(&bytes).and_then(|()| file.flush()).is_err() {
        log::warn!("ubootenv: cannot write the temporary file; input skipped");
        return;
    }
    let copy = |offset| EnvCopy {
        path: file.path().to_path_buf(),
        offset,
    };
    for &copies in layouts {
        let list = (0..copies)
            .map(|i| copy((i * UBOOT_ENV_SIZE) as u64))
            .collect();
        let Ok(config) = UbootEnvConfig::new(list, UBOOT_ENV_SIZE) else {
            panic!("the fixed layout is valid");
        };
        let data_len = config.data_len();
        if let Ok(vars) = UbootEnvFile::new(config).read_vars() {
            check_boot_env(&vars);
            if let Ok(area) = ubootenv::encode_data(&vars, data_len) {
                let again = ubootenv::parse_data(&area);
                assert_eq!(
                    again.as_ref().ok(),
                    Some(&vars),
                    "U-Boot env does not round-trip"
                );
            }
        }
    }
}

/// `data` as `/etc/fw_env.config`.
pub fn ubootenv_config(data: &[u8]) {
    if let Ok(config) = UbootEnvConfig::parse(&crate::text(data)) {
        assert!(
            config.data_len() >= 2,
            "a layout with no room for variables: {config:?}"
        );
    }
}
