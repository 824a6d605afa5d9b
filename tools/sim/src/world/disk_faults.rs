//! Disk faults of the simulated store: full disks and torn power cuts. Owns
//! when a terminal's journal disk fills up and frees again, when a power cut
//! strikes in the middle of a commit, and which failed commits and restarts
//! are the expected, counted refusals of a full or dying disk rather than
//! violations. It must not decide anything the terminal decides: keel-store
//! maps `ENOSPC` to `CommitError::DiskFull` and reopens redb itself.

use super::{AckedSale, World};
use crate::fault_mask::FaultKind;
use crate::terminal::StartError;
use keel_core::event::EventBody;
use keel_core::ids::TerminalId;
use keel_store::{CommitError, OpenError};
use std::collections::BTreeMap;

/// Which disks are full until when, and which have a power loss armed.
#[derive(Debug, Default)]
pub(super) struct DiskFaults {
    /// Full disks and when space comes back (simulated ms).
    full_until: BTreeMap<TerminalId, u64>,
    /// Disks set to fill at their next new block: (give up at, how long it stays full).
    filling: BTreeMap<TerminalId, (u64, u64)>,
    /// Armed power losses and when to give up waiting for a commit to strike.
    armed_until: BTreeMap<TerminalId, u64>,
    /// The planted bug `SimConfig::plant_ack_unsaved`.
    pub(super) plant_ack_unsaved: bool,
}

impl DiskFaults {
    /// No disk fault yet; `plant_ack_unsaved` plants that bug.
    pub(super) fn new(plant_ack_unsaved: bool) -> DiskFaults {
        DiskFaults {
            plant_ack_unsaved,
            ..DiskFaults::default()
        }
    }
}

impl World {
    /// Seeded disk faults for this step: a disk fills at its next new block
    /// (about once per 250 s across the store; it stays full 2 to 10 s from
    /// the first refused write, or the fill is called off after 2 minutes
    /// without one), a power
    /// loss is armed to strike within the next 0 to 6 writes of a terminal's
    /// journal (about once per 66 s), and a struck one becomes a torn power cut.
    pub(super) fn inject_disk_faults(&mut self) {
        let now = self.now;
        let freed: Vec<TerminalId> = self
            .disk_faults
            .full_until
            .iter()
            .filter(|(_, until)| now >= **until)
            .map(|(t, _)| *t)
            .collect();
        for t in freed {
            self.disk_faults.full_until.remove(&t);
            self.nodes[&t].disk.free();
            self.trace.update(b"disk-freed");
        }
        let armed: Vec<(TerminalId, u64)> = self
            .disk_faults
            .armed_until
            .iter()
            .map(|(t, u)| (*t, *u))
            .collect();
        for (t, until) in armed {
            let disk = self.nodes[&t].disk.clone();
            if disk.power_lost() {
                self.disk_faults.armed_until.remove(&t);
                self.torn_power_cut(t);
            } else if now >= until || self.nodes[&t].running.is_none() {
                // No commit came: the power stays on.
                self.disk_faults.armed_until.remove(&t);
                disk.disarm_power_loss();
            }
        }
        let filling: Vec<(TerminalId, (u64, u64))> = self
            .disk_faults
            .filling
            .iter()
            .map(|(t, f)| (*t, *f))
            .collect();
        for (t, (give_up, lasts)) in filling {
            let disk = &self.nodes[&t].disk;
            if disk.is_full() {
                self.disk_faults.filling.remove(&t);
                self.disk_faults.full_until.insert(t, now + lasts);
                self.faults.disk_full_periods += 1;
                self.trace.update(b"disk-full");
                self.trace.update(&t.0.to_be_bytes());
            } else if now >= give_up {
                self.disk_faults.filling.remove(&t);
                disk.free();
            }
        }
        let ids: Vec<TerminalId> = self.members.iter().copied().collect();
        if self.strikes(FaultKind::DiskFull, 40) {
            let t = ids[self.rng.range(0, ids.len() as u64 - 1) as usize];
            let lasts = self.rng.range(2_000, 10_000);
            let busy = self.disk_faults.full_until.contains_key(&t)
                || self.disk_faults.filling.contains_key(&t);
            if !busy {
                self.nodes[&t].disk.fill_at_next_growth();
                self.disk_faults.filling.insert(t, (now + 120_000, lasts));
            }
        }
        if self.strikes(FaultKind::TornWrite, 150) {
            let t = ids[self.rng.range(0, ids.len() as u64 - 1) as usize];
            let writes = self.rng.range(0, 6) as u32;
            let n = &self.nodes[&t];
            if n.running.is_some() && !n.disk.power_loss_pending() {
                n.disk.arm_power_loss(writes);
                self.disk_faults.armed_until.insert(t, now + 10_000);
            }
        }
    }

