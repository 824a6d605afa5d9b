//! The boot scripts against the Rust model of the A/B scheme.
//!
//! The GRUB script (board/common/grub/keel-ab.cfg) is syntax-checked with
//! `grub-script-check` and then *run* by GRUB itself in `grub-emu` (Debian
//! package grub-emu) against real grubenv blocks on an ext2 disk image, once
//! for every starting environment (valid, unset, empty and garbage values):
//! the slot it boots and the environment it saves must be exactly what
//! `select_boot` gives on `BootEnv::from_vars_as_bootloader`.
//! The U-Boot script has no runner here (no U-Boot sandbox in Debian); its
//! text is checked for the variables and rules it must use, and the qemu
//! boot test runs it for real.

use keel_ota::boot_env::{select_boot, BootEnv};
use keel_ota::grubenv::{encode, parse, GRUBENV_HEADER, GRUBENV_SIZE};
use keel_ota::slot::Slot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The path of a tool the test needs; fails the test with the fix when it is
/// missing (never skips).
fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: run `cargo xtask setup` (Debian package {package})");
}

#[test]
fn grub_script_passes_grub_script_check() {
    let script = repo_file("board/common/grub/keel-ab.cfg");
    let out = Command::new(tool("grub-script-check", "grub-common"))
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "grub-script-check {}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // And a broken copy is caught, so the check above can fail.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.cfg");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&broken, text.replacen("fi\n", "\n", 1)).unwrap();
    let out = Command::new(tool("grub-script-check", "grub-common"))
        .arg(&broken)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "grub-script-check accepted a script missing a fi"
    );
}

