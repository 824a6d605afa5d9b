//! The store leader's batch builder, pure: from what the cloud holds (its marks)
//! and what the store holds (heads per origin), the next size-bounded batch.
//!
//! When the whole backlog fits in one batch every record goes in full. When it
//! does not, records go in priority order: the chain is extended with sales and
//! payments in full and everything else as stubs (hash and predecessor hash),
//! then later batches fill the stubs' bodies, kitchen first, then customers,
//! then statistics, strictly: no body of a class goes while one of a more
//! urgent class is still deferred. Per origin, entries stay in sequence order,
//! so the cloud can check every chain link as it arrives.
//!
//! The builder reads the journal through [`JournalSource`] and keeps only what
//! it sent and what was acknowledged, plus an index of the deferred records'
//! classes (each record between the cloud's bodies and chain marks is read once
//! to classify it); it does no I/O of its own.

use crate::marks::UplinkMarks;
use crate::priority::{priority_of, Priority};
use crate::wire::{Batch, BatchEntry, EntryBody};
use keel_core::chain::{decode_record, ChainHash};
use keel_core::ids::TerminalId;
use std::collections::{BTreeMap, BTreeSet};

/// Read access to the journals the leader holds (its own and replicated ones).
pub trait JournalSource {
    /// Records of `origin` from `from_seq` on, in order, until about `max_bytes`
    /// (at least one when any exists); empty when there are none.
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>>;
}

/// Journals held in memory, per origin in sequence order from seq 1 (the
/// simulator's, the benchmark's and tests' journals).
impl JournalSource for BTreeMap<TerminalId, Vec<Vec<u8>>> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        let Some(all) = self.get(&origin) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut size = 0;
        for r in all.iter().skip(from_seq.saturating_sub(1) as usize) {
            if size + r.len() > max_bytes && !out.is_empty() {
                break;
            }
            size += r.len();
            out.push(r.clone());
        }
        out
    }
}

/// Builds batches and tracks what the cloud acknowledged.
#[derive(Debug)]
pub struct BatchBuilder {
    max_bytes: usize,
    next_id: u64,
    /// The cloud's marks as last acknowledged (merged with the replicated ones).
    marks: UplinkMarks,
    /// Bodies between `bodies` and `chain` the cloud acknowledged in full.
    held: BTreeSet<(TerminalId, u64)>,
    /// The batch awaiting its answer: id and its full entries.
    in_flight: Option<(u64, Vec<(TerminalId, u64)>)>,
    /// Records above the bodies mark whose body may still be missing in the
    /// cloud, by class (most urgent first), then origin and seq. Sales are
    /// never deferred.
    deferred: BTreeSet<(Priority, TerminalId, u64)>,
    /// Per origin, the highest seq classified into `deferred` so far.
    indexed: BTreeMap<TerminalId, u64>,
}

impl BatchBuilder {
    /// A builder whose batches carry at most about `max_bytes` of records,
    /// numbering batches from `first_id`, starting from `marks`.
    pub fn new(max_bytes: usize, first_id: u64, marks: UplinkMarks) -> BatchBuilder {
        BatchBuilder {
            max_bytes: max_bytes.max(1),
            next_id: first_id.max(1),
            marks,
            held: BTreeSet::new(),
            in_flight: None,
            deferred: BTreeSet::new(),
            indexed: BTreeMap::new(),
        }
    }

    /// The marks the builder works from.
    pub fn marks(&self) -> &UplinkMarks {
        &self.marks
    }

    /// Merges marks learned elsewhere (the cloud's welcome, a raft entry).
    pub fn learn(&mut self, marks: &UplinkMarks) {
        self.marks.merge(marks);
        self.forget_below_bodies();
    }

    fn forget_below_bodies(&mut self) {
        let marks = &self.marks;
        self.held.retain(|(o, s)| *s > marks.of(*o).bodies);
        self.deferred.retain(|(_, o, s)| *s > marks.of(*o).bodies);
    }

