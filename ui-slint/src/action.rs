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
    /// Clear the message line.
    DismissMessage,
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
            Action::DismissMessage => "dismiss",
        }
    }
}