/// Runs `cmd` to completion or kills it after `limit`; returns its stdout.
fn run_with_limit(mut cmd: Command, limit: Duration) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting grub-emu");
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut { out }, &mut s).unwrap();
        s
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stdout = reader.join().unwrap();
            let text = String::from_utf8_lossy(&stdout).into_owned();
            assert!(status.success(), "grub-emu exited with {status}: {text}");
            return text;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = reader.join().unwrap();
            panic!(
                "grub-emu did not finish in {limit:?}: {}",
                String::from_utf8_lossy(&stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every starting environment: each variable unset, empty, valid or garbage.
fn cases() -> Vec<BTreeMap<String, String>> {
    let orders = [None, Some(""), Some("A B"), Some("B A"), Some("B")];
    let tries = [
        None,
        Some(""),
        Some("0"),
        Some("1"),
        Some("2"),
        Some("3"),
        Some("7"),
    ];
    let mut out = Vec::new();
    for o in orders {
        for a in tries {
            for b in tries {
                let mut vars = BTreeMap::new();
                for (k, v) in [("KEEL_ORDER", o), ("KEEL_A_LEFT", a), ("KEEL_B_LEFT", b)] {
                    if let Some(v) = v {
                        vars.insert(k.to_string(), v.to_string());
                    }
                }
                out.push(vars);
            }
        }
    }
    out
}

#[test]
fn grub_script_in_grub_emu_boots_what_select_boot_says_for_every_environment() {
    let dir = tempfile::tempdir().unwrap();
    let envdir = dir.path().join("fs");
    std::fs::create_dir(&envdir).unwrap();
    let cases = cases();
    let mut cfg = String::new();
    for (i, vars) in cases.iter().enumerate() {
        let mut with_marker = vars.clone();
        with_marker.insert("keel_case".to_string(), i.to_string());
        std::fs::write(
            envdir.join(format!("env{i}")),
            encode(&with_marker).unwrap(),
        )
        .unwrap();
        cfg.push_str(&format!(
            "set keel_env=(hd0)/env{i}\nsource $prefix/keel-ab.cfg\necho \"KEEL_RESULT {i} $keel_slot $keel_rootfs\"\n"
        ));
    }
    cfg.push_str("halt\n");
    // The envs on an ext2 disk: GRUB's save_env rewrites a file's blocks in
    // place and refuses files it cannot map to blocks (the host file system).
    let disk = dir.path().join("disk.img");
    let mkfs = Command::new(tool("mke2fs", "e2fsprogs"))
        .args(["-q", "-t", "ext2", "-b", "1024", "-d"])
        .arg(&envdir)
        .arg(&disk)
        .arg("2M")
        .output()
        .unwrap();
    assert!(
        mkfs.status.success(),
        "mke2fs: {}",
        String::from_utf8_lossy(&mkfs.stderr)
    );
    std::fs::write(
        dir.path().join("device.map"),
        format!("(hd0) {}\n", disk.display()),
    )
    .unwrap();
    std::fs::write(dir.path().join("grub.cfg"), cfg).unwrap();
    std::fs::copy(
        repo_file("board/common/grub/keel-ab.cfg"),
        dir.path().join("keel-ab.cfg"),
    )
    .unwrap();

    let mut cmd = Command::new(tool("grub-emu", "grub-emu"));
    cmd.arg("-d")
        .arg(dir.path())
        .arg("-m")
        .arg(dir.path().join("device.map"));
    let started = Instant::now();
    let output = run_with_limit(cmd, Duration::from_secs(120));
    println!(
        "grub-emu ran {} cases in {:?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        !output.contains("error:"),
        "GRUB reported an error:\n{output}"
    );

    // What GRUB booted, per case.
    let mut booted: BTreeMap<usize, (String, String)> = BTreeMap::new();
    for line in output.split(['\r', '\n']) {
        if let Some(rest) = line.find("KEEL_RESULT ").map(|p| &line[p + 12..]) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(f.len(), 3, "result line {line:?}");
            booted.insert(f[0].parse().unwrap(), (f[1].to_string(), f[2].to_string()));
        }
    }
    assert_eq!(booted.len(), cases.len(), "results missing:\n{output}");

    // What GRUB saved, per case: every grubenv block on the disk.
    let image = std::fs::read(&disk).unwrap();
    let mut saved: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    for off in (0..image.len() - GRUBENV_SIZE).step_by(1024) {
        if image[off..].starts_with(GRUBENV_HEADER.as_bytes()) {
            let vars = parse(&image[off..off + GRUBENV_SIZE]).unwrap();
            let case = vars["keel_case"].parse().unwrap();
            saved.insert(case, vars);
        }
    }
    assert_eq!(saved.len(), cases.len());

    for (i, start) in cases.iter().enumerate() {
        let mut model = BootEnv::from_vars_as_bootloader(start);
        let want_slot = select_boot(&mut model);
        let (slot, rootfs) = &booted[&i];
        assert_eq!(
            slot,
            want_slot.letter(),
            "case {i} {start:?}: GRUB booted {slot}"
        );
        let want_rootfs = match want_slot {
            Slot::A => "rootfs-a",
            Slot::B => "rootfs-b",
        };
        assert_eq!(rootfs, want_rootfs, "case {i} {start:?}");
        let got = BootEnv::from_vars(&saved[&i])
            .unwrap_or_else(|e| panic!("case {i} {start:?}: GRUB saved a bad env: {e}"));
        assert_eq!(
            got, model,
            "case {i} {start:?}: saved env differs from the model"
        );
        assert_eq!(
            saved[&i]["keel_case"],
            i.to_string(),
            "other variables are kept"
        );
    }
}

#[test]
fn u_boot_script_uses_the_scheme_variables_and_rules() {
    let text = std::fs::read_to_string(repo_file("board/common/u-boot/keel-ab.cmd")).unwrap();
    for needle in [
        "KEEL_ORDER",
        "KEEL_A_LEFT",
        "KEEL_B_LEFT",
        "\"B A\"",
        "setenv KEEL_A_LEFT 2",
        "setenv KEEL_B_LEFT 0",
        "saveenv",
        "keel.slot=${keel_slot}",
        "PARTLABEL=${keel_rootfs}",
    ] {
        assert!(text.contains(needle), "keel-ab.cmd lacks {needle:?}");
    }
    // Every if has its fi (hush would refuse the script otherwise).
    let count = |w: &str| {
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split(|c: char| c == ';' || c.is_whitespace()))
            .filter(|t| *t == w)
            .count()
    };
    assert_eq!(count("if"), count("fi"), "unbalanced if/fi in keel-ab.cmd");
}
