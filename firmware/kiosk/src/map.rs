//! The two translations between the terminal and the screens, both pure:
//!
//! - [`view_model`]: a bridge [`UiSnapshot`] into keel-ui's [`ViewModel`]
//!   (field copies; money stays integer minor units with the text keel-core
//!   formatted, never re-formatted here).
//! - [`Mapper::actions`]: a keel-ui [`Action`] into the bridge
//!   [`UiAction`]s that carry it out (a manager-authorised void becomes the
//!   bridge's `VoidReceipt` with the PIN; a card tender gets its token from a
//!   [`CardTokenSource`]).
//!
//! This module must not hold business rules (the engine decides) nor do I/O.

use crate::card::CardTokenSource;
use crate::error::KioskError;
use keel_core::money::Currency;
use keel_terminal::ui_bridge::snapshot as bridge;
use keel_terminal::ui_bridge::{AddSource, Qty, UiAction, UiSnapshot};
use keel_ui::action::{self as ui, Action};
use keel_ui::view::{self as vm, ViewModel};

fn money(m: &bridge::MoneyView) -> vm::MoneyView {
    vm::MoneyView::new(m.minor, m.text.clone())
}

fn product(p: &bridge::ProductView) -> vm::ProductView {
    vm::ProductView {
        sku: p.sku.clone(),
        name: p.name.clone(),
        price_text: p.price_text.clone(),
    }
}

fn line(l: &bridge::LineView) -> vm::LineView {
    vm::LineView {
        line: l.line,
        name: l.name.clone(),
        qty: l.qty,
        qty_text: l.qty_text.clone(),
        by_weight: l.by_weight,
        unit_price: money(&l.unit_price),
        amount: money(&l.amount),
        voided: l.voided,
    }
}

fn cart(c: &bridge::CartView) -> vm::CartView {
    vm::CartView {
        lines: c.lines.iter().map(line).collect(),
        subtotal: money(&c.subtotal),
        discount: money(&c.discount),
        tax: money(&c.tax),
        total: money(&c.total),
        paid: money(&c.paid),
        remaining: money(&c.remaining),
        change: money(&c.change),
        covered: c.covered,
        tendered: c.tendered,
    }
}

fn status(s: &bridge::StatusBar) -> vm::StatusView {
    vm::StatusView {
        cloud: match s.cloud {
            bridge::CloudState::None => vm::CloudState::None,
            bridge::CloudState::Online => vm::CloudState::Online,
            bridge::CloudState::Connecting => vm::CloudState::Connecting,
            bridge::CloudState::Offline => vm::CloudState::Offline,
        },
        pending_sync: s.pending_sync,
        standalone: s.standalone,
        leader: s.leader,
        is_leader: s.is_leader,
        peers_connected: s.peers_connected,
        peers_total: s.peers_total,
        printer: s.printer.clone(),
        print_queue: s.print_queue,
        ai_model: s.ai_model.clone(),
    }
}

fn ticket(t: &bridge::TicketView) -> vm::TicketView {
    vm::TicketView {
        id: t.id.clone(),
        terminal: t.terminal,
        station: t.station.clone(),
        receipt: t.receipt,
        items: t
            .items
            .iter()
            .map(|i| vm::TicketItemView {
                name: i.name.clone(),
                qty: i.qty,
            })
            .collect(),
        status: match t.status.as_str() {
            "preparing" => vm::TicketStatus::Preparing,
            "ready" => vm::TicketStatus::Ready,
            "served" => vm::TicketStatus::Served,
            _ => vm::TicketStatus::Pending,
        },
        age_s: t.age_s,
        recalled: t.recalled,
    }
}

fn message(m: &bridge::UiMessage) -> vm::MessageView {
    vm::MessageView {
        kind: match m.kind {
            bridge::MessageKind::Notice => vm::MessageKind::Notice,
            bridge::MessageKind::Error => vm::MessageKind::Error,
        },
        text: m.text.clone(),
    }
}

/// Cash notes offered as quick amounts, in minor units, smallest first: a
/// display hint only (what the drawer holds is not known here). Rupiah and
/// yen get their own notes; every other currency 5, 10, 20 and 50 majors.
pub fn cash_notes(currency: Currency) -> Vec<i64> {
    match currency.code() {
        "IDR" => vec![10_000, 20_000, 50_000, 100_000],
        "JPY" => vec![1_000, 2_000, 5_000, 10_000],
        _ => [5, 10, 20, 50]
            .iter()
            .map(|n| n * currency.minor_per_major())
            .collect(),
    }
}

