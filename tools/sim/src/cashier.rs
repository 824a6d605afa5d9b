//! The simulated cashier: what a terminal's person does next. Owns the
//! workload's choice of action (open a shift, start a sale, scan, void a line,
//! tender in cash or by card, complete, refund or void an earlier receipt,
//! advance a kitchen ticket, receive goods, close the shift) and asks
//! keel-core's `Engine` for the events of that action, reading an earlier sale
//! back from the journal as keel-terminal's `Node::sale` does. It must not
//! commit, touch the network or draw randomness itself: the world draws a
//! [`Draw`] from the seed and commits what [`decide`] returns.

use crate::catalog;
use crate::rng::SimRng;
use keel_core::auth::User;
use keel_core::derived::DerivedTable;
use keel_core::engine::{AddRequest, Engine, RefundRequest, SaleError};
use keel_core::event::EventBody;
use keel_core::ids::{ReceiptNo, TerminalId};
use keel_core::money::format_minor;
use keel_core::profile::StoreProfile;
use keel_core::sale::{RefundRecord, Sale};
use keel_core::state::{receipt_keys, TerminalState};
use keel_store::{Journal, ReadError};
use thiserror::Error;

/// Why a cashier step produced no action.
#[derive(Debug, Error)]
pub enum StepError {
    /// The engine refused a step the workload believes valid (a violation).
    #[error("{0}")]
    Refused(String),
    /// An earlier receipt could not be read because the journal is closed
    /// after an I/O failure (a full disk whose reopen failed): keel-terminal's
    /// `Node::sale` gives the same error, which the screen shows; the person
    /// tries again later (the next commit reopens the journal).
    #[error("receipt {receipt}: {source}")]
    JournalUnavailable {
        /// The receipt the step wanted to read.
        receipt: u64,
        /// The journal's read error (`ReadError::Unavailable`).
        source: ReadError,
    },
}

impl From<String> for StepError {
    fn from(s: String) -> StepError {
        StepError::Refused(s)
    }
}

/// The random choices of one cashier step, drawn from the seed in a fixed order.
#[derive(Clone, Debug)]
pub struct Draw {
    /// 0..=99: which kind of between-sales action, or a line void.
    pub roll: u64,
    /// Items the next sale scans (1 to 6).
    pub n_items: u32,
    /// The catalog key to scan or receive.
    pub item: &'static str,
    /// The quantity typed (1 to 3).
    pub qty: String,
    /// Which earlier receipt or open kitchen ticket an after-sale action picks.
    pub pick: u64,
    /// The customer pays by card (about a third of sales).
    pub card: bool,
    /// A refund returns the whole receipt (else one unit of one line).
    pub whole: bool,
}

impl Draw {
    /// Draws one step's choices.
    pub fn from_rng(rng: &mut SimRng) -> Draw {
        let roll = rng.range(0, 99);
        let n_items = rng.range(1, 6) as u32;
        let item = catalog::ITEMS[rng.range(0, catalog::ITEMS.len() as u64 - 1) as usize].0;
        let qty = rng.range(1, 3).to_string();
        let pick = rng.next_u64();
        let card = rng.range(0, 99) < 35;
        let whole = rng.range(0, 1) == 0;
        Draw {
            roll,
            n_items,
            item,
            qty,
            pick,
            card,
            whole,
        }
    }
}

/// A cashier's progress through the day.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Sales completed.
    pub sold: u32,
    /// Items still to scan in the open sale.
    pub items_left: u32,
    /// Card tenders the engine refused over the offline limits (paid in cash instead).
    pub cards_refused: u64,
}

/// The events of one cashier action, to be committed as one durable commit.
#[derive(Clone, Debug)]
pub struct Action {
    /// What the engine decided.
    pub events: Vec<EventBody>,
    /// True when committing these events completes a sale.
    pub completes_sale: bool,
}

