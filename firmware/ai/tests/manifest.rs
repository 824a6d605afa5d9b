//! Manifest loading and validation on the shipped models and on broken copies;
//! without the `tflite` feature, open() says NotBuilt.

mod support;

use keel_ai::manifest::{Manifest, ManifestError, ModelKind};
use support::{copy_dir, fix_sha, models_dir, set_manifest_line};

#[test]
fn shipped_manifests_load_and_verify() {
    let r = Manifest::load(&models_dir().join("product-recognition")).unwrap();
    assert_eq!(r.kind, ModelKind::Recognition);
    assert_eq!(r.input.shape, vec![1, 64, 64, 3]);
    assert_eq!(r.labels.len(), 17);
    assert_eq!(r.labels[0], "CHOC-100");
    assert!(r.thresholds.accept.is_some());
    r.verify_file().unwrap();
    let l = Manifest::load(&models_dir().join("loss-prevention")).unwrap();
    assert_eq!(l.kind, ModelKind::LossPrevention);
    assert_eq!(
        l.labels,
        vec!["SWEETHEARTING", "REFUND_FRAUD", "DRAWER_SKIMMING"]
    );
    assert_eq!(
        (l.thresholds.review, l.thresholds.high),
        (Some(0.5), Some(0.8))
    );
    l.verify_file().unwrap();
    let (input, output) = l.read_golden(&l.golden[0]).unwrap();
    assert_eq!((input.len(), output.len()), (8, 3));
}

fn broken(edit: impl Fn(&std::path::Path)) -> ManifestError {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    copy_dir(&models_dir().join("loss-prevention"), &dir);
    edit(&dir);
    match Manifest::load(&dir) {
        Ok(m) => m.verify_file().unwrap_err(),
        Err(e) => e,
    }
}

#[test]
fn invalid_manifests_say_what_is_wrong() {
    let e = broken(|d| set_manifest_line(d, "version", "# no version"));
    assert!(e.to_string().contains("version"), "{e}");
    let e = broken(|d| set_manifest_line(d, "dtype", "dtype = \"int8\""));
    assert!(e.to_string().contains("int8"), "{e}");
    let e = broken(|d| set_manifest_line(d, "labels", "labels = [\"A\", \"B\"]"));
    assert!(e.to_string().contains("2 labels"), "{e}");
    let e = broken(|d| std::fs::write(d.join("golden/00.in.f32"), [0u8; 12]).unwrap());
    assert!(
        matches!(
            e,
            ManifestError::GoldenSize {
                bytes: 12,
                expected: 32,
                ..
            }
        ),
        "{e}"
    );
    let e = broken(|d| set_manifest_line(d, "version", "version = \"1.0\""));
    assert!(e.to_string().contains("MAJOR.MINOR.PATCH"), "{e}");
    let e = broken(|d| {
        let mut bytes = std::fs::read(d.join("model.tflite")).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(d.join("model.tflite"), bytes).unwrap();
    });
    assert!(matches!(e, ManifestError::Sha256Mismatch { .. }), "{e}");
    let e = broken(|d| std::fs::remove_file(d.join("manifest.toml")).unwrap());
    assert!(matches!(e, ManifestError::Io { .. }), "{e}");
    // A fixed sha makes a changed file pass the manifest check (TFLite judges it then).
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&models_dir().join("loss-prevention"), tmp.path());
    std::fs::write(tmp.path().join("model.tflite"), b"garbage").unwrap();
    fix_sha(tmp.path());
    Manifest::load(tmp.path()).unwrap().verify_file().unwrap();
}

#[cfg(not(feature = "tflite"))]
#[test]
fn open_without_the_feature_is_not_built() {
    let dir = models_dir().join("loss-prevention");
    let m = Manifest::load(&dir).unwrap();
    assert_eq!(
        keel_ai::inference::open(&m, &dir).err(),
        Some(keel_ai::inference::InferenceError::NotBuilt)
    );
    let rt = keel_ai::AiRuntime::start(support::config(&models_dir()));
    let s = rt.score(&keel_ai::Features([0.0; 8]));
    assert!(
        matches!(s.source, keel_ai::ScoreSource::Rules { ref why } if why.contains("not built")),
        "{s:?}"
    );
}
