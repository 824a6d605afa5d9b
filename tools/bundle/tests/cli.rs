//! The real `keel-bundle` binary end to end: keys and bundles on disk, then
//! verification and installation with the keel-ota library.

use keel_ota::install::{install, ModelDirSink, SlotSink};
use keel_ota::keys::PublicKey;
use keel_ota::verify::{BundleError, InstallPolicy};
use keel_ota::version::Version;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel-bundle"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let base = dir.join(name);
    let out = run(&["keygen", "--out", s(&base)]);
    assert!(out.status.success(), "{:?}", text(&out));
    (
        dir.join(format!("{name}.pk8")),
        dir.join(format!("{name}.pub")),
    )
}

fn policy(pubkey: &Path, running: &str) -> InstallPolicy {
    InstallPolicy {
        board: "qemu-x86_64".into(),
        running: Version::parse(running).unwrap(),
        allow_downgrade: false,
        trusted: vec![PublicKey::load(pubkey).unwrap()],
    }
}

fn rootfs_image(path: &Path, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(path, &data).unwrap();
    data
}

#[test]
fn keygen_sign_inspect_and_install_a_firmware_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let (pk8, pubkey) = keygen(tmp.path(), "release");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&pk8).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Keys are never overwritten.
    let again = run(&["keygen", "--out", s(&tmp.path().join("release"))]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).1.contains("already exists"),
        "{:?}",
        text(&again)
    );

    let image = tmp.path().join("rootfs.ext4");
    let rootfs = rootfs_image(&image, 1_000_000);
    let bundle = tmp.path().join("fw-1.2.0.keelbundle");
    let payload = format!("rootfs={}", s(&image));
    let out = run(&[
        "sign",
        "--key",
        s(&pk8),
        "--kind",
        "firmware",
        "--version",
        "1.2.0",
        "--board",
        "qemu-x86_64",
        "--board",
        "generic-x86_64",
        "--min-version",
        "1.0.0",
        "--created-unix-ms",
        "1790000000000",
        "--payload",
        &payload,
        "--out",
        s(&bundle),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout} {stderr}");
    assert!(stdout.contains("signed firmware bundle 1.2.0"), "{stdout}");
    assert!(stdout.contains("1000000 bytes"), "{stdout}");

    let out = run(&["inspect", s(&bundle), "--pubkey", s(&pubkey)]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    for want in [
        "kind:        firmware",
        "version:     1.2.0",
        "min_version: 1.0.0",
        "boards:      qemu-x86_64, generic-x86_64",
        "contents:    ok",
        "signature:   valid",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }

    let out = run(&["inspect", s(&bundle), "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], "1.2.0");
    assert_eq!(json["payloads"][0]["name"], "rootfs");
    assert_eq!(json["payloads"][0]["size"], 1_000_000);
    assert_eq!(json["created_unix_ms"], 1_790_000_000_000u64);
    assert_eq!(json["signature"], "not checked");
    assert_eq!(json["contents_ok"], true);

    // The terminal's side: trusted key from the .pub file, install onto a slot.
    let slot = tmp.path().join("rootfs-b.img");
    let mut sink = SlotSink::new(&slot);
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    let report = install(&mut reader, &policy(&pubkey, "1.1.0"), &mut sink).unwrap();
    assert_eq!(report.manifest.version, Version::new(1, 2, 0));
    assert_eq!(fs::read(&slot).unwrap(), rootfs);

    // Too old to update from.
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    let err = install(
        &mut reader,
        &policy(&pubkey, "0.9.0"),
        &mut SlotSink::new(tmp.path().join("x")),
    )
    .unwrap_err();
    assert!(matches!(err, BundleError::RunningTooOld { .. }), "{err}");
}

#[test]
fn inspect_reports_tampering_and_the_wrong_key_with_exit_status_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (pk8, pubkey) = keygen(tmp.path(), "release");
    let (_, other_pub) = keygen(tmp.path(), "other");
    let image = tmp.path().join("rootfs.ext4");
    rootfs_image(&image, 100_000);
    let bundle = tmp.path().join("fw.keelbundle");
    let payload = format!("rootfs={}", s(&image));
    let out = run(&[
        "sign",
        "--key",
        s(&pk8),
        "--kind",
        "firmware",
        "--version",
        "2.0.0",
        "--board",
        "qemu-x86_64",
        "--payload",
        &payload,
        "--out",
        s(&bundle),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));

    let out = run(&["inspect", s(&bundle), "--pubkey", s(&other_pub)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).0.contains("signature:   INVALID: signed by key"),
        "{:?}",
        text(&out)
    );

    // One flipped payload bit: contents BAD, and the terminal refuses it.
    let mut bytes = fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&bundle, &bytes).unwrap();
    let out = run(&["inspect", s(&bundle), "--pubkey", s(&pubkey)]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("contents:    BAD: payload \"rootfs\" is corrupt"),
        "{stdout}"
    );
    assert!(stdout.contains("signature:   valid"), "{stdout}");
    let err = install(
        &mut &bytes[..],
        &policy(&pubkey, "1.0.0"),
        &mut SlotSink::new(tmp.path().join("slot.img")),
    )
    .unwrap_err();
    assert!(matches!(err, BundleError::HashMismatch { .. }));
    assert!(!tmp.path().join("slot.img").exists());

    // Not a bundle at all.
    let out = run(&["inspect", s(&image)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("not a Keel bundle"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn a_model_directory_signs_and_installs_byte_identical() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/loss-prevention");
    let tmp = tempfile::tempdir().unwrap();
    let (pk8, pubkey) = keygen(tmp.path(), "models");
    let bundle = tmp.path().join("lp.keelbundle");
    let out = run(&[
        "sign",
        "--key",
        s(&pk8),
        "--version",
        "1.0.0",
        "--board",
        "qemu-x86_64",
        "--model-dir",
        s(&source),
        "--out",
        s(&bundle),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout} {stderr}");
    assert!(stdout.contains("signed model bundle 1.0.0"), "{stdout}");

    let out = run(&["inspect", s(&bundle), "--json", "--pubkey", s(&pubkey)]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.contains(&"golden/00.in.f32") && names.contains(&"model.tflite"));
    assert_eq!(json["signature"], "valid");

    let target = tmp.path().join("installed");
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    install(
        &mut reader,
        &policy(&pubkey, "0.1.0"),
        &mut ModelDirSink::new(&target),
    )
    .unwrap();
    for name in names {
        assert_eq!(
            fs::read(target.join(name)).unwrap(),
            fs::read(source.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn bad_command_lines_exit_2_and_failures_exit_1_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["sign", "--version", "1.0.0"][..],
        &["inspect"][..],
        &["keygen", "--out"][..],
        &["bogus"][..],
        &[
            "sign",
            "--key",
            "k",
            "--kind",
            "firmware",
            "--version",
            "1.0",
            "--board",
            "b",
            "--payload",
            "rootfs=x",
            "--out",
            "o",
        ][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let (_, stderr) = text(&out);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("keel-bundle: "), "{stderr}");
    }

    let (pk8, _) = keygen(tmp.path(), "k");
    let out_file = tmp.path().join("o.keelbundle");
    // A firmware payload must be named rootfs.
    let image = tmp.path().join("img");
    fs::write(&image, b"data").unwrap();
    let payload = format!("kernel={}", s(&image));
    let out = run(&[
        "sign",
        "--key",
        s(&pk8),
        "--kind",
        "firmware",
        "--version",
        "1.0.0",
        "--board",
        "qemu-x86_64",
        "--payload",
        &payload,
        "--out",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("bad payload name \"kernel\""),
        "{:?}",
        text(&out)
    );
    // A missing payload file names it.
    let out = run(&[
        "sign",
        "--key",
        s(&pk8),
        "--kind",
        "firmware",
        "--version",
        "1.0.0",
        "--board",
        "qemu-x86_64",
        "--payload",
        "rootfs=/nonexistent/rootfs.ext4",
        "--out",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("payload \"rootfs\""),
        "{:?}",
        text(&out)
    );
    assert!(!out_file.exists());
    assert!(!tmp.path().join("o.keelbundle.partial").exists());
    // A file that is not a key.
    let out = run(&[
        "sign",
        "--key",
        s(&image),
        "--kind",
        "firmware",
        "--version",
        "1.0.0",
        "--board",
        "qemu-x86_64",
        "--payload",
        "rootfs=x",
        "--out",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("not an Ed25519 PKCS#8"),
        "{:?}",
        text(&out)
    );
}
