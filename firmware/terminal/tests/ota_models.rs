//! Model OTA through the real `keel` binary (issue 8): `<data>/models/<name>`
//! becomes an A/B symlink; a signed model bundle with a bumped version goes
//! into the inactive directory, passes the runtime's load and golden smoke
//! test and is switched to without a restart (`model list` shows it); a
//! bundle whose golden vector is wrong is refused by the smoke test, its
//! directory removed, and the active model keeps scoring; `ota rollback
//! models loss-prevention` goes back to the previous version; the choice
//! survives a restart. With the real TensorFlow Lite library (the suite runs
//! with `--features keel-ai/tflite`); without it every model install is
//! refused by the runtime and the active model stays, which is checked instead.
mod common;
mod ota_common;

use common::*;
use keel_ota::bundle::{PayloadData, PayloadInput};
use keel_ota::manifest::BundleKind;
use ota_common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn repo_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn library_built() -> bool {
    let dir = repo_models().join("loss-prevention");
    let manifest = keel_ai::manifest::Manifest::load(&dir).expect("the shipped manifest loads");
    !matches!(
        keel_ai::inference::open(&manifest, &dir),
        Err(keel_ai::inference::InferenceError::NotBuilt)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` as a payload named by its relative path.
fn payloads(dir: &Path, base: &Path, out: &mut Vec<PayloadInput>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            payloads(&p, base, out);
        } else {
            out.push(PayloadInput {
                name: p.strip_prefix(base).unwrap().to_string_lossy().into_owned(),
                data: PayloadData::File(p.clone()),
            });
        }
    }
}

/// A loss-prevention model bundle at `version`; `break_golden` corrupts the
/// first golden output (the smoke test must catch it).
fn lp_bundle(rig: &Rig, version: &str, break_golden: bool) -> PathBuf {
    let src = rig.dir.path().join(format!("lp-{version}"));
    copy_dir(&repo_models().join("loss-prevention"), &src);
    let manifest = src.join("manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen(
            "version = \"1.0.0\"",
            &format!("version = \"{version}\""),
            1,
        ),
    )
    .unwrap();
    if break_golden {
        let out = src.join("golden/00.out.f32");
        let mut bytes = std::fs::read(&out).unwrap();
        for b in bytes.iter_mut().step_by(4).skip(3) {
            *b ^= 0x40;
        }
        bytes[3] ^= 0x40;
        std::fs::write(&out, bytes).unwrap();
    }
    let mut p = Vec::new();
    payloads(&src, &src, &mut p);
    sign(
        &rig.key,
        &rig.dir.path().join(format!("lp-{version}.keelb")),
        BundleKind::Model,
        version,
        &[BOARD],
        p,
    )
}

fn lp(list: &Value) -> Value {
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "loss-prevention")
        .unwrap_or_else(|| panic!("{list}"))
        .clone()
}

fn lp_slots(status: &Value) -> Value {
    status["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "loss-prevention")
        .unwrap_or_else(|| panic!("{status}"))
        .clone()
}

/// Installs `bundle` and waits for its result (installed or failed).
fn install(k: &mut Keel, bundle: &Path, since: u64) -> Value {
    k.ok(&format!("ota install {}", bundle.display()));
    let s = wait_status(k, WAIT, |s| {
        s["last_result"]["kind"] == "model"
            && s["last_result"]["at_unix_ms"].as_u64().unwrap_or(0) >= since
            && s["progress"].is_null()
    });
    s["last_result"].clone()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn model_bundles_switch_without_restart_and_roll_back() {
    let rig = Rig::new();
    copy_dir(
        &repo_models().join("loss-prevention"),
        &rig.data.join("models/loss-prevention"),
    );
    copy_dir(
        &repo_models().join("product-recognition"),
        &rig.data.join("models/product-recognition"),
    );
    let v110 = lp_bundle(&rig, "1.1.0", false);
    let broken = lp_bundle(&rig, "1.2.0", true);
    let mut k = rig.start();
    k.ok(&format!("login {TECHNICIAN}"));
    let models = rig.data.join("models");

    if !library_built() {
        // Without the library no model loads: the install is refused by the
        // runtime and the plain directory stays the active one (moved to .a).
        let r = install(&mut k, &v110, now_ms());
        assert_eq!(r["result"], "failed", "{r}");
        assert!(r["reason"].as_str().unwrap().contains("smoke test"), "{r}");
        assert!(!models.join("loss-prevention.b").exists());
        assert_eq!(
            std::fs::read_link(models.join("loss-prevention")).unwrap(),
            Path::new("loss-prevention.a")
        );
        k.quit();
        return;
    }

    assert_eq!(lp(&k.ok("model list"))["version"], "1.0.0");
    let r = install(&mut k, &v110, now_ms());
    assert_eq!(r["result"], "installed", "{r}");
    // Same process, no restart: the runtime now runs 1.1.0.
    let m = lp(&k.ok("model list"));
    assert_eq!(
        (m["version"].as_str(), m["state"].as_str()),
        (Some("1.1.0"), Some("ready")),
        "{m}"
    );
    assert_eq!(
        std::fs::read_link(models.join("loss-prevention")).unwrap(),
        Path::new("loss-prevention.b")
    );
    let s = lp_slots(&k.ok("ota status"));
    assert_eq!(
        (
            s["active"].as_str(),
            s["a_version"].as_str(),
            s["b_version"].as_str()
        ),
        (Some("b"), Some("1.0.0"), Some("1.1.0")),
        "{s}"
    );

    // Back to 1.0.0.
    let r = k.ok("ota rollback models loss-prevention");
    assert_eq!(
        (r["version"].as_str(), r["from"].as_str()),
        (Some("1.0.0"), Some("1.1.0")),
        "{r}"
    );
    assert_eq!(lp(&k.ok("model list"))["version"], "1.0.0");
    assert_eq!(
        std::fs::read_link(models.join("loss-prevention")).unwrap(),
        Path::new("loss-prevention.a")
    );

    // A wrong golden vector: refused by the smoke test, the old model stays.
    let r = install(&mut k, &broken, now_ms());
    assert_eq!(r["result"], "failed", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("smoke test") && reason.contains("golden"),
        "{reason}"
    );
    assert!(
        !models.join("loss-prevention.b").exists(),
        "the refused directory is removed"
    );
    assert_eq!(
        std::fs::read_link(models.join("loss-prevention")).unwrap(),
        Path::new("loss-prevention.a")
    );
    let m = lp(&k.ok("model list"));
    assert_eq!(
        (m["version"].as_str(), m["state"].as_str()),
        (Some("1.0.0"), Some("ready")),
        "{m}"
    );
    k.ok(&format!("login {CASHIER}"));
    let score = k.ok("model score");
    assert_eq!(
        score["source"]["kind"], "model",
        "the old model keeps scoring: {score}"
    );
    assert_eq!(score["source"]["version"], "1.0.0");
    // Nothing to go back to now: 1.1.0 was overwritten by the refused one.
    k.ok(&format!("login {TECHNICIAN}"));
    let e = k.err("ota rollback models loss-prevention");
    assert!(e.contains("no previous loss-prevention model"), "{e}");

    // 1.1.0 again, then a restart keeps it (the symlink is the choice).
    let r = install(&mut k, &v110, now_ms());
    assert_eq!(r["result"], "installed", "{r}");
    // Not newer than the active model: refused unless --allow-downgrade.
    let r = install(&mut k, &v110, now_ms());
    assert_eq!(r["result"], "failed", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("not newer"), "{r}");
    k.quit();
    let mut k = rig.start();
    assert_eq!(lp(&k.ok("model list"))["version"], "1.1.0");
    k.quit();
}

#[test]
fn the_demo_running_the_repositorys_models_refuses_model_bundles() {
    let rig = Rig::new();
    // Without a board the terminal checks bundles against generic-<arch>.
    let board = format!("generic-{}", std::env::consts::ARCH);
    let mut p = Vec::new();
    let src = repo_models().join("loss-prevention");
    payloads(&src, &src, &mut p);
    let bundle = sign(
        &rig.key,
        &rig.dir.path().join("lp.keelb"),
        BundleKind::Model,
        "1.1.0",
        &[board.as_str()],
        p,
    );
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keel"));
    let data = rig.dir.path().join("demo-data");
    cmd.arg("console")
        .arg("--demo")
        .arg("--data-dir")
        .arg(&data)
        .arg("--json");
    let mut k = Keel::spawn(cmd, rig.dir.path());
    k.ok(&format!("login {TECHNICIAN}"));
    // The demo trusts the default key directory, which is not this test's.
    let e = k.err(&format!("ota install {}", bundle.display()));
    assert!(
        e.contains("trusted keys") || e.contains("repository's models"),
        "{e}"
    );
    let e = k.err("ota rollback models loss-prevention");
    assert!(e.contains("repository's models"), "{e}");
    let s = k.ok("ota status");
    assert!(
        s["firmware_off"]
            .as_str()
            .unwrap()
            .contains("no board description"),
        "{s}"
    );
    k.quit();
    assert!(
        std::fs::symlink_metadata(repo_models().join("loss-prevention"))
            .unwrap()
            .is_dir(),
        "the repository's models are untouched"
    );
}
