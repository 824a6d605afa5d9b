//! The simulated cloud and the store's uploader: keel-uplink's pure
//! `BatchBuilder` on the uploading terminal (the raft leader) and its pure
//! `check_batch` on the cloud side, with the cloud's tables (cursors, stubs,
//! events) in memory. Owns the cloud's state and its convergence check; it must
//! not move bytes over the network (the world calls `upload` when the cloud is
//! reachable) and does not simulate the HTTP/QUIC session of `uplink_runtime`.
//!
//! The downlink: the cloud publishes (a price change) into its publication
//! list and price book; the leader turns a publication into store events with
//! keel-uplink's pure `publication::events_for` and journals them; the cloud
//! reviews the sales it holds with keel-uplink's pure `project::project`
//! against its price book (a sale at a price other than the central one in
//! force at its time is flagged `price-override`, the price paid stands).

use keel_core::chain::ChainHash;
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_uplink::builder::{BatchBuilder, JournalSource};
use keel_uplink::ingest::{check_batch, marks_of, IngestRecord, Stub, TerminalCursor};
use keel_uplink::project::{project, PriceBook, ReviewFlag};
use keel_uplink::wire::PublishedItem;
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
    /// Publications, in order, and whether the store has journaled each.
    pub publications: Vec<(PublishedItem, bool)>,
    /// The central prices published, by time.
    pub prices: PriceBook,
}

impl Cloud {
    /// The operator publishes a new price for `sku` at cloud time `at_ms`.
    pub fn publish_price(&mut self, at_ms: u64, sku: Sku, price_minor: i64) {
        self.prices.add(sku.clone(), at_ms, price_minor);
        self.publications
            .push((PublishedItem::Price { sku, price_minor }, false));
    }

    /// Publications the store has not journaled yet, with their index.
    pub fn undelivered(&self) -> Vec<(usize, PublishedItem)> {
        self.publications
            .iter()
            .enumerate()
            .filter(|(_, (_, done))| !done)
            .map(|(i, (p, _))| (i, p.clone()))
            .collect()
    }

    /// The store journaled publication `i`.
    pub fn delivered(&mut self, i: usize) {
        if let Some(p) = self.publications.get_mut(i) {
            p.1 = true;
        }
    }

    /// The review flags keel-uplink's projection raises over every record the
    /// cloud holds, against the price book (records that do not decode are
    /// skipped: the convergence check reports them).
    pub fn review_flags(&self) -> Vec<ReviewFlag> {
        let records: Vec<IngestRecord> = self
            .events
            .iter()
            .filter_map(|((origin, seq), bytes)| {
                let event = keel_core::chain::decode_record(bytes).ok()?;
                Some(IngestRecord {
                    origin: *origin,
                    seq: *seq,
                    hash: ChainHash::of(bytes),
                    prev: event.prev,
                    record: bytes.clone(),
                    event,
                })
            })
            .collect();
        project(&records, &self.prices).flags
    }
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
