//! Kitchen tickets: a sale's lines routed to a station; states only move forward
//! (pending -> preparing -> ready -> served), so the most advanced state wins when
//! replicas merge. A recall brings a served ticket back to the screen.

use crate::ids::{ReceiptNo, TicketId};
use serde::{Deserialize, Serialize};

/// Where a ticket is in the kitchen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TicketStatus {
    /// Ordered, not started.
    Pending,
    /// Being made.
    Preparing,
    /// Ready for pickup.
    Ready,
    /// Handed over.
    Served,
}

impl TicketStatus {
    /// The next state, if any.
    pub fn next(self) -> Option<TicketStatus> {
        match self {
            TicketStatus::Pending => Some(TicketStatus::Preparing),
            TicketStatus::Preparing => Some(TicketStatus::Ready),
            TicketStatus::Ready => Some(TicketStatus::Served),
            TicketStatus::Served => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Pending => "pending",
            TicketStatus::Preparing => "preparing",
            TicketStatus::Ready => "ready",
            TicketStatus::Served => "served",
        }
    }
}

/// One item on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketItem {
    /// Item name.
    pub name: String,
    /// Units (or grams).
    pub qty: i64,
}

/// A kitchen ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Id.
    pub id: TicketId,
    /// Station (e.g. `grill`).
    pub station: String,
    /// Receipt it came from.
    pub receipt_no: ReceiptNo,
    /// Items to prepare.
    pub items: Vec<TicketItem>,
    /// Current state (the most advanced seen).
    pub status: TicketStatus,
    /// How many times the ticket was recalled (grow-only).
    pub recalls: u32,
    /// Recalls already dismissed by bumping again (grow-only, <= recalls).
    pub dismissed_recalls: u32,
    /// When the order came in (ms since epoch), for age timers.
    pub created_ms: u64,
    /// False while only state changes from other terminals are known and the
    /// sale that creates the ticket has not arrived yet (replication order).
    pub created: bool,
}

impl Ticket {
    /// True while the ticket belongs on the kitchen screen.
    pub fn is_open(&self) -> bool {
        self.created
            && (self.status < TicketStatus::Served || self.recalls > self.dismissed_recalls)
    }

    /// A ticket known only from state changes, waiting for its sale.
    pub fn placeholder(id: TicketId) -> Ticket {
        Ticket {
            id,
            station: String::new(),
            receipt_no: ReceiptNo(0),
            items: Vec::new(),
            status: TicketStatus::Pending,
            recalls: 0,
            dismissed_recalls: 0,
            created_ms: 0,
            created: false,
        }
    }
}
