//! Hand-built journals: a cashier's shift as keel-core events.

use keel_core::cart::{CartEdit, PriceOverride};
use keel_core::chain::ChainHash;
use keel_core::event::{DrawerReason, Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, ReceiptNo, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::sale::{RefundRecord, Sale, VoidRecord};
use keel_core::tax::TaxMode;

/// Builds one terminal's journal in order.
pub struct Journal {
    pub events: Vec<Event>,
    seq: u64,
    receipt: u64,
    pub cashier: UserId,
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

impl Journal {
    pub fn new(cashier: &str, shift_at_ms: u64) -> Journal {
        let mut j = Journal {
            events: Vec::new(),
            seq: 0,
            receipt: 0,
            cashier: UserId(cashier.into()),
        };
        let by = j.cashier.clone();
        j.push(
            shift_at_ms,
            EventBody::ShiftOpened {
                shift_no: 1,
                by,
                float: eur(10_000),
            },
        );
        j
    }

    pub fn push(&mut self, at_ms: u64, body: EventBody) {
        self.seq += 1;
        self.events.push(Event {
            dot: Dot {
                terminal: TerminalId(1),
                seq: self.seq,
            },
            hlc: Hlc {
                wall_ms: at_ms,
                counter: 0,
                node: 1,
            },
            prev: ChainHash([0; 32]),
            body,
        });
    }

    pub fn edit(&mut self, at_ms: u64, edit: CartEdit) {
        let by = self.cashier.clone();
        self.push(at_ms, EventBody::CartEdited { by, edit });
    }

    /// A sale of `gross` minor units with `discount` off; returns its receipt number.
    pub fn sale(&mut self, at_ms: u64, gross: i64, discount: i64) -> u64 {
        self.receipt += 1;
        let total = gross - discount;
        let sale = Sale {
            receipt_no: ReceiptNo(self.receipt),
            shift_no: 1,
            cashier: self.cashier.clone(),
            lines: Vec::new(),
            voided_lines: 0,
            subtotal: eur(total),
            discount_total: eur(discount),
            tax_mode: TaxMode::Inclusive,
            taxes: Vec::new(),
            tax_total: eur(0),
            total: eur(total),
            rounding: eur(0),
            tenders: Vec::new(),
            change: eur(0),
            tickets: Vec::new(),
        };
        self.edit(at_ms, CartEdit::Open);
        self.push(at_ms, EventBody::SaleCompleted(sale));
        self.receipt
    }

    pub fn line_void(&mut self, at_ms: u64) {
        self.edit(at_ms, CartEdit::VoidLine { line_no: 1 });
    }

    pub fn override_price(&mut self, at_ms: u64) {
        self.edit(
            at_ms,
            CartEdit::Override {
                line_no: 1,
                price_override: PriceOverride {
                    price: eur(1),
                    reason: "damaged".into(),
                    by: UserId("mgr".into()),
                },
            },
        );
    }

    pub fn void_sale(&mut self, at_ms: u64, receipt: u64) {
        self.push(
            at_ms,
            EventBody::SaleVoided(VoidRecord {
                receipt_no: ReceiptNo(receipt),
                by: UserId("mgr".into()),
                amount: eur(0),
                cash_returned: eur(0),
                restock: Vec::new(),
                shift_no: 1,
            }),
        );
    }

    pub fn no_sale(&mut self, at_ms: u64) {
        let by = self.cashier.clone();
        self.push(
            at_ms,
            EventBody::DrawerOpened {
                by,
                reason: DrawerReason::NoSale,
            },
        );
    }

    pub fn refund(&mut self, at_ms: u64, original: u64) {
        self.push(
            at_ms,
            EventBody::RefundIssued(RefundRecord {
                original: ReceiptNo(original),
                lines: Vec::new(),
                total: eur(500),
                by: UserId("mgr".into()),
                shift_no: 1,
            }),
        );
    }
}

pub const HOUR: u64 = 3_600_000;
/// 2026-11-23 00:00 UTC.
pub const DAY0: u64 = 1_795_392_000_000;

/// A cashier's day: 4 hours of ordinary baskets (before the window), then a
/// 4-hour window of the given pattern, ending at `now` = 18:00 UTC.
pub fn shift(sweethearting: bool) -> (Journal, u64) {
    let start = DAY0 + 10 * HOUR;
    let mut j = Journal::new("alice", start);
    // Before the window: 20 ordinary baskets of 20.00 .. 29.50.
    for i in 0..20 {
        j.sale(start + i * 10 * 60_000, 2_000 + (i as i64 % 20) * 50, 0);
    }
    let w = start + 4 * HOUR;
    for i in 0..40u64 {
        let t = w + 60_000 + i * 6 * 60_000;
        if sweethearting {
            // Friends' baskets: small, deep discounts, voided lines, overrides.
            j.line_void(t);
            if i % 2 == 0 {
                j.line_void(t + 1_000);
                j.override_price(t + 2_000);
            }
            j.sale(t + 3_000, 1_200, 400);
        } else {
            if i % 12 == 0 {
                j.line_void(t);
            }
            j.sale(t + 3_000, 2_400, if i % 10 == 0 { 100 } else { 0 });
        }
    }
    (j, w + 4 * HOUR)
}