/// Decides the next cashier action on `state` and asks the engine for its
/// events. An `Err` is the engine refusing a step the workload believes
/// valid, or an earlier receipt unreadable while the journal is closed.
pub fn decide(
    progress: &mut Progress,
    profile: &StoreProfile,
    state: &TerminalState,
    journal: &Journal,
    draw: &Draw,
    target: u32,
    now: u64,
) -> Result<Action, StepError> {
    let cashier: &User = &profile.users[0];
    let manager: &User = &profile.users[1];
    let engine = Engine::new(profile, state);
    let mut completes_sale = false;
    let roll = draw.roll;
    let item = draw.item;
    let events: Result<Vec<EventBody>, String> = if state.shift.is_none() {
        engine
            .open_shift(Some(manager), "100.00")
            .map_err(|e| e.to_string())
    } else if state.cart.is_none() && progress.sold >= target {
        // End of the day: the Z report.
        engine
            .close_shift(Some(manager), "100.00", now)
            .map(|(e, _)| e)
            .map_err(|e| e.to_string())
    } else if state.cart.is_none() {
        if (3..8).contains(&roll) {
            engine
                .adjust_stock(Some(manager), item, draw.n_items as i64 * 6, "delivery")
                .map_err(|e| e.to_string())
        } else if roll < 3 && progress.sold > 0 {
            engine
                .close_shift(Some(manager), "100.00", now)
                .map(|(e, _)| e)
                .map_err(|e| e.to_string())
        } else if let Some(events) = after_sale(&engine, manager, cashier, state, journal, draw)? {
            Ok(events)
        } else {
            progress.items_left = draw.n_items;
            engine.new_sale(Some(cashier)).map_err(|e| e.to_string())
        }
    } else if progress.items_left > 0 || state.cart.as_ref().is_some_and(|c| c.lines.is_empty()) {
        progress.items_left = progress.items_left.saturating_sub(1);
        let lines = state.cart.as_ref().map(|c| c.lines.len()).unwrap_or(0);
        if roll < 5 && lines > 1 {
            Ok(engine
                .void_line(Some(cashier), lines as u32)
                .unwrap_or_default())
        } else {
            engine
                .add_item(
                    Some(cashier),
                    AddRequest {
                        key: item,
                        qty: Some(&draw.qty),
                        now_ms: now,
                    },
                )
                .map_err(|e| e.to_string())
        }
    } else if state.cart.as_ref().is_some_and(|c| c.tenders.is_empty()) {
        match engine.priced() {
            Ok(p) => {
                let amount = format_minor(p.total.minor, 2);
                let card = if draw.card {
                    let token = format!("sim-{}-{}", profile.terminal.0, draw.pick % 1_000_000);
                    match engine.tender_card(Some(cashier), &amount, &token, "4242", Some("VISA")) {
                        Ok(e) => Some(e),
                        // Over the offline card limits: the customer pays cash.
                        Err(
                            SaleError::OverOfflineLimit { .. }
                            | SaleError::OverTransactionLimit { .. }
                            | SaleError::OverRiskOfflineLimit { .. }
                            | SaleError::OverRiskTransactionLimit { .. },
                        ) => {
                            progress.cards_refused += 1;
                            None
                        }
                        Err(e) => return Err(StepError::Refused(format!("card tender: {e}"))),
                    }
                } else {
                    None
                };
                match card {
                    Some(e) => Ok(e),
                    None => engine
                        .tender_cash(Some(cashier), &amount)
                        .map_err(|e| e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        }
    } else {
        completes_sale = true;
        engine
            .complete(Some(cashier))
            .map(|(e, _)| e)
            .map_err(|e| e.to_string())
    };
    Ok(Action {
        events: events?,
        completes_sale,
    })
}

/// A completed sale of this terminal read back from its journal, with its void and refunds.
#[derive(Clone, Debug)]
pub struct SaleRecord {
    /// The sale.
    pub sale: Sale,
    /// Voided already.
    pub voided: bool,
    /// Refunds issued against it so far.
    pub refunds: Vec<RefundRecord>,
}

/// Reads receipt `no` of `terminal` back from the journal's receipt index, as
/// keel-terminal's `Node::sale` does (`None`: no such receipt).
pub fn sale_record(
    journal: &Journal,
    terminal: TerminalId,
    no: ReceiptNo,
) -> Result<Option<SaleRecord>, ReadError> {
    let seq_of = |key: &str| -> Result<Option<u64>, ReadError> {
        Ok(journal
            .derived_get(DerivedTable::Receipts, key)?
            .and_then(|b| TerminalState::decode_seq(&b)))
    };
    let Some(seq) = seq_of(&receipt_keys::sale(terminal, no))? else {
        return Ok(None);
    };
    let Some(stored) = journal.read(seq)? else {
        return Ok(None);
    };
    let EventBody::SaleCompleted(sale) = stored.event.body else {
        return Ok(None);
    };
    let voided = seq_of(&receipt_keys::void(terminal, no))?.is_some();
    let mut refunds = Vec::new();
    for (_, v) in journal.derived_scan_prefix(
        DerivedTable::Receipts,
        &receipt_keys::refund_prefix(terminal, no),
    )? {
        let Some(rseq) = TerminalState::decode_seq(&v) else {
            continue;
        };
        if let Some(r) = journal.read(rseq)? {
            if let EventBody::RefundIssued(rec) = r.event.body {
                refunds.push(rec);
            }
        }
    }
    Ok(Some(SaleRecord {
        sale,
        voided,
        refunds,
    }))
}

/// Between sales, sometimes: a refund (whole or one unit) or a void of an
/// earlier receipt of this terminal, or a kitchen ticket advanced. `None` when
/// the roll asks for none or nothing qualifies (then a new sale starts). Only
/// actions the rules allow are asked for, so any engine refusal is an error.
fn after_sale(
    engine: &Engine<'_>,
    manager: &User,
    cashier: &User,
    state: &TerminalState,
    journal: &Journal,
    draw: &Draw,
) -> Result<Option<Vec<EventBody>>, StepError> {
    let last = state.counters.last_receipt;
    let roll = draw.roll;
    if (8..14).contains(&roll) && last > 0 {
        // Refunds pick any earlier receipt; voids one of the open shift's
        // (the only ones the rules let a manager void).
        let first = match (roll < 12, state.shift.as_ref()) {
            (false, Some(s)) => s.totals.first_receipt.map_or(last + 1, |r| r.0),
            _ => 1,
        };
        if first > last {
            return Ok(None);
        }
        let no = ReceiptNo(first + draw.pick % (last - first + 1));
        let rec = sale_record(journal, state.terminal, no)
            .map_err(|e| match e {
                ReadError::Unavailable => StepError::JournalUnavailable {
                    receipt: no.0,
                    source: e,
                },
                e => StepError::Refused(format!("receipt {}: {e}", no.0)),
            })?
            .ok_or_else(|| format!("acknowledged receipt {} not in the receipt index", no.0))?;
        if rec.voided {
            return Ok(None);
        }
        if roll < 12 {
            let mut left: Vec<(u32, i64)> = Vec::new();
            for l in &rec.sale.lines {
                let done: i64 = rec
                    .refunds
                    .iter()
                    .flat_map(|r| r.lines.iter())
                    .filter(|r| r.line_no == l.line_no)
                    .map(|r| r.qty)
                    .sum();
                if l.qty > done {
                    left.push((l.line_no, l.qty - done));
                }
            }
            if left.is_empty() {
                return Ok(None);
            }
            if !draw.whole {
                let (line, _) = left[(draw.pick / 7 % left.len() as u64) as usize];
                left = vec![(line, 1)];
            }
            let qtys: Vec<(u32, String)> = left.iter().map(|(l, q)| (*l, q.to_string())).collect();
            let req: Vec<RefundRequest<'_>> = qtys
                .iter()
                .map(|(l, q)| RefundRequest {
                    line_no: *l,
                    qty: q,
                })
                .collect();
            return engine
                .refund(Some(manager), &rec.sale, rec.voided, &rec.refunds, &req)
                .map(|(e, _)| Some(e))
                .map_err(|e| StepError::Refused(format!("refund of receipt {}: {e}", no.0)));
        }
        let same_shift = state
            .shift
            .as_ref()
            .is_some_and(|s| s.shift_no == rec.sale.shift_no);
        if !same_shift || !rec.refunds.is_empty() {
            return Ok(None);
        }
        return engine
            .void_sale(Some(manager), &rec.sale, rec.voided, &rec.refunds)
            .map(Some)
            .map_err(|e| StepError::Refused(format!("void of receipt {}: {e}", no.0)));
    }
    if (14..20).contains(&roll) {
        let open: Vec<String> = state
            .kitchen
            .values()
            .filter(|k| k.created && k.is_open())
            .map(|k| format!("{}-{}", k.id.terminal.0, k.id.number))
            .collect();
        if open.is_empty() {
            return Ok(None);
        }
        let pick = &open[(draw.pick % open.len() as u64) as usize];
        return engine
            .kitchen_advance(Some(cashier), pick)
            .map(|(e, _)| Some(e))
            .map_err(|e| StepError::Refused(format!("kitchen advance {pick}: {e}")));
    }
    Ok(None)
}

/// A void or refund the manager saw committed: must survive everything, and
/// puts its units back into stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedReturn {
    /// Terminal that did it.
    pub terminal: TerminalId,
    /// The original receipt.
    pub receipt_no: u64,
    /// A whole-sale void (else a refund).
    pub void: bool,
    /// (sku, units) returned to stock.
    pub lines: Vec<(String, i64)>,
    /// Amount returned, minor units.
    pub amount_minor: i64,
}

impl AckedReturn {
    /// The return a committed event records, if it is a void or a refund.
    pub fn of(terminal: TerminalId, body: &EventBody) -> Option<AckedReturn> {
        match body {
            EventBody::SaleVoided(v) => Some(AckedReturn {
                terminal,
                receipt_no: v.receipt_no.0,
                void: true,
                lines: v.restock.iter().map(|(s, q)| (s.0.clone(), *q)).collect(),
                amount_minor: v.amount.minor,
            }),
            EventBody::RefundIssued(r) => Some(AckedReturn {
                terminal,
                receipt_no: r.original.0,
                void: false,
                lines: r.lines.iter().map(|l| (l.sku.0.clone(), l.qty)).collect(),
                amount_minor: r.total.minor,
            }),
            _ => None,
        }
    }
}

/// What the cashiers did, counted from their committed events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// Sales paid (at least partly) by card.
    pub card_sales: u64,
    /// Card tenders refused over the offline limits (paid in cash instead).
    pub cards_refused: u64,
    /// Refunds issued (partial and whole).
    pub refunds: u64,
    /// Completed sales voided.
    pub voids: u64,
    /// Kitchen tickets opened by sales.
    pub kitchen_tickets: u64,
    /// Kitchen tickets advanced.
    pub kitchen_advances: u64,
    /// Cloud publications (a price change) the leader journaled for the store.
    pub price_changes_applied: u64,
    /// Sales the cloud flagged `price-override` (sold at the old price after the change).
    pub price_override_flags: u64,
}

impl Workload {
    /// Counts one committed event.
    pub fn count(&mut self, body: &EventBody) {
        match body {
            EventBody::SaleCompleted(s) => {
                if s.tenders
                    .iter()
                    .any(|t| matches!(t, keel_core::tender::Tender::Card(_)))
                {
                    self.card_sales += 1;
                }
                self.kitchen_tickets += s.tickets.len() as u64;
            }
            EventBody::RefundIssued(_) => self.refunds += 1,
            EventBody::SaleVoided(_) => self.voids += 1,
            EventBody::KitchenAdvanced { .. } => self.kitchen_advances += 1,
            _ => {}
        }
    }

    /// Adds another run's counts.
    pub fn add(&mut self, o: &Workload) {
        self.card_sales += o.card_sales;
        self.cards_refused += o.cards_refused;
        self.refunds += o.refunds;
        self.voids += o.voids;
        self.kitchen_tickets += o.kitchen_tickets;
        self.kitchen_advances += o.kitchen_advances;
        self.price_changes_applied += o.price_changes_applied;
        self.price_override_flags += o.price_override_flags;
    }
}
