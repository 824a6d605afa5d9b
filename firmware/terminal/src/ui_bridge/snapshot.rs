//! What the screens show ([`UiSnapshot`]): plain data copied out of the node,
//! complete each time (never a delta), so the UI may drop any snapshot and
//! render the next. This module owns only the shapes; it must not read the
//! node or do I/O (see `view` for how a snapshot is built).

use keel_core::money::Money;

/// An amount: integer minor units plus the store currency's text (`12.50`,
/// `15000` in IDR) as keel-core formats it. Never floating point.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneyView {
    /// Minor units.
    pub minor: i64,
    /// Decimal text without the currency code (`Money::amount_text`).
    pub text: String,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> MoneyView {
        MoneyView {
            minor: m.minor,
            text: m.amount_text(),
        }
    }
}

/// The logged-in user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `cashier`, `manager` or `technician`.
    pub role: String,
}

/// The open shift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftView {
    /// Shift number.
    pub number: u64,
    /// Who opened it.
    pub opened_by: String,
    /// When (ms since epoch).
    pub opened_ms: u64,
    /// Starting cash.
    pub float: MoneyView,
    /// Cash that should be in the drawer now.
    pub expected_cash: MoneyView,
    /// Sales so far.
    pub sales_count: u64,
}

/// One line of the open sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineView {
    /// Line number (what `SetQty`, `VoidLine`, `Discount` and `PriceOverride` take).
    pub line: u32,
    /// SKU.
    pub sku: String,
    /// Item name.
    pub name: String,
    /// Units, or grams for items sold by weight.
    pub qty: i64,
    /// Quantity as shown (`2`, `0.750 kg`).
    pub qty_text: String,
    /// True for items sold by weight.
    pub by_weight: bool,
    /// Unit price charged (per unit or per kg; an override shows here).
    pub unit_price: MoneyView,
    /// Discount on the line (zero when none or voided).
    pub discount: MoneyView,
    /// Amount charged (zero for a voided line).
    pub amount: MoneyView,
    /// Voided lines stay on screen, struck through.
    pub voided: bool,
    /// A manager overrode the price.
    pub overridden: bool,
}

/// The open sale, priced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CartView {
    /// Lines in order of entry, voided ones included.
    pub lines: Vec<LineView>,
    /// Sum of line amounts after discounts.
    pub subtotal: MoneyView,
    /// All discounts.
    pub discount: MoneyView,
    /// Tax included (or added).
    pub tax: MoneyView,
    /// Total owed.
    pub total: MoneyView,
    /// Amount due given the tenders so far (cash rounding applied to the cash part).
    pub due: MoneyView,
    /// Paid so far (cash and card).
    pub paid: MoneyView,
    /// Still to pay.
    pub remaining: MoneyView,
    /// Change to give.
    pub change: MoneyView,
    /// The tenders cover the sale: `Complete` may be pressed.
    pub covered: bool,
    /// Lines can no longer change (a tender was added).
    pub tendered: bool,
}

/// The receipt preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptView {
    /// Receipt number.
    pub number: u64,
    /// Verification code printed on the receipt.
    pub verification: String,
    /// Total.
    pub total: MoneyView,
    /// Change given.
    pub change: MoneyView,
    /// Voided afterwards.
    pub voided: bool,
    /// Refunds issued against it.
    pub refunds: usize,
    /// The receipt as text (`Receipt::render_text`), one entry per printed line.
    pub lines: Vec<String>,
    /// Its sold lines with what is left to refund (for the refund screen).
    pub items: Vec<ReceiptItemView>,
}

