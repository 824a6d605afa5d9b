//! What the screens can ask the terminal to do ([`UiAction`]) and its
//! translation into the console's [`Command`]s, so every action runs under the
//! console's rules (permissions, journaling, idempotency). Pure: no I/O, no
//! node. Amounts arrive as integer minor units and leave as the decimal text
//! the engine parses in the store's currency; this module must not hold
//! business rules.

use crate::console::command::Command;
use keel_core::money::{format_minor, Currency};

/// A quantity keyed on a screen: whole units, or grams for items sold by weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qty {
    /// Whole units.
    Units(u32),
    /// Grams (for an item sold by weight; shown and parsed as kilograms).
    Grams(u32),
}

impl Qty {
    /// The quantity as the engine parses it: `2`, or kilograms `0.750`.
    pub fn text(self) -> String {
        match self {
            Qty::Units(n) => n.to_string(),
            Qty::Grams(g) => format_minor(i64::from(g), 3),
        }
    }
}

/// A discount keyed on a screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscountValue {
    /// A fixed amount off, in minor units.
    Amount(i64),
    /// A percentage off, in basis points (1250 = 12.5 %).
    Percent(u32),
}

/// Where an item added to the sale came from (for logs; both add the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddSource {
    /// A barcode scanner (or a barcode typed on the manual entry pad).
    Scan,
    /// A tap on the product grid.
    Grid,
}

/// Everything the screens can ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiAction {
    /// Log in with a PIN (a manager PIN elevates, as on the console).
    Login {
        /// The PIN keyed.
        pin: String,
    },
    /// Log out.
    Logout,
    /// Open a shift with a cash float.
    ShiftOpen {
        /// Float in minor units.
        float: i64,
    },
    /// Show the X report of the open shift.
    ReportX,
    /// Close the shift with the counted cash; the Z report is shown.
    ShiftClose {
        /// Counted cash in minor units.
        counted: i64,
    },
    /// Start a sale.
    SaleNew,
    /// Add an item by barcode or SKU.
    AddItem {
        /// Barcode or SKU.
        code: String,
        /// Quantity; one unit when absent.
        qty: Option<Qty>,
        /// Scanner or grid.
        source: AddSource,
    },
    /// Change a line's quantity.
    SetQty {
        /// Line number.
        line: u32,
        /// New quantity.
        qty: Qty,
    },
    /// Void a line of the open sale.
    VoidLine {
        /// Line number.
        line: u32,
    },
    /// Discount a line (`Some`) or the whole sale (`None`).
    Discount {
        /// Line number, or the whole sale.
        line: Option<u32>,
        /// Amount or percentage.
        value: DiscountValue,
    },
    /// Override a line's unit price, authorised by a manager's PIN.
    PriceOverride {
        /// Line number.
        line: u32,
        /// New unit price in minor units.
        price: i64,
        /// Why.
        reason: String,
        /// The manager's PIN from the PIN pad.
        manager_pin: String,
    },
    /// A cash tender.
    TenderCash {
        /// Cash handed over, in minor units.
        amount: i64,
    },
    /// An offline card record (token and last four digits; never a card number).
    TenderCard {
        /// Amount in minor units.
        amount: i64,
        /// The payment token from the card terminal.
        token: String,
        /// Last four digits.
        last4: String,
        /// Card brand, `CARD` when absent.
        brand: Option<String>,
    },
    /// A card tender at high risk, approved by a manager's PIN from the PIN
    /// pad (the console's `sale tender card ... --approve <pin>`): runs in the
    /// cashier's session, the sale stays the cashier's.
    TenderCardApproved {
        /// Amount in minor units.
        amount: i64,
        /// The payment token from the card terminal.
        token: String,
        /// Last four digits.
        last4: String,
        /// Card brand, `CARD` when absent.
        brand: Option<String>,
        /// The approving manager's PIN.
        manager_pin: String,
    },
    /// Take a frame from the configured camera and recognize the product: added
    /// through the scan path when sure, else the top three or manual entry.
    /// Capture and inference run with the node unlocked.
    Recognize,
    /// Complete the sale; the receipt preview shows it.
    Complete {
        /// A UUID for this attempt: sending it again returns the first receipt.
        command_id: Option<String>,
    },
    /// Abandon the open sale (journaled).
    Cancel,
    /// Void a completed sale, authorised by a manager's PIN.
    VoidReceipt {
        /// Receipt number.
        receipt: u64,
        /// The manager's PIN from the PIN pad.
        manager_pin: String,
    },
    /// Refund lines of a receipt, authorised by a manager's PIN.
    Refund {
        /// Receipt number.
        receipt: u64,
        /// (line, quantity) pairs.
        lines: Vec<(u32, Qty)>,
        /// The manager's PIN from the PIN pad.
        manager_pin: String,
    },
    /// Print a receipt again (the last one when `None`) and preview it.
    Reprint {
        /// Receipt number.
        receipt: Option<u64>,
    },
    /// Look customers up by id, name or phone.
    CustomerLookup {
        /// Query text (empty lists all, up to 50).
        query: String,
    },
    /// Register or change a customer.
    CustomerSet {
        /// Customer id.
        id: String,
        /// Phone, if any.
        phone: Option<String>,
        /// Name.
        name: String,
    },
    /// Move a kitchen ticket forward (pending, preparing, ready, served).
    KitchenBump {
        /// Ticket id as shown (`1-3`).
        ticket: String,
    },
    /// Bring a served ticket back to the kitchen screen.
    KitchenRecall {
        /// Ticket id as shown.
        ticket: String,
    },
    /// Open the drawer without a sale (journaled).
    NoSale,
    /// Place the open sale as a counter order, paid at the counter (the
    /// self-order kiosk's "Pay at the counter"); the sale is closed.
    PlaceCounterOrder,
    /// Take an open counter order into a new sale on this terminal.
    TakeCounterOrder {
        /// Order number as shown (`K2-7`).
        number: String,
    },
    /// Filter the product grid by a search (empty clears it). Screen state only.
    ProductSearch {
        /// Query text.
        query: String,
    },
    /// Show one category on the product grid. Screen state only.
    SwitchCategory {
        /// Category name.
        category: String,
    },
    /// Clear the last error or notice. Screen state only.
    DismissMessage,
    /// Nothing: just send a fresh snapshot.
    Refresh,
    /// Preview a receipt of this terminal without printing it (receipts
    /// page). Screen state only; an unknown number is refused.
    PreviewReceipt {
        /// Receipt number.
        receipt: u64,
    },
    /// Verify the journal chain for the technician page (read only).
    Diagnose,
}

