//! The view-model the screens are drawn from: plain data, complete each time
//! (never a delta), shaped like `keel_terminal::ui_bridge::UiSnapshot` so the
//! terminal's adapter is a field-by-field copy. Amounts are integer minor
//! units with their text already formatted by the core; this crate never
//! formats a price itself (the cash keypad's own entry is the one exception,
//! see [`crate::keypad`]).

/// An amount: integer minor units and the store currency's text (`12.50`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneyView {
    /// Minor units.
    pub minor: i64,
    /// Decimal text without the currency code.
    pub text: String,
}

impl MoneyView {
    /// An amount and its text.
    pub fn new(minor: i64, text: impl Into<String>) -> MoneyView {
        MoneyView {
            minor,
            text: text.into(),
        }
    }
}

/// One product on the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductView {
    /// SKU (what a tap sends).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Price as shown (`1.69/kg` for weighed items).
    pub price_text: String,
}

/// A category tab and its products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryView {
    /// Category name.
    pub name: String,
    /// Its products, in display order.
    pub products: Vec<ProductView>,
}

/// One line of the open sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineView {
    /// Line number (what quantity changes and voids take).
    pub line: u32,
    /// Item name.
    pub name: String,
    /// Units, or grams for items sold by weight.
    pub qty: i64,
    /// Quantity as shown (`2`, `0.750 kg`).
    pub qty_text: String,
    /// Sold by weight: no +/- on the line.
    pub by_weight: bool,
    /// Unit price charged.
    pub unit_price: MoneyView,
    /// Amount charged (zero for a voided line).
    pub amount: MoneyView,
    /// Voided lines stay on screen, struck through.
    pub voided: bool,
}

/// The open sale, priced by the core.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CartView {
    /// Lines in order of entry, voided ones included.
    pub lines: Vec<LineView>,
    /// Sum of line amounts after discounts.
    pub subtotal: MoneyView,
    /// All discounts.
    pub discount: MoneyView,
    /// Tax included.
    pub tax: MoneyView,
    /// Total owed.
    pub total: MoneyView,
    /// Paid so far.
    pub paid: MoneyView,
    /// Still to pay.
    pub remaining: MoneyView,
    /// Change to give.
    pub change: MoneyView,
    /// The tenders cover the sale: Complete may be pressed.
    pub covered: bool,
    /// A tender was added: lines can no longer change.
    pub tendered: bool,
}

/// The receipt preview shown when no sale is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptView {
    /// Receipt number.
    pub number: u64,
    /// The receipt as printed text, one entry per line.
    pub lines: Vec<String>,
}

/// The cloud link as the status bar shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CloudState {
    /// No cloud configured.
    #[default]
    None,
    /// Synced recently.
    Online,
    /// Connecting.
    Connecting,
    /// Not reaching the cloud; sales go on and wait to sync.
    Offline,
}

/// The status bar's inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusView {
    /// The cloud link.
    pub cloud: CloudState,
    /// Records the cloud does not hold yet (`None` when unknown).
    pub pending_sync: Option<u64>,
    /// No cluster: this terminal sells alone.
    pub standalone: bool,
    /// The store leader (`None` standalone or in a minority).
    pub leader: Option<u32>,
    /// This terminal is the leader.
    pub is_leader: bool,
    /// Peers connected now.
    pub peers_connected: u32,
    /// Peers in the store.
    pub peers_total: u32,
    /// The receipt printer in a word (`ready`, `paper out`, `none`).
    pub printer: String,
    /// Print jobs waiting.
    pub print_queue: usize,
    /// The AI model in use, `None` when there is none.
    pub ai_model: Option<String>,
}

/// Whether the last action went well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Done.
    Notice,
    /// Refused or failed; nothing was written.
    Error,
}

/// The previous action's notice or error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    /// Notice or error.
    pub kind: MessageKind,
    /// One line.
    pub text: String,
}

/// Where a kitchen ticket is (states only move forward; served tickets leave
/// the kitchen display unless recalled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TicketStatus {
    /// Ordered, not started.
    #[default]
    Pending,
    /// Being made.
    Preparing,
    /// Ready for pickup.
    Ready,
    /// Handed over.
    Served,
}

