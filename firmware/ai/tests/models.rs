//! The shipped models through the real TensorFlow Lite 2.6 library: golden
//! vectors, the named loss-prevention scenarios, held-out product images and a
//! staged fraud pattern from a hand-built journal.
#![cfg(feature = "tflite")]

mod support;

use keel_ai::features::extract;
use keel_ai::manifest::Manifest;
use keel_ai::{AiRuntime, Features, Frame, Recognition, RiskLevel, ScoreSource};
use support::journal::shift;
use support::{config, models_dir};

#[test]
fn golden_vectors_of_both_models_match() {
    for name in ["product-recognition", "loss-prevention"] {
        let dir = models_dir().join(name);
        let m = Manifest::load(&dir).unwrap();
        m.verify_file().unwrap();
        let mut model = keel_ai::inference::open(&m, &dir).unwrap();
        for g in &m.golden {
            let (input, expected) = m.read_golden(g).unwrap();
            let out = model.run(&input).unwrap();
            assert_eq!(out.len(), expected.len());
            let worst = out
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst <= g.tolerance,
                "{name} {}: max diff {worst}",
                g.input.display()
            );
        }
    }
}

#[test]
fn loss_prevention_scenarios_raise_their_reason_codes() {
    let rt = AiRuntime::start(config(&models_dir()));
    let text =
        std::fs::read_to_string(models_dir().join("loss-prevention/scenarios.toml")).unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let scenarios = doc["scenario"].as_array().unwrap();
    assert!(scenarios.len() >= 4);
    for s in scenarios {
        let f: Vec<f32> = s["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_float().unwrap() as f32)
            .collect();
        let expected: Vec<String> = s["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let score = rt.score(&Features(f.try_into().unwrap()));
        assert!(
            matches!(score.source, ScoreSource::Model { .. }),
            "{score:?}"
        );
        let mut got = score.reasons.clone();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "scenario {}", s["name"]);
    }
}

#[test]
fn held_out_images_are_recognised_as_their_sku() {
    let rt = AiRuntime::start(config(&models_dir()));
    let dir = models_dir().join("product-recognition/holdout");
    let labels: toml::Table =
        toml::from_str(&std::fs::read_to_string(dir.join("labels.toml")).unwrap()).unwrap();
    assert_eq!(labels.len(), 17);
    let mut wrong = Vec::new();
    for (file, sku) in &labels {
        let frame = Frame::from_png_file(&dir.join(file)).unwrap();
        match rt.recognize(&frame) {
            Recognition::Accepted {
                sku: got,
                confidence,
            } if got == sku.as_str().unwrap() => {
                assert!(confidence >= 0.6);
            }
            other => wrong.push(format!("{file}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let status = &rt.status()[0];
    assert!(status.last_latency.is_some(), "{status:?}");
    assert_eq!(status.version.as_deref(), Some("1.0.0"));
}

#[test]
fn a_staged_sweethearting_shift_raises_the_score_and_an_honest_one_does_not() {
    let rt = AiRuntime::start(config(&models_dir()));
    let (j, now) = shift(true);
    let score = rt.score(&extract(&j.events, &j.cashier, now, 0));
    assert!(score.level >= RiskLevel::Review, "{score:?}");
    assert!(
        score.reasons.contains(&"SWEETHEARTING".to_string()),
        "{score:?}"
    );
    assert!(matches!(score.source, ScoreSource::Model { ref version } if version == "1.0.0"));
    let (j, now) = shift(false);
    let score = rt.score(&extract(&j.events, &j.cashier, now, 0));
    assert_eq!(score.level, RiskLevel::Low, "{score:?}");
    assert!(score.reasons.is_empty());
}

#[test]
fn a_frame_too_small_for_the_model_is_manual_entry() {
    let rt = AiRuntime::start(config(&models_dir()));
    let frame = Frame::new(80, 48, vec![128; 80 * 48 * 3]).unwrap();
    match rt.recognize(&frame) {
        Recognition::Manual { reason } => assert!(reason.contains("smaller than 64"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // A plain grey frame is nothing the model should accept.
    let grey = Frame::new(320, 240, vec![128; 320 * 240 * 3]).unwrap();
    assert!(
        !matches!(rt.recognize(&grey), Recognition::Accepted { confidence, .. } if confidence > 0.99)
    );
}

#[test]
fn latency_is_recorded_per_model() {
    let rt = AiRuntime::start(config(&models_dir()));
    let frame =
        Frame::from_png_file(&models_dir().join("product-recognition/holdout/TEA.png")).unwrap();
    let mut rec = Vec::new();
    let mut score = Vec::new();
    for _ in 0..20 {
        rt.recognize(&frame);
        rec.push(rt.status()[0].last_latency.unwrap());
        rt.score(&Features([0.1; 8]));
        score.push(rt.status()[1].last_latency.unwrap());
    }
    rec.sort();
    score.sort();
    eprintln!(
        "recognize median {:?} max {:?}; score median {:?} max {:?}",
        rec[10], rec[19], score[10], score[19]
    );
    assert!(rec[10] < std::time::Duration::from_millis(500));
}
