//! The updater's transitions: `step(updater, event, now) -> (updater,
//! actions)`, a pure function.
//!
//! Owns the rules of the firmware update: the order of durable writes (the
//! target slot is marked bad before its first byte; the state says
//! `Writing` before the slot is touched; the boot environment switches only
//! after the slot is synced; the new slot is marked good before the record
//! says `Committed`) and what start-up does in each persisted state after a
//! power cut. It must not do I/O: the host runs the actions
//! ([`super::driver`](crate::updater::driver)).

use super::state::{Action, Event, UpdateRecord, UpdateState};
use crate::slot::Slot;

/// The updater: the persisted record plus the slot this boot runs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updater {
    /// The record as last persisted (or to be persisted by a `Persist` action).
    pub record: UpdateRecord,
    /// The slot running now, once `Booted` was seen.
    pub booted: Option<Slot>,
}

/// An event the updater cannot take in its state; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// An update is already under way.
    #[error("an update to {version} is already {state}")]
    Busy {
        /// The version under way.
        version: String,
        /// The state it is in.
        state: &'static str,
    },
    /// The event does not belong to the current state.
    #[error("{event} is not expected while {state}")]
    Unexpected {
        /// The event, as debug text.
        event: String,
        /// The state's name.
        state: &'static str,
    },
    /// An event came before `Booted` told which slot runs.
    #[error("{0} before the updater knows which slot booted")]
    NotBooted(String),
}

