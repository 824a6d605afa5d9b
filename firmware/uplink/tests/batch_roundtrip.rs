//! The leader's batch builder against the cloud's batch check, with lost and
//! repeated batches: whatever the budget and the mix of event kinds, the cloud
//! ends up holding every record exactly once, in full, with every chain link
//! checked, and sales are never sent as stubs.

use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::customer::Customer;
use keel_core::event::{DrawerReason, Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, StoreId, TerminalId, TicketId, UserId};
use keel_uplink::builder::{BatchBuilder, JournalSource};
use keel_uplink::ingest::{check_batch, marks_of, Stub, TerminalCursor};
use keel_uplink::priority::{priority_of, Priority};
use keel_uplink::wire::EntryBody;
use keel_uplink::UplinkMarks;
use proptest::prelude::*;
use std::cell::Cell;
use std::collections::BTreeMap;

fn body(kind: u8, i: u64) -> EventBody {
    match kind % 4 {
        0 => EventBody::DrawerOpened {
            by: UserId("ani".into()),
            reason: DrawerReason::NoSale,
        },
        1 => EventBody::KitchenRecalled {
            ticket: TicketId {
                terminal: TerminalId(1),
                number: i,
            },
            recalls: 1,
            by: UserId("ani".into()),
        },
        2 => EventBody::CustomerUpserted(Customer {
            id: format!("C-{i}"),
            name: "Budi".into(),
            phone: None,
        }),
        _ => EventBody::SettingChanged {
            key: format!("k{i}"),
            value: "x".repeat((i % 50) as usize),
        },
    }
}

struct Journals(BTreeMap<TerminalId, Vec<Vec<u8>>>);

impl Journals {
    fn build(store: &StoreId, kinds: &[Vec<u8>]) -> Journals {
        let mut out = BTreeMap::new();
        for (t, ks) in kinds.iter().enumerate() {
            let origin = TerminalId(t as u32 + 1);
            let mut prev = genesis_hash(store, origin);
            let mut recs = Vec::new();
            for (i, k) in ks.iter().enumerate() {
                let ev = Event {
                    dot: Dot {
                        terminal: origin,
                        seq: i as u64 + 1,
                    },
                    hlc: Hlc {
                        wall_ms: 1_000 + i as u64,
                        counter: 0,
                        node: origin.0,
                    },
                    prev,
                    body: body(*k, i as u64),
                };
                let bytes = encode_record(&ev);
                prev = ChainHash::of(&bytes);
                recs.push(bytes);
            }
            out.insert(origin, recs);
        }
        Journals(out)
    }

    fn heads(&self) -> BTreeMap<TerminalId, u64> {
        self.0.iter().map(|(o, r)| (*o, r.len() as u64)).collect()
    }
}

