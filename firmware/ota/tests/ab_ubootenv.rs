//! The U-Boot environment adapter against itself and against the real
//! `fw_printenv`/`fw_setenv` (Debian package libubootenv-tool, installed by
//! `cargo xtask setup`), always with `-c CONFIG` pointing at files in a temp
//! dir (never /etc).

use keel_ota::boot_env::BootEnv;
use keel_ota::bootloader::{Bootloader, BootloaderError};
use keel_ota::slot::Slot;
use keel_ota::ubootenv::{crc32, UbootEnvConfig, UbootEnvError, UbootEnvFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SIZE: usize = 0x4000;

/// The path of a tool the test needs; fails the test with the fix when it is
/// missing (never skips).
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run `cargo xtask setup` (Debian package libubootenv-tool)");
}

/// A zeroed env file and its fw_env.config: one copy, or two in the same file.
fn setup(dir: &Path, redundant: bool) -> (PathBuf, PathBuf, UbootEnvFile) {
    let env = dir.join("uboot.env");
    std::fs::write(&env, vec![0u8; 2 * SIZE]).unwrap();
    let mut text = format!("# test env\n{} 0x0 {:#x}\n", env.display(), SIZE);
    if redundant {
        text.push_str(&format!("{} {:#x} {:#x}\n", env.display(), SIZE, SIZE));
    }
    let cfg = dir.join("fw_env.config");
    std::fs::write(&cfg, &text).unwrap();
    let config = UbootEnvConfig::parse(&text).unwrap();
    assert_eq!(config.redundant(), redundant);
    (env, cfg, UbootEnvFile::new(config))
}

fn fw(tool_name: &str, cfg: &Path, args: &[&str]) -> String {
    let out = Command::new(tool(tool_name))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .output()
        .expect("running the libubootenv tool");
    assert!(
        out.status.success(),
        "{tool_name} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn initial_vars() -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    vars.insert("bootcmd".to_string(), "run keel_ab; bootm".to_string());
    vars.insert("bootdelay".to_string(), "0".to_string());
    vars
}

fn round_trip_with_the_real_tools(redundant: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg, ours) = setup(dir.path(), redundant);
    ours.write_vars(&initial_vars()).unwrap();
    let mut bl = ours.clone();
    assert_eq!(bl.read().unwrap(), BootEnv::default());
    // Ours -> fw_printenv.
    let env = BootEnv {
        first: Slot::B,
        a_left: 3,
        b_left: 2,
    };
    bl.write(&env).unwrap();
    let printed = fw("fw_printenv", &cfg, &[]);
    for line in [
        "KEEL_ORDER=B A",
        "KEEL_A_LEFT=3",
        "KEEL_B_LEFT=2",
        "bootcmd=run keel_ab; bootm",
        "bootdelay=0",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line:?} not in\n{printed}"
        );
    }
    // fw_setenv -> ours, twice (the redundant layout alternates copies).
    fw("fw_setenv", &cfg, &["KEEL_B_LEFT", "1"]);
    assert_eq!(bl.read().unwrap(), BootEnv { b_left: 1, ..env });
    fw("fw_setenv", &cfg, &["KEEL_ORDER", "A B"]);
    fw("fw_setenv", &cfg, &["bootdelay"]); // unset
    assert_eq!(
        bl.read().unwrap(),
        BootEnv {
            first: Slot::A,
            a_left: 3,
            b_left: 1
        }
    );
    assert!(!ours.read_vars().unwrap().contains_key("bootdelay"));
    // Ours again on top of theirs -> fw_printenv.
    let mut env = bl.read().unwrap();
    env.mark_good(Slot::B);
    bl.write(&env).unwrap();
    assert_eq!(
        fw("fw_printenv", &cfg, &["KEEL_B_LEFT"]).trim(),
        "KEEL_B_LEFT=3"
    );
    assert_eq!(
        fw("fw_printenv", &cfg, &["bootcmd"]).trim(),
        "bootcmd=run keel_ab; bootm"
    );
}

#[test]
fn single_layout_round_trips_with_fw_printenv_and_fw_setenv() {
    round_trip_with_the_real_tools(false);
}

#[test]
fn redundant_layout_round_trips_with_fw_printenv_and_fw_setenv() {
    round_trip_with_the_real_tools(true);
}

#[test]
fn redundant_writes_alternate_copies_with_an_increasing_counter() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, ours) = setup(dir.path(), true);
    ours.write_vars(&initial_vars()).unwrap();
    let flags = |bytes: &[u8]| (bytes[4], bytes[SIZE + 4]);
    assert_eq!(
        flags(&std::fs::read(&path).unwrap()),
        (1, 0),
        "first write goes to copy 0"
    );
    let mut bl = ours.clone();
    bl.write(&BootEnv::fresh(Slot::B)).unwrap();
    assert_eq!(flags(&std::fs::read(&path).unwrap()), (1, 2));
    bl.write(&BootEnv::fresh(Slot::A)).unwrap();
    assert_eq!(flags(&std::fs::read(&path).unwrap()), (3, 2));
}