    /// The batch in flight, if any (its id).
    pub fn in_flight(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|(id, _)| *id)
    }

    /// The cloud acknowledged batch `id` and now reports `marks`.
    pub fn acked(&mut self, id: u64, marks: &UplinkMarks) {
        if let Some((fid, entries)) = self.in_flight.take() {
            if fid == id {
                self.held.extend(entries);
            } else {
                self.in_flight = Some((fid, entries));
            }
        }
        self.learn(marks);
    }

    /// The batch in flight failed (refused, connection lost): it will be rebuilt.
    pub fn failed(&mut self) {
        self.in_flight = None;
    }

    /// Records held in the store and not yet held in full by the cloud.
    pub fn pending(&self, heads: &BTreeMap<TerminalId, u64>) -> u64 {
        self.marks.pending(heads)
    }

    /// The next batch, or `None` when the cloud holds everything in `heads`
    /// (or a batch is still in flight).
    pub fn next(
        &mut self,
        heads: &BTreeMap<TerminalId, u64>,
        source: &dyn JournalSource,
    ) -> Option<Batch> {
        if self.in_flight.is_some() {
            return None;
        }
        let mut entries: Vec<BatchEntry> = Vec::new();
        let mut budget = self.max_bytes;
        // Extension: records above each origin's chain mark.
        let mut ext: BTreeMap<TerminalId, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        let mut ext_bytes = 0usize;
        for (origin, head) in heads {
            let chain = self.marks.of(*origin).chain;
            if *head <= chain {
                continue;
            }
            let recs = source.records(*origin, chain + 1, self.max_bytes + 1);
            let recs: Vec<(u64, Vec<u8>)> = recs
                .into_iter()
                .enumerate()
                .map(|(i, r)| (chain + 1 + i as u64, r))
                .take_while(|(s, _)| s <= head)
                .collect();
            ext_bytes += recs.iter().map(|(_, r)| r.len() + 16).sum::<usize>();
            ext.insert(*origin, recs);
        }
        let all_fit = ext_bytes <= self.max_bytes;
        // Interleave origins fairly: take records from each in turn.
        let mut cursors: BTreeMap<TerminalId, usize> = ext.keys().map(|o| (*o, 0)).collect();
        let mut stopped: BTreeSet<TerminalId> = BTreeSet::new();
        'extend: loop {
            let mut progressed = false;
            for (origin, recs) in &ext {
                if stopped.contains(origin) {
                    continue;
                }
                let i = cursors.get(origin).copied().unwrap_or(0);
                let Some((seq, bytes)) = recs.get(i) else {
                    continue;
                };
                let body = if all_fit {
                    EntryBody::Full(bytes.clone())
                } else {
                    match decode_record(bytes) {
                        Ok(ev) if priority_of(&ev.body) == Priority::Sales => {
                            EntryBody::Full(bytes.clone())
                        }
                        Ok(ev) => EntryBody::Stub {
                            hash: ChainHash::of(bytes),
                            prev: ev.prev,
                        },
                        // An unreadable record is sent as is: the cloud refuses the
                        // batch with the reason, which the status then shows.
                        Err(_) => EntryBody::Full(bytes.clone()),
                    }
                };
                let w = body.weight();
                if w > budget && !entries.is_empty() {
                    stopped.insert(*origin);
                    if stopped.len() == ext.len() {
                        break 'extend;
                    }
                    continue;
                }
                budget = budget.saturating_sub(w);
                entries.push(BatchEntry {
                    origin: *origin,
                    seq: *seq,
                    body,
                });
                cursors.insert(*origin, i + 1);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        // Fill: bodies between each origin's bodies and chain marks, by class.
        if budget > 0 {
            self.index_deferred(source);
            self.fill(&mut entries, &mut budget, source);
        }
        if entries.is_empty() {
            return None;
        }
        // Per origin, entries must be in ascending order: fills (below the chain
        // mark) sort before extensions; a stable sort by (origin, seq) keeps that.
        entries.sort_by_key(|e| (e.origin, e.seq));
        let id = self.next_id;
        self.next_id += 1;
        let full = entries
            .iter()
            .filter(|e| matches!(e.body, EntryBody::Full(_)))
            .map(|e| (e.origin, e.seq))
            .collect();
        self.in_flight = Some((id, full));
        Some(Batch { id, entries })
    }

    /// Classifies the records between each origin's bodies and chain marks
    /// not classified yet (each is read once), adding the non-sales ones to
    /// `deferred`.
    fn index_deferred(&mut self, source: &dyn JournalSource) {
        for (origin, mark) in &self.marks.origins {
            let mut next = self
                .indexed
                .get(origin)
                .copied()
                .unwrap_or(0)
                .max(mark.bodies)
                + 1;
            while next <= mark.chain {
                let recs = source.records(*origin, next, self.max_bytes * 4);
                if recs.is_empty() {
                    // Unreadable now: classified on a later batch.
                    break;
                }
                for r in recs {
                    if next > mark.chain {
                        break;
                    }
                    let class = match decode_record(&r) {
                        Ok(ev) => priority_of(&ev.body),
                        Err(_) => Priority::Statistics,
                    };
                    // Sales were sent in full when the chain was extended.
                    if class != Priority::Sales {
                        self.deferred.insert((class, *origin, next));
                    }
                    self.indexed.insert(*origin, next);
                    next += 1;
                }
            }
        }
    }

    /// Adds the bodies of deferred records, most urgent class first, while the
    /// budget lasts. Records are read in runs (from a missing one on, about
    /// four batches' worth), so a batch takes a few reads, not one per record.
    fn fill(&self, entries: &mut Vec<BatchEntry>, budget: &mut usize, source: &dyn JournalSource) {
        let mut read: BTreeMap<(TerminalId, u64), Vec<u8>> = BTreeMap::new();
        for (_, origin, seq) in &self.deferred {
            if self.held.contains(&(*origin, *seq)) {
                continue;
            }
            if !read.contains_key(&(*origin, *seq)) {
                read.clear();
                let run = source.records(*origin, *seq, self.max_bytes * 4);
                for (i, r) in run.into_iter().enumerate() {
                    read.insert((*origin, seq + i as u64), r);
                }
            }
            let Some(bytes) = read.remove(&(*origin, *seq)) else {
                // Unreadable now: nothing after it goes, so the order holds.
                return;
            };
            let w = bytes.len() + 16;
            if w > *budget && !entries.is_empty() {
                return;
            }
            *budget = budget.saturating_sub(w);
            entries.push(BatchEntry {
                origin: *origin,
                seq: *seq,
                body: EntryBody::Full(bytes),
            });
        }
    }
}
