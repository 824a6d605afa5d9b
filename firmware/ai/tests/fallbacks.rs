//! Every fallback path through the real library: missing directory, corrupt
//! file (TFLite refuses it; sha mismatch), wrong shapes, timeout then busy,
//! NaN output; each checks the fallback result and the reason in status. And
//! reloading a new version while running, and a failed reload keeping the old.
#![cfg(feature = "tflite")]

mod support;

use keel_ai::{
    AiConfig, AiRuntime, Features, Frame, ModelKind, ModelState, Recognition, RiskLevel,
    ScoreSource,
};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{config, copy_dir, fix_sha, models_dir, models_with, set_manifest_line};

fn lp() -> std::path::PathBuf {
    models_dir().join("loss-prevention")
}

fn sweet() -> Features {
    Features([1.2, 0.0, 0.5, 0.0, 0.4, 0.6, -1.0, 0.0])
}

fn fallback_reason(rt: &AiRuntime, kind: ModelKind) -> String {
    let s = rt.status().into_iter().find(|s| s.kind == kind).unwrap();
    match s.state {
        ModelState::Fallback { reason } => reason,
        ModelState::Ready => panic!("{kind} is Ready: {s:?}"),
    }
}

fn rules_why(score: &keel_ai::RiskScore) -> String {
    match &score.source {
        ScoreSource::Rules { why } => why.clone(),
        other => panic!("not the rules: {other:?}"),
    }
}

fn a_frame() -> Frame {
    Frame::from_png_file(&models_dir().join("product-recognition/holdout/MILK-1L.png")).unwrap()
}

#[test]
fn missing_directory_falls_back_to_manual_entry_and_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = AiRuntime::start(config(tmp.path()));
    assert!(fallback_reason(&rt, ModelKind::Recognition).contains("missing"));
    assert!(fallback_reason(&rt, ModelKind::LossPrevention).contains("missing"));
    match rt.recognize(&a_frame()) {
        Recognition::Manual { reason } => assert!(reason.contains("missing"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let s = rt.score(&sweet());
    assert!(rules_why(&s).contains("missing"));
    assert_eq!(s.reasons, vec!["SWEETHEARTING".to_string()]);
    assert!(s.level >= RiskLevel::Review);
}

#[test]
fn a_corrupt_file_with_a_fixed_sha_is_refused_by_tflite() {
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&lp()));
    let dir = root.join("loss-prevention");
    let mut bytes = std::fs::read(dir.join("model.tflite")).unwrap();
    for b in bytes.iter_mut().take(64) {
        *b ^= 0xA5;
    }
    std::fs::write(dir.join("model.tflite"), bytes).unwrap();
    fix_sha(&dir);
    let rt = AiRuntime::start(config(&root));
    let reason = fallback_reason(&rt, ModelKind::LossPrevention);
    assert!(reason.contains("TensorFlow Lite refused"), "{reason}");
    assert!(rules_why(&rt.score(&sweet())).contains("refused"));
}

#[test]
fn a_sha_mismatch_is_refused_before_loading() {
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&lp()));
    set_manifest_line(
        &root.join("loss-prevention"),
        "sha256",
        &format!("sha256 = \"{}\"", "0".repeat(64)),
    );
    let rt = AiRuntime::start(config(&root));
    let reason = fallback_reason(&rt, ModelKind::LossPrevention);
    assert!(reason.contains("sha256 mismatch"), "{reason}");
    assert!(rules_why(&rt.score(&sweet())).contains("sha256 mismatch"));
}

#[test]
fn wrong_shapes_are_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&lp()));
    let dir = root.join("loss-prevention");
    // The manifest claims [1, 16] (with golden inputs of that size).
    let text = std::fs::read_to_string(dir.join("manifest.toml")).unwrap();
    std::fs::write(
        dir.join("manifest.toml"),
        text.replacen("shape = [1, 8]", "shape = [1, 16]", 1),
    )
    .unwrap();
    for entry in std::fs::read_dir(dir.join("golden")).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().ends_with(".in.f32") {
            std::fs::write(&p, [0u8; 64]).unwrap();
        }
    }
    let rt = AiRuntime::start(config(&root));
    let reason = fallback_reason(&rt, ModelKind::LossPrevention);
    assert!(
        reason.contains("[1, 8]") && reason.contains("[1, 16]"),
        "{reason}"
    );
    assert!(rules_why(&rt.score(&sweet())).contains("[1, 16]"));
}

#[test]
fn a_slow_model_times_out_and_the_next_call_says_busy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&models_dir().join("testdata/slow")));
    let rt = AiRuntime::start(AiConfig {
        score_limit: Duration::from_millis(20),
        ..config(&root)
    });
    assert_eq!(rt.status()[1].state, ModelState::Ready);
    let t = Instant::now();
    let first = rt.score(&sweet());
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    assert!(rules_why(&first).contains("timed out"), "{first:?}");
    assert!(rt.status()[1]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("timed out"));
    let t = Instant::now();
    let second = rt.score(&sweet());
    assert!(t.elapsed() < Duration::from_millis(10), "{:?}", t.elapsed());
    assert!(rules_why(&second).contains("busy"), "{second:?}");
    assert!(rt.status()[1]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("busy"));
    assert_eq!(second.reasons, vec!["SWEETHEARTING".to_string()]);
    // Once the slow call finished, a patient caller gets the model's answer.
    std::thread::sleep(Duration::from_millis(600));
    let rt2 = AiRuntime::start(config(&root));
    assert!(matches!(
        rt2.score(&sweet()).source,
        ScoreSource::Model { .. }
    ));
}

