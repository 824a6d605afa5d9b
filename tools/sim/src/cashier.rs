//! The simulated cashier: what a terminal's person does next. Owns the
//! workload's choice of action (open a shift, start a sale, scan, void a line,
//! tender, complete, receive goods, close the shift) and asks keel-core's
//! `Engine` for the events of that action. It must not commit, touch the
//! network or draw randomness itself: the world draws a [`Draw`] from the seed
//! and commits what [`decide`] returns.

use crate::catalog;
use crate::rng::SimRng;
use keel_core::auth::User;
use keel_core::engine::{AddRequest, Engine};
use keel_core::event::EventBody;
use keel_core::money::format_minor;
use keel_core::profile::StoreProfile;
use keel_core::state::TerminalState;

/// The random choices of one cashier step, drawn from the seed in a fixed order.
#[derive(Clone, Debug)]
pub struct Draw {
    /// 0..=99: which kind of between-sales action, or a line void.
    pub roll: u64,
    /// Items the next sale scans (1 to 6).
    pub n_items: u32,
    /// The catalog key to scan or receive.
    pub item: &'static str,
    /// The quantity typed (1 to 3).
    pub qty: String,
}

impl Draw {
    /// Draws one step's choices.
    pub fn from_rng(rng: &mut SimRng) -> Draw {
        let roll = rng.range(0, 99);
        let n_items = rng.range(1, 6) as u32;
        let item = catalog::ITEMS[rng.range(0, catalog::ITEMS.len() as u64 - 1) as usize].0;
        let qty = rng.range(1, 3).to_string();
        Draw {
            roll,
            n_items,
            item,
            qty,
        }
    }
}

/// A cashier's progress through the day.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Sales completed.
    pub sold: u32,
    /// Items still to scan in the open sale.
    pub items_left: u32,
}

/// The events of one cashier action, to be committed as one durable commit.
#[derive(Clone, Debug)]
pub struct Action {
    /// What the engine decided.
    pub events: Vec<EventBody>,
    /// True when committing these events completes a sale.
    pub completes_sale: bool,
}

/// Decides the next cashier action on `state` and asks the engine for its
/// events. An `Err` is the engine refusing a step the workload believes valid.
pub fn decide(
    progress: &mut Progress,
    profile: &StoreProfile,
    state: &TerminalState,
    draw: &Draw,
    target: u32,
    now: u64,
) -> Result<Action, String> {
    let cashier: &User = &profile.users[0];
    let manager: &User = &profile.users[1];
    let engine = Engine::new(profile, state);
    let mut completes_sale = false;
    let roll = draw.roll;
    let item = draw.item;
    let events: Result<Vec<EventBody>, String> = if state.shift.is_none() {
        engine
            .open_shift(Some(manager), "100.00")
            .map_err(|e| e.to_string())
    } else if state.cart.is_none() && progress.sold >= target {
        // End of the day: the Z report.
        engine
            .close_shift(Some(manager), "100.00", now)
            .map(|(e, _)| e)
            .map_err(|e| e.to_string())
    } else if state.cart.is_none() {
        if (3..8).contains(&roll) {
            engine
                .adjust_stock(Some(manager), item, draw.n_items as i64 * 6, "delivery")
                .map_err(|e| e.to_string())
        } else if roll < 3 && progress.sold > 0 {
            engine
                .close_shift(Some(manager), "100.00", now)
                .map(|(e, _)| e)
                .map_err(|e| e.to_string())
        } else {
            progress.items_left = draw.n_items;
            engine.new_sale(Some(cashier)).map_err(|e| e.to_string())
        }
    } else if progress.items_left > 0 || state.cart.as_ref().is_some_and(|c| c.lines.is_empty()) {
        progress.items_left = progress.items_left.saturating_sub(1);
        let lines = state.cart.as_ref().map(|c| c.lines.len()).unwrap_or(0);
        if roll < 5 && lines > 1 {
            Ok(engine
                .void_line(Some(cashier), lines as u32)
                .unwrap_or_default())
        } else {
            engine
                .add_item(
                    Some(cashier),
                    AddRequest {
                        key: item,
                        qty: Some(&draw.qty),
                        now_ms: now,
                    },
                )
                .map_err(|e| e.to_string())
        }
    } else if state.cart.as_ref().is_some_and(|c| c.tenders.is_empty()) {
        match engine.priced() {
            Ok(p) => engine
                .tender_cash(Some(cashier), &format_minor(p.total.minor, 2))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    } else {
        completes_sale = true;
        engine
            .complete(Some(cashier))
            .map(|(e, _)| e)
            .map_err(|e| e.to_string())
    };
    Ok(Action {
        events: events?,
        completes_sale,
    })
}
