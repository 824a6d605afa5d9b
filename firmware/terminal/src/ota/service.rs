//! The node's OTA service: its start, the console's and the channel's entry
//! points for installs (`install`, `offer`) and the state they share with the
//! worker thread that runs them (`status` is in [`super::status`], the
//! rollbacks in [`super::rollback`]).
//!
//! Owns the checks made before an install is queued (bundle header against
//! the policy, the schedule, nothing else under way) so a refusal answers at
//! once with its reason and leaves the slots untouched; the installs
//! themselves run on the worker ([`super::worker`]), never on the console or
//! UI thread.

use super::firmware::FirmwareSetup;
use super::layout::OtaLayout;
use super::local_time::local_time;
use super::models_ab::ModelOtaError;
use super::worker::{self, Job};
use super::{LastResult, OfferedRelease};
use crate::cluster_runtime::ClusterLink;
use crate::config::OtaSettings;
use crate::node::Node;
use keel_ota::install::Progress;
use keel_ota::keys::PublicKey;
use keel_ota::manifest::BundleKind;
use keel_ota::schedule::{may_install, Deferred, InstallConditions};
use keel_ota::updater::UpdateRecord;
use keel_ota::verify::{BundleError, InstallPolicy};
use keel_ota::version::Version;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What the service starts from.
pub struct OtaStart {
    /// The node (sale state, journal for the health check, AI runtime).
    pub node: Arc<Mutex<Node>>,
    /// The data directory (`<data-dir>/ota/`).
    pub data_dir: PathBuf,
    /// `[ota]`.
    pub settings: OtaSettings,
    /// The board description, if any.
    pub board: Option<keel_board::Board>,
    /// The store's offset from UTC (business hours are local).
    pub utc_offset_minutes: i32,
    /// A UI runs (the kiosk): the health check waits for its report.
    pub ui_expected: bool,
    /// The cluster runtime, if any (health: joined or alone).
    pub cluster: Option<ClusterLink>,
}

/// An `ota install` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    /// The bundle file; None installs the channel's offer.
    pub path: Option<PathBuf>,
    /// `--now`: install inside business hours.
    pub now: bool,
    /// The logged-in user is a manager (needed for `--now`).
    pub manager: bool,
    /// `--allow-downgrade`: an older or the same version is accepted.
    pub allow_downgrade: bool,
    /// A sale is open on this terminal (the caller knows: it may hold the node).
    pub sale_open: bool,
}

/// An install that passed its checks and is under way on the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallAccepted {
    /// Firmware or model.
    pub kind: BundleKind,
    /// The bundle's version.
    pub version: String,
    /// The bundle file.
    pub bundle: PathBuf,
}

/// Why an OTA request was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum OtaRefusal {
    /// The bundle's header failed a check (signature, key, board, version...).
    #[error("bundle refused: {0}")]
    Bundle(#[from] BundleError),
    /// The bundle file cannot be opened.
    #[error("bundle {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `ota install --offered` without an offer.
    #[error("no release offered by the OTA channel")]
    NoOffer,
    /// The schedule does not allow installing now.
    #[error("{0}")]
    Schedule(String),
    /// Another install is under way.
    #[error("an update is already under way: {0}")]
    Busy(String),
    /// Firmware OTA is off here (no board, no running slot...).
    #[error("firmware OTA is off: {0}")]
    FirmwareOff(String),
    /// No AI runtime: models cannot be installed.
    #[error("this terminal runs no AI models: model bundles cannot be installed")]
    NoAi,
    /// The models run from the repository's `models/` (the demo): model OTA
    /// would change the source tree.
    #[error("the models run from the repository's models/ ({0}): model OTA works on <data-dir>/models (copy the models there)")]
    RepositoryModels(String),
    /// The trusted keys could not be loaded.
    #[error("trusted keys: {0}")]
    Keys(String),
    /// A firmware rollback is not possible.
    #[error("{0}")]
    Rollback(String),
    /// A model rollback failed.
    #[error("{0}")]
    Model(#[from] ModelOtaError),
    /// The worker thread is gone.
    #[error("the OTA worker is not running")]
    NoWorker,
}

/// The terminal's OTA service: cheap to clone (shared inside). Reach it
/// through `Node::ota()`.
#[derive(Clone)]
pub struct OtaService {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) node: Arc<Mutex<Node>>,
    pub(super) settings: OtaSettings,
    pub(super) board_name: String,
    pub(super) layout: OtaLayout,
    pub(super) firmware: Result<FirmwareSetup, String>,
    pub(super) utc_offset_minutes: i32,
    pub(super) ai: Option<crate::ai::AiService>,
    pub(super) models_dir: Option<PathBuf>,
    pub(super) cluster: Option<ClusterLink>,
    pub(super) ui_expected: Arc<AtomicBool>,
    pub(super) ui_up: Arc<AtomicBool>,
    pub(super) started: Instant,
    pub(super) progress: Progress,
    pub(super) shared: Mutex<Shared>,
    jobs: Mutex<Option<Sender<Job>>>,
}

