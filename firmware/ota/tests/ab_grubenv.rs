//! The grubenv adapter against itself and against GRUB's own `grub-editenv`
//! (Debian package grub-common, installed by `cargo xtask setup`).

use keel_ota::boot_env::BootEnv;
use keel_ota::bootloader::{Bootloader, BootloaderError};
use keel_ota::grubenv::{GrubEnvError, GrubEnvFile, GrubEnvWrite, GRUBENV_SIZE};
use keel_ota::slot::Slot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of a tool the test needs; fails the test with the fix when it is
/// missing (never skips).
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run `cargo xtask setup` (Debian package grub-common)");
}

fn editenv(file: &Path, args: &[&str]) -> String {
    let out = Command::new(tool("grub-editenv"))
        .arg(file)
        .args(args)
        .output()
        .expect("running grub-editenv");
    assert!(
        out.status.success(),
        "grub-editenv {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("grub-editenv prints UTF-8")
}

#[test]
fn boot_env_round_trips_and_keeps_other_variables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grubenv");
    let f = GrubEnvFile::new(&path);
    let mut vars = BTreeMap::new();
    vars.insert("saved_entry".to_string(), "keel".to_string());
    f.write_vars(&vars).unwrap();
    let mut bl = GrubEnvFile::new(&path);
    assert_eq!(bl.mode(), GrubEnvWrite::Replace);
    assert_eq!(
        bl.read().unwrap(),
        BootEnv::default(),
        "unset variables read as the defaults"
    );
    let env = BootEnv {
        first: Slot::B,
        a_left: 3,
        b_left: 1,
    };
    bl.write(&env).unwrap();
    assert_eq!(bl.read().unwrap(), env);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        GRUBENV_SIZE
    );
    assert_eq!(f.read_vars().unwrap()["saved_entry"], "keel");
    assert!(!dir.path().join("grubenv.tmp").exists());
}

#[test]
fn grub_editenv_reads_what_we_write_and_we_read_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grubenv");
    editenv(&path, &["create"]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        GRUBENV_SIZE
    );
    editenv(
        &path,
        &[
            "set",
            "KEEL_ORDER=B A",
            "KEEL_A_LEFT=3",
            "KEEL_B_LEFT=2",
            "note=two\nlines \\ and a backslash",
        ],
    );
    let ours = GrubEnvFile::new(&path);
    let vars = ours.read_vars().unwrap();
    assert_eq!(vars["note"], "two\nlines \\ and a backslash");
    let mut bl = GrubEnvFile::new(&path);
    assert_eq!(
        bl.read().unwrap(),
        BootEnv {
            first: Slot::B,
            a_left: 3,
            b_left: 2
        }
    );

    // Our write, GRUB's read.
    let mut env = bl.read().unwrap();
    env.mark_bad(Slot::B);
    bl.write(&env).unwrap();
    let listed = editenv(&path, &["list"]);
    assert!(listed.contains("KEEL_ORDER=A B\n"), "{listed}");
    assert!(listed.contains("KEEL_B_LEFT=0\n"), "{listed}");
    assert!(listed.contains("KEEL_A_LEFT=3\n"), "{listed}");
    // grub-editenv unescapes when listing: the newline comes back as a newline.
    assert!(
        listed.contains("note=two\nlines \\ and a backslash\n"),
        "{listed}"
    );
    // grub-editenv can modify our file, and we can read its modification.
    editenv(&path, &["unset", "note"]);
    editenv(&path, &["set", "KEEL_B_LEFT=3"]);
    assert_eq!(
        bl.read().unwrap(),
        BootEnv {
            first: Slot::A,
            a_left: 3,
            b_left: 3
        }
    );
    assert!(!ours.read_vars().unwrap().contains_key("note"));
    // Byte for byte: variables set in name order by grub-editenv into a new
    // block are exactly the block we encode for them.
    let fresh = dir.path().join("fresh");
    editenv(&fresh, &["create"]);
    editenv(
        &fresh,
        &[
            "set",
            "KEEL_A_LEFT=3",
            "KEEL_B_LEFT=0",
            "KEEL_ORDER=A B",
            "x=a\\b",
        ],
    );
    let theirs = std::fs::read(&fresh).unwrap();
    let vars = GrubEnvFile::new(&fresh).read_vars().unwrap();
    let ours = keel_ota::grubenv::encode(&vars).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}

