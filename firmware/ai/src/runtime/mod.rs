//! The AI runtime the terminal holds: one slot per model kind, each with its
//! verified model on its own worker thread. Calls block the caller for at most
//! the configured limit; any failure (missing or corrupt model, wrong shapes,
//! timeout, busy, NaN) falls back at once — manual entry for recognition, the
//! rules score for loss prevention — and the reason shows in [`ModelStatus`].
//! A new model version is verified in full before an atomic switch.
//! This module must not touch the journal or the cart.

mod load;
mod worker;

use crate::features::Features;
use crate::frame::{preprocess, Frame};
use crate::inference::InferenceError;
use crate::manifest::{Manifest, ManifestError, ModelKind};
use crate::recognition::{decide, Recognition};
use crate::risk::{RiskScore, ScoreSource};
use crate::rules::rules_score_because;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use worker::{CallError, Worker};

pub use load::load_verified;

/// Where the models are and how long a caller may wait.
#[derive(Clone, Debug)]
pub struct AiConfig {
    /// Directory holding `product-recognition/` and `loss-prevention/`.
    pub models_dir: PathBuf,
    /// Longest a `recognize` call waits for the model.
    pub recognize_limit: Duration,
    /// Longest a `score` call waits for the model.
    pub score_limit: Duration,
}

/// Whether a model serves or its fallback does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelState {
    /// Verified and serving.
    Ready,
    /// Not loaded; the fallback serves.
    Fallback {
        /// Why.
        reason: String,
    },
}

/// What `model list` shows for one model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelStatus {
    /// Manifest name (or the directory name when none loaded).
    pub name: String,
    /// Kind.
    pub kind: ModelKind,
    /// Version in use.
    pub version: Option<String>,
    /// Serving or falling back.
    pub state: ModelState,
    /// Inference time of the last successful call.
    pub last_latency: Option<Duration>,
    /// The last call's or reload's failure, if the last one failed.
    pub last_error: Option<String>,
}

/// Why a model directory could not be (re)loaded; the old model stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The directory does not exist.
    #[error("model directory {0} missing")]
    MissingDir(String),
    /// The manifest is missing, invalid, or the file's sha256 differs.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// The manifest is for the other kind of model.
    #[error("manifest is a {found} model, expected {expected}")]
    WrongKind {
        /// Asked for.
        expected: ModelKind,
        /// Found.
        found: ModelKind,
    },
    /// TensorFlow Lite refused the model or its shapes differ.
    #[error("{0}")]
    Inference(#[from] InferenceError),
    /// A golden pair failed (smoke test).
    #[error("golden pair {index} failed: {detail}")]
    Golden {
        /// Which pair.
        index: usize,
        /// What differed.
        detail: String,
    },
    /// The worker thread could not start.
    #[error("cannot start the inference thread: {0}")]
    Thread(String),
}

struct Loaded {
    manifest: Manifest,
    worker: Worker,
}

struct Slot {
    loaded: Option<Loaded>,
    status: ModelStatus,
}

struct Inner {
    config: AiConfig,
    recognition: Mutex<Slot>,
    loss_prevention: Mutex<Slot>,
}

/// The runtime; cheap to clone, shareable across threads.
#[derive(Clone)]
pub struct AiRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AiRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiRuntime")
            .field("config", &self.inner.config)
            .finish()
    }
}

fn empty_status(kind: ModelKind, reason: String) -> ModelStatus {
    ModelStatus {
        name: kind.dir_name().to_string(),
        kind,
        version: None,
        state: ModelState::Fallback { reason },
        last_latency: None,
        last_error: None,
    }
}

fn load_slot(kind: ModelKind, dir: &Path) -> Slot {
    match load_and_spawn(kind, dir) {
        Ok(loaded) => Slot {
            status: ready_status(&loaded.manifest),
            loaded: Some(loaded),
        },
        Err(e) => {
            log::warn!(
                "{kind} model from {}: {e}; using the fallback",
                dir.display()
            );
            Slot {
                loaded: None,
                status: empty_status(kind, e.to_string()),
            }
        }
    }
}

fn ready_status(m: &Manifest) -> ModelStatus {
    ModelStatus {
        name: m.name.clone(),
        kind: m.kind,
        version: Some(m.version.clone()),
        state: ModelState::Ready,
        last_latency: None,
        last_error: None,
    }
}

fn load_and_spawn(kind: ModelKind, dir: &Path) -> Result<Loaded, ReloadError> {
    let (manifest, model) = load_verified(kind, dir)?;
    let worker =
        Worker::spawn(model, kind.dir_name()).map_err(|e| ReloadError::Thread(e.to_string()))?;
    Ok(Loaded { manifest, worker })
}

