//! The engine: decides which events a command produces, given the current state,
//! the store profile, the acting user and (where needed) records the caller read
//! from the journal. It never changes state itself: the caller commits the events
//! durably, then folds them into state with `TerminalState::apply`. Every check a
//! command needs (role, shift, cart, limits) happens here, so a refused command
//! writes nothing.

mod catalog_ops;
mod counter_ops;
mod kitchen_ops;
mod returns;
mod risk_ops;
mod sale_ops;
mod shift_ops;

pub use catalog_ops::CatalogError;
pub use counter_ops::{CounterOrderError, MAX_COUNTER_LINES};
pub use kitchen_ops::KitchenError;
pub use returns::{RefundRequest, ReturnError};
pub use risk_ops::CardTender;
pub use sale_ops::{AddRequest, SaleError};
pub use shift_ops::ShiftError;

use crate::auth::{allows, Permission, Role, User};
use crate::profile::StoreProfile;
use crate::state::TerminalState;
use thiserror::Error;

/// A command refused for lack of a login or of a role.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Nobody is logged in.
    #[error("not logged in: use `login <pin>` first")]
    NotLoggedIn,
    /// The logged-in user's role lacks the permission.
    #[error(
        "{needed} role needed for {what} (logged in as {have}): `login <pin>` as a {needed} first"
    )]
    Role {
        /// Role that has the permission.
        needed: &'static str,
        /// What was attempted.
        what: &'static str,
        /// Role of the current user.
        have: &'static str,
    },
}

/// Checks that `user` may do `permission`.
pub fn require(user: Option<&User>, permission: Permission) -> Result<&User, Denied> {
    let u = user.ok_or(Denied::NotLoggedIn)?;
    if allows(u.role, permission) {
        Ok(u)
    } else {
        let needed = match permission.needed_role() {
            Role::Technician => "technician or manager",
            r => r.as_str(),
        };
        Err(Denied::Role {
            needed,
            what: permission.describe(),
            have: u.role.as_str(),
        })
    }
}

/// The decision context: the profile and the current state.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    /// Store profile.
    pub profile: &'a StoreProfile,
    /// Current state.
    pub state: &'a TerminalState,
}

impl<'a> Engine<'a> {
    /// An engine over `profile` and `state`.
    pub fn new(profile: &'a StoreProfile, state: &'a TerminalState) -> Engine<'a> {
        Engine { profile, state }
    }

    /// The profile sales are priced under: the configured one with the tax
    /// rates the cloud published (see `published`).
    pub fn selling_profile(&self) -> std::borrow::Cow<'a, StoreProfile> {
        if crate::published::has_tax_rates(&self.state.settings) {
            let mut p = self.profile.clone();
            p.tax = crate::published::tax_in_force(&p.tax, &self.state.settings);
            std::borrow::Cow::Owned(p)
        } else {
            std::borrow::Cow::Borrowed(self.profile)
        }
    }
}
