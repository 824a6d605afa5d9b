//! The simulated cloud and the store's uploader: keel-uplink's pure
//! `BatchBuilder` on the uploading terminal (the raft leader) and its pure
//! `check_batch` on the cloud side, with the cloud's tables (cursors, stubs,
//! events) in memory. Owns the cloud's state and its convergence check; it must
//! not move bytes over the network (the world calls `upload` when the cloud is
//! reachable) and does not simulate the HTTP/QUIC session of `uplink_runtime`.

use keel_core::ids::{StoreId, TerminalId};
use keel_uplink::builder::{BatchBuilder, JournalSource};
use keel_uplink::ingest::{check_batch, marks_of, Stub, TerminalCursor};
use keel_uplink::UplinkMarks;
use std::collections::BTreeMap;

/// Batch size the uploader aims for, bytes.
pub const BATCH_BYTES: usize = 64 << 10;

/// The cloud's tables for one store.
#[derive(Debug, Default)]
pub struct Cloud {
    /// Position in each terminal's journal.
    pub cursors: BTreeMap<TerminalId, TerminalCursor>,
    /// Records held only as stubs.
    pub stubs: BTreeMap<(TerminalId, u64), Stub>,
    /// Full records: (origin, seq) → record bytes.
    pub events: BTreeMap<(TerminalId, u64), Vec<u8>>,
    /// Batches refused (must stay 0: the store only sends what it holds).
    pub refused: u64,
    /// Batches accepted.
    pub accepted: u64,
}

/// The uploader on the leading terminal.
#[derive(Debug)]
pub struct Uploader {
    /// Terminal that uploads.
    pub terminal: TerminalId,
    builder: BatchBuilder,
}

impl Uploader {
    /// A new uploader on `terminal` (after a leader change it starts from no marks:
    /// the cloud's answer tells it what is held).
    pub fn new(terminal: TerminalId, first_id: u64) -> Uploader {
        Uploader {
            terminal,
            builder: BatchBuilder::new(BATCH_BYTES, first_id, UplinkMarks::default()),
        }
    }

    /// One upload round trip: builds the next batch from `heads`/`source`, has
    /// the cloud check and store it, and learns the cloud's marks. Returns
    /// whether a batch was sent.
    pub fn upload(
        &mut self,
        store: &StoreId,
        cloud: &mut Cloud,
        heads: &BTreeMap<TerminalId, u64>,
        source: &dyn JournalSource,
    ) -> bool {
        let Some(batch) = self.builder.next(heads, source) else {
            return false;
        };
        match check_batch(store, &batch, &cloud.cursors, &cloud.stubs) {
            Ok(checked) => {
                for r in checked.records {
                    cloud.events.insert((r.origin, r.seq), r.record);
                }
                for s in checked.stubs {
                    cloud.stubs.insert((s.origin, s.seq), s);
                }
                for f in checked.filled {
                    cloud.stubs.remove(&f);
                }
                cloud.cursors.extend(checked.cursors);
                cloud.accepted += 1;
                self.builder.acked(batch.id, &marks_of(&cloud.cursors));
            }
            Err(e) => {
                log::warn!("cloud refused batch {}: {e}", batch.id);
                cloud.refused += 1;
                self.builder.failed();
                self.builder.learn(&marks_of(&cloud.cursors));
            }
        }
        true
    }

    /// The batch in flight was lost (cloud down, connection cut).
    pub fn lost(&mut self) {
        self.builder.failed();
    }
}

/// Adapts the simulator's journal reader to the uplink's source trait.
pub struct UplinkSource<'a>(pub &'a keel_store::Journal);

impl JournalSource for UplinkSource<'_> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        self.0
            .read_origin(origin, from_seq, max_bytes)
            .unwrap_or_else(|e| {
                log::warn!("uplink read of {}: {e}", origin.0);
                Vec::new()
            })
    }
}
