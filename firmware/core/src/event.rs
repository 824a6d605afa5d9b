//! Events: every fact a terminal records, as one immutable journal entry
//! identified by a dot, stamped with a hybrid logical clock and chained by
//! SHA-256 to its predecessor. This module defines the vocabulary; the fold into
//! state is in `state`, the hash chain and record encoding in `chain`.

use crate::cart::CartEdit;
use crate::catalog::CatalogItem;
use crate::chain::ChainHash;
use crate::counter_order::{CounterLine, CounterOrderId};
use crate::hlc::Hlc;
use crate::ids::{Dot, ReceiptNo, Sku, StoreId, TerminalId, TicketId, UserId};
use crate::kitchen::TicketStatus;
use crate::money::{Currency, Money};
use crate::sale::{RefundRecord, Sale, VoidRecord};
use crate::shift::ShiftReport;
use serde::{Deserialize, Serialize};

/// One journal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Origin terminal and its gapless sequence number.
    pub dot: Dot,
    /// Hybrid logical timestamp.
    pub hlc: Hlc,
    /// SHA-256 of the previous record of the same terminal (the genesis hash for seq 1).
    pub prev: ChainHash,
    /// What happened.
    pub body: EventBody,
}

/// Why the cash drawer opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DrawerReason {
    /// A sale with cash.
    Sale(ReceiptNo),
    /// A no-sale open by an authorised user.
    NoSale,
    /// Cash paid back for a void or refund of this receipt.
    PayBack(ReceiptNo),
    /// Cash put in or taken out, or the shift's float/count.
    CashMovement,
}

/// What an event records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventBody {
    /// First record of every journal: binds it to its store and terminal.
    JournalOpened {
        /// Store.
        store: StoreId,
        /// Terminal.
        terminal: TerminalId,
        /// Store currency.
        currency: Currency,
        /// Firmware version that created the journal.
        firmware: String,
    },
    /// A catalog item created or changed (price changes included); last writer wins.
    CatalogUpserted(CatalogItem),
    /// Stock changed outside a sale (receiving, shrink, count).
    StockAdjusted {
        /// Item.
        sku: Sku,
        /// Change in units (or grams).
        delta: i64,
        /// Why.
        reason: String,
    },
    /// A shift opened with a float.
    ShiftOpened {
        /// Shift number.
        shift_no: u64,
        /// Who.
        by: UserId,
        /// Starting cash.
        float: Money,
    },
    /// Cash put into (positive) or taken out of (negative) the drawer.
    CashMoved {
        /// Shift.
        shift_no: u64,
        /// Who.
        by: UserId,
        /// Signed amount.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// The shift closed with its Z report.
    ShiftClosed(ShiftReport),
    /// An edit to the open cart.
    CartEdited {
        /// Who made the edit.
        by: UserId,
        /// The edit.
        edit: CartEdit,
    },
    /// A sale completed.
    SaleCompleted(Sale),
    /// A completed sale voided.
    SaleVoided(VoidRecord),
    /// A refund against a receipt.
    RefundIssued(RefundRecord),
    /// The cash drawer was opened.
    DrawerOpened {
        /// Who.
        by: UserId,
        /// Why.
        reason: DrawerReason,
    },
    /// A kitchen ticket moved forward (or a recall was dismissed).
    KitchenAdvanced {
        /// Ticket.
        ticket: TicketId,
        /// New state (never behind the current one).
        to: TicketStatus,
        /// Recalls dismissed so far.
        dismissed_recalls: u32,
        /// Who.
        by: UserId,
    },
    /// A served ticket brought back to the kitchen screen.
    KitchenRecalled {
        /// Ticket.
        ticket: TicketId,
        /// Recall count after this recall.
        recalls: u32,
        /// Who.
        by: UserId,
    },
    /// A customer created or changed (last writer by HLC wins).
    CustomerUpserted(crate::customer::Customer),
    /// A store setting changed (last writer by HLC wins).
    SettingChanged {
        /// Setting key (e.g. `receipt.footer`).
        key: String,
        /// New value.
        value: String,
    },
    /// The store's business day was closed by consensus (the raft log orders it).
    DayClosed {
        /// The business day (`YYYY-MM-DD`).
        day: String,
        /// Index of the raft entry that decided it (0 for a terminal without a cluster).
        raft_index: u64,
        /// Terminal where a manager asked for it.
        requested_on: TerminalId,
    },
    /// A customer registered or changed, personal fields sealed under the
    /// customer's own key (see `pii`); last writer by HLC wins. Replaces
    /// `CustomerUpserted`, which older journals still hold in clear.
    CustomerSealed(crate::pii::SealedCustomer),
    /// A counter order placed on this terminal (the self-order kiosk), to be
    /// paid at the counter; placed time is the event's HLC.
    CounterOrderPlaced {
        /// Order number (this terminal's).
        order: CounterOrderId,
        /// What was ordered (priced when taken).
        lines: Vec<CounterLine>,
        /// Who was logged in on the placing terminal.
        by: UserId,
    },
    /// A counter order taken into a sale on this terminal.
    CounterOrderTaken {
        /// Order.
        order: CounterOrderId,
        /// The receipt number the sale was to get (this terminal's next one).
        receipt_no: ReceiptNo,
        /// Raft index of the consensus that granted the take (0 standalone).
        raft_index: u64,
        /// Cashier.
        by: UserId,
    },
    /// A counter order cancelled by a manager (ignored if it was taken).
    CounterOrderCancelled {
        /// Order.
        order: CounterOrderId,
        /// Manager.
        by: UserId,
    },
    /// The terminal's risk assessment of the cashier handed to the open cart
    /// (it decides the offline card rules, see `risk`), with the manager who
    /// approved offline card tenders under it, if one did.
    CartRiskAssessed {
        /// Cashier whose activity was assessed.
        by: UserId,
        /// The assessment.
        assessment: crate::risk::RiskAssessment,
        /// Manager who approved offline card tenders at `High`.
        approved_by: Option<UserId>,
    },
    /// A sale completed under a risk assessment at `Review` or above: flagged
    /// for review in the cloud (journaled in the same commit as the sale).
    SaleFlagged {
        /// The sale's receipt number (this terminal's).
        receipt_no: ReceiptNo,
        /// Cashier of the sale.
        cashier: UserId,
        /// The assessment the sale completed under.
        assessment: crate::risk::RiskAssessment,
        /// Manager who approved its offline card tender, if any.
        approved_by: Option<UserId>,
    },
}

