//! What the screens ask of the terminal, sent on a channel by [`crate::Ui`]:
//! shaped like `keel_terminal::ui_bridge::UiAction` (a subset), with amounts
//! in integer minor units. The UI never waits for the answer; the answer is
//! the next [`crate::view::ViewModel`].

/// Where an added item came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddSource {
    /// The product grid.
    Grid,
    /// A barcode typed on the manual entry field.
    Scan,
}

/// Which manager action the PIN pad authorises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinPurpose {
    /// Void a completed receipt.
    VoidReceipt {
        /// Receipt number.
        receipt: u64,
    },
    /// Refund lines of a receipt (in cash).
    Refund {
        /// Receipt number.
        receipt: u64,
        /// The lines and quantities selected.
        lines: Vec<RefundLine>,
    },
    /// Override a cart line's unit price.
    PriceOverride {
        /// Line number.
        line: u32,
        /// New unit price in minor units.
        price: i64,
        /// Why (journaled with the override).
        reason: String,
    },
    /// Approve a card payment the cashier's high risk holds back.
    CardApproval {
        /// The card amount in minor units.
        amount: i64,
        /// The amount as shown.
        amount_text: String,
    },
}

/// One line of a refund: units, or grams for an item sold by weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefundLine {
    /// Line number on the receipt.
    pub line: u32,
    /// Units (or grams when `by_weight`).
    pub qty: u32,
    /// The line was sold by weight.
    pub by_weight: bool,
}

/// One request from the screens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Add an item by SKU (grid) or barcode (manual entry).
    AddItem {
        /// SKU or barcode.
        code: String,
        /// Grid or manual entry.
        source: AddSource,
    },
    /// Filter the grid by a search (empty clears it).
    ProductSearch {
        /// Query text.
        query: String,
    },
    /// Show one category on the grid.
    SwitchCategory {
        /// Category name.
        category: String,
    },
    /// Change a line's quantity in units.
    SetQty {
        /// Line number.
        line: u32,
        /// New quantity (at least 1).
        qty: u32,
    },
    /// Void a line of the open sale.
    VoidLine {
        /// Line number.
        line: u32,
    },
    /// Abandon the open sale.
    Cancel,
    /// Cash handed over.
    TenderCash {
        /// Minor units.
        amount: i64,
    },
    /// Pay by card (the card terminal supplies the token).
    TenderCard {
        /// Minor units.
        amount: i64,
    },
    /// Complete the sale.
    Complete,
    /// A manager action authorised on the PIN pad.
    ManagerAuthorised {
        /// What it authorises.
        purpose: PinPurpose,
        /// The PIN keyed (never logged).
        pin: String,
    },
    /// Recognize the product the camera sees (the sale screen's camera button).
    Recognize,
    /// Clear the message line (also closes the camera's picker and drops a
    /// card payment waiting for approval).
    DismissMessage,
    /// Log in with a PIN (login page).
    Login {
        /// The PIN keyed (never logged).
        pin: String,
    },
    /// Log out (menu).
    Logout,
    /// Open a shift with a cash float.
    ShiftOpen {
        /// Float in minor units.
        float: i64,
    },
    /// Show the X report of the open shift.
    ReportX,
    /// Close the shift with the cash counted; the Z report comes back.
    ShiftClose {
        /// Counted cash in minor units.
        counted: i64,
    },
    /// Preview a receipt of this terminal (receipts page), without printing.
    PreviewReceipt {
        /// Receipt number.
        receipt: u64,
    },
    /// Print a receipt again and preview it.
    Reprint {
        /// Receipt number.
        receipt: u64,
    },
    /// Look customers up by name, phone or id (empty lists all).
    CustomerLookup {
        /// Query text.
        query: String,
    },
    /// Register or change a customer.
    CustomerSet {
        /// Customer id.
        id: String,
        /// Name.
        name: String,
        /// Phone, if any.
        phone: Option<String>,
    },
    /// Verify the journal chain for the technician page.
    Diagnose,
    /// Move a kitchen ticket one state forward (pending, preparing, ready, served).
    KitchenBump {
        /// Ticket id (`1-3`).
        ticket: String,
    },
    /// Bring a served kitchen ticket back to the kitchen display.
    KitchenRecall {
        /// Ticket id (`1-3`).
        ticket: String,
    },
    /// Place the open order to be paid at the counter (self-order kiosk).
    PlaceCounterOrder,
    /// Take an open counter order into a sale on this till.
    TakeCounterOrder {
        /// Order number (`K2-7`).
        number: String,
    },
}

impl Action {
    /// A short name for logs (never a PIN).
    pub fn name(&self) -> &'static str {
        match self {
            Action::AddItem { .. } => "sale add",
            Action::ProductSearch { .. } => "product search",
            Action::SwitchCategory { .. } => "switch category",
            Action::SetQty { .. } => "sale qty",
            Action::VoidLine { .. } => "sale void-line",
            Action::Cancel => "sale cancel",
            Action::TenderCash { .. } => "sale tender cash",
            Action::TenderCard { .. } => "sale tender card",
            Action::Complete => "sale complete",
            Action::ManagerAuthorised { .. } => "manager authorised",
            Action::Recognize => "model recognize",
            Action::DismissMessage => "dismiss",
            Action::Login { .. } => "login",
            Action::Logout => "logout",
            Action::ShiftOpen { .. } => "shift open",
            Action::ReportX => "report x",
            Action::ShiftClose { .. } => "shift close",
            Action::PreviewReceipt { .. } => "receipt preview",
            Action::Reprint { .. } => "printer reprint",
            Action::CustomerLookup { .. } => "customers",
            Action::CustomerSet { .. } => "customer set",
            Action::Diagnose => "diagnose",
            Action::KitchenBump { .. } => "kitchen bump",
            Action::KitchenRecall { .. } => "kitchen recall",
            Action::PlaceCounterOrder => "order place",
            Action::TakeCounterOrder { .. } => "order take",
        }
    }
}
