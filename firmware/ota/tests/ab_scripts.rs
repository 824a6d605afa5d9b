//! The boot scripts against the Rust model of the A/B scheme.
//!
//! The GRUB script (board/common/grub/keel-ab.cfg) is syntax-checked with
//! `grub-script-check` and then *run* by GRUB itself in `grub-emu` (Debian
//! package grub-emu) against real grubenv blocks on an ext2 disk image, once
//! for every starting environment (valid, unset, empty and garbage values):
//! the slot it boots and the environment it saves must be exactly what
//! `select_boot` gives on `BootEnv::from_vars_as_bootloader`.
//! The U-Boot script (board/common/u-boot/keel-ab.cmd) is run by real U-Boot
//! (Debian's u-boot-qemu build for qemu-x86) in qemu, for every starting
//! environment U-Boot can hold, and compared with the model the same way.

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

/// The file system the grubenv blocks live on in the grub-emu run.
#[derive(Debug, Clone, Copy)]
enum EnvFs {
    /// ext2 (as a Linux boot partition).
    Ext2,
    /// FAT (as the EFI system partition, where the dev image keeps it).
    Fat,
}

#[test]
fn grub_script_in_grub_emu_boots_what_select_boot_says_for_every_environment() {
    grub_cases_in_grub_emu(EnvFs::Ext2);
}

#[test]
fn grub_script_saves_its_env_on_fat_like_the_esp() {
    grub_cases_in_grub_emu(EnvFs::Fat);
}