/// A counter order as the cashier's counter orders page shows it.
fn counter_order(
    o: &bridge::CounterOrderView,
) -> keel_ui::screens::counter_orders::CounterOrderView {
    keel_ui::screens::counter_orders::CounterOrderView {
        number: o.number.clone(),
        terminal: o.terminal,
        items: o
            .items
            .iter()
            .map(|i| keel_ui::screens::counter_orders::CounterItemView {
                name: i.name.clone(),
                qty_text: i.qty_text.clone(),
            })
            .collect(),
        total: o
            .total
            .as_ref()
            .map(|t| vm::MoneyView::new(t.minor, t.text.clone())),
        age_s: o.age_s,
    }
}

/// The view-model the screens draw for `s`. An unknown currency code (never
/// sent by a bridge on a valid profile) reads as exponent 2 with no quick
/// amounts.
pub fn view_model(s: &UiSnapshot) -> ViewModel {
    let currency = Currency::from_code(&s.currency).ok();
    ViewModel {
        store_name: s.store_name.clone(),
        terminal: s.terminal.clone(),
        user: s.user.as_ref().map(|u| u.name.clone()),
        currency_exponent: currency.map_or(2, |c| c.exponent()),
        cash_notes: currency.map(cash_notes).unwrap_or_default(),
        categories: s
            .categories
            .iter()
            .map(|c| vm::CategoryView {
                name: c.name.clone(),
                products: c.products.iter().map(product).collect(),
            })
            .collect(),
        category: s.category.clone(),
        search: s.search.clone(),
        search_results: s.search_results.iter().map(product).collect(),
        cart: s.cart.as_ref().map(cart),
        receipt: s.receipt.as_ref().map(|r| vm::ReceiptView {
            number: r.number,
            lines: r.lines.clone(),
        }),
        status: status(&s.status),
        message: s.message.as_ref().map(message),
        ops: crate::map_ops::ops_view(s),
        kitchen: s.kitchen.iter().map(ticket).collect(),
        kitchen_served: s.kitchen_served.iter().map(ticket).collect(),
        counter_orders: s.counter_orders.iter().map(counter_order).collect(),
        last_counter_order: s.last_counter_order.clone(),
        serial: s.serial,
        camera: s.camera,
        recognition: s.recognition.as_ref().map(recognition),
        card_risk: s.card_risk.as_ref().map(|r| vm::CardRiskView {
            level: r.level.clone(),
            card_limit: money(&r.card_limit),
            approval_needed: r.approval_needed,
        }),
        card_approval: s.card_approval.as_ref().map(|a| vm::CardApprovalView {
            amount: money(&a.amount),
            error: a.error.clone(),
        }),
    }
}

fn candidate(c: &bridge::CandidateView) -> vm::CandidateView {
    vm::CandidateView {
        sku: c.sku.clone(),
        name: c.name.clone(),
        confidence_permille: c.confidence_permille,
    }
}

/// What the camera found, as the screens take it.
fn recognition(r: &bridge::RecognitionView) -> vm::RecognitionView {
    match r {
        bridge::RecognitionView::Added(c) => vm::RecognitionView::Added(candidate(c)),
        bridge::RecognitionView::Choose(list) => {
            vm::RecognitionView::Choose(list.iter().map(candidate).collect())
        }
        bridge::RecognitionView::Manual { reason } => vm::RecognitionView::Manual {
            reason: reason.clone(),
        },
    }
}

/// Turns the screens' actions into bridge actions. Keeps what it needs to
/// know of the last snapshot: whether a sale is open (the first item added
/// opens one, as at any till) and the card token source.
pub struct Mapper {
    cards: Option<Box<dyn CardTokenSource>>,
    /// A sale is open, or a `SaleNew` was sent and not answered yet.
    sale_open: bool,
    /// The command id every `Complete` of the open sale carries, so a double
    /// tap (or a retry) makes one sale and previews its receipt.
    complete_id: Option<String>,
}

