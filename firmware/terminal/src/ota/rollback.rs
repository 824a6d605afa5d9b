//! `ota rollback`: the firmware (the other slot first in the boot order when
//! it holds a known good system, then a reboot) and a model (its other A/B
//! directory, loaded and smoke-tested, then the link switched). Owns those
//! two sequences; the A/B rules are keel-ota's and [`super::models_ab`]'s.

use super::models_ab::{self, ModelInstalled};
use super::service::{lock, now_unix_ms, OtaRefusal, OtaService};
use super::worker::Job;
use super::LastResult;
use keel_ota::slot::Slot;
use keel_ota::updater::{UpdateRecord, UpdateState};

impl OtaService {
    /// `ota rollback` (firmware): the other slot becomes first in the boot
    /// order if it holds a known good system, then the terminal reboots.
    /// Returns the slot and version it goes back to.
    pub fn rollback_firmware(&self) -> Result<(Slot, String), OtaRefusal> {
        let setup = self
            .inner
            .firmware
            .as_ref()
            .map_err(|why| OtaRefusal::FirmwareOff(why.clone()))?;
        {
            let sh = lock(&self.inner.shared);
            if let Some(b) = &sh.busy {
                return Err(OtaRefusal::Busy(b.clone()));
            }
            if !sh.record.update.is_settled() {
                return Err(OtaRefusal::Busy(format!(
                    "firmware update is {}",
                    sh.record.update.name()
                )));
            }
        }
        let other = setup.running.other();
        let version = self
            .inner
            .layout
            .slots()
            .map_err(|e| OtaRefusal::Rollback(e.to_string()))?
            .get(other)
            .map(str::to_string)
            .ok_or_else(|| {
                OtaRefusal::Rollback(format!(
                    "slot {other} holds no known system: nothing to roll back to"
                ))
            })?;
        let mut bl = setup.open_bootloader();
        let mut env = bl.read().map_err(|e| OtaRefusal::Rollback(e.to_string()))?;
        if env.left(other) == 0 {
            return Err(OtaRefusal::Rollback(format!(
                "slot {other} ({version}) is marked bad: it is not a known good system"
            )));
        }
        // The record goes back to idle first: the boot into the other slot
        // is a technician's choice, not a failed update to report.
        let record = UpdateRecord {
            format: 1,
            since_unix_ms: now_unix_ms(),
            update: UpdateState::Idle,
        };
        keel_ota::updater::RecordFile::new(self.inner.layout.record())
            .store(&record)
            .map_err(|e| OtaRefusal::Rollback(e.to_string()))?;
        lock(&self.inner.shared).record = record;
        env.try_slot(other);
        bl.write(&env)
            .map_err(|e| OtaRefusal::Rollback(e.to_string()))?;
        self.set_last(LastResult {
            kind: "firmware".into(),
            result: "rollback".into(),
            version: Some(version.clone()),
            reason: Some(format!("a technician switched to slot {other}")),
            at_unix_ms: now_unix_ms(),
        });
        log::warn!("ota: rollback to slot {other} ({version}): rebooting");
        if !self.send(Job::Reboot) {
            return Err(OtaRefusal::NoWorker);
        }
        Ok((other, version))
    }

    /// `ota rollback models <kind>`: back to the model's previous version.
    pub fn rollback_model(&self, kind: &str) -> Result<ModelInstalled, OtaRefusal> {
        let models = self.models_dir()?;
        let Some(ai) = &self.inner.ai else {
            return Err(OtaRefusal::NoAi);
        };
        let kind = models_ab::parse_kind(kind).ok_or_else(|| {
            OtaRefusal::Rollback(format!(
                "unknown model kind {kind:?}: recognition or loss-prevention"
            ))
        })?;
        if let Some(b) = &lock(&self.inner.shared).busy {
            return Err(OtaRefusal::Busy(b.clone()));
        }
        let done = models_ab::rollback(models, kind, ai.runtime())?;
        self.set_last(LastResult {
            kind: "model".into(),
            result: "rollback".into(),
            version: Some(done.version.clone()),
            reason: None,
            at_unix_ms: now_unix_ms(),
        });
        Ok(done)
    }
}