#[test]
fn a_torn_write_of_one_redundant_copy_leaves_the_previous_env() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cfg, ours) = setup(dir.path(), true);
    ours.write_vars(&initial_vars()).unwrap();
    let mut bl = ours.clone();
    let before = BootEnv {
        first: Slot::A,
        a_left: 3,
        b_left: 0,
    };
    bl.write(&before).unwrap();
    let good = std::fs::read(&path).unwrap();
    // The next write goes into the other copy; cut the power after every
    // byte of it (the copy being written holds the new bytes up to the cut
    // and the old ones after). Until the last differing byte is on disk the
    // copy fails its CRC and the previous env is read; from then on the copy
    // is the complete new env.
    let after = BootEnv::fresh(Slot::B);
    bl.write(&after).unwrap();
    let new = std::fs::read(&path).unwrap();
    let target = if good[..SIZE] != new[..SIZE] { 0 } else { SIZE };
    let last_diff = (0..SIZE)
        .rev()
        .find(|&i| good[target + i] != new[target + i])
        .unwrap();
    let cuts: Vec<usize> = (0..=last_diff + 1)
        .chain((last_diff + 2..=SIZE).step_by(997))
        .collect();
    for &cut in &cuts {
        let mut torn = good.clone();
        torn[target..target + cut].copy_from_slice(&new[target..target + cut]);
        std::fs::write(&path, &torn).unwrap();
        let (want, order) = if cut <= last_diff {
            (before, "A B")
        } else {
            (after, "B A")
        };
        assert_eq!(bl.read().unwrap(), want, "cut after {cut} bytes");
        if cut % 16 == 0 || cut == last_diff || cut == last_diff + 1 {
            let printed = fw("fw_printenv", &cfg, &["KEEL_ORDER"]);
            assert_eq!(
                printed.trim(),
                format!("KEEL_ORDER={order}"),
                "fw_printenv after a cut at {cut}"
            );
        }
    }
    println!(
        "torn-write cuts checked: {} (differing bytes end at {last_diff})",
        cuts.len()
    );
}

#[test]
fn crc_mismatch_is_an_error_for_a_single_copy_and_a_fallback_for_two() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, ours) = setup(dir.path(), false);
    ours.write_vars(&initial_vars()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    match ours.read_vars() {
        Err(UbootEnvError::CrcMismatch { stored, computed }) => assert_ne!(stored, computed),
        other => panic!("expected a CRC mismatch, got {other:?}"),
    }
    let mut bl = ours.clone();
    assert!(matches!(
        bl.read(),
        Err(BootloaderError::Uboot(UbootEnvError::CrcMismatch { .. }))
    ));

    let dir = tempfile::tempdir().unwrap();
    let (path, _, ours) = setup(dir.path(), true);
    ours.write_vars(&initial_vars()).unwrap();
    let mut newer = initial_vars();
    newer.insert("x".into(), "newer".into());
    ours.write_vars(&newer).unwrap(); // copy 1, flags 2
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[SIZE + 20] ^= 0x80; // damage the newer copy
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        ours.read_vars().unwrap(),
        initial_vars(),
        "falls back to the older valid copy"
    );
    bytes[20] ^= 0x80; // and the older one
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(ours.read_vars(), Err(UbootEnvError::NoValidCopy)));
    // Writing over two bad copies starts again at copy 0.
    ours.write_vars(&newer).unwrap();
    assert_eq!(ours.read_vars().unwrap(), newer);
}

#[test]
fn wrap_around_counter_and_foreign_images_read_like_u_boot() {
    // Build the two copies by hand (as another tool would): copy 0 has flags
    // 255, copy 1 flags 0 -> copy 1 is newer.
    let dir = tempfile::tempdir().unwrap();
    let (path, _, ours) = setup(dir.path(), true);
    let mut image = Vec::new();
    for (flags, order) in [(255u8, "A B"), (0u8, "B A")] {
        let mut data = format!("KEEL_ORDER={order}\0\0").into_bytes();
        data.resize(SIZE - 5, 0);
        image.extend_from_slice(&crc32(&data).to_le_bytes());
        image.push(flags);
        image.extend_from_slice(&data);
    }
    std::fs::write(&path, &image).unwrap();
    assert_eq!(ours.read_vars().unwrap()["KEEL_ORDER"], "B A");
}

#[test]
fn too_many_variables_is_an_error_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, ours) = setup(dir.path(), false);
    ours.write_vars(&initial_vars()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut vars = initial_vars();
    vars.insert("big".into(), "z".repeat(SIZE));
    assert!(matches!(
        ours.write_vars(&vars),
        Err(UbootEnvError::TooLarge { available, .. }) if available == SIZE - 4
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}
