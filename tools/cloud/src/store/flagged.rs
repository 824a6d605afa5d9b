//! Sales flagged for review by a terminal's adaptive offline risk
//! (`SaleFlagged` records): what the cloud keeps of each, and which of a
//! batch's new records are flags. Pure; the storage adapters write and read
//! the rows (one per record, keyed by store, terminal and seq, so the same
//! record twice is one row).

use keel_core::event::EventBody;
use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::ingest::IngestRecord;
use serde::{Deserialize, Serialize};

/// A sale a terminal flagged for review, as the cloud lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlaggedSale {
    /// Store.
    pub store: StoreId,
    /// Terminal that sold it.
    pub terminal: TerminalId,
    /// Sequence number of the flag's record on that terminal.
    pub seq: u64,
    /// The sale's receipt number (the terminal's).
    pub receipt_no: u64,
    /// Cashier of the sale.
    pub cashier: String,
    /// Risk score, per mille.
    pub score_permille: u16,
    /// Risk level (`review` or `high`).
    pub level: String,
    /// Reason codes (e.g. `SWEETHEARTING`).
    pub reasons: Vec<String>,
    /// What scored it (model version, or the rules fallback and why).
    pub source: String,
    /// Manager who approved its offline card tender, if any.
    pub approved_by: Option<String>,
    /// When (HLC wall ms of the record).
    pub at_ms: u64,
}

/// The flagged sales among `records` (new records of one batch of `store`).
pub fn flagged_in(store: &StoreId, records: &[IngestRecord]) -> Vec<FlaggedSale> {
    records
        .iter()
        .filter_map(|r| match &r.event.body {
            EventBody::SaleFlagged {
                receipt_no,
                cashier,
                assessment,
                approved_by,
            } => Some(FlaggedSale {
                store: store.clone(),
                terminal: r.origin,
                seq: r.seq,
                receipt_no: receipt_no.0,
                cashier: cashier.0.clone(),
                score_permille: assessment.score_permille,
                level: assessment.level.as_str().to_string(),
                reasons: assessment.reasons.clone(),
                source: assessment.source.clone(),
                approved_by: approved_by.as_ref().map(|m| m.0.clone()),
                at_ms: r.at_ms(),
            }),
            _ => None,
        })
        .collect()
}
