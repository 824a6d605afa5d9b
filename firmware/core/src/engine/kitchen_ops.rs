//! Kitchen commands: advance a ticket one state (pending -> preparing -> ready ->
//! served), dismiss a recall, and recall a served ticket.

use super::{require, Denied, Engine};
use crate::auth::{Permission, User};
use crate::event::EventBody;
use crate::ids::TicketId;
use crate::kitchen::{Ticket, TicketStatus};
use thiserror::Error;

/// Errors from kitchen commands.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KitchenError {
    /// Login or role missing.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No such ticket.
    #[error("no kitchen ticket {0}")]
    NoTicket(String),
    /// Served already and not recalled.
    #[error("ticket {0} is already served (use `kitchen recall {0}` to bring it back)")]
    Served(TicketId),
    /// Recall of a ticket that is still on the screen.
    #[error("ticket {0} is still open; only served tickets can be recalled")]
    StillOpen(TicketId),
}

impl<'a> Engine<'a> {
    /// Finds a ticket by its display form (`1-7`) or by its number alone (this terminal's).
    pub fn find_ticket(&self, text: &str) -> Result<&'a Ticket, KitchenError> {
        let t = text.trim();
        let not_found = || KitchenError::NoTicket(t.to_string());
        let (terminal, number) = match t.split_once('-') {
            Some((a, b)) => (
                a.parse().map_err(|_| not_found())?,
                b.parse().map_err(|_| not_found())?,
            ),
            None => (self.state.terminal.0, t.parse().map_err(|_| not_found())?),
        };
        self.state
            .kitchen
            .get(&TicketId {
                terminal: crate::ids::TerminalId(terminal),
                number,
            })
            .ok_or_else(not_found)
    }

    /// `kitchen advance <ticket>`.
    pub fn kitchen_advance(
        &self,
        user: Option<&'a User>,
        ticket: &str,
    ) -> Result<(Vec<EventBody>, TicketStatus), KitchenError> {
        let u = require(user, Permission::Kitchen)?;
        let t = self.find_ticket(ticket)?;
        let (to, dismissed) = match t.status.next() {
            Some(next) => (next, t.dismissed_recalls),
            None if t.recalls > t.dismissed_recalls => (TicketStatus::Served, t.recalls),
            None => return Err(KitchenError::Served(t.id)),
        };
        Ok((
            vec![EventBody::KitchenAdvanced {
                ticket: t.id,
                to,
                dismissed_recalls: dismissed,
                by: u.id.clone(),
            }],
            to,
        ))
    }

    /// `kitchen recall <ticket>`.
    pub fn kitchen_recall(
        &self,
        user: Option<&'a User>,
        ticket: &str,
    ) -> Result<Vec<EventBody>, KitchenError> {
        let u = require(user, Permission::Kitchen)?;
        let t = self.find_ticket(ticket)?;
        if t.is_open() {
            return Err(KitchenError::StillOpen(t.id));
        }
        Ok(vec![EventBody::KitchenRecalled {
            ticket: t.id,
            recalls: t.recalls + 1,
            by: u.id.clone(),
        }])
    }
}