/// An X or Z report, as shown after `ReportX` or `ShiftClose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportView {
    /// Z number; `None` for an X report.
    pub z: Option<u64>,
    /// Shift number.
    pub shift: u64,
    /// Completed sales.
    pub sales_count: u64,
    /// Sales total.
    pub sales_total: MoneyView,
    /// Payments per tender kind (`cash` net of change).
    pub tenders: Vec<(String, MoneyView)>,
    /// Tax per class.
    pub taxes: Vec<(String, MoneyView)>,
    /// Voided sales.
    pub voids: u64,
    /// Refunds.
    pub refunds: u64,
    /// Discounts given.
    pub discounts: MoneyView,
    /// No-sale drawer opens.
    pub no_sales: u64,
    /// Starting cash.
    pub float: MoneyView,
    /// Cash expected in the drawer.
    pub expected_cash: MoneyView,
    /// Cash counted (Z only).
    pub counted_cash: Option<MoneyView>,
    /// Counted minus expected (Z only).
    pub over_short: Option<MoneyView>,
}

/// One product on the grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductView {
    /// SKU (what a tap sends as `AddItem::code`).
    pub sku: String,
    /// Name.
    pub name: String,
    /// Price (per unit, or per kg).
    pub price: MoneyView,
    /// Price as shown (`1.69/kg` for weighed items).
    pub price_text: String,
    /// First barcode, if any.
    pub barcode: Option<String>,
    /// Sold by weight (the grid asks the scale or a weight pad).
    pub by_weight: bool,
    /// Kitchen station, if a kitchen prepares it.
    pub station: Option<String>,
}

/// A category tab and its products.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryView {
    /// Category name.
    pub name: String,
    /// Active products, by name.
    pub products: Vec<ProductView>,
}

/// One item on a kitchen ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketItemView {
    /// Name.
    pub name: String,
    /// Units (or grams).
    pub qty: i64,
}

/// A kitchen ticket on the kitchen display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketView {
    /// Ticket id (`terminal-number`, what `KitchenBump` takes).
    pub id: String,
    /// The terminal that sold it.
    pub terminal: u32,
    /// Station.
    pub station: String,
    /// Receipt number on its terminal.
    pub receipt: u64,
    /// Items.
    pub items: Vec<TicketItemView>,
    /// `pending`, `preparing`, `ready` or `served` (served only while recalled).
    pub status: String,
    /// Seconds since the order came in (from the bridge's clock).
    pub age_s: u64,
    /// Times recalled.
    pub recalls: u32,
    /// Recalled and not yet bumped again.
    pub recalled: bool,
}

/// One item of a counter order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterItemView {
    /// Item name (the SKU when the item left the catalog).
    pub name: String,
    /// Quantity as shown (`2`, `0.350 kg`).
    pub qty_text: String,
}

/// An open counter order, as the cashier's "Counter orders" page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterOrderView {
    /// Order number (`K2-7`, what `TakeCounterOrder` takes).
    pub number: String,
    /// The terminal where it was placed.
    pub terminal: u32,
    /// Items.
    pub items: Vec<CounterItemView>,
    /// Total at today's prices; `None` when an item can no longer be sold.
    pub total: Option<MoneyView>,
    /// Seconds since it was placed (from the bridge's clock).
    pub age_s: u64,
}

/// A customer found by `CustomerLookup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
}

/// The cloud link as the status bar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloudState {
    /// No cloud configured.
    None,
    /// Synced recently (this terminal's session is up, or the leader's sync is fresh).
    Online,
    /// Connecting to the cloud.
    Connecting,
    /// Not reaching the cloud; sales keep going and wait to sync.
    Offline,
}

impl CloudState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudState::None => "none",
            CloudState::Online => "online",
            CloudState::Connecting => "connecting",
            CloudState::Offline => "offline",
        }
    }
}

