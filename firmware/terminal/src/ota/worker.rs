//! The OTA worker thread: runs the firmware updater's start-up step, then
//! the installs the service queues (firmware through keel-ota's updater
//! driver, models through the A/B model directories), and installs the
//! channel's offer on its own when the schedule allows. Everything slow
//! (hashing, writing a slot, the health check) happens here, never on the
//! console or UI thread.
//!
//! Owns the order of those runs; the rules are keel-ota's and the checks
//! before queuing are the service's.

use super::health_probe::HealthProbe;
use super::host::TerminalHost;
use super::layout::PendingFirmware;
use super::models_ab;
use super::service::{lock, now_unix_ms, OtaRefusal, OtaService};
use super::stage;
use super::LastResult;
use keel_ota::manifest::BundleKind;
use keel_ota::updater::{run, Event, RecordFile, Updater};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// How often the worker looks at the channel's offer.
const OFFER_POLL: Duration = Duration::from_secs(5);

/// Work for the worker.
pub(super) enum Job {
    /// Look at the offer now.
    Tick,
    /// Install a firmware bundle (checked, schedule allowed).
    Firmware {
        source: PathBuf,
        version: String,
        allow_downgrade: bool,
    },
    /// Install a model bundle (checked, schedule allowed).
    Model {
        source: PathBuf,
        allow_downgrade: bool,
        /// The channel's offer, installed on its own: an offer that is not
        /// newer than the active model is ignored rather than reported.
        automatic: bool,
    },
    /// Run the reboot command (after a firmware rollback switched slots).
    Reboot,
}

