//! Runtime unit tests with in-process models (no TFLite): per-call NaN,
//! a panicking model, a timeout then busy, and recovery once the slow job ends.

use super::worker::{CallError, Worker};
use super::*;
use crate::inference::Inference;
use crate::manifest::{Dtype, TensorSpec, Thresholds};
use std::time::Instant;

/// A model that answers after `delay` with `output` (or panics when `panic`).
struct Scripted {
    delay: Duration,
    output: Vec<f32>,
    panic: bool,
}

impl Inference for Scripted {
    fn run(&mut self, _input: &[f32]) -> Result<Vec<f32>, InferenceError> {
        std::thread::sleep(self.delay);
        assert!(!self.panic, "scripted panic");
        if let Some(index) = crate::inference::first_non_finite(&self.output) {
            return Err(InferenceError::NotFinite { index });
        }
        Ok(self.output.clone())
    }
}

fn manifest() -> Manifest {
    Manifest {
        name: "loss-prevention".into(),
        kind: ModelKind::LossPrevention,
        version: "9.9.9".into(),
        file: "model.tflite".into(),
        sha256: "0".repeat(64),
        description: String::new(),
        trained_by: String::new(),
        input: TensorSpec {
            shape: vec![1, 8],
            dtype: Dtype::Float32,
        },
        output: TensorSpec {
            shape: vec![1, 3],
            dtype: Dtype::Float32,
        },
        labels: crate::rules::REASONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        thresholds: Thresholds {
            accept: None,
            review: Some(0.5),
            high: Some(0.8),
        },
        metrics: Default::default(),
        golden: Vec::new(),
        dir: PathBuf::new(),
    }
}

fn runtime_with(model: Scripted, limit: Duration) -> AiRuntime {
    let tmp = std::env::temp_dir().join("keel-ai-no-models");
    let rt = AiRuntime::start(AiConfig {
        models_dir: tmp,
        recognize_limit: limit,
        score_limit: limit,
    });
    let worker = Worker::spawn(Box::new(model), "test").unwrap();
    let m = manifest();
    let mut slot = rt.slot(ModelKind::LossPrevention);
    slot.status = ready_status(&m);
    slot.loaded = Some(Loaded {
        manifest: m,
        worker,
    });
    drop(slot);
    rt
}

fn why(s: &RiskScore) -> &str {
    match &s.source {
        ScoreSource::Rules { why } => why,
        ScoreSource::Model { .. } => "",
    }
}

#[test]
fn a_model_answer_becomes_a_model_score() {
    let rt = runtime_with(
        Scripted {
            delay: Duration::ZERO,
            output: vec![0.1, 0.9, 0.6],
            panic: false,
        },
        Duration::from_secs(1),
    );
    let s = rt.score(&Features([0.0; 8]));
    assert_eq!(
        s.source,
        ScoreSource::Model {
            version: "9.9.9".into()
        }
    );
    assert_eq!(
        s.reasons,
        vec!["REFUND_FRAUD".to_string(), "DRAWER_SKIMMING".to_string()]
    );
    assert_eq!(s.level, crate::RiskLevel::High);
    assert!(rt.status()[1].last_latency.is_some());
}

#[test]
fn nan_per_call_falls_back_and_shows_in_status() {
    let rt = runtime_with(
        Scripted {
            delay: Duration::ZERO,
            output: vec![0.1, f32::NAN, 0.2],
            panic: false,
        },
        Duration::from_secs(1),
    );
    let s = rt.score(&Features([1.2, 0.0, 0.5, 0.0, 0.4, 0.6, 0.0, 1.0]));
    assert!(why(&s).contains("not finite"), "{s:?}");
    assert_eq!(s.reasons, vec!["SWEETHEARTING".to_string()]);
    let st = &rt.status()[1];
    assert_eq!(st.state, ModelState::Ready);
    assert!(st
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("not finite"));
}

#[test]
fn a_panicking_model_does_not_crash_the_runtime() {
    let rt = runtime_with(
        Scripted {
            delay: Duration::ZERO,
            output: vec![0.0; 3],
            panic: true,
        },
        Duration::from_secs(1),
    );
    assert!(why(&rt.score(&Features([0.0; 8]))).contains("panicked"));
    // The worker survives and answers (and panics) again.
    assert!(why(&rt.score(&Features([0.0; 8]))).contains("panicked"));
}

#[test]
fn busy_only_until_the_timed_out_job_finishes() {
    let rt = runtime_with(
        Scripted {
            delay: Duration::from_millis(150),
            output: vec![0.0; 3],
            panic: false,
        },
        Duration::from_millis(20),
    );
    let t = Instant::now();
    assert!(why(&rt.score(&Features([0.0; 8]))).contains("timed out"));
    assert!(t.elapsed() < Duration::from_millis(120));
    assert!(why(&rt.score(&Features([0.0; 8]))).contains("busy"));
    std::thread::sleep(Duration::from_millis(200));
    // Idle again: the next call is sent to the model (and times out again, not "busy").
    assert!(why(&rt.score(&Features([0.0; 8]))).contains("timed out"));
}

#[test]
fn recognition_without_a_model_is_manual_with_the_reason() {
    let rt = runtime_with(
        Scripted {
            delay: Duration::ZERO,
            output: vec![0.0; 3],
            panic: false,
        },
        Duration::from_secs(1),
    );
    let frame = crate::Frame::new(64, 64, vec![0; 64 * 64 * 3]).unwrap();
    assert!(
        matches!(rt.recognize(&frame), Recognition::Manual { ref reason } if reason.contains("missing"))
    );
    assert!(CallError::Busy.to_string().contains("busy"));
}
