//! What `ota status` prints and the channel reports: the service's
//! [`OtaStatus`] built from the updater's record, the slots' versions, the
//! last result, the models' A/B directories and the offer. Owns only that
//! view; it must not change anything.

use super::models_ab;
use super::service::{lock, OtaService};
use super::{LastResult, ModelSlots, OtaStatus, ProgressView};
use keel_ota::updater::{UpdateRecord, UpdateState};

impl OtaService {
    /// Where OTA stands now.
    pub fn status(&self) -> OtaStatus {
        let i = &self.inner;
        let sh = lock(&i.shared);
        let running = i.firmware.as_ref().ok().map(|f| f.running);
        let slots = i.layout.slots().unwrap_or_default();
        let state = &sh.record.update;
        let writing = matches!(state, UpdateState::Writing { .. }) || sh.busy.is_some();
        let progress = (writing && i.progress.total() > 0).then(|| ProgressView {
            written: i.progress.written(),
            total: i.progress.total(),
        });
        let from_record = record_result(&sh.record);
        let last = match (from_record, sh.last.clone()) {
            (Some(r), Some(m)) => Some(if m.at_unix_ms >= r.at_unix_ms { m } else { r }),
            (r, m) => m.or(r),
        };
        let models = match &i.models_dir {
            None => Vec::new(),
            Some(dir) => models_ab::KINDS
                .iter()
                .map(|k| {
                    let st = models_ab::state(dir, *k);
                    ModelSlots {
                        kind: models_ab::kind_word(*k).into(),
                        active: st.active.map(|c| c.to_string()),
                        a_version: st.a_version,
                        b_version: st.b_version,
                    }
                })
                .collect(),
        };
        OtaStatus {
            running_version: crate::node::firmware_version().to_string(),
            running_slot: running.map(|s| s.to_string()),
            other_slot_version: running.and_then(|s| slots.get(s.other()).map(str::to_string)),
            state: state.name().to_string(),
            state_version: state_version(state),
            progress,
            last_result: last,
            models,
            offers: sh.offers.clone(),
            firmware_off: i.firmware.as_ref().err().cloned(),
            board: i.board_name.clone(),
        }
    }
}

fn state_version(s: &UpdateState) -> Option<String> {
    match s {
        UpdateState::Idle => None,
        UpdateState::Downloading { version, .. }
        | UpdateState::Verifying { version, .. }
        | UpdateState::Writing { version, .. }
        | UpdateState::Switching { version, .. }
        | UpdateState::Rebooting { version, .. }
        | UpdateState::Testing { version, .. }
        | UpdateState::Committed { version, .. }
        | UpdateState::RolledBack { version, .. } => Some(version.clone()),
        UpdateState::Failed { version, .. } => version.clone(),
    }
}

/// The firmware outcome the record holds, as a last result.
fn record_result(r: &UpdateRecord) -> Option<LastResult> {
    let (result, reason) = match &r.update {
        UpdateState::Committed { .. } => ("committed", None),
        UpdateState::Failed { reason, .. } => ("failed", Some(reason.clone())),
        UpdateState::RolledBack { reason, .. } => ("rolled_back", Some(reason.clone())),
        _ => return None,
    };
    Some(LastResult {
        kind: "firmware".into(),
        result: result.into(),
        version: state_version(&r.update),
        reason,
        at_unix_ms: r.since_unix_ms,
    })
}