/// Starts the worker; None when the thread cannot start (logged).
pub(super) fn spawn(service: OtaService) -> Option<Sender<Job>> {
    let (tx, rx) = channel();
    let r = std::thread::Builder::new()
        .name("keel-ota".into())
        .spawn(move || {
            startup(&service);
            loop {
                match rx.recv_timeout(OFFER_POLL) {
                    Ok(job) => handle(&service, job),
                    Err(RecvTimeoutError::Timeout) => handle(&service, Job::Tick),
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
    match r {
        Ok(_) => Some(tx),
        Err(e) => {
            log::error!("ota: worker thread: {e}");
            None
        }
    }
}

fn probe(s: &OtaService) -> HealthProbe {
    let i = &s.inner;
    HealthProbe {
        node: i.node.clone(),
        cluster: i.cluster.clone(),
        ui_expected: i.ui_expected.clone(),
        ui_up: i.ui_up.clone(),
        started: i.started,
        deadline: Duration::from_secs(i.settings.health_deadline_s),
    }
}

/// Runs the updater from its persisted record with `event`.
fn drive(s: &OtaService, event: Event) {
    let i = &s.inner;
    let Ok(setup) = &i.firmware else {
        return;
    };
    let policy = match s.policy(false) {
        Ok(p) => p,
        Err(e) => {
            // Without keys nothing verifies; the start-up step still runs
            // (health check, mark good) with an empty trust list.
            log::error!("ota: {e}");
            keel_ota::verify::InstallPolicy {
                board: i.board_name.clone(),
                running: keel_ota::version::Version {
                    major: 0,
                    minor: 0,
                    patch: 0,
                },
                allow_downgrade: false,
                trusted: Vec::new(),
            }
        }
    };
    let probe = probe(s);
    let mirror = |r: &keel_ota::updater::UpdateRecord| lock(&i.shared).record = r.clone();
    let mut host = TerminalHost {
        setup,
        bootloader: setup.open_bootloader(),
        layout: &i.layout,
        record: RecordFile::new(i.layout.record()),
        policy,
        progress: i.progress.clone(),
        probe: &probe,
        reboot_command: &i.settings.reboot_command,
        on_persist: &mirror,
    };
    let record = lock(&i.shared).record.clone();
    let mut u = Updater::new(record);
    if !matches!(event, Event::Booted { .. }) {
        u.booted = Some(setup.running);
    }
    match run(&u, event, &mut host) {
        Ok((u, end)) => log::info!("ota: updater {} ({end:?})", u.state().name()),
        Err(e) => {
            log::error!("ota: updater stopped: {e}");
            s.set_last(LastResult {
                kind: "firmware".into(),
                result: "failed".into(),
                version: None,
                reason: Some(e.to_string()),
                at_unix_ms: now_unix_ms(),
            });
        }
    }
}

fn startup(s: &OtaService) {
    let i = &s.inner;
    let Ok(setup) = &i.firmware else {
        return;
    };
    if let Err(e) = i.layout.set_slot(
        setup.running,
        Some(crate::node::firmware_version().to_string()),
    ) {
        log::error!("ota: {e}");
    }
    drive(
        s,
        Event::Booted {
            slot: setup.running,
        },
    );
}

/// Stages the bundle in `<ota>/bundles/` as the pending firmware bundle
/// ([`super::stage`]: hard-linked, or copied for exactly its length from a
/// device), so discarding it never deletes the channel's or the
/// technician's own file.
fn stage_firmware(s: &OtaService, source: &Path) -> Result<PathBuf, String> {
    let dir = s.inner.layout.bundles();
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let dest = dir.join("installing-firmware.keelb");
    stage::stage_bundle(source, &dest).map_err(|e| e.to_string())?;
    Ok(dest)
}

fn firmware(s: &OtaService, source: &Path, version: String, allow_downgrade: bool) {
    let i = &s.inner;
    let staged = stage_firmware(s, source).and_then(|bundle| {
        i.layout
            .set_pending(&PendingFirmware {
                bundle,
                version: version.clone(),
                allow_downgrade,
            })
            .map_err(|e| e.to_string())
    });
    if let Err(reason) = staged {
        log::error!("ota: firmware {version} not installed: {reason}");
        s.set_last(LastResult {
            kind: "firmware".into(),
            result: "failed".into(),
            version: Some(version),
            reason: Some(reason),
            at_unix_ms: now_unix_ms(),
        });
        return;
    }
    drive(s, Event::Start { version });
}

fn model(s: &OtaService, source: &Path, allow_downgrade: bool, automatic: bool) {
    let i = &s.inner;
    let (Some(ai), Some(models)) = (&i.ai, &i.models_dir) else {
        return;
    };
    let failed = |reason: String| {
        log::error!("ota: model install failed: {reason}");
        LastResult {
            kind: "model".into(),
            result: "failed".into(),
            version: None,
            reason: Some(reason),
            at_unix_ms: now_unix_ms(),
        }
    };
    let last = match s.policy(allow_downgrade) {
        Err(e) => failed(e.to_string()),
        Ok(policy) => {
            match models_ab::install(models, source, &policy, ai.runtime(), &i.progress) {
                Ok(done) => LastResult {
                    kind: "model".into(),
                    result: "installed".into(),
                    version: Some(format!(
                        "{} {}",
                        models_ab::kind_word(done.kind),
                        done.version
                    )),
                    reason: None,
                    at_unix_ms: now_unix_ms(),
                },
                Err(e @ models_ab::ModelOtaError::Downgrade { .. }) if automatic => {
                    log::info!("ota: offered model ignored: {e}");
                    return;
                }
                Err(e) => failed(e.to_string()),
            }
        }
    };
    s.set_last(last);
}

/// Installs the first of the channel's offers that has not been tried and
/// may go now (firmware only with `[ota] auto_install`) when the schedule
/// allows; one install per tick.
fn offered(s: &OtaService) {
    let i = &s.inner;
    let offer = {
        let sh = lock(&i.shared);
        if sh.busy.is_some() {
            return;
        }
        let firmware = BundleKind::Firmware.as_str();
        match sh.offers.iter().find(|o| {
            !sh.offers_tried.contains(&o.sha256) && (o.kind != firmware || i.settings.auto_install)
        }) {
            Some(o) => o.clone(),
            None => return,
        }
    };
    if offer.kind == BundleKind::Firmware.as_str() {
        let running = keel_ota::version::Version::parse(crate::node::firmware_version());
        let offered = keel_ota::version::Version::parse(&offer.version);
        if let (Ok(running), Ok(offered)) = (running, offered) {
            if offered <= running {
                log::info!("ota: offered firmware {offered} is not newer than {running}: ignored");
                tried(s, &offer.sha256);
                return;
            }
        }
    }
    let sale_open = crate::ui_bridge::exec::lock(&i.node).state.cart.is_some();
    if s.schedule(false, sale_open).is_err() {
        return;
    }
    tried(s, &offer.sha256);
    match s.check(&offer.path, false) {
        Ok(a) => match s.queue(a, false, true) {
            Ok(a) => log::info!("ota: installing the offered {} {}", a.kind, a.version),
            Err(e) => refused(s, &offer.kind, &offer.version, e),
        },
        Err(e) => refused(s, &offer.kind, &offer.version, e),
    }
}

/// Remembers that an offer's automatic install was tried (bounded).
fn tried(s: &OtaService, sha256: &str) {
    let mut sh = lock(&s.inner.shared);
    if !sh.offers_tried.iter().any(|t| t == sha256) {
        sh.offers_tried.push(sha256.to_string());
    }
    if sh.offers_tried.len() > 64 {
        sh.offers_tried.remove(0);
    }
}

fn refused(s: &OtaService, kind: &str, version: &str, e: OtaRefusal) {
    log::warn!("ota: offered {kind} {version} refused: {e}");
    s.set_last(LastResult {
        kind: kind.into(),
        result: "refused".into(),
        version: Some(version.into()),
        reason: Some(e.to_string()),
        at_unix_ms: now_unix_ms(),
    });
}

fn handle(s: &OtaService, job: Job) {
    match job {
        Job::Tick => offered(s),
        Job::Firmware {
            source,
            version,
            allow_downgrade,
        } => {
            firmware(s, &source, version, allow_downgrade);
            lock(&s.inner.shared).busy = None;
        }
        Job::Model {
            source,
            allow_downgrade,
            automatic,
        } => {
            model(s, &source, allow_downgrade, automatic);
            lock(&s.inner.shared).busy = None;
        }
        Job::Reboot => {
            let cmd = &s.inner.settings.reboot_command;
            if let Some((program, args)) = cmd.split_first() {
                log::warn!("ota: rebooting: {}", cmd.join(" "));
                match std::process::Command::new(program).args(args).status() {
                    Ok(st) if st.success() => {}
                    Ok(st) => log::error!("ota: reboot command exited with {st}"),
                    Err(e) => log::error!("ota: reboot command: {e}"),
                }
            }
        }
    }
}
