//! The on-device AI as the terminal runs it: the keel-ai runtime (both models,
//! their fallbacks and time limits), the configured camera, and the window of
//! recent journal events the loss-prevention features come from. The node
//! owns one [`AiService`] (see `Node::set_ai`); the console's `model`
//! commands, the status line, the UI's indicator and the risk source all go
//! through it. This module owns that wiring; it must not hold business rules
//! (keel-core's engine decides what a score changes) nor run a model itself
//! (keel-ai does, off the caller's thread, within the limit).

pub mod event_window;
pub mod risk_source;
pub mod status_text;

use crate::config::{AiSettings, CameraSetting};
use event_window::EventWindow;
use keel_ai::camera::FrameSource;
use keel_ai::{AiConfig, AiRuntime, Features, Frame, ModelStatus, RiskScore};
use keel_core::ids::UserId;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;

/// Why no frame came from the camera.
#[derive(Debug, Error)]
pub enum CaptureError {
    /// The config names no camera (`[ai] camera = "none"`).
    #[error("no camera configured ([ai] camera = \"none\"): give an image path")]
    NoCamera,
    /// The camera could not be opened or read.
    #[error("camera {device}: {message}")]
    Camera {
        /// The configured camera.
        device: String,
        /// What went wrong.
        message: String,
    },
}

/// Starts the AI for `node` (models from `override_dir`, else the settings'
/// directory, else the default under `data_dir`), gives it to the node and
/// registers it as the node's risk source. Never fails: a model that cannot
/// load is a fallback state `status` shows.
pub fn start_on(
    node: &mut crate::node::Node,
    settings: &AiSettings,
    override_dir: Option<&Path>,
    data_dir: &Path,
) {
    let dir = override_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| settings.models_dir_for(data_dir));
    let service = AiService::start(settings, &dir);
    node.set_ai(service.clone());
    node.set_risk_source(Arc::new(risk_source::AiRiskSource::new(service)));
}

/// The terminal's AI: cheap to clone (shared inside).
#[derive(Clone)]
pub struct AiService {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: AiRuntime,
    models_dir: PathBuf,
    camera_setting: CameraSetting,
    camera: Mutex<Option<Box<dyn FrameSource>>>,
    events: Mutex<EventWindow>,
    utc_offset_minutes: i32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        // A panic elsewhere left the window or camera as it was: keep using it.
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl AiService {
    /// Starts the runtime on `models_dir` with the settings' limits. Never
    /// fails: a missing or bad model is a fallback state shown in `status`.
    pub fn start(settings: &AiSettings, models_dir: &Path) -> AiService {
        let runtime = AiRuntime::start(AiConfig {
            models_dir: models_dir.to_path_buf(),
            recognize_limit: settings.recognize_limit(),
            score_limit: settings.score_limit(),
        });
        for s in runtime.status() {
            log::info!("ai: {}", status_text::model_line(&s));
        }
        AiService {
            inner: Arc::new(Inner {
                runtime,
                models_dir: models_dir.to_path_buf(),
                camera_setting: settings.camera.clone(),
                camera: Mutex::new(None),
                events: Mutex::new(EventWindow::default()),
                utc_offset_minutes: settings.utc_offset_minutes,
            }),
        }
    }

    /// The models runtime.
    pub fn runtime(&self) -> &AiRuntime {
        &self.inner.runtime
    }

    /// The models directory the runtime started on.
    pub fn models_dir(&self) -> &Path {
        &self.inner.models_dir
    }

    /// The camera as configured.
    pub fn camera_setting(&self) -> &CameraSetting {
        &self.inner.camera_setting
    }

    /// The store's offset from UTC (minutes).
    pub fn utc_offset_minutes(&self) -> i32 {
        self.inner.utc_offset_minutes
    }

    /// Each model's state now.
    pub fn status(&self) -> Vec<ModelStatus> {
        self.inner.runtime.status()
    }

    /// Replaces the event window with the journal's recent records (at start).
    pub fn load_history(&self, journal: &keel_store::Journal) {
        let w = EventWindow::from_journal(journal);
        log::info!("ai: {} recent journal events for risk scoring", w.len());
        *lock(&self.inner.events) = w;
    }

    /// Adds the records of one commit (the node's commit listener).
    pub fn record(&self, records: &crate::node::CommittedRecords) {
        lock(&self.inner.events).extend_records(records);
    }

    /// The loss-prevention features of `cashier` at `now_ms`.
    pub fn features(&self, cashier: &UserId, now_ms: u64) -> Features {
        let mut w = lock(&self.inner.events);
        keel_ai::features::extract(w.events(), cashier, now_ms, self.inner.utc_offset_minutes)
    }

    /// The features of `cashier` at `now_ms` and their risk score (the model's,
    /// or the rules' when the model is in fallback).
    pub fn score(&self, cashier: &UserId, now_ms: u64) -> (Features, RiskScore) {
        let f = self.features(cashier, now_ms);
        let score = self.inner.runtime.score(&f);
        (f, score)
    }

    /// A frame from the configured camera (opened on first use).
    pub fn capture(&self) -> Result<Frame, CaptureError> {
        let device = self.inner.camera_setting.describe();
        let mut cam = lock(&self.inner.camera);
        if cam.is_none() {
            let source: Box<dyn FrameSource> = match &self.inner.camera_setting {
                CameraSetting::None => return Err(CaptureError::NoCamera),
                CameraSetting::File(p) => Box::new(keel_ai::camera::ImageFileSource::new(p)),
                CameraSetting::Dir(p) => Box::new(keel_ai::camera::DirectorySource::new(p)),
                CameraSetting::V4l2(p) => Box::new(
                    keel_ai::camera::V4l2Source::open(&p.to_string_lossy()).map_err(|e| {
                        CaptureError::Camera {
                            device: device.clone(),
                            message: e.to_string(),
                        }
                    })?,
                ),
            };
            *cam = Some(source);
        }
        let Some(source) = cam.as_mut() else {
            return Err(CaptureError::NoCamera);
        };
        let frame = source.capture();
        frame.map_err(|e| {
            // A device that failed is opened afresh next time.
            *cam = None;
            CaptureError::Camera {
                device,
                message: e.to_string(),
            }
        })
    }
}
