//! Where a card tender's payment token comes from. The screens only say "pay
//! the rest by card"; a card terminal authorises the amount and hands back a
//! token and the last four digits (never a card number, which must not reach
//! this program). [`CardTokenSource`] is that seam; [`DemoCardTerminal`] is
//! the stand-in for demo stores and tests, where no card terminal exists.

use crate::error::KioskError;

/// An authorised card payment as the bridge records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardAuth {
    /// The payment token from the card terminal.
    pub token: String,
    /// Last four digits of the card.
    pub last4: String,
    /// Card brand, if the terminal reports it.
    pub brand: Option<String>,
}

/// A card terminal: authorises an amount and returns its token.
pub trait CardTokenSource {
    /// Authorises `amount` minor units. Called on the UI thread, so a real
    /// terminal must answer from state it already holds, never wait on I/O.
    fn authorise(&mut self, amount: i64) -> Result<CardAuth, KioskError>;
}

/// DEMO ONLY: a pretend card terminal that approves every amount with a
/// made-up token (`demo-token-<n>`), last four `0000` and brand `DEMO`. For
/// the demo store and tests, where the UI has no card terminal; never wire it
/// on a store that takes real cards.
#[derive(Debug, Default)]
pub struct DemoCardTerminal {
    issued: u64,
}

impl CardTokenSource for DemoCardTerminal {
    fn authorise(&mut self, amount: i64) -> Result<CardAuth, KioskError> {
        if amount <= 0 {
            return Err(KioskError::CardDeclined(format!(
                "amount {amount} is not positive"
            )));
        }
        self.issued += 1;
        Ok(CardAuth {
            token: format!("demo-token-{}", self.issued),
            last4: "0000".into(),
            brand: Some("DEMO".into()),
        })
    }
}