#[test]
fn a_model_giving_nan_falls_back_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&models_dir().join("testdata/nan")));
    let rt = AiRuntime::start(config(&root));
    let reason = fallback_reason(&rt, ModelKind::LossPrevention);
    assert!(reason.contains("not finite"), "{reason}");
    assert!(rules_why(&rt.score(&sweet())).contains("not finite"));
    // Run directly, the model's NaN output is an error, never a score.
    let dir = models_dir().join("testdata/nan");
    let m = keel_ai::manifest::Manifest::load(&dir).unwrap();
    let mut model = keel_ai::inference::open(&m, &dir).unwrap();
    assert!(matches!(
        model.run(&[0.1; 8]),
        Err(keel_ai::inference::InferenceError::NotFinite { .. })
    ));
}

fn bumped(root: &Path, version: &str) -> std::path::PathBuf {
    let dir = root.join(format!("lp-{version}"));
    copy_dir(&lp(), &dir);
    set_manifest_line(&dir, "version", &format!("version = \"{version}\""));
    fix_sha(&dir);
    dir
}

#[test]
fn reload_switches_versions_while_running_and_a_failed_one_keeps_the_old() {
    let tmp = tempfile::tempdir().unwrap();
    let rt = AiRuntime::start(config(&models_dir()));
    assert_eq!(rt.status()[1].version.as_deref(), Some("1.0.0"));
    // Scoring keeps going on other threads during the reload.
    let busy = rt.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let scored = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = scored.clone();
    let scorer = std::thread::spawn(move || {
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            let s = busy.score(&sweet());
            assert!(matches!(s.source, ScoreSource::Model { .. }), "{s:?}");
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    // The reload starts only once the scorer is running (under load it may start late).
    let started = std::time::Instant::now();
    while scored.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the scorer never scored"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = scored.load(std::sync::atomic::Ordering::SeqCst);
    let status = rt
        .reload(ModelKind::LossPrevention, &bumped(tmp.path(), "1.1.0"))
        .unwrap();
    assert_eq!(status.version.as_deref(), Some("1.1.0"));
    assert_eq!(rt.status()[1].version.as_deref(), Some("1.1.0"));
    let s = rt.score(&sweet());
    assert!(
        matches!(s.source, ScoreSource::Model { ref version } if version == "1.1.0"),
        "{s:?}"
    );
    // Scores kept coming while the reload ran and after it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scored.load(std::sync::atomic::Ordering::SeqCst) <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "scoring stopped during the reload"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    scorer.join().unwrap();

    // 1.2.0 fails its golden test: 1.1.0 stays.
    let bad = bumped(tmp.path(), "1.2.0");
    std::fs::write(bad.join("golden/00.out.f32"), [0u8; 12]).unwrap();
    let e = rt.reload(ModelKind::LossPrevention, &bad).unwrap_err();
    assert!(e.to_string().contains("golden pair 0"), "{e}");
    let st = &rt.status()[1];
    assert_eq!(st.version.as_deref(), Some("1.1.0"));
    assert_eq!(st.state, ModelState::Ready);
    assert!(
        st.last_error
            .as_deref()
            .unwrap_or("")
            .contains("reload failed"),
        "{st:?}"
    );
    assert!(
        matches!(rt.score(&sweet()).source, ScoreSource::Model { ref version } if version == "1.1.0")
    );
    // A recognition model is not accepted as the loss-prevention one.
    let e = rt
        .reload(
            ModelKind::LossPrevention,
            &models_dir().join("product-recognition"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("expected loss-prevention"), "{e}");
    // A runtime that started without models gets one by reload.
    let empty = tempfile::tempdir().unwrap();
    let rt = AiRuntime::start(config(empty.path()));
    rt.reload(ModelKind::LossPrevention, &lp()).unwrap();
    assert_eq!(rt.status()[1].state, ModelState::Ready);
}

#[test]
fn damaged_copies_of_the_model_never_serve_and_never_crash() {
    let original = std::fs::read(lp().join("model.tflite")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = models_with(tmp.path(), None, Some(&lp()));
    let dir = root.join("loss-prevention");
    let mut refused = 0;
    // Every 97th byte flipped in turn, the sha fixed each time: either TFLite
    // refuses the file or the golden smoke test catches the changed weights,
    // or (a byte nothing reads) the model still matches its golden outputs.
    for pos in (0..original.len()).step_by(97) {
        let mut bytes = original.clone();
        bytes[pos] ^= 0xFF;
        std::fs::write(dir.join("model.tflite"), &bytes).unwrap();
        fix_sha(&dir);
        let rt = AiRuntime::start(config(&root));
        match &rt.status()[1].state {
            ModelState::Fallback { .. } => refused += 1,
            ModelState::Ready => assert!(matches!(
                rt.score(&sweet()).source,
                ScoreSource::Model { .. }
            )),
        }
    }
    assert!(refused > 0);
}