#[test]
fn too_many_variables_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grubenv");
    editenv(&path, &["create"]);
    let before = std::fs::read(&path).unwrap();
    let f = GrubEnvFile::new(&path);
    let mut vars = BTreeMap::new();
    for i in 0..40 {
        vars.insert(format!("variable_{i:02}"), "x".repeat(20));
    }
    match f.write_vars(&vars) {
        Err(BootloaderError::Grub {
            source: GrubEnvError::TooLarge { needed },
            ..
        }) => assert!(needed > GRUBENV_SIZE),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // GRUB refuses the same: its own limit is the same 1024 bytes.
    let status = Command::new(tool("grub-editenv"))
        .arg(&path)
        .arg("set")
        .arg(format!("big={}", "y".repeat(GRUBENV_SIZE)))
        .output()
        .unwrap();
    assert!(
        !status.status.success(),
        "grub-editenv should refuse an overflow"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_fixed_block_is_rewritten_in_place_without_touching_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partition.img");
    // A "partition": the block at offset 0, other data after it.
    editenv(&dir.path().join("seed"), &["create"]);
    let mut disk = std::fs::read(dir.path().join("seed")).unwrap();
    disk.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&path, &disk).unwrap();
    let mut bl = GrubEnvFile::with_mode(&path, GrubEnvWrite::InPlace);
    bl.write(&BootEnv::fresh(Slot::B)).unwrap();
    assert_eq!(bl.read().unwrap(), BootEnv::fresh(Slot::B));
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), disk.len());
    assert!(after[GRUBENV_SIZE..].iter().all(|&b| b == 0xA5));
    // GRUB reads the first 1024 bytes as the block.
    std::fs::write(dir.path().join("copy"), &after[..GRUBENV_SIZE]).unwrap();
    assert!(editenv(&dir.path().join("copy"), &["list"]).contains("KEEL_ORDER=B A"));
}

#[test]
fn a_damaged_or_missing_block_reads_as_grub_boots_and_the_next_write_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grubenv");
    let raw = GrubEnvFile::new(&path);
    let mut bl = GrubEnvFile::new(&path);
    // Missing: the raw read says so; the bootloader view is GRUB's defaults.
    assert!(matches!(raw.read_vars(), Err(BootloaderError::Io { .. })));
    assert_eq!(bl.read().unwrap(), BootEnv::default());
    bl.write(&BootEnv::fresh(Slot::B)).unwrap();
    assert!(editenv(&path, &["list"]).contains("KEEL_ORDER=B A"));
    // Torn (GRUB's own in-place save_env cut short): the same.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(512);
    std::fs::write(&path, &bytes).unwrap();
    let e = raw.read_vars().unwrap_err();
    assert!(
        e.to_string().contains("block is 512 bytes, expected 1024"),
        "{e}"
    );
    assert_eq!(bl.read().unwrap(), BootEnv::default());
    let mut env = bl.read().unwrap();
    env.mark_bad(Slot::B);
    bl.write(&env).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        GRUBENV_SIZE
    );
    assert!(editenv(&path, &["list"]).contains("KEEL_B_LEFT=0"));
    // Garbage in an A/B variable is reported, not guessed.
    editenv(&path, &["set", "KEEL_A_LEFT=seven"]);
    let e = bl.read().unwrap_err();
    assert!(e.to_string().contains("KEEL_A_LEFT=\"seven\""), "{e}");
    // Writing a whole A/B state replaces it.
    bl.write(&BootEnv::default()).unwrap();
    assert_eq!(bl.read().unwrap(), BootEnv::default());
}
