//! Voids of completed sales and refunds against an original receipt. The caller
//! reads the original sale and its earlier refunds from the journal and passes
//! them in; the engine checks roles, shift and quantities.

use super::{require, Denied, Engine};
use crate::auth::{Permission, User};
use crate::event::{DrawerReason, EventBody};
use crate::ids::ReceiptNo;
use crate::money::Money;
use crate::sale::{RefundLine, RefundRecord, Sale, VoidRecord};
use crate::tax::{div_round, RoundingMode};
use crate::tender::Tender;
use std::collections::BTreeMap;
use thiserror::Error;

/// Errors from voids and refunds.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReturnError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No shift is open.
    #[error("no open shift: `shift open <float>` first")]
    NoShift,
    /// No such receipt on this terminal.
    #[error("no receipt {0} on this terminal")]
    NoReceipt(ReceiptNo),
    /// The sale was already voided.
    #[error("receipt {0} is already voided")]
    AlreadyVoided(ReceiptNo),
    /// The sale was partly refunded, so it cannot be voided.
    #[error("receipt {0} has refunds: refund the rest instead of voiding")]
    HasRefunds(ReceiptNo),
    /// The sale is from an earlier shift.
    #[error("receipt {0} is from an earlier shift: use `refund` instead")]
    EarlierShift(ReceiptNo),
    /// A refund names a line the receipt does not have.
    #[error("receipt {receipt} has no line {line}")]
    NoLine {
        /// Receipt.
        receipt: ReceiptNo,
        /// Line.
        line: u32,
    },
    /// A line is named twice.
    #[error("line {0} is named twice")]
    DuplicateLine(u32),
    /// More than was sold.
    #[error("line {line}: cannot refund {asked}, only {left} left of {sold} sold")]
    TooMuch {
        /// Line.
        line: u32,
        /// Asked.
        asked: String,
        /// Left to refund.
        left: String,
        /// Sold.
        sold: String,
    },
    /// A quantity is malformed.
    #[error("bad refund quantity {0:?}: {1}")]
    Quantity(String, String),
    /// Nothing to refund.
    #[error("name at least one line to refund, as <line>:<qty>")]
    Nothing,
}

/// One `<line>:<qty>` of a refund command.
#[derive(Clone, Debug)]
pub struct RefundRequest<'r> {
    /// Line on the original receipt.
    pub line_no: u32,
    /// Quantity text (units, or kg for weighed items).
    pub qty: &'r str,
}

impl<'a> Engine<'a> {
    /// `void <receipt>` (manager): voids a sale of the open shift.
    pub fn void_sale(
        &self,
        user: Option<&'a User>,
        sale: &Sale,
        already_voided: bool,
        refunds: &[RefundRecord],
    ) -> Result<Vec<EventBody>, ReturnError> {
        let u = require(user, Permission::Void)?;
        let shift = self.state.shift.as_ref().ok_or(ReturnError::NoShift)?;
        let no = sale.receipt_no;
        if already_voided {
            return Err(ReturnError::AlreadyVoided(no));
        }
        if !refunds.is_empty() {
            return Err(ReturnError::HasRefunds(no));
        }
        if sale.shift_no != shift.shift_no {
            return Err(ReturnError::EarlierShift(no));
        }
        let cash_in: i64 = sale
            .tenders
            .iter()
            .filter(|t| matches!(t, Tender::Cash { .. }))
            .map(|t| t.amount().minor)
            .sum();
        let cash_returned = Money::new((cash_in - sale.change.minor).max(0), sale.total.currency);
        let mut restock: Vec<(crate::ids::Sku, i64)> = Vec::new();
        for l in &sale.lines {
            match restock.iter_mut().find(|(s, _)| *s == l.sku) {
                Some(e) => e.1 += l.qty,
                None => restock.push((l.sku.clone(), l.qty)),
            }
        }
        let mut events = vec![EventBody::SaleVoided(VoidRecord {
            receipt_no: no,
            by: u.id.clone(),
            amount: sale.amount_due(),
            cash_returned,
            restock,
            shift_no: shift.shift_no,
        })];
        if cash_returned.minor > 0 {
            events.push(EventBody::DrawerOpened {
                by: u.id.clone(),
                reason: DrawerReason::PayBack(no),
            });
        }
        Ok(events)
    }

    /// `refund <receipt> <line>:<qty>...` (manager): refunds part or all of a sale in cash.
    pub fn refund(
        &self,
        user: Option<&'a User>,
        sale: &Sale,
        voided: bool,
        earlier: &[RefundRecord],
        request: &[RefundRequest<'_>],
    ) -> Result<(Vec<EventBody>, RefundRecord), ReturnError> {
        let u = require(user, Permission::Refund)?;
        let shift = self.state.shift.as_ref().ok_or(ReturnError::NoShift)?;
        let no = sale.receipt_no;
        if voided {
            return Err(ReturnError::AlreadyVoided(no));
        }
        if request.is_empty() {
            return Err(ReturnError::Nothing);
        }
        let mut done: BTreeMap<u32, (i64, i64)> = BTreeMap::new();
        for r in earlier {
            for l in &r.lines {
                let e = done.entry(l.line_no).or_insert((0, 0));
                e.0 += l.qty;
                e.1 += l.amount.minor;
            }
        }
        let mut lines = Vec::new();
        let mut seen = Vec::new();
        for req in request {
            if seen.contains(&req.line_no) {
                return Err(ReturnError::DuplicateLine(req.line_no));
            }
            seen.push(req.line_no);
            let line = sale.lines.iter().find(|l| l.line_no == req.line_no).ok_or(
                ReturnError::NoLine {
                    receipt: no,
                    line: req.line_no,
                },
            )?;
            let qty = Engine::parse_qty(req.qty, line.sold_by)
                .map_err(|e| ReturnError::Quantity(req.qty.to_string(), e.to_string()))?;
            let (qty_done, amount_done) = done.get(&req.line_no).copied().unwrap_or((0, 0));
            let left = line.qty - qty_done;
            if qty > left {
                return Err(ReturnError::TooMuch {
                    line: req.line_no,
                    asked: req.qty.to_string(),
                    left: left.to_string(),
                    sold: line.qty.to_string(),
                });
            }
            // The last part refunded takes whatever amount is left, so a full refund returns exactly what was paid.
            let amount = if qty == left {
                line.amount.minor - amount_done
            } else {
                let share = div_round(
                    i128::from(line.amount.minor) * i128::from(qty),
                    i128::from(line.qty.max(1)),
                    RoundingMode::HalfUp,
                );
                i64::try_from(share)
                    .unwrap_or(0)
                    .min(line.amount.minor - amount_done)
            };
            lines.push(RefundLine {
                line_no: line.line_no,
                sku: line.sku.clone(),
                qty,
                amount: Money::new(amount, sale.total.currency),
                tax_class: line.tax_class.clone(),
            });
        }
        let total = Money::new(
            lines.iter().map(|l| l.amount.minor).sum(),
            sale.total.currency,
        );
        let record = RefundRecord {
            original: no,
            lines,
            total,
            by: u.id.clone(),
            shift_no: shift.shift_no,
        };
        let mut events = vec![EventBody::RefundIssued(record.clone())];
        if total.minor > 0 {
            events.push(EventBody::DrawerOpened {
                by: u.id.clone(),
                reason: DrawerReason::PayBack(no),
            });
        }
        Ok((events, record))
    }
}
