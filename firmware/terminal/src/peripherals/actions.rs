//! What a committed record asks of the peripherals, decided purely from the
//! record: a completed sale prints its receipt (and its kitchen tickets on the
//! kitchen printer); a drawer opening kicks the drawer. Replaying the journal
//! after a restart reprints only what may not have been spooled, and never
//! opens the drawer.

use keel_core::event::{Event, EventBody};
use keel_core::ids::{ReceiptNo, TicketId};

/// One thing to do for a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Print the receipt of the sale journaled at this seq.
    Receipt {
        /// Receipt number.
        receipt: ReceiptNo,
        /// Seq of the `SaleCompleted` record.
        seq: u64,
    },
    /// Print these kitchen tickets (on the kitchen printer, else the receipt printer).
    Kitchen(Vec<TicketId>),
    /// Open the cash drawer.
    KickDrawer,
}

/// Whether actions come from a live commit or from replaying the journal at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Just committed.
    Live,
    /// Read back after a restart: print what may be missing, never open the drawer.
    Replay,
}

/// The actions `event` (this terminal's own record at `seq`) asks for.
pub fn actions_for(event: &Event, seq: u64, origin: Origin) -> Vec<Action> {
    match &event.body {
        EventBody::SaleCompleted(sale) => {
            let mut out = vec![Action::Receipt {
                receipt: sale.receipt_no,
                seq,
            }];
            if !sale.tickets.is_empty() {
                out.push(Action::Kitchen(sale.tickets.clone()));
            }
            out
        }
        EventBody::DrawerOpened { .. } if origin == Origin::Live => vec![Action::KickDrawer],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::chain::ChainHash;
    use keel_core::event::DrawerReason;
    use keel_core::hlc::Hlc;
    use keel_core::ids::{Dot, TerminalId, UserId};

    fn event(body: EventBody) -> Event {
        Event {
            dot: Dot {
                terminal: TerminalId(1),
                seq: 7,
            },
            hlc: Hlc::default(),
            prev: ChainHash::default(),
            body,
        }
    }

    #[test]
    fn drawer_kicks_only_live() {
        let e = event(EventBody::DrawerOpened {
            by: UserId("ani".into()),
            reason: DrawerReason::NoSale,
        });
        assert_eq!(actions_for(&e, 7, Origin::Live), vec![Action::KickDrawer]);
        assert!(actions_for(&e, 7, Origin::Replay).is_empty());
        let s = event(EventBody::SettingChanged {
            key: "k".into(),
            value: "v".into(),
        });
        assert!(actions_for(&s, 7, Origin::Live).is_empty());
    }
}
