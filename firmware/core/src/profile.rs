//! The store profile: what a terminal needs to know about its store to sell —
//! receipt header, currency, tax rules, cash rounding, offline card limits and
//! staff. Loaded by the terminal from its config; pure data here.

use crate::auth::User;
use crate::ids::{StoreId, TerminalId};
use crate::money::Currency;
use crate::tax::{CashRounding, TaxConfig};
use crate::tender::CardLimits;
use serde::{Deserialize, Serialize};

/// Everything about the store and this terminal that selling depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreProfile {
    /// Store id.
    pub store: StoreId,
    /// This terminal.
    pub terminal: TerminalId,
    /// Store name for receipts.
    pub store_name: String,
    /// Address lines for receipts.
    pub address: Vec<String>,
    /// Tax registration number, printed on receipts.
    pub tax_id: Option<String>,
    /// Store currency.
    pub currency: Currency,
    /// Tax rules.
    pub tax: TaxConfig,
    /// Cash rounding.
    pub cash_rounding: CashRounding,
    /// Offline card limits.
    pub card_limits: CardLimits,
    /// Staff.
    pub users: Vec<User>,
    /// Line printed at the bottom of receipts.
    pub receipt_footer: Option<String>,
}
