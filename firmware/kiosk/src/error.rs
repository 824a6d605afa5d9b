//! Errors of the kiosk adapter.

use thiserror::Error;

/// What can go wrong wiring the bridge to the screens or mapping an action.
#[derive(Debug, Error)]
pub enum KioskError {
    /// The screens could not be created or rendered.
    #[error(transparent)]
    Ui(#[from] keel_ui::UiError),
    /// The bridge thread could not start.
    #[error(transparent)]
    Bridge(#[from] keel_terminal::ui_bridge::BridgeError),
    /// A card tender with no card terminal configured.
    #[error("card tender: no card terminal on this kiosk")]
    NoCardTerminal,
    /// The card terminal declined.
    #[error("card declined: {0}")]
    CardDeclined(String),
    /// The bridge thread is gone (the terminal is shutting down).
    #[error("ui bridge stopped")]
    BridgeStopped,
}
