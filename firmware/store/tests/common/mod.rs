//! Shared test helpers: identities, sales, batches, a toy fold, and a file
//! backend with injected faults.
#![allow(dead_code)]

pub mod faulty_backend;

use keel_core::catalog::SoldBy;
use keel_core::chain::ChainBreak;
use keel_core::derived::{DerivedTable, DerivedWrite};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{ReceiptNo, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::sale::{Sale, SaleLine};
use keel_core::tax::{TaxLine, TaxMode};
use keel_core::tender::Tender;
use keel_store::{Batch, Journal, JournalIdentity, VerifyError};
use std::collections::BTreeMap;
use std::path::Path;

pub fn identity() -> JournalIdentity {
    JournalIdentity {
        store: StoreId("demo-store".into()),
        terminal: TerminalId(1),
        currency: Currency::EUR,
        firmware: "0.1.0".into(),
    }
}

pub fn hlc(ms: u64) -> Hlc {
    Hlc {
        wall_ms: ms,
        counter: 0,
        node: 1,
    }
}

pub fn open(path: &Path) -> Journal {
    Journal::open(path, &identity(), hlc(1_000)).expect("open journal")
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

/// A sale with `lines` lines.
pub fn sale(receipt: u64, lines: usize) -> Sale {
    let lines: Vec<SaleLine> = (0..lines)
        .map(|i| SaleLine {
            line_no: i as u32 + 1,
            sku: Sku(format!("SKU-{i:03}")),
            name: format!("Item {i}"),
            qty: 1 + i as i64,
            sold_by: SoldBy::Unit,
            unit_price: eur(250),
            list_price: eur(250),
            gross: eur(250 * (1 + i as i64)),
            discount: eur(0),
            amount: eur(250 * (1 + i as i64)),
            tax_class: "standard".into(),
            override_reason: None,
            kitchen_station: None,
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.amount.minor).sum();
    Sale {
        receipt_no: ReceiptNo(receipt),
        shift_no: 1,
        cashier: UserId("alice".into()),
        lines,
        voided_lines: 0,
        subtotal: eur(total),
        discount_total: eur(0),
        tax_mode: TaxMode::Inclusive,
        taxes: vec![TaxLine {
            class: "standard".into(),
            label: "A".into(),
            rate_bp: 1900,
            net: eur(total * 100 / 119),
            tax: eur(total - total * 100 / 119),
            gross: eur(total),
        }],
        tax_total: eur(total - total * 100 / 119),
        total: eur(total),
        rounding: eur(0),
        tenders: vec![Tender::Cash { amount: eur(total) }],
        change: eur(0),
        tickets: vec![],
    }
}

/// A toy fold: receipt -> seq, stock per SKU, a sale counter.
#[derive(Default)]
pub struct ToyFold {
    stock: BTreeMap<String, i64>,
    sales: u64,
}

impl ToyFold {
    pub fn apply(&mut self, event: &Event) -> Vec<DerivedWrite> {
        let mut out = Vec::new();
        if let EventBody::SaleCompleted(sale) = &event.body {
            self.sales += 1;
            out.push(DerivedWrite {
                table: DerivedTable::Receipts,
                key: sale.receipt_no.0.to_string(),
                value: Some(event.dot.seq.to_le_bytes().to_vec()),
            });
            for line in &sale.lines {
                let s = self.stock.entry(line.sku.0.clone()).or_insert(100);
                *s -= line.qty;
                out.push(DerivedWrite {
                    table: DerivedTable::Stock,
                    key: line.sku.0.clone(),
                    value: Some(s.to_le_bytes().to_vec()),
                });
            }
            out.push(DerivedWrite {
                table: DerivedTable::Counters,
                key: "sales".into(),
                value: Some(self.sales.to_le_bytes().to_vec()),
            });
        }
        out
    }
}

/// Builds the batch for one sale as the engine would: derived writes from the
/// event the journal will append (dot from next_dots, prev from head).
pub fn sale_batch(journal: &Journal, fold: &mut ToyFold, receipt: u64, ms: u64) -> Batch {
    let body = EventBody::SaleCompleted(sale(receipt, 5));
    let dot = journal.next_dots(1)[0];
    let event = Event {
        dot,
        hlc: hlc(ms),
        prev: journal.head(),
        body: body.clone(),
    };
    let derived = fold.apply(&event);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&receipt.to_be_bytes());
    Batch {
        events: vec![(hlc(ms), body)],
        derived,
        idempotency: Some((
            keel_core::ids::CommandId(id),
            format!("receipt {receipt}").into_bytes(),
        )),
    }
}

/// The record a verification error names.
pub fn named_seq(err: &VerifyError) -> u64 {
    match err {
        VerifyError::Broken(b) => match b {
            ChainBreak::Unreadable { seq, .. }
            | ChainBreak::Missing { seq }
            | ChainBreak::Reordered { seq, .. }
            | ChainBreak::ForeignTerminal { seq, .. }
            | ChainBreak::Altered { seq }
            | ChainBreak::Truncated { seq, .. } => *seq,
        },
        VerifyError::ExportMismatch { seq, .. } | VerifyError::BeyondHead { seq, .. } => *seq,
        VerifyError::BadFirstRecord { .. } => 1,
        other => panic!("error names no record: {other}"),
    }
}

/// SHA-256 of a file's bytes.
pub fn file_hash(path: &Path) -> String {
    keel_core::chain::ChainHash::of(&std::fs::read(path).unwrap()).hex()
}