/// The status bar on every screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusBar {
    /// The cloud link.
    pub cloud: CloudState,
    /// Records the cloud does not hold yet (`None` when unknown or no cloud).
    pub pending_sync: Option<u64>,
    /// When the cloud last acknowledged a sync (ms since epoch).
    pub last_sync_ms: Option<u64>,
    /// Seconds since that sync (from the bridge's clock).
    pub last_sync_age_s: Option<u64>,
    /// No cluster configured: this terminal sells alone.
    pub standalone: bool,
    /// The store leader raft knows (`None` standalone or in a minority).
    pub leader: Option<u32>,
    /// This terminal is the store leader.
    pub is_leader: bool,
    /// Peers connected now.
    pub peers_connected: u32,
    /// Peers in the store (members other than this terminal).
    pub peers_total: u32,
    /// The cluster in a few words: `standalone`, `leader T01, 2/2 peers`, `no leader, 0/2 peers`.
    pub cluster_text: String,
    /// The receipt printer in a word (`ready`, `paper out`, ...; `none` without one).
    pub printer: String,
    /// Print jobs waiting.
    pub print_queue: usize,
    /// The AI model in use; `None` until a model runtime exists (issue 7).
    pub ai_model: Option<String>,
}

/// How the last action went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Done; the text says what happened.
    Notice,
    /// Refused or failed; the text says why. Nothing was written.
    Error,
}

/// The message from the previous action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiMessage {
    /// Notice or error.
    pub kind: MessageKind,
    /// One line.
    pub text: String,
    /// The action it answers (`sale add`, `void`, ...).
    pub action: String,
}

/// Everything the screens show, at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiSnapshot {
    /// Increases with every snapshot the bridge builds.
    pub serial: u64,
    /// The bridge's clock at the snapshot (ms since epoch).
    pub now_ms: u64,
    /// Store name.
    pub store_name: String,
    /// This terminal (`T01`).
    pub terminal: String,
    /// The store currency's ISO code.
    pub currency: String,
    /// Who is logged in.
    pub user: Option<UserView>,
    /// The open shift.
    pub shift: Option<ShiftView>,
    /// The open sale.
    pub cart: Option<CartView>,
    /// The receipt preview: the receipt just completed or reprinted, else the last one.
    pub receipt: Option<ReceiptView>,
    /// The last X or Z report asked for, until the next action.
    pub report: Option<ReportView>,
    /// Category tabs with their products.
    pub categories: Vec<CategoryView>,
    /// The category tab selected.
    pub category: Option<String>,
    /// The product search text.
    pub search: String,
    /// Products matching the search (empty when no search).
    pub search_results: Vec<ProductView>,
    /// Open kitchen tickets from every terminal of the store, oldest first.
    pub kitchen: Vec<TicketView>,
    /// Served tickets that can be recalled, newest order first (at most
    /// `view::KITCHEN_SERVED_MAX`).
    pub kitchen_served: Vec<TicketView>,
    /// The last customer lookup's results.
    pub customers: Vec<CustomerView>,
    /// Open counter orders of every terminal of the store, oldest first.
    pub counter_orders: Vec<CounterOrderView>,
    /// The number of the last counter order placed on this terminal (`K2-7`),
    /// what the self-order kiosk's thank-you screen shows.
    pub last_counter_order: Option<String>,
    /// This terminal's most recent receipts, newest first (at most
    /// `history::RECENT_RECEIPTS`).
    pub recent_receipts: Vec<ReceiptSummaryView>,
    /// The technician page's read-only diagnostics.
    pub diagnostics: DiagnosticsView,
    /// The status bar.
    pub status: StatusBar,
    /// The previous action's notice or error.
    pub message: Option<UiMessage>,
    /// A camera is configured and the AI runs: the sale screen's camera button works.
    pub camera: bool,
    /// What the last press of the camera button found, until the next action.
    pub recognition: Option<RecognitionView>,
    /// The open sale's offline card rules when the cashier's risk is not low
    /// (level and lowered limit only: reason codes never reach the screen).
    pub card_risk: Option<CardRiskView>,
    /// A card tender waiting for a manager's PIN (high risk), until the next
    /// other action.
    pub card_approval: Option<CardApprovalView>,
}

/// One product the recognition model offers when it is unsure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateView {
    /// SKU (what picking it adds, as a scan).
    pub sku: String,
    /// Name in the catalog.
    pub name: String,
    /// The model's confidence in per mille (0..=1000).
    pub confidence_permille: u16,
}

