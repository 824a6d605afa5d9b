//! The print feeder: a thread that turns this terminal's committed records
//! into print jobs and drawer kicks (see `actions`). It runs beside the sale
//! path, never in it: a sale is acknowledged once its record is durable, and
//! the receipt follows. A receipt's job is spooled durably, then the spool's
//! mark (`marker`) moves past the record; after a power cut the feeder replays
//! the journal from the mark, so a receipt is never lost (at worst, printed
//! twice), and a drawer is never opened by a replay.

use super::actions::{actions_for, Action, Origin};
use super::{marker, Devices};
use crate::node::{CommittedRecords, Node};
use keel_core::event::EventBody;
use keel_core::receipt::Receipt;
use keel_devices::spool::JobKind;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

fn lock(node: &Mutex<Node>) -> std::sync::MutexGuard<'_, Node> {
    node.lock().unwrap_or_else(|p| p.into_inner())
}

/// Replays own records above the spool's mark (a first start sets the mark
/// at the journal's head: history is not printed). Returns the last seq it
/// covered: live commits at or below it were replayed already.
pub fn replay(node: &Mutex<Node>, devices: &Devices) -> u64 {
    let head = lock(node).journal().last_seq();
    let Some(spool_dir) = devices.spool_dir() else {
        return head;
    };
    let Some(mark) = marker::read(spool_dir) else {
        if let Err(e) = marker::write(spool_dir, head) {
            log::warn!("printing: cannot write the spool mark: {e}");
        }
        return head;
    };
    for seq in mark + 1..=head {
        let stored = match lock(node).journal().read(seq) {
            Ok(Some(s)) => s,
            Ok(None) => return seq - 1,
            Err(e) => {
                log::warn!("printing: reading record {seq} to replay: {e}");
                return seq - 1;
            }
        };
        let actions = actions_for(&stored.event, seq, Origin::Replay);
        for action in &actions {
            devices.perform(node, action, &stored.event, stored.hash);
        }
        if !actions.is_empty() || seq == head {
            if let Err(e) = marker::write(spool_dir, seq) {
                log::warn!("printing: cannot move the spool mark to {seq}: {e}");
            }
        }
    }
    head
}

/// Feeds live commits until the channel closes.
pub fn run(node: Arc<Mutex<Node>>, devices: Arc<Devices>, commits: Receiver<CommittedRecords>) {
    let replayed = replay(&node, &devices);
    while let Ok(records) = commits.recv() {
        let mut spooled_through = None;
        for (seq, bytes, hash) in records {
            if seq <= replayed {
                continue;
            }
            let event = match keel_core::chain::decode_record(&bytes) {
                Ok(e) => e,
                Err(e) => {
                    log::error!("printing: committed record {seq} does not decode: {e}");
                    continue;
                }
            };
            for action in actions_for(&event, seq, Origin::Live) {
                devices.perform(&node, &action, &event, hash);
                if action != Action::KickDrawer {
                    spooled_through = Some(seq);
                }
            }
        }
        // The mark only has to pass records that spooled something: a replay of
        // records with nothing to print prints nothing. So the disk is touched
        // once per receipt, not once per cart edit.
        if let (Some(seq), Some(dir)) = (spooled_through, devices.spool_dir()) {
            if let Err(e) = marker::write(dir, seq) {
                log::warn!("printing: cannot move the spool mark to {seq}: {e}");
            }
        }
    }
}

impl Devices {
    /// Carries out one action for `event` (hash `hash`). Failures are logged
    /// and shown in the printer's status; they never reach the sale.
    pub(super) fn perform(
        &self,
        node: &Mutex<Node>,
        action: &Action,
        event: &keel_core::event::Event,
        hash: keel_core::chain::ChainHash,
    ) {
        match action {
            Action::Receipt { receipt, seq } => {
                let EventBody::SaleCompleted(sale) = &event.body else {
                    return;
                };
                let Some(p) = &self.printer else {
                    return;
                };
                let r = {
                    let n = lock(node);
                    Receipt::from_sale(&n.profile, sale, *seq, &hash, event.hlc.wall_ms)
                };
                let bytes = keel_devices::escpos::receipt(&r, &p.layout);
                match p
                    .handle
                    .submit(JobKind::Receipt, &format!("receipt {}", receipt.0), &bytes)
                {
                    Ok(id) => log::info!("printing: receipt {} spooled as job {}", receipt.0, id.0),
                    Err(e) => log::error!("printing: receipt {} not spooled: {e}", receipt.0),
                }
            }
            Action::Kitchen(tickets) => {
                let Some(p) = self.kitchen.as_ref().or(self.printer.as_ref()) else {
                    return;
                };
                for id in tickets {
                    let ticket = lock(node).state.kitchen.get(id).cloned();
                    let Some(ticket) = ticket else {
                        log::warn!("printing: kitchen ticket {id} not in the state");
                        continue;
                    };
                    let bytes = keel_devices::escpos::kitchen_ticket(&ticket, &p.layout);
                    if let Err(e) =
                        p.handle
                            .submit(JobKind::Kitchen, &format!("ticket {id}"), &bytes)
                    {
                        log::error!("printing: kitchen ticket {id} not spooled: {e}");
                    }
                }
            }
            Action::KickDrawer => {
                if let Some(d) = &self.drawer {
                    match d.open() {
                        Ok(()) => log::info!("drawer: kicked"),
                        Err(e) => log::warn!("drawer: the kick did not go out: {e}"),
                    }
                }
            }
        }
    }
}