impl UiAction {
    /// True for the actions authorised by a manager's PIN on the PIN pad.
    pub fn manager_pin(&self) -> Option<&str> {
        match self {
            UiAction::PriceOverride { manager_pin, .. }
            | UiAction::VoidReceipt { manager_pin, .. }
            | UiAction::Refund { manager_pin, .. } => Some(manager_pin),
            _ => None,
        }
    }

    /// A short name for logs (never a PIN or a card token).
    pub fn name(&self) -> &'static str {
        match self {
            UiAction::Login { .. } => "login",
            UiAction::Logout => "logout",
            UiAction::ShiftOpen { .. } => "shift open",
            UiAction::ReportX => "report x",
            UiAction::ShiftClose { .. } => "shift close",
            UiAction::SaleNew => "sale new",
            UiAction::AddItem { .. } => "sale add",
            UiAction::SetQty { .. } => "sale qty",
            UiAction::VoidLine { .. } => "sale void-line",
            UiAction::Discount { .. } => "sale discount",
            UiAction::PriceOverride { .. } => "sale override",
            UiAction::TenderCash { .. } => "sale tender cash",
            UiAction::TenderCard { .. } => "sale tender card",
            UiAction::TenderCardApproved { .. } => "sale tender card --approve",
            UiAction::Recognize => "model recognize",
            UiAction::Complete { .. } => "sale complete",
            UiAction::Cancel => "sale cancel",
            UiAction::VoidReceipt { .. } => "void",
            UiAction::Refund { .. } => "refund",
            UiAction::Reprint { .. } => "printer reprint",
            UiAction::CustomerLookup { .. } => "customers",
            UiAction::CustomerSet { .. } => "customer set",
            UiAction::KitchenBump { .. } => "kitchen advance",
            UiAction::KitchenRecall { .. } => "kitchen recall",
            UiAction::NoSale => "drawer open",
            UiAction::PlaceCounterOrder => "order place",
            UiAction::TakeCounterOrder { .. } => "order take",
            UiAction::ProductSearch { .. } => "product search",
            UiAction::SwitchCategory { .. } => "switch category",
            UiAction::DismissMessage => "dismiss",
            UiAction::Refresh => "refresh",
            UiAction::PreviewReceipt { .. } => "receipt preview",
            UiAction::Diagnose => "diagnose",
        }
    }

    /// The console command that executes this action, or `None` for actions
    /// that only change what the screen shows.
    pub fn command(&self, currency: Currency) -> Option<Command> {
        let money = |minor: i64| format_minor(minor, currency.exponent());
        Some(match self {
            UiAction::Login { pin } => Command::Login { pin: pin.clone() },
            UiAction::Logout => Command::Logout,
            UiAction::ShiftOpen { float } => Command::ShiftOpen {
                float: money(*float),
            },
            UiAction::ReportX => Command::ReportX,
            UiAction::ShiftClose { counted } => Command::ShiftClose {
                counted: money(*counted),
            },
            UiAction::SaleNew => Command::SaleNew,
            UiAction::AddItem { code, qty, .. } => Command::SaleAdd {
                key: code.trim().to_string(),
                qty: qty.map(Qty::text),
            },
            UiAction::SetQty { line, qty } => Command::SaleQty {
                line: *line,
                qty: qty.text(),
            },
            UiAction::VoidLine { line } => Command::SaleVoidLine { line: *line },
            UiAction::Discount { line, value } => Command::SaleDiscount {
                line: *line,
                value: match value {
                    DiscountValue::Amount(m) => money(*m),
                    DiscountValue::Percent(bp) => format!("{}%", format_minor(i64::from(*bp), 2)),
                },
            },
            UiAction::PriceOverride {
                line,
                price,
                reason,
                ..
            } => Command::SaleOverride {
                line: *line,
                price: money(*price),
                reason: reason.clone(),
            },
            UiAction::TenderCash { amount } => Command::TenderCash {
                amount: money(*amount),
            },
            UiAction::TenderCard {
                amount,
                token,
                last4,
                brand,
            } => Command::TenderCard {
                amount: money(*amount),
                token: token.clone(),
                last4: last4.clone(),
                brand: brand.clone(),
                // At high risk the PIN pad sends `TenderCardApproved`.
                approve_pin: None,
            },
            UiAction::TenderCardApproved {
                amount,
                token,
                last4,
                brand,
                manager_pin,
            } => Command::TenderCard {
                amount: money(*amount),
                token: token.clone(),
                last4: last4.clone(),
                brand: brand.clone(),
                approve_pin: Some(manager_pin.clone()),
            },
            UiAction::Complete { command_id } => Command::SaleComplete {
                command_id: command_id.clone(),
            },
            UiAction::Cancel => Command::SaleCancel,
            UiAction::VoidReceipt { receipt, .. } => Command::Void { receipt: *receipt },
            UiAction::Refund { receipt, lines, .. } => Command::Refund {
                receipt: *receipt,
                lines: lines.iter().map(|(l, q)| (*l, q.text())).collect(),
            },
            UiAction::Reprint { receipt } => Command::PrinterReprint { receipt: *receipt },
            UiAction::CustomerLookup { query } => Command::Customers {
                query: query.clone(),
            },
            UiAction::CustomerSet { id, phone, name } => Command::CustomerSet {
                id: id.clone(),
                phone: phone.clone(),
                name: name.clone(),
            },
            UiAction::KitchenBump { ticket } => Command::KitchenAdvance {
                ticket: ticket.clone(),
            },
            UiAction::KitchenRecall { ticket } => Command::KitchenRecall {
                ticket: ticket.clone(),
            },
            UiAction::NoSale => Command::DrawerOpen,
            UiAction::PlaceCounterOrder => Command::OrderPlace,
            UiAction::TakeCounterOrder { number } => Command::OrderTake {
                number: number.trim().to_string(),
            },
            UiAction::ProductSearch { .. }
            | UiAction::SwitchCategory { .. }
            | UiAction::DismissMessage
            | UiAction::Refresh
            | UiAction::PreviewReceipt { .. }
            | UiAction::Recognize
            | UiAction::Diagnose => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_the_currencys_decimal_text() {
        let eur = Currency::EUR;
        assert_eq!(
            UiAction::TenderCash { amount: 2000 }.command(eur),
            Some(Command::TenderCash {
                amount: "20.00".into()
            })
        );
        assert_eq!(
            UiAction::TenderCash { amount: 15000 }.command(Currency::IDR),
            Some(Command::TenderCash {
                amount: "15000".into()
            })
        );
        assert_eq!(
            UiAction::Discount {
                line: None,
                value: DiscountValue::Percent(1250)
            }
            .command(eur),
            Some(Command::SaleDiscount {
                line: None,
                value: "12.50%".into()
            })
        );
        assert_eq!(
            UiAction::AddItem {
                code: " BANANA ".into(),
                qty: Some(Qty::Grams(750)),
                source: AddSource::Grid
            }
            .command(eur),
            Some(Command::SaleAdd {
                key: "BANANA".into(),
                qty: Some("0.750".into())
            })
        );
        assert_eq!(
            UiAction::ProductSearch { query: "x".into() }.command(eur),
            None
        );
    }

    #[test]
    fn only_voids_refunds_and_overrides_take_a_manager_pin() {
        let void = UiAction::VoidReceipt {
            receipt: 1,
            manager_pin: "9999".into(),
        };
        assert_eq!(void.manager_pin(), Some("9999"));
        assert_eq!(UiAction::Login { pin: "9999".into() }.manager_pin(), None);
        assert!(!void.name().contains("9999"));
    }
}