/// The cloud's state for one store, as a storage adapter would keep it.
#[derive(Default)]
struct Cloud {
    cursors: BTreeMap<TerminalId, TerminalCursor>,
    stubs: BTreeMap<(TerminalId, u64), Stub>,
    stored: BTreeMap<(TerminalId, u64), Vec<u8>>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_record_reaches_the_cloud_once_whatever_the_budget(
        kinds in prop::collection::vec(prop::collection::vec(0u8..4, 0..40), 1..4),
        budget in 60usize..2_000,
        faults in prop::collection::vec(0u8..6, 0..200),
    ) {
        let store = StoreId("s1".into());
        let journals = Journals::build(&store, &kinds);
        let heads = journals.heads();
        let mut cloud = Cloud::default();
        let mut builder = BatchBuilder::new(budget, 1, UplinkMarks::default());
        let mut faults = faults.into_iter();
        let mut rounds = 0;
        while let Some(batch) = builder.next(&heads, &journals.0) {
            rounds += 1;
            prop_assert!(rounds < 10_000, "no progress");
            // Size-bounded: within the budget, unless one record alone exceeds it.
            let weight: usize = batch.entries.iter().map(|e| e.body.weight()).sum();
            prop_assert!(
                weight <= budget || batch.entries.len() == 1,
                "batch of {} entries weighs {weight} > {budget}", batch.entries.len()
            );
            for e in &batch.entries {
                if let EntryBody::Stub { .. } = e.body {
                    let rec = &journals.0[&e.origin][e.seq as usize - 1];
                    let ev = keel_core::chain::decode_record(rec).unwrap();
                    prop_assert_ne!(priority_of(&ev.body), Priority::Sales, "sales are never stubbed");
                }
            }
            let fault = faults.next().unwrap_or(0);
            if fault == 1 {
                // Lost before the cloud saw it.
                builder.failed();
                continue;
            }
            let checked = check_batch(&store, &batch, &cloud.cursors, &cloud.stubs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for r in &checked.records {
                prop_assert!(cloud.stored.insert((r.origin, r.seq), r.record.clone()).is_none(), "stored twice");
            }
            for s in &checked.stubs {
                cloud.stubs.insert((s.origin, s.seq), *s);
            }
            for f in &checked.filled {
                cloud.stubs.remove(f);
            }
            cloud.cursors.extend(checked.cursors.clone());
            if fault == 2 {
                // Stored, but the ack was lost: the same batch comes again.
                let again = check_batch(&store, &batch, &cloud.cursors, &cloud.stubs)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(again.records.is_empty() && again.stubs.is_empty());
                builder.failed();
                continue;
            }
            builder.acked(batch.id, &marks_of(&cloud.cursors));
        }
        for (origin, recs) in &journals.0 {
            let c = cloud.cursors.get(origin).copied();
            if recs.is_empty() {
                prop_assert!(c.is_none());
                continue;
            }
            let c = c.unwrap();
            prop_assert_eq!(c.chain, recs.len() as u64);
            prop_assert_eq!(c.bodies, recs.len() as u64);
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!(cloud.stored.get(&(*origin, i as u64 + 1)), Some(r));
            }
        }
        prop_assert!(cloud.stubs.is_empty());
        prop_assert_eq!(builder.pending(&heads), 0);
    }
}

#[test]
fn a_backlog_larger_than_a_batch_sends_sales_first() {
    let store = StoreId("s1".into());
    // Kitchen, sale, customer, sale, setting... on one terminal.
    let kinds: Vec<u8> = (0..60).map(|i| [1u8, 0, 2, 0, 3][i % 5]).collect();
    let journals = Journals::build(&store, &[kinds]);
    let heads = journals.heads();
    let mut builder = BatchBuilder::new(100_000, 1, UplinkMarks::default());
    // Everything fits: all full.
    let b = builder.next(&heads, &journals.0).unwrap();
    assert!(b
        .entries
        .iter()
        .all(|e| matches!(e.body, EntryBody::Full(_))));
    builder.failed();
    // A small budget: the first batch carries sales in full, the rest as stubs.
    let mut small = BatchBuilder::new(1_000, 1, UplinkMarks::default());
    let b = small.next(&heads, &journals.0).unwrap();
    let full: Vec<u64> = b
        .entries
        .iter()
        .filter(|e| matches!(e.body, EntryBody::Full(_)))
        .map(|e| e.seq)
        .collect();
    let stubs = b.entries.len() - full.len();
    assert!(stubs > 0, "lower classes are deferred");
    assert!(full.iter().all(|s| (s - 1) % 5 == 1 || (s - 1) % 5 == 3));
}

#[test]
fn the_cloud_refuses_a_broken_chain_and_another_stores_journal() {
    let store = StoreId("s1".into());
    let journals = Journals::build(&store, &[vec![0, 0, 0]]);
    let mut builder = BatchBuilder::new(100_000, 1, UplinkMarks::default());
    let batch = builder.next(&journals.heads(), &journals.0).unwrap();
    // Drop the middle record: a gap.
    let mut gap = batch.clone();
    gap.entries.remove(1);
    let err = check_batch(&store, &gap, &BTreeMap::new(), &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("gap"), "{err}");
    // Another store's journal: its genesis differs, so the first link breaks.
    let err = check_batch(
        &StoreId("s2".into()),
        &batch,
        &BTreeMap::new(),
        &BTreeMap::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("broken hash chain"), "{err}");
    // A tampered record in the middle: either it no longer decodes, or its hash
    // changed and the next record's link breaks. Both are refusals.
    for i in 0..3 {
        let mut tampered = batch.clone();
        if let EntryBody::Full(bytes) = &mut tampered.entries[1].body {
            let n = bytes.len();
            bytes[n - 1 - i] ^= 1;
        }
        let err = check_batch(&store, &tampered, &BTreeMap::new(), &BTreeMap::new())
            .expect_err("a tampered record is refused");
        let text = err.to_string();
        assert!(
            text.contains("T01:3: broken hash chain") || text.contains("T01:2: malformed"),
            "{text}"
        );
    }
    assert!(check_batch(&store, &batch, &BTreeMap::new(), &BTreeMap::new()).is_ok());
}