impl AiRuntime {
    /// Loads both models from `config.models_dir`; a model that is missing or
    /// fails verification leaves its kind in the fallback state. Never fails.
    pub fn start(config: AiConfig) -> AiRuntime {
        let recognition = load_slot(
            ModelKind::Recognition,
            &config.models_dir.join(ModelKind::Recognition.dir_name()),
        );
        let loss_prevention = load_slot(
            ModelKind::LossPrevention,
            &config.models_dir.join(ModelKind::LossPrevention.dir_name()),
        );
        AiRuntime {
            inner: Arc::new(Inner {
                config,
                recognition: Mutex::new(recognition),
                loss_prevention: Mutex::new(loss_prevention),
            }),
        }
    }

    fn slot(&self, kind: ModelKind) -> MutexGuard<'_, Slot> {
        let m = match kind {
            ModelKind::Recognition => &self.inner.recognition,
            ModelKind::LossPrevention => &self.inner.loss_prevention,
        };
        // A poisoned lock only means a panic elsewhere mid-update; the slot is still consistent.
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `input` on `kind`'s model within `limit`, recording latency or the
    /// failure in the status. Returns the output with the manifest, or the reason to fall back.
    fn infer(
        &self,
        kind: ModelKind,
        input: impl FnOnce(&Manifest) -> Result<Vec<f32>, String>,
        limit: Duration,
    ) -> Result<(Vec<f32>, Manifest), String> {
        let (worker, manifest) = {
            let slot = self.slot(kind);
            match (&slot.loaded, &slot.status.state) {
                (Some(l), _) => (l.worker.clone(), l.manifest.clone()),
                (None, ModelState::Fallback { reason }) => return Err(reason.clone()),
                (None, ModelState::Ready) => return Err("no model loaded".into()),
            }
        };
        let input = input(&manifest)?;
        let result = worker.call(input, limit).and_then(|(out, latency)| {
            if out.len() == manifest.labels.len() {
                Ok((out, latency))
            } else {
                Err(CallError::Failed(InferenceError::Run(format!(
                    "{} outputs for {} labels",
                    out.len(),
                    manifest.labels.len()
                ))))
            }
        });
        let mut slot = self.slot(kind);
        let current = slot.loaded.as_ref().map(|l| l.manifest.version.clone());
        let same = current.as_deref() == Some(manifest.version.as_str());
        match result {
            Ok((out, latency)) => {
                if same {
                    slot.status.last_latency = Some(latency);
                    slot.status.last_error = None;
                }
                Ok((out, manifest))
            }
            Err(e) => {
                let reason = e.to_string();
                log::warn!("{kind} model {}: {reason}; falling back", manifest.version);
                if same {
                    slot.status.last_error = Some(reason.clone());
                }
                Err(reason)
            }
        }
    }

    /// Recognises the product in `frame`: accepted, top three to choose from,
    /// or manual entry (with the reason when the model could not answer).
    pub fn recognize(&self, frame: &Frame) -> Recognition {
        let limit = self.inner.config.recognize_limit;
        let prepare = |m: &Manifest| {
            let side = m.input.shape.get(1).copied().unwrap_or(0) as u32;
            preprocess(frame, side).map_err(|e| e.to_string())
        };
        match self.infer(ModelKind::Recognition, prepare, limit) {
            Ok((out, m)) => decide(&m.labels, &out, m.thresholds.accept.unwrap_or(1.0)),
            Err(reason) => Recognition::Manual {
                reason: format!("product recognition unavailable: {reason}"),
            },
        }
    }

    /// Scores `features` with the model, or with the rules (saying why) when it cannot.
    pub fn score(&self, features: &Features) -> RiskScore {
        let limit = self.inner.config.score_limit;
        let prepare = |_: &Manifest| Ok(features.0.to_vec());
        match self.infer(ModelKind::LossPrevention, prepare, limit) {
            Ok((out, m)) => RiskScore::from_probabilities(
                &m.labels,
                &out,
                m.thresholds.review.unwrap_or(crate::rules::REVIEW),
                m.thresholds.high.unwrap_or(crate::rules::HIGH),
                ScoreSource::Model {
                    version: m.version.clone(),
                },
            ),
            Err(reason) => rules_score_because(features, &reason),
        }
    }

    /// Status of both models (recognition first).
    pub fn status(&self) -> Vec<ModelStatus> {
        vec![
            self.slot(ModelKind::Recognition).status.clone(),
            self.slot(ModelKind::LossPrevention).status.clone(),
        ]
    }

    /// Verifies the model in `dir` (manifest, sha256, shapes, golden pairs)
    /// and switches `kind` to it atomically; on failure the old model stays
    /// and the error is recorded in its status.
    pub fn reload(&self, kind: ModelKind, dir: &Path) -> Result<ModelStatus, ReloadError> {
        match load_and_spawn(kind, dir) {
            Ok(loaded) => {
                let status = ready_status(&loaded.manifest);
                let mut slot = self.slot(kind);
                log::info!(
                    "{kind} model now {} (was {:?})",
                    loaded.manifest.version,
                    slot.status.version
                );
                slot.loaded = Some(loaded);
                slot.status = status.clone();
                Ok(status)
            }
            Err(e) => {
                log::warn!("reload of {kind} from {} failed: {e}", dir.display());
                self.slot(kind).status.last_error = Some(format!("reload failed: {e}"));
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests;