impl Mapper {
    /// A mapper; `cards` is where card tenders get their token (`None`: no
    /// card terminal, card tenders are refused here).
    pub fn new(cards: Option<Box<dyn CardTokenSource>>) -> Mapper {
        Mapper {
            cards,
            sale_open: false,
            complete_id: None,
        }
    }

    /// Takes in the snapshot the screens now show. A snapshot with a cart, or
    /// with any answer (an error from `SaleNew` included), settles whether a
    /// sale is open; a snapshot still in flight when `SaleNew` was sent can
    /// make the next add send it again, which the engine refuses harmlessly.
    pub fn seen(&mut self, s: &UiSnapshot) {
        if s.cart.is_some() || s.message.is_some() || !self.sale_open {
            self.sale_open = s.cart.is_some();
        }
        // Snapshots arrive in order: once one shows no sale, the sale the id
        // was for is closed (completed or cancelled).
        if s.cart.is_none() {
            self.complete_id = None;
        }
    }

    /// The bridge actions carrying out `action`, in order.
    pub fn actions(&mut self, action: Action) -> Result<Vec<UiAction>, KioskError> {
        Ok(match action {
            Action::AddItem { code, source } => {
                let add = UiAction::AddItem {
                    code,
                    qty: None,
                    source: match source {
                        ui::AddSource::Grid => AddSource::Grid,
                        ui::AddSource::Scan => AddSource::Scan,
                    },
                };
                if self.sale_open {
                    vec![add]
                } else {
                    self.sale_open = true;
                    vec![UiAction::SaleNew, add]
                }
            }
            Action::ProductSearch { query } => vec![UiAction::ProductSearch { query }],
            Action::SwitchCategory { category } => vec![UiAction::SwitchCategory { category }],
            Action::SetQty { line, qty } => vec![UiAction::SetQty {
                line,
                qty: Qty::Units(qty),
            }],
            Action::VoidLine { line } => vec![UiAction::VoidLine { line }],
            Action::Cancel => vec![UiAction::Cancel],
            Action::TenderCash { amount } => vec![UiAction::TenderCash { amount }],
            Action::TenderCard { amount } => {
                let cards = self.cards.as_mut().ok_or(KioskError::NoCardTerminal)?;
                let card = cards.authorise(amount)?;
                vec![UiAction::TenderCard {
                    amount,
                    token: card.token,
                    last4: card.last4,
                    brand: card.brand,
                }]
            }
            // A card payment at high risk, approved on the PIN pad: the card
            // terminal authorises it again and the tender carries the PIN.
            Action::ManagerAuthorised {
                purpose: ui::PinPurpose::CardApproval { amount, .. },
                pin,
            } => {
                let cards = self.cards.as_mut().ok_or(KioskError::NoCardTerminal)?;
                let card = cards.authorise(amount)?;
                vec![UiAction::TenderCardApproved {
                    amount,
                    token: card.token,
                    last4: card.last4,
                    brand: card.brand,
                    manager_pin: pin,
                }]
            }
            Action::Recognize => vec![UiAction::Recognize],
            Action::Complete => {
                let id = self
                    .complete_id
                    .get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
                vec![UiAction::Complete {
                    command_id: Some(id.clone()),
                }]
            }
            Action::ManagerAuthorised { purpose, pin } => {
                crate::map_ops::manager(purpose, pin).into_iter().collect()
            }
            Action::DismissMessage => vec![UiAction::DismissMessage],
            // Login, shift and reports, receipts, customers, diagnostics.
            a @ (Action::Login { .. }
            | Action::Logout
            | Action::ShiftOpen { .. }
            | Action::ReportX
            | Action::ShiftClose { .. }
            | Action::PreviewReceipt { .. }
            | Action::Reprint { .. }
            | Action::CustomerLookup { .. }
            | Action::CustomerSet { .. }
            | Action::Diagnose) => crate::map_ops::actions(&a).unwrap_or_default(),
            Action::KitchenBump { ticket } => vec![UiAction::KitchenBump { ticket }],
            Action::KitchenRecall { ticket } => vec![UiAction::KitchenRecall { ticket }],
            Action::PlaceCounterOrder => vec![UiAction::PlaceCounterOrder],
            Action::TakeCounterOrder { number } => vec![UiAction::TakeCounterOrder { number }],
        })
    }
}
