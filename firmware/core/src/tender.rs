//! Tenders: cash and offline card (store-and-forward) records, and the offline
//! card limits. A card record holds a processor token, the brand and the last
//! four digits only: never a card number.

use crate::money::Money;
use serde::{Deserialize, Serialize};

/// One payment toward a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tender {
    /// Cash handed over (may exceed what is due; change is given).
    Cash {
        /// Amount tendered.
        amount: Money,
    },
    /// An offline card authorisation to forward later.
    Card(CardRecord),
}

impl Tender {
    /// The tendered amount.
    pub fn amount(&self) -> Money {
        match self {
            Tender::Cash { amount } => *amount,
            Tender::Card(c) => c.amount,
        }
    }

    /// Report key for per-tender totals ("cash", "card").
    pub fn kind(&self) -> &'static str {
        match self {
            Tender::Cash { .. } => "cash",
            Tender::Card(_) => "card",
        }
    }
}

/// A store-and-forward card payment: a token from the card reader, never a PAN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    /// Amount to capture.
    pub amount: Money,
    /// Opaque token from the reader, forwarded to the processor when online.
    pub token: String,
    /// Brand derived from the token prefix or given by the reader (e.g. `VISA`).
    pub brand: String,
    /// Last four digits, for the receipt.
    pub last4: String,
}

/// Offline card limits: per transaction and the total held offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardLimits {
    /// Largest single offline card payment.
    pub per_transaction: Money,
    /// Largest total of offline card payments not yet forwarded.
    pub total_offline: Money,
}
