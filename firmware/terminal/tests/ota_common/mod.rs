//! A terminal set up for OTA tests: image files stand in for the slot
//! partitions, a grubenv file for the ESP's boot environment, a shell command
//! that appends to a file for `systemctl reboot`; bundles are signed here with
//! keel-ota's writer and a key generated for the test. The bootloader's part
//! (which slot boots after a reboot) is keel-ota's `select_boot`, the rule the
//! GRUB script runs; the qemu boot test does the real reboot.
#![allow(dead_code)]

use crate::common::Keel;
use keel_ota::boot_env::{select_boot, BootEnv};
use keel_ota::bootloader::Bootloader;
use keel_ota::bundle::{write_bundle_file, BundleSpec, PayloadData, PayloadInput};
use keel_ota::grubenv::GrubEnvFile;
use keel_ota::keys::{generate, SigningKey};
use keel_ota::manifest::BundleKind;
use keel_ota::slot::Slot;
use keel_ota::version::Version;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The board name the test board and bundles use.
pub const BOARD: &str = "qemu-x86_64";

/// What slot A holds before any update (the running system's image).
pub fn slot_a_image() -> Vec<u8> {
    (0..1_048_576u32).map(|i| (i % 251) as u8).collect()
}

/// A test rig: a data dir, keys, slot images, grubenv, board and config.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub keys: PathBuf,
    pub key: SigningKey,
    pub slot_a: PathBuf,
    pub slot_b: PathBuf,
    pub grubenv: PathBuf,
    pub reboots: PathBuf,
    pub board: PathBuf,
    pub config: PathBuf,
}

/// Options of the `[ota]` section.
#[derive(Clone)]
pub struct OtaOptions {
    pub running: Slot,
    pub business_hours: String,
    pub health_requires_ui: bool,
    pub health_deadline_s: u64,
    pub extra: String,
    /// The boot environment file instead of the rig's grubenv.
    pub boot_environment: Option<PathBuf>,
}

impl Default for OtaOptions {
    fn default() -> Self {
        OtaOptions {
            running: Slot::A,
            business_hours: "none".into(),
            health_requires_ui: false,
            health_deadline_s: 60,
            extra: String::new(),
            boot_environment: None,
        }
    }
}

