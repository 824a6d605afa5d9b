//! Upload priority of each kind of event: sales and payments first, then
//! kitchen, then customers, then statistics (everything else). Pure.

use keel_core::event::EventBody;

/// Upload class, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Sales, voids, refunds, tenders, drawer and cash movements, shifts, day close,
    /// sales flagged for risk review.
    Sales = 0,
    /// Kitchen ticket progress.
    Kitchen = 1,
    /// Customer records.
    Customers = 2,
    /// Everything else: catalog, stock, settings, cart edits, journal headers.
    Statistics = 3,
}

impl Priority {
    /// Every class, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Sales,
        Priority::Kitchen,
        Priority::Customers,
        Priority::Statistics,
    ];
}

/// The class of an event.
pub fn priority_of(body: &EventBody) -> Priority {
    match body {
        EventBody::SaleCompleted(_)
        | EventBody::SaleVoided(_)
        | EventBody::RefundIssued(_)
        | EventBody::DrawerOpened { .. }
        | EventBody::CashMoved { .. }
        | EventBody::ShiftOpened { .. }
        | EventBody::ShiftClosed(_)
        | EventBody::DayClosed { .. }
        | EventBody::SaleFlagged { .. } => Priority::Sales,
        EventBody::KitchenAdvanced { .. } | EventBody::KitchenRecalled { .. } => Priority::Kitchen,
        EventBody::CustomerUpserted(_) | EventBody::CustomerSealed(_) => Priority::Customers,
        _ => Priority::Statistics,
    }
}