/// One item on a kitchen ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketItemView {
    /// Name.
    pub name: String,
    /// Units (or grams).
    pub qty: i64,
}

/// A kitchen ticket, from any terminal of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketView {
    /// Ticket id (`1-3`: terminal and number), what bump and recall take.
    pub id: String,
    /// The terminal that sold it.
    pub terminal: u32,
    /// Kitchen station (`bar`, `grill`).
    pub station: String,
    /// Receipt (order) number on its terminal.
    pub receipt: u64,
    /// Items to prepare.
    pub items: Vec<TicketItemView>,
    /// Where it is.
    pub status: TicketStatus,
    /// Seconds since the order came in (the terminal's clock).
    pub age_s: u64,
    /// Recalled and not yet bumped again.
    pub recalled: bool,
}

/// A product the camera's model names, with its confidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateView {
    /// SKU (what picking it adds, as a scan).
    pub sku: String,
    /// Name in the catalog.
    pub name: String,
    /// Confidence in per mille (0..=1000).
    pub confidence_permille: u16,
}

/// What the last press of the camera button found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecognitionView {
    /// Recognized and added to the sale as a scan.
    Added(CandidateView),
    /// Unsure: the top three, most likely first, for the picker.
    Choose(Vec<CandidateView>),
    /// Nothing recognized: manual entry, and why.
    Manual {
        /// Why (no model, no camera, a timeout...).
        reason: String,
    },
}

/// The open sale's card rules under the cashier's risk (not low).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRiskView {
    /// `review` or `high`.
    pub level: String,
    /// The lowered per-transaction offline card limit.
    pub card_limit: MoneyView,
    /// A card payment needs a manager's PIN.
    pub approval_needed: bool,
}

/// A card payment waiting for a manager's PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardApprovalView {
    /// The card amount.
    pub amount: MoneyView,
    /// Why the last PIN was refused.
    pub error: Option<String>,
}

/// Everything the screens show, at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewModel {
    /// Store name.
    pub store_name: String,
    /// This terminal (`T01`).
    pub terminal: String,
    /// Who is logged in (display name).
    pub user: Option<String>,
    /// Digits after the decimal point in the store currency (2 for EUR, 0 for
    /// IDR): how the cash keypad reads keyed digits.
    pub currency_exponent: u8,
    /// Cash notes in minor units, smallest first, for the tender screen's
    /// quick amounts (e.g. 500, 1000, 2000, 5000 for EUR).
    pub cash_notes: Vec<i64>,
    /// Category tabs with their products.
    pub categories: Vec<CategoryView>,
    /// The category tab selected.
    pub category: Option<String>,
    /// The product search text.
    pub search: String,
    /// Products matching the search (shown instead of the category when the search is not empty).
    pub search_results: Vec<ProductView>,
    /// The open sale.
    pub cart: Option<CartView>,
    /// The last receipt, previewed while no sale is open.
    pub receipt: Option<ReceiptView>,
    /// The status bar.
    pub status: StatusView,
    /// The previous action's notice or error.
    pub message: Option<MessageView>,
    /// The cashier's operations pages (shift, reports, receipts, customers, technician).
    pub ops: crate::screens::ops_view::OpsView,
    /// Open kitchen tickets of every terminal, oldest first.
    pub kitchen: Vec<TicketView>,
    /// Served kitchen tickets that can be recalled, newest first.
    pub kitchen_served: Vec<TicketView>,
    /// Open counter orders of every terminal, oldest first.
    pub counter_orders: Vec<crate::screens::counter_orders::CounterOrderView>,
    /// The last counter order placed on this terminal (`K2-7`).
    pub last_counter_order: Option<String>,
    /// The terminal's snapshot serial; 0 until a snapshot from the terminal is
    /// shown (the kitchen display does not chime for tickets already there).
    pub serial: u64,
    /// A camera is there for the camera button.
    pub camera: bool,
    /// What the last press of the camera button found, until the next action.
    pub recognition: Option<RecognitionView>,
    /// The card rules under the cashier's risk, when not low.
    pub card_risk: Option<CardRiskView>,
    /// A card payment waiting for a manager's PIN.
    pub card_approval: Option<CardApprovalView>,
}