/// The repository's board `name` without serial ports (the test's console
/// is stdio and no peripherals are attached).
pub fn board_toml(name: &str) -> String {
    let real = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../board")
            .join(name)
            .join("board.toml"),
    )
    .unwrap();
    // Keep everything but the [serial.*] tables.
    let mut out = String::new();
    let mut skip = false;
    for line in real.lines() {
        if line.starts_with('[') {
            skip = line.starts_with("[serial.");
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl Rig {
    /// A fresh rig: slot A holds [`slot_a_image`], slot B zeros; the boot
    /// environment says "A B" with every try left.
    pub fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let keys = root.join("ota-keys");
        std::fs::create_dir(&keys).unwrap();
        let key = generate(&ring::rand::SystemRandom::new()).unwrap();
        key.save(&keys.join("release")).unwrap();
        let rig = Rig {
            data: root.join("data"),
            keys,
            key,
            slot_a: root.join("rootfs-a.img"),
            slot_b: root.join("rootfs-b.img"),
            grubenv: root.join("esp-grubenv"),
            reboots: root.join("reboots.log"),
            board: root.join("board.toml"),
            config: root.join("terminal.toml"),
            dir,
        };
        std::fs::write(&rig.slot_a, slot_a_image()).unwrap();
        std::fs::write(&rig.slot_b, vec![0u8; 65536]).unwrap();
        std::fs::write(&rig.board, board_toml(BOARD)).unwrap();
        GrubEnvFile::new(&rig.grubenv)
            .write(&BootEnv::fresh(Slot::A))
            .unwrap();
        rig.configure(&OtaOptions::default());
        rig
    }

    /// Rewrites the terminal's config with `o`.
    pub fn configure(&self, o: &OtaOptions) {
        let text = format!(
            r#"
[store]
id = "toko-1"
name = "Toko Satu"
currency = "IDR"

[terminal]
id = 1
data_dir = "{data}"
board = "{board}"

[tax]
mode = "inclusive"
rounding = "half-up"
scope = "per-receipt"
rates = [ {{ class = "standard", percent = "11", label = "A" }} ]

[cards]
offline_per_transaction = "2000000"
offline_total = "10000000"

[[users]]
id = "tech"
name = "Technician"
role = "technician"
pin = "0000"

[[users]]
id = "ani"
name = "Ani"
role = "cashier"
pin = "1111"

[[users]]
id = "budi"
name = "Budi"
role = "manager"
pin = "9999"

[ota]
trusted_keys_dir = "{keys}"
reboot_command = ["sh", "-c", "echo reboot >> '{reboots}'"]
business_hours = "{hours}"
running_slot = "{slot}"
boot_environment = "{grubenv}"
slot_a = "{a}"
slot_b = "{b}"
health_deadline_s = {deadline}
health_requires_ui = {ui}
{extra}
"#,
            data = self.data.display(),
            board = self.board.display(),
            keys = self.keys.display(),
            reboots = self.reboots.display(),
            hours = o.business_hours,
            slot = o.running,
            grubenv = o
                .boot_environment
                .as_ref()
                .unwrap_or(&self.grubenv)
                .display(),
            a = self.slot_a.display(),
            b = self.slot_b.display(),
            deadline = o.health_deadline_s,
            ui = o.health_requires_ui,
            extra = o.extra,
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// Starts `keel console --config ... --json --stdio`.
    pub fn start(&self) -> Keel {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
        cmd.arg("console")
            .arg("--config")
            .arg(&self.config)
            .arg("--json")
            .arg("--stdio");
        Keel::spawn(cmd, self.dir.path())
    }

    /// Signs a firmware bundle of `rootfs` for `boards` at `version`.
    pub fn firmware_bundle(
        &self,
        name: &str,
        version: &str,
        boards: &[&str],
        rootfs: &[u8],
    ) -> PathBuf {
        sign(
            &self.key,
            &self.dir.path().join(name),
            BundleKind::Firmware,
            version,
            boards,
            vec![PayloadInput {
                name: "rootfs".into(),
                data: PayloadData::Bytes(rootfs.to_vec()),
            }],
        )
    }

    /// The boot environment now.
    pub fn env(&self) -> BootEnv {
        GrubEnvFile::new(&self.grubenv).read().unwrap()
    }

    /// The raw grubenv variables.
    pub fn env_vars(&self) -> std::collections::BTreeMap<String, String> {
        GrubEnvFile::new(&self.grubenv).read_vars().unwrap()
    }

    /// What the bootloader does at power-on: picks the slot (counting the
    /// try down) and saves the environment, as keel-ab.cfg does.
    pub fn boot(&self) -> Slot {
        let mut env = self.env();
        let slot = select_boot(&mut env);
        GrubEnvFile::new(&self.grubenv).write(&env).unwrap();
        slot
    }

    /// How many times the reboot command ran.
    pub fn reboot_count(&self) -> usize {
        std::fs::read_to_string(&self.reboots)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Waits until the reboot command has run `n` times (it runs just after
    /// the record says `rebooting`), then checks it ran no more.
    pub fn wait_reboots(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.reboot_count() < n {
            assert!(
                Instant::now() < deadline,
                "the reboot command did not run {n} times"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.reboot_count(), n, "the reboot command ran too often");
    }

    /// The slot images and the grubenv, to prove a refusal changed nothing.
    pub fn disk_snapshot(&self) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (
            std::fs::read(&self.slot_a).unwrap(),
            std::fs::read(&self.slot_b).unwrap(),
            std::fs::read(&self.grubenv).unwrap(),
        )
    }
}

/// Writes a signed bundle at `path`.
pub fn sign(
    key: &SigningKey,
    path: &Path,
    kind: BundleKind,
    version: &str,
    boards: &[&str],
    payloads: Vec<PayloadInput>,
) -> PathBuf {
    write_bundle_file(
        path,
        key,
        &BundleSpec {
            kind,
            version: Version::parse(version).unwrap(),
            min_version: None,
            boards: boards.iter().map(|b| b.to_string()).collect(),
            created_unix_ms: 1_790_000_000_000,
        },
        &payloads,
    )
    .unwrap();
    path.to_path_buf()
}

/// Polls `ota status` until `done` holds (or fails after `timeout`).
pub fn wait_status(k: &mut Keel, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let s = k.ok("ota status");
        if done(&s) {
            return s;
        }
        assert!(
            start.elapsed() < timeout,
            "ota status did not get there in {timeout:?}: {s}\nstderr: {}",
            k.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `done` holds (what the updater does just after the state
/// `ota status` shows: marking the running slot good, discarding the bundle).
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