fn grub_cases_in_grub_emu(fs: EnvFs) {
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
    // The envs on a disk image: GRUB's save_env rewrites a file's blocks in
    // place and refuses files it cannot map to blocks (the host file system).
    let disk = dir.path().join("disk.img");
    let (mkfs, block) = match fs {
        EnvFs::Ext2 => (
            Command::new(tool("mke2fs", "e2fsprogs"))
                .args(["-q", "-t", "ext2", "-b", "1024", "-d"])
                .arg(&envdir)
                .arg(&disk)
                .arg("2M")
                .output()
                .unwrap(),
            1024,
        ),
        EnvFs::Fat => {
            let made = Command::new(tool("mkfs.vfat", "dosfstools"))
                .arg("-C")
                .arg(&disk)
                .arg("4096")
                .output()
                .unwrap();
            assert!(
                made.status.success(),
                "mkfs.vfat: {}",
                String::from_utf8_lossy(&made.stderr)
            );
            let mut mcopy = Command::new(tool("mcopy", "mtools"));
            mcopy.arg("-i").arg(&disk);
            for i in 0..cases.len() {
                mcopy.arg(envdir.join(format!("env{i}")));
            }
            (mcopy.arg("::").output().unwrap(), 512)
        }
    };
    assert!(
        mkfs.status.success(),
        "making the {fs:?} image: {}",
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
        "grub-emu ran {} cases on {fs:?} in {:?}",
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
    for off in (0..image.len() - GRUBENV_SIZE).step_by(block) {
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

/// The cases U-Boot can hold: it has no empty variables (`setenv X ""`
/// deletes X), so each variable is unset, valid or garbage.
fn u_boot_cases() -> Vec<BTreeMap<String, String>> {
    cases()
        .into_iter()
        .filter(|vars| vars.values().all(|v| !v.is_empty()))
        .collect()
}

/// A disk image with an MBR and one FAT partition (from 1 MiB) holding `files`.
fn fat_disk(dir: &Path, files: &[&Path]) -> PathBuf {
    let part = dir.join("part.img");
    let out = Command::new(tool("mkfs.vfat", "dosfstools"))
        .arg("-C")
        .arg(&part)
        .arg("4096")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mkfs.vfat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut mcopy = Command::new(tool("mcopy", "mtools"));
    mcopy.arg("-i").arg(&part).args(files).arg("::");
    let out = mcopy.output().unwrap();
    assert!(
        out.status.success(),
        "mcopy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fs = std::fs::read(&part).unwrap();
    let mut disk = vec![0u8; 2048 * 512];
    // Partition entry 1: bootable, type 0x0c (FAT32 LBA), from sector 2048.
    disk[446] = 0x80;
    disk[450] = 0x0c;
    disk[454..458].copy_from_slice(&2048u32.to_le_bytes());
    disk[458..462].copy_from_slice(&((fs.len() / 512) as u32).to_le_bytes());
    disk[510] = 0x55;
    disk[511] = 0xAA;
    disk.extend_from_slice(&fs);
    let path = dir.join("disk.img");
    std::fs::write(&path, disk).unwrap();
    path
}

fn mkimage_script(src: &Path, out: &Path) {
    let o = Command::new(tool("mkimage", "u-boot-tools"))
        .args(["-q", "-A", "x86", "-T", "script", "-C", "none", "-d"])
        .arg(src)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mkimage: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn u_boot_script_in_qemu_boots_what_select_boot_says_for_every_environment() {
    // Real U-Boot (Debian's u-boot-qemu build for qemu-x86) boots in qemu,
    // its distro boot finds boot.scr on the disk, and boot.scr runs
    // keel-ab.cmd once per starting environment and prints the outcome. The
    // qemu-x86 build keeps its environment nowhere (saveenv is not built in),
    // so the values the script would save are printed instead.
    let dir = tempfile::tempdir().unwrap();
    let cases = u_boot_cases();
    let mut driver = String::from(
        "echo KEEL_DRIVER_START\n\
         setenv kaddr 0x3000000\n\
         load ${devtype} ${devnum}:${distro_bootpart} ${kaddr} keel-ab.scr\n\
         setenv keel_load 'echo KEEL_LOAD'\n\
         setenv keel_bootargs console=ttyS0\n\
         setenv keel_part_a 2\n\
         setenv keel_part_b 3\n",
    );
    for (i, vars) in cases.iter().enumerate() {
        for var in ["KEEL_ORDER", "KEEL_A_LEFT", "KEEL_B_LEFT"] {
            match vars.get(var) {
                Some(v) => driver.push_str(&format!("setenv {var} \"{v}\"\n")),
                None => driver.push_str(&format!("setenv {var}\n")),
            }
        }
        driver.push_str(&format!(
            "source ${{kaddr}}\n\
             echo \"KEEL_RESULT {i} ${{keel_slot}} ${{keel_rootfs}} ${{keel_part}} ${{KEEL_A_LEFT}} ${{KEEL_B_LEFT}} ${{KEEL_ORDER}}|${{bootargs}}\"\n"
        ));
    }
    driver.push_str("echo KEEL_DRIVER_END\nreset\n");
    std::fs::write(dir.path().join("boot.cmd"), driver).unwrap();
    mkimage_script(&dir.path().join("boot.cmd"), &dir.path().join("boot.scr"));
    mkimage_script(
        &repo_file("board/common/u-boot/keel-ab.cmd"),
        &dir.path().join("keel-ab.scr"),
    );
    let disk = fat_disk(
        dir.path(),
        &[
            &dir.path().join("boot.scr"),
            &dir.path().join("keel-ab.scr"),
        ],
    );

    let rom = Path::new("/usr/lib/u-boot/qemu-x86/u-boot.rom");
    assert!(
        rom.exists(),
        "{} is missing: run `cargo xtask setup` (Debian package u-boot-qemu)",
        rom.display()
    );
    let mut cmd = Command::new(tool("qemu-system-x86_64", "qemu-system-x86"));
    cmd.arg("-bios")
        .arg(rom)
        .args([
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
            "-m",
            "256",
            "-drive",
        ])
        .arg(format!("file={},format=raw,if=ide", disk.display()));
    let started = Instant::now();
    let output = run_with_limit(cmd, Duration::from_secs(120));
    println!(
        "U-Boot in qemu ran {} cases in {:?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        output.contains("KEEL_DRIVER_END"),
        "the driver did not finish:\n{output}"
    );
    for bad in [
        "syntax error",
        "Unknown command 'if'",
        "Unknown command 'elif'",
    ] {
        assert!(!output.contains(bad), "U-Boot reported {bad:?}:\n{output}");
    }

    let mut results: BTreeMap<usize, String> = BTreeMap::new();
    for line in output.split(['\r', '\n']) {
        if let Some(rest) = line.strip_prefix("KEEL_RESULT ") {
            let (i, rest) = rest.split_once(' ').unwrap();
            results.insert(i.parse().unwrap(), rest.to_string());
        }
    }
    assert_eq!(results.len(), cases.len(), "results missing:\n{output}");
    for (i, start) in cases.iter().enumerate() {
        let mut model = BootEnv::from_vars_as_bootloader(start);
        let slot = select_boot(&mut model);
        let (rootfs, part) = match slot {
            Slot::A => ("rootfs-a", 2),
            Slot::B => ("rootfs-b", 3),
        };
        let want = format!(
            "{slot} {rootfs} {part} {} {} {} {}|console=ttyS0 root=PARTLABEL={rootfs} keel.slot={slot}",
            model.a_left,
            model.b_left,
            model.first,
            model.first.other()
        );
        assert_eq!(results[&i], want, "case {i} {start:?}");
    }
}
