//! The view-model of the cashier's operations pages (login, shift and
//! reports, receipts and refunds, customers, technician): plain data, shaped
//! like the matching parts of `keel_terminal::ui_bridge::UiSnapshot`, held in
//! [`crate::view::ViewModel::ops`]. Amounts are integer minor units with the
//! core's text; this module formats nothing.

use crate::view::MoneyView;

/// The open shift.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShiftView {
    /// Shift number.
    pub number: u64,
    /// Who opened it (user id).
    pub opened_by: String,
    /// Starting cash.
    pub float: MoneyView,
    /// Cash that should be in the drawer now.
    pub expected_cash: MoneyView,
    /// Sales so far.
    pub sales_count: u64,
}

/// An X report (shift open) or a Z report (shift closed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// A receipt in the recent list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptSummaryView {
    /// Receipt number.
    pub number: u64,
    /// When it was sold, as shown (`14:05`).
    pub time_text: String,
    /// Total.
    pub total: MoneyView,
    /// Voided afterwards.
    pub voided: bool,
    /// Refunds issued against it.
    pub refunds: usize,
}

/// A sold line of the previewed receipt, for the refund selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptItemView {
    /// Line number on the receipt.
    pub line: u32,
    /// Item name.
    pub name: String,
    /// Quantity sold as shown (`2`, `0.750 kg`).
    pub qty_text: String,
    /// Sold by weight: refunded whole (in grams), not unit by unit.
    pub by_weight: bool,
    /// Amount charged for the line.
    pub amount: MoneyView,
    /// Units (or grams) not refunded yet.
    pub refundable: i64,
}

/// A customer found by a lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
}

/// A cluster peer on the technician page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerView {
    /// Terminal (`T02`).
    pub terminal: String,
    /// Address, if known.
    pub addr: Option<String>,
    /// Connected now.
    pub connected: bool,
    /// Milliseconds since last heard from.
    pub last_seen_ms: Option<u64>,
    /// Our records it lacks, if known.
    pub lag: Option<u64>,
}

/// The last journal chain verification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainView {
    /// Verified from the first record to the head.
    pub ok: bool,
    /// Records verified.
    pub records: u64,
    /// `head <hash>`, or what broke.
    pub detail: String,
}

/// Read-only diagnostics for the technician page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiagnosticsView {
    /// Firmware version.
    pub firmware: String,
    /// This terminal.
    pub terminal: String,
    /// Store id.
    pub store_id: String,
    /// Data directory.
    pub data_dir: String,
    /// Journal last sequence number.
    pub journal_last_seq: u64,
    /// Journal head hash (hex).
    pub journal_head: String,
    /// The last chain verification, `None` until asked.
    pub chain: Option<ChainView>,
    /// The cluster in a few words.
    pub cluster: String,
    /// Raft term and role, `None` without raft.
    pub raft: Option<String>,
    /// Peers.
    pub peers: Vec<PeerView>,
    /// Uplink state, `None` without a cloud.
    pub uplink_state: Option<String>,
    /// Records the cloud does not hold.
    pub uplink_pending: Option<u64>,
    /// Seconds since the last acknowledged sync.
    pub last_sync_age_s: Option<u64>,
    /// The uplink's last error.
    pub uplink_error: Option<String>,
    /// The receipt printer in one line.
    pub printer: String,
    /// The scanner (`configured`, `none`).
    pub scanner: String,
    /// The AI model (`none` until issue 7).
    pub ai_model: String,
}

/// Everything the operations pages show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpsView {
    /// The logged-in user's role (`cashier`, `manager`, `technician`).
    pub role: Option<String>,
    /// The open shift.
    pub shift: Option<ShiftView>,
    /// The last X or Z report asked for.
    pub report: Option<ReportView>,
    /// This terminal's recent receipts, newest first.
    pub recent_receipts: Vec<ReceiptSummaryView>,
    /// The previewed receipt's lines (of [`crate::view::ViewModel::receipt`]).
    pub receipt_items: Vec<ReceiptItemView>,
    /// The previewed receipt was voided.
    pub receipt_voided: bool,
    /// The last customer lookup's results.
    pub customers: Vec<CustomerView>,
    /// Diagnostics.
    pub diagnostics: DiagnosticsView,
}
