//! The kitchen display's Rust side: fills `KitchenState` (ui/kitchen.slint)
//! from the view-model's tickets, keeps the only state that exists on this
//! screen alone (the station filter and which ticket ids were seen, for the
//! new-order [`Chime`]), and turns `KitchenActions` taps into
//! [`Action::KitchenBump`] / [`Action::KitchenRecall`] on the sink.
//!
//! It must not decide a ticket's next state (the terminal's engine does) nor
//! wait on anything: a tap sends an action and returns.

use crate::action::Action;
use crate::generated::{
    AppWindow, KitchenActions, KitchenState, KitchenTicket, Level, StationTab, TicketState,
};
use crate::models::sync_rows;
use crate::screens::chime::{Chime, SilentChime};
use crate::view::{TicketStatus, TicketView, ViewModel};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::rc::Rc;

/// An order is "getting late" from this age (seconds): its card turns amber.
pub const AGE_LATE_S: u64 = 5 * 60;
/// An order is "late" from this age (seconds): its card turns red.
pub const AGE_OVERDUE_S: u64 = 10 * 60;
/// Item lines shown on a card; more are summarised as `+ N more`.
pub const CARD_ITEMS_MAX: usize = 6;

/// How late an order is: fresh (under [`AGE_LATE_S`]), getting late (under
/// [`AGE_OVERDUE_S`]), late.
pub fn age_level(age_s: u64) -> Level {
    if age_s >= AGE_OVERDUE_S {
        Level::Bad
    } else if age_s >= AGE_LATE_S {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// An age as `mm:ss` (minutes keep counting past 59: `75:02`).
pub fn timer_text(age_s: u64) -> String {
    format!("{:02}:{:02}", age_s / 60, age_s % 60)
}

/// A ticket's items, one per line (`2 × Espresso`), at most [`CARD_ITEMS_MAX`].
pub fn items_text(t: &TicketView) -> String {
    let mut lines: Vec<String> = t
        .items
        .iter()
        .take(CARD_ITEMS_MAX)
        .map(|i| format!("{} × {}", i.qty, i.name))
        .collect();
    if t.items.len() > CARD_ITEMS_MAX {
        lines.push(format!("+ {}", t.items.len() - CARD_ITEMS_MAX));
    }
    lines.join("\n")
}

fn state(s: TicketStatus) -> TicketState {
    match s {
        TicketStatus::Pending => TicketState::Pending,
        TicketStatus::Preparing => TicketState::Preparing,
        TicketStatus::Ready => TicketState::Ready,
        TicketStatus::Served => TicketState::Served,
    }
}

/// The card for one ticket.
pub fn card(t: &TicketView) -> KitchenTicket {
    KitchenTicket {
        id: t.id.as_str().into(),
        order: t.receipt.to_string().into(),
        terminal: format!("T{:02}", t.terminal).into(),
        station: t.station.as_str().into(),
        items: items_text(t).into(),
        timer: timer_text(t.age_s).into(),
        age: age_level(t.age_s),
        state: state(t.status),
        recalled: t.recalled,
    }
}

/// The kitchen display's screen-local state and models.
pub struct Kitchen {
    /// The station shown (`None`: all).
    filter: Option<String>,
    /// Ticket ids already on screen once (no chime for them again).
    seen: HashSet<String>,
    /// The first snapshot from the terminal was taken in (its tickets were
    /// there before the display: no chime for them).
    primed: bool,
    chime: Box<dyn Chime>,
    /// The last tickets shown, for re-filtering without a snapshot.
    open: Vec<TicketView>,
    served: Vec<TicketView>,
    tickets_model: Rc<VecModel<KitchenTicket>>,
    served_model: Rc<VecModel<KitchenTicket>>,
    stations_model: Rc<VecModel<StationTab>>,
}

impl Kitchen {
    /// Empty models set on the window's `KitchenState`; no chime.
    pub fn attach(window: &AppWindow) -> Kitchen {
        let k = Kitchen {
            filter: None,
            seen: HashSet::new(),
            primed: false,
            chime: Box::new(SilentChime),
            open: Vec::new(),
            served: Vec::new(),
            tickets_model: Rc::new(VecModel::default()),
            served_model: Rc::new(VecModel::default()),
            stations_model: Rc::new(VecModel::default()),
        };
        let st = window.global::<KitchenState<'_>>();
        st.set_tickets(ModelRc::from(k.tickets_model.clone()));
        st.set_served(ModelRc::from(k.served_model.clone()));
        st.set_stations(ModelRc::from(k.stations_model.clone()));
        k
    }

    /// The sound rung for each new order.
    pub fn set_chime(&mut self, chime: Box<dyn Chime>) {
        self.chime = chime;
    }

    /// The station filter (`None`: all stations).
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// Shows one station only (`""`: all) and redraws from the last tickets.
    pub fn set_filter(&mut self, window: &AppWindow, station: &str) {
        self.filter = (!station.is_empty()).then(|| station.to_string());
        self.redraw(window);
    }

    /// Takes in a snapshot: rings the chime once per new ticket, then redraws.
    pub fn show(&mut self, window: &AppWindow, view: &ViewModel) {
        if view.serial == 0 {
            // Not a snapshot from the terminal yet (the window's empty start).
            return;
        }
        let fresh: Vec<&TicketView> = view
            .kitchen
            .iter()
            .filter(|t| !self.seen.contains(&t.id))
            .collect();
        if self.primed {
            for t in &fresh {
                log::info!("kitchen: new order {} ({})", t.id, t.station);
                self.chime.ring();
            }
        }
        let fresh: Vec<String> = fresh.iter().map(|t| t.id.clone()).collect();
        self.seen.extend(fresh);
        // Forget ids no longer listed anywhere, so the set stays small.
        let listed: HashSet<&str> = view
            .kitchen
            .iter()
            .chain(&view.kitchen_served)
            .map(|t| t.id.as_str())
            .collect();
        self.seen.retain(|id| listed.contains(id.as_str()));
        self.primed = true;
        self.open = view.kitchen.clone();
        self.served = view.kitchen_served.clone();
        self.redraw(window);
    }

    fn shown(&self, t: &TicketView) -> bool {
        match self.filter.as_deref() {
            Some(s) => s == t.station,
            None => true,
        }
    }

    fn redraw(&self, window: &AppWindow) {
        let st = window.global::<KitchenState<'_>>();
        let open: Vec<KitchenTicket> = self
            .open
            .iter()
            .filter(|t| self.shown(t))
            .map(card)
            .collect();
        st.set_open_count(i32::try_from(open.len()).unwrap_or(i32::MAX));
        sync_rows(&self.tickets_model, open);
        sync_rows(
            &self.served_model,
            self.served
                .iter()
                .filter(|t| self.shown(t))
                .map(card)
                .collect(),
        );
        let mut stations: BTreeSet<&str> = self
            .open
            .iter()
            .chain(&self.served)
            .map(|t| t.station.as_str())
            .collect();
        if let Some(f) = self.filter.as_deref() {
            stations.insert(f);
        }
        let tabs = std::iter::once("")
            .chain(stations)
            .map(|s| StationTab {
                station: SharedString::from(s),
                selected: self.filter.as_deref().unwrap_or("") == s,
            })
            .collect();
        sync_rows(&self.stations_model, tabs);
    }
}

/// Wires `KitchenActions` to `kitchen` and the sink. Taps send and return.
pub fn wire(window: &AppWindow, kitchen: &Rc<RefCell<Kitchen>>, sink: Rc<dyn Fn(Action)>) {
    let actions = window.global::<KitchenActions<'_>>();
    {
        let sink = Rc::clone(&sink);
        actions.on_bump(move |id| {
            sink(Action::KitchenBump {
                ticket: id.to_string(),
            })
        });
    }
    actions.on_recall(move |id| {
        sink(Action::KitchenRecall {
            ticket: id.to_string(),
        })
    });
    let (k, w) = (Rc::downgrade(kitchen), window.as_weak());
    actions.on_filter(move |station| {
        if let (Some(k), Some(w)) = (k.upgrade(), w.upgrade()) {
            k.borrow_mut().set_filter(&w, station.as_str());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::TicketItemView;

    #[test]
    fn ages_colour_and_read_as_minutes_and_seconds() {
        assert_eq!(age_level(0), Level::Ok);
        assert_eq!(age_level(AGE_LATE_S - 1), Level::Ok);
        assert_eq!(age_level(AGE_LATE_S), Level::Warn);
        assert_eq!(age_level(AGE_OVERDUE_S - 1), Level::Warn);
        assert_eq!(age_level(AGE_OVERDUE_S), Level::Bad);
        assert_eq!(timer_text(0), "00:00");
        assert_eq!(timer_text(65), "01:05");
        assert_eq!(timer_text(75 * 60 + 2), "75:02");
    }

    #[test]
    fn long_tickets_are_summarised() {
        let t = TicketView {
            id: "1-1".into(),
            terminal: 1,
            station: "grill".into(),
            receipt: 1,
            items: (0..8)
                .map(|i| TicketItemView {
                    name: format!("Item {i}"),
                    qty: 1,
                })
                .collect(),
            status: TicketStatus::Pending,
            age_s: 0,
            recalled: false,
        };
        let text = items_text(&t);
        assert_eq!(text.lines().count(), CARD_ITEMS_MAX + 1);
        assert!(text.starts_with("1 × Item 0\n"));
        assert!(text.ends_with("+ 2"));
    }
}