/// Most offers kept at once (the oldest go first): a firmware release and a
/// few model releases.
const MAX_OFFERS: usize = 4;

/// What the worker and the callers share.
pub(super) struct Shared {
    /// The channel's offers: at most one firmware release (the newest handed
    /// over) and one per model release, oldest first.
    pub(super) offers: Vec<OfferedRelease>,
    /// The sha256 of every offer whose automatic install was tried (not again).
    pub(super) offers_tried: Vec<String>,
    pub(super) last: Option<LastResult>,
    pub(super) record: UpdateRecord,
    /// An install under way (firmware or model), for `Busy` and `status`.
    pub(super) busy: Option<String>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        // A panic elsewhere left the plain data as it was: keep using it.
        Err(poisoned) => poisoned.into_inner(),
    }
}

pub(super) fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn running_version() -> Version {
    Version::parse(crate::node::firmware_version()).unwrap_or(Version {
        major: 0,
        minor: 0,
        patch: 0,
    })
}

/// The board name bundles are checked against when no board is described.
pub fn fallback_board_name() -> String {
    format!("generic-{}", std::env::consts::ARCH)
}

impl OtaService {
    /// Starts the service and its worker, which first runs the updater's
    /// start-up step (health check, mark good, report a rollback).
    pub fn start(s: OtaStart) -> OtaService {
        // Nothing is created on the data partition until OTA has something
        // to keep there (a record, a staged bundle).
        let layout = OtaLayout::new(&s.data_dir);
        let firmware = FirmwareSetup::resolve(s.board.as_ref(), &s.settings);
        if let Err(why) = &firmware {
            log::info!("ota: {why}");
        }
        let (ai, models_dir) = {
            let n = crate::ui_bridge::exec::lock(&s.node);
            match n.ai() {
                Some(a) => (Some(a.clone()), Some(a.models_dir().to_path_buf())),
                None => (None, None),
            }
        };
        let record = keel_ota::updater::RecordFile::new(layout.record())
            .load()
            .unwrap_or_else(|e| {
                log::error!("ota: {e}");
                UpdateRecord::default()
            });
        let ui_expected = s.ui_expected || s.settings.health_requires_ui;
        let service = OtaService {
            inner: Arc::new(Inner {
                node: s.node,
                board_name: s
                    .board
                    .as_ref()
                    .map(|b| b.name.clone())
                    .unwrap_or_else(fallback_board_name),
                settings: s.settings,
                layout,
                firmware,
                utc_offset_minutes: s.utc_offset_minutes,
                ai,
                models_dir,
                cluster: s.cluster,
                ui_expected: Arc::new(AtomicBool::new(ui_expected)),
                ui_up: Arc::new(AtomicBool::new(false)),
                started: Instant::now(),
                progress: Progress::new(),
                shared: Mutex::new(Shared {
                    offers: Vec::new(),
                    offers_tried: Vec::new(),
                    last: None,
                    record,
                    busy: None,
                }),
                jobs: Mutex::new(None),
            }),
        };
        let tx = worker::spawn(service.clone());
        *lock(&service.inner.jobs) = tx;
        service
    }

    /// The channel offers a complete, checked bundle. It replaces any earlier
    /// offer and installs when the schedule allows (firmware only with
    /// `[ota] auto_install`; otherwise `ota install --offered`).
    pub fn offer(&self, release: OfferedRelease) {
        log::info!(
            "ota: offered {} {} ({}) from channel {}",
            release.kind,
            release.version,
            release.release_id,
            release.channel
        );
        {
            let mut sh = lock(&self.inner.shared);
            let firmware = BundleKind::Firmware.as_str();
            // A newer firmware release replaces the older offer; model releases
            // (one per model kind, which only the bundle says) are kept apart.
            sh.offers.retain(|o| {
                o.sha256 != release.sha256 && !(o.kind == firmware && release.kind == firmware)
            });
            sh.offers.push(release);
            if sh.offers.len() > MAX_OFFERS {
                let extra = sh.offers.len() - MAX_OFFERS;
                sh.offers.drain(..extra);
            }
        }
        self.send(Job::Tick);
    }