impl EventBody {
    /// Short kind name for logs, `journal tail` and the uplink's priority.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::JournalOpened { .. } => "journal-opened",
            EventBody::CatalogUpserted(_) => "catalog-upserted",
            EventBody::StockAdjusted { .. } => "stock-adjusted",
            EventBody::ShiftOpened { .. } => "shift-opened",
            EventBody::CashMoved { .. } => "cash-moved",
            EventBody::ShiftClosed(_) => "shift-closed",
            EventBody::CartEdited { .. } => "cart-edited",
            EventBody::SaleCompleted(_) => "sale-completed",
            EventBody::SaleVoided(_) => "sale-voided",
            EventBody::RefundIssued(_) => "refund-issued",
            EventBody::DrawerOpened { .. } => "drawer-opened",
            EventBody::KitchenAdvanced { .. } => "kitchen-advanced",
            EventBody::KitchenRecalled { .. } => "kitchen-recalled",
            EventBody::DayClosed { .. } => "day-closed",
            EventBody::SettingChanged { .. } => "setting-changed",
            EventBody::CustomerUpserted(_) => "customer-upserted",
            EventBody::CustomerSealed(_) => "customer-sealed",
            EventBody::CounterOrderPlaced { .. } => "counter-order-placed",
            EventBody::CounterOrderTaken { .. } => "counter-order-taken",
            EventBody::CounterOrderCancelled { .. } => "counter-order-cancelled",
            EventBody::CartRiskAssessed { .. } => "cart-risk-assessed",
            EventBody::SaleFlagged { .. } => "sale-flagged",
        }
    }
}