    /// When `t`'s disk has lost its power (an armed loss struck a write), the
    /// torn power cut happens now: a terminal without power does nothing more.
    pub(super) fn cut_if_power_lost(&mut self, t: TerminalId) {
        if self.nodes[&t].disk.power_lost() {
            self.disk_faults.armed_until.remove(&t);
            self.torn_power_cut(t);
        }
    }

    /// A power cut in the middle of a commit: the journal disk keeps a seeded
    /// part of its unsynced writes (torn), then the terminal is down as after
    /// any power cut.
    fn torn_power_cut(&mut self, t: TerminalId) {
        let kept = self.nodes[&t].disk.power_cut_torn(&mut self.rng);
        self.faults.torn_power_cuts += 1;
        self.faults.torn_writes_kept += kept;
        self.trace.update(b"torn");
        self.trace.update(&kept.to_be_bytes());
        self.power_cut(t);
    }

    /// End of chaos: every disk gets its space back, armed power losses are
    /// disarmed and a struck one is cut now (the restart follows).
    pub(super) fn calm_disks(&mut self) {
        self.disk_faults.full_until.clear();
        self.disk_faults.filling.clear();
        self.disk_faults.armed_until.clear();
        let ids: Vec<TerminalId> = self.members.iter().copied().collect();
        for t in ids {
            let disk = self.nodes[&t].disk.clone();
            if disk.power_lost() {
                self.torn_power_cut(t);
            }
            disk.calm();
        }
    }

    /// True (and counted) when a cashier's failed commit is the clean refusal
    /// of a full disk (`DiskFull`, or the journal not reopening for it) or the
    /// power failing mid-commit; false for any other failure (a violation).
    pub(super) fn commit_refused(&mut self, t: TerminalId, e: &CommitError) -> bool {
        let disk = &self.nodes[&t].disk;
        if disk.power_loss_pending() {
            self.faults.commits_cut_by_power += 1;
            return true;
        }
        let full = disk.is_full();
        match e {
            CommitError::DiskFull { .. } if full => {
                self.faults.disk_full_refusals += 1;
                true
            }
            CommitError::Unavailable { .. } if full => {
                self.faults.disk_full_refusals += 1;
                true
            }
            _ => false,
        }
    }

    /// The planted bug: the receipt of a sale whose commit was refused is
    /// printed anyway (it goes into the acknowledged ledger).
    pub(super) fn plant_ack(&mut self, t: TerminalId, events: &[EventBody]) {
        for e in events {
            if let EventBody::SaleCompleted(s) = e {
                self.acked.push(AckedSale {
                    terminal: t,
                    receipt_no: s.receipt_no.0,
                    total_minor: s.total.minor,
                    lines: s.lines.iter().map(|l| (l.sku.0.clone(), l.qty)).collect(),
                });
            }
        }
    }

    /// True when a terminal could not restart because its disk is full (it
    /// tries again a second later); false for any other failure.
    pub(super) fn restart_refused(&mut self, t: TerminalId, e: &StartError) -> bool {
        let full = self.nodes[&t].disk.is_full();
        let disk_full = matches!(
            e,
            StartError::Commit(CommitError::DiskFull { .. })
                | StartError::Journal(OpenError::DiskFull { .. })
        );
        if !full || !disk_full {
            return false;
        }
        self.faults.restarts_refused_disk_full += 1;
        let now = self.now;
        if let Some(n) = self.nodes.get_mut(&t) {
            n.down_until_ms = now + 1_000;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::SimConfig;
    use keel_core::engine::Engine;

    #[test]
    fn a_terminal_whose_disk_lost_its_power_mid_step_is_cut_before_its_cashier_acts() {
        let cfg = SimConfig {
            seed: 7,
            terminals: 3,
            sales_per_terminal: 5,
            plant_lying_fsync: false,
            plant_ack_unsaved: false,
        };
        let mut w = World::new(&cfg);
        // No injected fault this step: only the power loss below.
        w.chaos = false;
        let t = TerminalId(1);
        let disk = w.nodes[&t].disk.clone();
        disk.arm_power_loss(0);
        let now = w.local_now(t);
        let Some(r) = w.nodes.get_mut(&t).and_then(|n| n.running.as_mut()) else {
            panic!("terminal 1 runs");
        };
        let p = r.profile.clone();
        let ev = Engine::new(&p, &r.state)
            .adjust_stock(Some(&p.users[1]), "BREAD", 1, "delivery")
            .unwrap();
        // A commit (in the world: a replica or downlink commit) strikes the loss.
        assert!(r.commit(ev, now).is_err());
        assert!(disk.power_lost());
        if let Some(n) = w.nodes.get_mut(&t) {
            n.next_action_ms = 0;
        }
        w.step(&cfg);
        assert!(
            w.nodes[&t].running.is_none(),
            "the cashier acted without power"
        );
        assert_eq!(w.faults.torn_power_cuts, 1);
        assert!(!disk.power_lost());
        assert!(w.violations.is_empty(), "{:?}", w.violations);
    }
}