    /// The UI shows its first frame (the kiosk calls this once).
    pub fn ui_up(&self) {
        self.inner
            .ui_expected
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner
            .ui_up
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// A UI will run: the health check waits for [`OtaService::ui_up`].
    pub fn expect_ui(&self) {
        self.inner
            .ui_expected
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) fn send(&self, job: Job) -> bool {
        match lock(&self.inner.jobs).as_ref() {
            Some(tx) => tx.send(job).is_ok(),
            None => false,
        }
    }

    pub(super) fn trusted(&self) -> Result<Vec<PublicKey>, OtaRefusal> {
        let dir = &self.inner.settings.trusted_keys_dir;
        PublicKey::load_dir(dir).map_err(|e| OtaRefusal::Keys(format!("{}: {e}", dir.display())))
    }

    /// The policy for a bundle: this board, the running firmware version.
    pub(super) fn policy(&self, allow_downgrade: bool) -> Result<InstallPolicy, OtaRefusal> {
        Ok(InstallPolicy {
            board: self.inner.board_name.clone(),
            running: running_version(),
            allow_downgrade,
            trusted: self.trusted()?,
        })
    }

    /// Whether the schedule lets an install start now.
    pub(super) fn schedule(&self, manager_now: bool, sale_open: bool) -> Result<(), OtaRefusal> {
        let c = InstallConditions {
            sale_open,
            manager_approved: manager_now,
            business_hours: &self.inner.settings.business_hours,
            now: local_time(now_unix_ms(), self.inner.utc_offset_minutes),
        };
        may_install(&c).map_err(|d| {
            OtaRefusal::Schedule(match d {
                Deferred::SaleOpen => "a sale is open: close or cancel it first".into(),
                Deferred::BusinessHours { .. } => format!(
                    "inside business hours ({}): use --now with a manager login",
                    self.inner.settings.business_hours_text
                ),
            })
        })
    }

    /// Checks a bundle and queues its install; a refusal says why and
    /// changes nothing.
    pub fn install(&self, req: InstallRequest) -> Result<InstallAccepted, OtaRefusal> {
        let path = match &req.path {
            Some(p) => p.clone(),
            None => {
                let sh = lock(&self.inner.shared);
                // The firmware offer first, else the newest model offer.
                sh.offers
                    .iter()
                    .find(|o| o.kind == BundleKind::Firmware.as_str())
                    .or_else(|| sh.offers.last())
                    .map(|o| o.path.clone())
                    .ok_or(OtaRefusal::NoOffer)?
            }
        };
        let accepted = self.check(&path, req.allow_downgrade)?;
        if req.now && !req.manager {
            return Err(OtaRefusal::Schedule("--now needs a manager login".into()));
        }
        self.schedule(req.now && req.manager, req.sale_open)?;
        self.queue(accepted, req.allow_downgrade, false)
    }

    /// Verifies the bundle's header for its kind.
    pub(super) fn check(
        &self,
        path: &Path,
        allow_downgrade: bool,
    ) -> Result<InstallAccepted, OtaRefusal> {
        let file = std::fs::File::open(path).map_err(|source| OtaRefusal::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = std::io::BufReader::new(file);
        let raw = keel_ota::verify::read_raw_header(&mut reader)?;
        let kind = raw.manifest.kind;
        let policy = match kind {
            BundleKind::Firmware => self.policy(allow_downgrade)?,
            // A model's version is compared with the active model's once its
            // manifest is read; signature, key and board are checked here.
            BundleKind::Model => InstallPolicy {
                running: Version {
                    major: 0,
                    minor: 0,
                    patch: 0,
                },
                allow_downgrade: true,
                ..self.policy(allow_downgrade)?
            },
        };
        let header = keel_ota::verify::check_header(raw, &policy)?;
        match kind {
            BundleKind::Firmware => {
                if let Err(why) = &self.inner.firmware {
                    return Err(OtaRefusal::FirmwareOff(why.clone()));
                }
            }
            BundleKind::Model => {
                self.models_dir()?;
            }
        }
        Ok(InstallAccepted {
            kind,
            version: header.manifest.version.to_string(),
            bundle: path.to_path_buf(),
        })
    }

    pub(super) fn queue(
        &self,
        a: InstallAccepted,
        allow_downgrade: bool,
        automatic: bool,
    ) -> Result<InstallAccepted, OtaRefusal> {
        {
            let mut sh = lock(&self.inner.shared);
            if let Some(b) = &sh.busy {
                return Err(OtaRefusal::Busy(b.clone()));
            }
            if a.kind == BundleKind::Firmware && !sh.record.update.is_settled() {
                return Err(OtaRefusal::Busy(format!(
                    "firmware update is {}",
                    sh.record.update.name()
                )));
            }
            sh.busy = Some(format!("{} {}", a.kind, a.version));
        }
        let job = match a.kind {
            BundleKind::Firmware => Job::Firmware {
                source: a.bundle.clone(),
                version: a.version.clone(),
                allow_downgrade,
            },
            BundleKind::Model => Job::Model {
                source: a.bundle.clone(),
                allow_downgrade,
                automatic,
            },
        };
        if !self.send(job) {
            lock(&self.inner.shared).busy = None;
            return Err(OtaRefusal::NoWorker);
        }
        Ok(a)
    }

    /// The models directory model OTA works on: the AI's, unless that is
    /// the repository's (the demo).
    pub(super) fn models_dir(&self) -> Result<&Path, OtaRefusal> {
        let (Some(_), Some(dir)) = (&self.inner.ai, &self.inner.models_dir) else {
            return Err(OtaRefusal::NoAi);
        };
        let repo = Path::new(crate::config::ai::REPOSITORY_MODELS);
        let same = match (dir.canonicalize(), repo.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => dir == repo,
        };
        if same {
            return Err(OtaRefusal::RepositoryModels(dir.display().to_string()));
        }
        Ok(dir)
    }

    pub(super) fn set_last(&self, last: LastResult) {
        lock(&self.inner.shared).last = Some(last);
    }
}