/// Once the chain is extended, the bodies the first batches sent as stubs follow
/// by class: kitchen first, then customers, then statistics.
#[test]
fn deferred_bodies_follow_kitchen_then_customers_then_statistics() {
    let store = StoreId("s1".into());
    // Two terminals: sales, kitchen, customers and settings mixed, a backlog
    // many times the batch budget (so the deferred bodies span many batches).
    let kinds: Vec<Vec<u8>> = vec![
        (0..240)
            .map(|i| [3u8, 0, 2, 1, 0, 3, 1, 2][i % 8])
            .collect(),
        (0..150).map(|i| [2u8, 1, 3, 0][i % 4]).collect(),
    ];
    let journals = Journals::build(&store, &kinds);
    let heads = journals.heads();
    let class_of = |origin: TerminalId, seq: u64| {
        let rec = &journals.0[&origin][seq as usize - 1];
        priority_of(&keel_core::chain::decode_record(rec).unwrap().body)
    };
    let mut cloud = Cloud::default();
    let mut builder = BatchBuilder::new(600, 1, UplinkMarks::default());
    let mut fills: Vec<Priority> = Vec::new();
    let mut batches = 0;
    let source = Counting(&journals.0, Cell::new(0));
    let (mut reads_before_fills, mut reads_of_last) = (None, 0);
    while let Some(batch) = builder.next(&heads, &source) {
        batches += 1;
        assert!(batches < 1_000, "no progress");
        let extended = heads
            .iter()
            .all(|(o, h)| cloud.cursors.get(o).is_some_and(|c| c.chain == *h));
        if extended && reads_before_fills.is_none() {
            // The batch just built is the first after the chain was complete.
            reads_before_fills = Some(reads_of_last);
        }
        reads_of_last = source.1.get();
        // A batch is sorted by origin and seq: its fills' classes, in class order.
        let mut classes = Vec::new();
        for e in &batch.entries {
            let below_chain = cloud.cursors.get(&e.origin).map_or(0, |c| c.chain) >= e.seq;
            if below_chain {
                assert!(matches!(e.body, EntryBody::Full(_)), "a fill is a body");
                if extended {
                    classes.push(class_of(e.origin, e.seq));
                }
            }
        }
        classes.sort();
        fills.extend(classes);
        let checked = check_batch(&store, &batch, &cloud.cursors, &cloud.stubs).unwrap();
        for s in &checked.stubs {
            cloud.stubs.insert((s.origin, s.seq), *s);
        }
        for f in &checked.filled {
            cloud.stubs.remove(f);
        }
        cloud.cursors.extend(checked.cursors.clone());
        builder.acked(batch.id, &marks_of(&cloud.cursors));
    }
    assert!(cloud.stubs.is_empty());
    assert_eq!(builder.pending(&heads), 0);
    // Every class was deferred, and they came back in class order.
    for class in [Priority::Kitchen, Priority::Customers, Priority::Statistics] {
        assert!(fills.contains(&class), "no {class:?} among {fills:?}");
    }
    assert!(
        !fills.contains(&Priority::Sales),
        "sales are never deferred"
    );
    assert!(
        fills.windows(2).all(|w| w[0] <= w[1]),
        "fills out of class order: {fills:?}"
    );
    // Journal reads come in runs: a few per batch, not one per record.
    let reads = source.1.get() - reads_before_fills.unwrap_or(0);
    eprintln!(
        "{batches} batches, {} bodies filled after the chain, {reads} journal reads for them",
        fills.len()
    );
    assert!(
        reads < fills.len() / 2,
        "{reads} reads for {} fills",
        fills.len()
    );
}

/// A journal source that counts its reads.
struct Counting<'a>(&'a BTreeMap<TerminalId, Vec<Vec<u8>>>, Cell<usize>);

impl JournalSource for Counting<'_> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        self.1.set(self.1.get() + 1);
        self.0.records(origin, from_seq, max_bytes)
    }
}
