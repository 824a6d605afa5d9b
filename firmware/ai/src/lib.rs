//! Keel's on-device AI (issue 7): model manifests with golden vectors, camera
//! frames and their preprocessing, loss-prevention features from the journal,
//! the documented rules-based risk score, an inference trait with its
//! TensorFlow Lite implementation (feature `tflite`), and the runtime that runs
//! models off the caller's thread with a time limit and falls back (manual
//! entry, rules score) whenever a model is missing, broken, slow or wrong.
//!
//! This crate owns model loading, verification and inference; it must not
//! touch the journal, the cart or the UI (the terminal converts its results).

#![warn(missing_docs)]

pub mod camera;
pub mod features;
pub mod frame;
pub mod inference;
pub mod manifest;
pub mod recognition;
pub mod risk;
pub mod rules;
pub mod runtime;

pub use features::Features;
pub use frame::Frame;
pub use manifest::ModelKind;
pub use recognition::Recognition;
pub use risk::{RiskLevel, RiskScore, ScoreSource};
pub use runtime::{AiConfig, AiRuntime, ModelState, ModelStatus, ReloadError};
