//! Installing into real destinations: a slot image file and a fresh model
//! directory (the repository's loss-prevention model, byte for byte).

mod bundle_support;

use bundle_support::*;
use keel_ota::bundle::{write_bundle_file, PayloadData, PayloadInput};
use keel_ota::install::{install, install_with_progress, ModelDirSink, Progress, SlotSink};
use keel_ota::manifest::BundleKind;
use keel_ota::verify::BundleError;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/loss-prevention")
}

/// Every regular file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap();
                out.push(rel.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn the_loss_prevention_model_installs_byte_identical_into_a_fresh_directory() {
    let source = model_dir();
    let names = files(&source);
    assert!(names.contains(&"model.tflite".to_string()));
    assert!(names.iter().any(|n| n.starts_with("golden/")));
    let payloads: Vec<PayloadInput> = names
        .iter()
        .map(|n| PayloadInput {
            name: n.clone(),
            data: PayloadData::File(source.join(n)),
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let key = key();
    let bundle = tmp.path().join("lp.keelbundle");
    write_bundle_file(&bundle, &key, &spec(BundleKind::Model, "1.0.0"), &payloads).unwrap();
    assert!(!tmp.path().join("lp.keelbundle.partial").exists());

    let target = tmp.path().join("models-b").join("loss-prevention");
    fs::create_dir(target.parent().unwrap()).unwrap();
    let mut sink = ModelDirSink::new(&target);
    let progress = Progress::new();
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    let report =
        install_with_progress(&mut reader, &policy(&key, "0.9.0"), &mut sink, &progress).unwrap();
    assert_eq!(report.manifest.payloads.len(), names.len());
    assert_eq!(progress.written(), progress.total());
    assert_eq!(files(&target), names);
    for n in &names {
        assert_eq!(
            fs::read(target.join(n)).unwrap(),
            fs::read(source.join(n)).unwrap(),
            "{n} differs"
        );
    }

    // The directory must be fresh: a second install into it is refused.
    let mut again = ModelDirSink::new(&target);
    let mut reader = BufReader::new(File::open(&bundle).unwrap());
    let err = install(&mut reader, &policy(&key, "0.9.0"), &mut again).unwrap_err();
    assert!(matches!(err, BundleError::Sink { .. }), "{err}");
    assert_eq!(
        files(&target),
        names,
        "a refused install touched the directory"
    );
}

#[test]
fn a_corrupt_model_bundle_leaves_no_directory() {
    let key = key();
    let mut bundle = model_bundle(&key, "1.0.0");
    let last = bundle.len() - 1;
    bundle[last] ^= 1;
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("model");
    let mut sink = ModelDirSink::new(&target);
    let err = install(&mut &bundle[..], &policy(&key, "0.1.0"), &mut sink).unwrap_err();
    assert!(
        matches!(&err, BundleError::HashMismatch { payload, .. } if payload == "golden/00.in.f32"),
        "{err}"
    );
    assert!(!target.exists(), "aborted model directory left behind");
}

#[test]
fn firmware_installs_onto_a_slot_image_and_a_failed_one_is_removed() {
    let key = key();
    let rootfs = bytes(300_000, 5);
    let bundle = firmware_bundle(&key, &spec(BundleKind::Firmware, "2.0.0"), &rootfs);
    let tmp = tempfile::tempdir().unwrap();

    // An existing image file is overwritten (truncated first).
    let slot = tmp.path().join("rootfs-b.img");
    fs::write(&slot, vec![0xee; 400_000]).unwrap();
    let mut sink = SlotSink::new(&slot);
    install(&mut &bundle[..], &policy(&key, "1.0.0"), &mut sink).unwrap();
    assert_eq!(fs::read(&slot).unwrap(), rootfs);

    // A new image file that fails half way is removed, not left looking written.
    let fresh = tmp.path().join("new.img");
    let mut sink = SlotSink::new(&fresh);
    let cut = &bundle[..bundle.len() - 1000];
    let err = install(&mut &cut[..], &policy(&key, "1.0.0"), &mut sink).unwrap_err();
    assert!(matches!(err, BundleError::Truncated { .. }), "{err}");
    assert!(!fresh.exists());

    // A model bundle is not written onto a slot.
    let model = model_bundle(&key, "3.0.0");
    let mut sink = SlotSink::new(tmp.path().join("other.img"));
    let err = install(&mut &model[..], &policy(&key, "1.0.0"), &mut sink).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this is a model bundle, the destination takes a firmware bundle"
    );
    assert!(!tmp.path().join("other.img").exists());
}
