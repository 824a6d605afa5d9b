//! Shifts: open with a float, cash in and out, the no-sale drawer open, the X
//! report, and close with the counted cash into a gapless Z report.

use super::{require, Denied, Engine};
use crate::auth::{Permission, User};
use crate::event::{DrawerReason, EventBody};
use crate::money::{Money, MoneyError};
use crate::shift::ShiftReport;
use thiserror::Error;

/// Errors from shift commands.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShiftError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A shift is already open.
    #[error("shift {0} is already open")]
    AlreadyOpen(u64),
    /// No shift is open.
    #[error("no open shift: `shift open <float>` first")]
    NoShift,
    /// A sale with lines is open.
    #[error("a sale is open: complete it or `sale cancel` before closing the shift")]
    SaleOpen,
    /// An amount is malformed or negative.
    #[error("bad amount: {0}")]
    Amount(#[from] MoneyError),
    /// A cash movement of zero, or without a reason.
    #[error("cash {0}: amount above zero and a reason are needed")]
    CashMove(&'static str),
}

impl<'a> Engine<'a> {
    /// `shift open <float>`.
    pub fn open_shift(
        &self,
        user: Option<&'a User>,
        float: &str,
    ) -> Result<Vec<EventBody>, ShiftError> {
        let u = require(user, Permission::Shift)?;
        if let Some(s) = &self.state.shift {
            return Err(ShiftError::AlreadyOpen(s.shift_no));
        }
        let float = Money::parse_non_negative(float, self.profile.currency)?;
        Ok(vec![
            EventBody::ShiftOpened {
                shift_no: self.state.counters.last_shift + 1,
                by: u.id.clone(),
                float,
            },
            EventBody::DrawerOpened {
                by: u.id.clone(),
                reason: DrawerReason::CashMovement,
            },
        ])
    }

    /// `cash in|out <amount> <reason>` (manager).
    pub fn cash_move(
        &self,
        user: Option<&'a User>,
        inward: bool,
        amount: &str,
        reason: &str,
    ) -> Result<Vec<EventBody>, ShiftError> {
        let u = require(user, Permission::CashMove)?;
        let shift = self.state.shift.as_ref().ok_or(ShiftError::NoShift)?;
        let m = Money::parse_non_negative(amount, self.profile.currency)?;
        let what = if inward { "in" } else { "out" };
        if m.is_zero() || reason.trim().is_empty() {
            return Err(ShiftError::CashMove(what));
        }
        let signed = if inward { m } else { m.checked_neg()? };
        Ok(vec![
            EventBody::CashMoved {
                shift_no: shift.shift_no,
                by: u.id.clone(),
                amount: signed,
                reason: reason.trim().to_string(),
            },
            EventBody::DrawerOpened {
                by: u.id.clone(),
                reason: DrawerReason::CashMovement,
            },
        ])
    }

    /// `drawer open`: a no-sale drawer open.
    pub fn no_sale(&self, user: Option<&'a User>) -> Result<Vec<EventBody>, ShiftError> {
        let u = require(user, Permission::NoSale)?;
        if self.state.shift.is_none() {
            return Err(ShiftError::NoShift);
        }
        Ok(vec![EventBody::DrawerOpened {
            by: u.id.clone(),
            reason: DrawerReason::NoSale,
        }])
    }

    /// `report x`: the open shift's report; writes nothing.
    pub fn x_report(&self, user: Option<&'a User>, now_ms: u64) -> Result<ShiftReport, ShiftError> {
        let u = require(user, Permission::Shift)?;
        let s = self.state.shift.as_ref().ok_or(ShiftError::NoShift)?;
        Ok(report_of(s, u, now_ms))
    }

    /// `shift close <counted>`: closes the shift with the next Z number.
    pub fn close_shift(
        &self,
        user: Option<&'a User>,
        counted: &str,
        now_ms: u64,
    ) -> Result<(Vec<EventBody>, ShiftReport), ShiftError> {
        let u = require(user, Permission::Shift)?;
        let s = self.state.shift.as_ref().ok_or(ShiftError::NoShift)?;
        if self
            .state
            .cart
            .as_ref()
            .is_some_and(|c| !c.lines.is_empty() || !c.tenders.is_empty())
        {
            return Err(ShiftError::SaleOpen);
        }
        let counted = Money::parse_non_negative(counted, self.profile.currency)?;
        let mut report = report_of(s, u, now_ms);
        report.z_no = Some(self.state.counters.last_z + 1);
        report.over_short = Some(counted.checked_sub(report.expected_cash)?);
        report.counted_cash = Some(counted);
        let mut events = Vec::new();
        if self.state.cart.is_some() {
            events.push(EventBody::CartEdited {
                by: u.id.clone(),
                edit: crate::cart::CartEdit::Cancel,
            });
        }
        events.push(EventBody::ShiftClosed(report.clone()));
        Ok((events, report))
    }
}

/// The report of `shift` as of `now_ms`, asked for by `by` (an X report until numbered and counted).
fn report_of(shift: &crate::shift::OpenShift, by: &User, now_ms: u64) -> ShiftReport {
    ShiftReport {
        z_no: None,
        shift_no: shift.shift_no,
        opened_by: shift.opened_by.clone(),
        reported_by: by.id.clone(),
        opened_ms: shift.opened_ms,
        reported_ms: now_ms,
        float: shift.float,
        totals: shift.totals.clone(),
        expected_cash: shift.expected_cash(),
        counted_cash: None,
        over_short: None,
    }
}