/// What the camera button found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecognitionView {
    /// Recognized and added to the sale through the scan path.
    Added(CandidateView),
    /// Not sure: the top three (most likely first) to pick from, or manual entry.
    Choose(Vec<CandidateView>),
    /// Nothing recognized (no model, no camera, a timeout...): enter the product manually.
    Manual {
        /// Why, in a few words.
        reason: String,
    },
}

/// The offline card rules under the cashier's risk (never the reason codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRiskView {
    /// `review` or `high`.
    pub level: String,
    /// The per-transaction offline card limit as the risk policy lowered it.
    pub card_limit: MoneyView,
    /// A card tender needs a manager's PIN (high risk, not approved yet for this sale).
    pub approval_needed: bool,
}

/// A card tender refused for a manager's approval, offered again with a PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardApprovalView {
    /// The card amount to approve.
    pub amount: MoneyView,
    /// Why the last PIN was refused, if one was.
    pub error: Option<String>,
}

/// One sold line of a completed receipt, as the refund screen lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptItemView {
    /// Line number on the receipt (what `Refund` takes).
    pub line: u32,
    /// Item name at the time of sale.
    pub name: String,
    /// Units, or grams for items sold by weight.
    pub qty: i64,
    /// Quantity as shown (`2`, `0.750 kg`).
    pub qty_text: String,
    /// Sold by weight (refunded in grams).
    pub by_weight: bool,
    /// Amount charged for the line.
    pub amount: MoneyView,
    /// Units (or grams) not refunded yet.
    pub refundable: i64,
}

/// A receipt in the recent-receipts list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptSummaryView {
    /// Receipt number.
    pub number: u64,
    /// When it was sold (ms since epoch).
    pub time_ms: u64,
    /// Total.
    pub total: MoneyView,
    /// Lines sold.
    pub lines: usize,
    /// Voided afterwards.
    pub voided: bool,
    /// Refunds issued against it.
    pub refunds: usize,
}

/// A peer of the cluster on the technician page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDiagView {
    /// Terminal (`T02`).
    pub terminal: String,
    /// Address, if known.
    pub addr: Option<String>,
    /// Connected now.
    pub connected: bool,
    /// Milliseconds since it was last heard from, if ever.
    pub last_seen_ms: Option<u64>,
    /// Records it lacks of ours, if known.
    pub lag: Option<u64>,
}

/// The last journal chain verification (asked for with `UiAction::Diagnose`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheckView {
    /// The chain verified from the first record to the head.
    pub ok: bool,
    /// Records verified.
    pub records: u64,
    /// `head <hash>` when ok, else what broke.
    pub detail: String,
    /// When it was checked (ms since epoch).
    pub at_ms: u64,
}

/// Read-only diagnostics for the technician page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagnosticsView {
    /// Firmware version.
    pub firmware: String,
    /// This terminal (`T01`).
    pub terminal: String,
    /// Store id.
    pub store_id: String,
    /// Where the terminal keeps its data.
    pub data_dir: String,
    /// The journal's last sequence number.
    pub journal_last_seq: u64,
    /// The journal head's hash (hex).
    pub journal_head: String,
    /// The last chain verification, `None` until asked.
    pub chain: Option<ChainCheckView>,
    /// The cluster in a few words (as the status bar).
    pub cluster: String,
    /// Raft's term and role (`term 3, follower`), `None` without raft.
    pub raft: Option<String>,
    /// Peers with their state.
    pub peers: Vec<PeerDiagView>,
    /// The uplink state (`connected`, `backoff`...), `None` without a cloud.
    pub uplink_state: Option<String>,
    /// Records the cloud does not hold.
    pub uplink_pending: Option<u64>,
    /// Seconds since the last acknowledged sync.
    pub last_sync_age_s: Option<u64>,
    /// The uplink's last error.
    pub uplink_error: Option<String>,
    /// The receipt printer in one line (`none` without one).
    pub printer: String,
    /// The barcode scanner (`configured` or `none`).
    pub scanner: String,
    /// The AI model in use (`none` until a model runtime exists, issue 7).
    pub ai_model: String,
}