impl Updater {
    /// The updater as loaded from `record` at start-up, before `Booted`.
    pub fn new(record: UpdateRecord) -> Updater {
        Updater {
            record,
            booted: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> &UpdateState {
        &self.record.update
    }
}

fn version_of(s: &UpdateState) -> Option<&str> {
    match s {
        UpdateState::Downloading { version, .. }
        | UpdateState::Verifying { version, .. }
        | UpdateState::Writing { version, .. }
        | UpdateState::Switching { version, .. }
        | UpdateState::Rebooting { version, .. }
        | UpdateState::Testing { version, .. } => Some(version),
        _ => None,
    }
}

/// One transition. On `Ok` the host runs the actions in order; `Persist`
/// stores the returned updater's record.
pub fn step(
    u: &Updater,
    event: Event,
    now_unix_ms: u64,
) -> Result<(Updater, Vec<Action>), StepError> {
    use Action as A;
    use UpdateState as S;
    let unexpected = |event: &Event| StepError::Unexpected {
        event: format!("{event:?}"),
        state: u.state().name(),
    };
    let booted = match (&event, u.booted) {
        (Event::Booted { slot }, _) => *slot,
        (_, Some(slot)) => slot,
        (e, None) => return Err(StepError::NotBooted(format!("{e:?}"))),
    };
    let state = u.state().clone();
    let (next, actions): (Option<S>, Vec<Action>) = match (state, event) {
        // ---- start-up after a boot, per persisted state ----
        (s, Event::Booted { slot }) => match s {
            S::Committed { version, slot: c } if c != slot => (
                Some(S::RolledBack {
                    version,
                    failed_slot: c,
                    reason: format!(
                        "the committed system in slot {c} stopped booting; the bootloader fell back to slot {slot}"
                    ),
                }),
                vec![A::MarkBad(c), A::Persist, A::CheckHealth],
            ),
            S::Downloading { version, target }
            | S::Verifying { version, target }
            | S::Writing { version, target }
                if slot == target =>
            {
                // The running system failed its tries while we wrote the other
                // slot; the bootloader fell back into the target, which then
                // still held its previous good system.
                (
                    Some(S::Failed {
                        version: Some(version),
                        reason: format!("slot {target} booted while the update was being prepared for it"),
                    }),
                    vec![A::Persist, A::DiscardDownload, A::CheckHealth],
                )
            }
            S::Downloading { .. } => (None, vec![A::CheckHealth, A::Download]),
            S::Verifying { .. } => (None, vec![A::CheckHealth, A::Verify]),
            // The slot was marked bad before the record said Writing; marking
            // it again costs nothing when it still is (no write) and repairs
            // an environment the bootloader reset meanwhile.
            S::Writing { target, .. } => (
                None,
                vec![A::MarkBad(target), A::CheckHealth, A::WriteSlot(target)],
            ),
            S::Switching { version, target } | S::Rebooting { version, target } if slot == target => (
                Some(S::Testing {
                    version,
                    target,
                    failures: 0,
                    last_failure: None,
                }),
                vec![A::Persist, A::CheckHealth],
            ),
            S::Switching { target, .. } => (None, vec![A::CheckHealth, A::SwitchTo(target)]),
            S::Rebooting { version, target } => (
                Some(S::RolledBack {
                    version,
                    failed_slot: target,
                    reason: format!(
                        "the new system in slot {target} did not start in {} tries",
                        crate::boot_env::MAX_TRIES
                    ),
                }),
                vec![A::MarkBad(target), A::Persist, A::DiscardDownload, A::CheckHealth],
            ),
            S::Testing { target, .. } if slot == target => (None, vec![A::CheckHealth]),
            S::Testing {
                version,
                target,
                failures,
                last_failure,
            } => (
                Some(S::RolledBack {
                    version,
                    failed_slot: target,
                    reason: match last_failure {
                        Some(r) => format!(
                            "the new system in slot {target} failed its health check ({failures} of {} tries): {r}",
                            crate::boot_env::MAX_TRIES
                        ),
                        None => format!(
                            "the new system in slot {target} did not pass its health check in {} tries",
                            crate::boot_env::MAX_TRIES
                        ),
                    },
                }),
                vec![A::MarkBad(target), A::Persist, A::DiscardDownload, A::CheckHealth],
            ),
            S::Idle => (None, vec![A::CheckHealth]),
            // A cut between the outcome's record and the bundle's deletion
            // leaves the bundle behind: delete it (nothing to do if gone).
            S::Committed { .. } | S::Failed { .. } | S::RolledBack { .. } => {
                (None, vec![A::DiscardDownload, A::CheckHealth])
            }
        },

        // ---- the update on the running system ----
        (s, Event::Start { version }) => {
            if !s.is_settled() {
                return Err(StepError::Busy {
                    version: version_of(&s).unwrap_or_default().to_string(),
                    state: s.name(),
                });
            }
            (
                Some(S::Downloading {
                    version,
                    target: booted.other(),
                }),
                vec![A::Persist, A::Download],
            )
        }
        (S::Downloading { version, target }, Event::DownloadDone) => {
            (Some(S::Verifying { version, target }), vec![A::Persist, A::Verify])
        }
        (S::Verifying { version, target }, Event::Verified) => (
            Some(S::Writing { version, target }),
            vec![A::MarkBad(target), A::Persist, A::WriteSlot(target)],
        ),
        (S::Writing { version, target }, Event::WriteDone) => (
            Some(S::Switching { version, target }),
            vec![A::Persist, A::SwitchTo(target)],
        ),
        (S::Switching { version, target }, Event::Switched) => {
            (Some(S::Rebooting { version, target }), vec![A::Persist, A::Reboot])
        }
        (S::Downloading { version, .. }, Event::DownloadFailed(reason))
        | (S::Verifying { version, .. }, Event::VerifyFailed(reason))
        | (S::Writing { version, .. }, Event::WriteFailed(reason)) => (
            Some(S::Failed {
                version: Some(version),
                reason,
            }),
            vec![A::Persist, A::DiscardDownload],
        ),
        (
            S::Downloading { version, target }
            | S::Verifying { version, target }
            | S::Writing { version, target }
            | S::Switching { version, target },
            Event::Cancel,
        ) => (
            Some(S::Failed {
                version: Some(version),
                reason: "cancelled".to_string(),
            }),
            vec![A::MarkBad(target), A::Persist, A::DiscardDownload],
        ),

        // ---- health ----
        (S::Testing { version, target, .. }, Event::HealthPassed) if booted == target => (
            Some(S::Committed {
                version,
                slot: target,
            }),
            vec![A::MarkGood(target), A::Persist, A::DiscardDownload],
        ),
        (S::Testing { version, target, failures, .. }, Event::HealthFailed(reason)) if booted == target => {
            log::warn!("new system in slot {target} failed its health check: {reason}");
            (
                Some(S::Testing {
                    version,
                    target,
                    failures: failures.saturating_add(1),
                    last_failure: Some(reason),
                }),
                vec![A::Persist, A::Reboot],
            )
        }
        (_, Event::HealthPassed) => (None, vec![A::MarkGood(booted)]),
        (_, Event::HealthFailed(reason)) => {
            log::error!("the running system in slot {booted} failed its health check: {reason}");
            (None, vec![])
        }
        (_, e) => return Err(unexpected(&e)),
    };
    let mut out = u.clone();
    out.booted = Some(booted);
    if let Some(next) = next {
        log::info!("update: {} -> {}", u.state().name(), next.name());
        out.record.update = next;
        out.record.since_unix_ms = now_unix_ms;
    }
    Ok((out, actions))
}
