//! Counter orders: an order placed on one terminal (the self-order kiosk) and
//! paid at the counter, where a cashier's terminal takes it into a sale. An
//! order holds SKUs and quantities only; it is priced when taken, at that
//! day's prices.
//!
//! The folded state is a CRDT: an order is open once placed and until taken or
//! cancelled, and "taken" wins over "open" and over "cancelled" (money was
//! collected). Two takes of one order by different terminals (possible only
//! without a cluster, or across a partition) are both kept; the earliest by
//! (HLC, terminal) owns the order and the others are flagged as conflicts, so
//! every terminal decides the same whatever order the events arrive in.
//! This module is data and the merge; the rules are in `engine::counter_ops`.

use crate::hlc::Hlc;
use crate::ids::{ReceiptNo, Sku, TerminalId, UserId};
use core::fmt;
use serde::{Deserialize, Serialize};

/// A counter order's number: the placing terminal and its own gapless count,
/// shown as `K2-7` (order 7 of terminal 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CounterOrderId {
    /// Terminal where the order was placed.
    pub terminal: TerminalId,
    /// Number, gapless per terminal, from 1.
    pub number: u64,
}

impl CounterOrderId {
    /// Parses `K2-7` (the `K` optional, any case, surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<CounterOrderId> {
        let t = text.trim();
        let t = t
            .strip_prefix('K')
            .or_else(|| t.strip_prefix('k'))
            .unwrap_or(t);
        let (a, b) = t.split_once('-')?;
        let terminal: u32 = a.parse().ok()?;
        let number: u64 = b.parse().ok()?;
        (number > 0).then_some(CounterOrderId {
            terminal: TerminalId(terminal),
            number,
        })
    }
}

impl fmt::Display for CounterOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K{}-{}", self.terminal.0, self.number)
    }
}

/// One line of a counter order: what and how many (units, or grams for
/// weighed items). Priced when the order is taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterLine {
    /// Item.
    pub sku: Sku,
    /// Units (or grams).
    pub qty: i64,
}

/// A take of an order into a sale on some terminal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CounterTake {
    /// When (the take event's HLC): the earliest take owns the order.
    pub at: Hlc,
    /// Terminal whose sale holds the order.
    pub terminal: TerminalId,
    /// The receipt number that sale was to get (the taking terminal's next one).
    pub receipt_no: ReceiptNo,
    /// Cashier who took it.
    pub by: UserId,
}

/// Where a counter order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterStatus {
    /// Waiting at the counter.
    Open,
    /// In a sale on some terminal.
    Taken,
    /// Cancelled by a manager.
    Cancelled,
}

impl CounterStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CounterStatus::Open => "open",
            CounterStatus::Taken => "taken",
            CounterStatus::Cancelled => "cancelled",
        }
    }
}

/// A counter order as folded from every terminal's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterOrder {
    /// Number.
    pub id: CounterOrderId,
    /// Lines as placed.
    pub lines: Vec<CounterLine>,
    /// When it was placed (ms since the epoch), for the age shown at the counter.
    pub placed_ms: u64,
    /// False while only takes or a cancel are known and the placing event has
    /// not arrived yet (replication order).
    pub placed: bool,
    /// The take that owns the order (the earliest by HLC, then terminal).
    pub taken: Option<CounterTake>,
    /// Other takes of the same order (a conflict to settle by hand), sorted.
    pub conflicts: Vec<CounterTake>,
    /// Cancelled by a manager (ignored once taken).
    pub cancelled: bool,
}

impl CounterOrder {
    /// An order known only from a take or cancel, waiting for its placing event.
    pub fn placeholder(id: CounterOrderId) -> CounterOrder {
        CounterOrder {
            id,
            lines: Vec::new(),
            placed_ms: 0,
            placed: false,
            taken: None,
            conflicts: Vec::new(),
            cancelled: false,
        }
    }

    /// Where the order stands: taken wins over cancelled, both over open.
    pub fn status(&self) -> CounterStatus {
        if self.taken.is_some() {
            CounterStatus::Taken
        } else if self.cancelled {
            CounterStatus::Cancelled
        } else {
            CounterStatus::Open
        }
    }

    /// True while the order waits at the counter.
    pub fn is_open(&self) -> bool {
        self.placed && self.status() == CounterStatus::Open
    }

    /// Merges one take: the earliest owns the order, the others are conflicts.
    /// Commutative and idempotent, so delivery order does not matter.
    pub fn merge_take(&mut self, take: CounterTake) {
        let mut all: Vec<CounterTake> = self.taken.take().into_iter().collect();
        all.append(&mut self.conflicts);
        if !all.contains(&take) {
            all.push(take);
        }
        all.sort_by(|a, b| (a.at, a.terminal).cmp(&(b.at, b.terminal)).then(a.cmp(b)));
        let mut it = all.into_iter();
        self.taken = it.next();
        self.conflicts = it.collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(ms: u64, t: u32) -> CounterTake {
        CounterTake {
            at: Hlc {
                wall_ms: ms,
                counter: 0,
                node: t,
            },
            terminal: TerminalId(t),
            receipt_no: ReceiptNo(1),
            by: UserId("c".into()),
        }
    }

    #[test]
    fn ids_display_and_parse() {
        let id = CounterOrderId {
            terminal: TerminalId(2),
            number: 7,
        };
        assert_eq!(id.to_string(), "K2-7");
        assert_eq!(CounterOrderId::parse(" k2-7 "), Some(id));
        assert_eq!(CounterOrderId::parse("2-7"), Some(id));
        assert_eq!(CounterOrderId::parse("K2-0"), None);
        assert_eq!(CounterOrderId::parse("K2"), None);
        assert_eq!(CounterOrderId::parse("Kx-1"), None);
    }

    #[test]
    fn earliest_take_owns_the_order_whatever_the_order_of_merges() {
        let id = CounterOrderId {
            terminal: TerminalId(2),
            number: 1,
        };
        let mut a = CounterOrder::placeholder(id);
        a.merge_take(take(20, 1));
        a.merge_take(take(10, 3));
        a.merge_take(take(20, 1));
        let mut b = CounterOrder::placeholder(id);
        b.merge_take(take(10, 3));
        b.merge_take(take(20, 1));
        assert_eq!(a, b);
        assert_eq!(a.taken.as_ref().map(|t| t.terminal), Some(TerminalId(3)));
        assert_eq!(a.conflicts.len(), 1);
        assert_eq!(a.status(), CounterStatus::Taken);
        assert!(!a.is_open());
    }

    #[test]
    fn taken_wins_over_cancelled() {
        let id = CounterOrderId {
            terminal: TerminalId(2),
            number: 1,
        };
        let mut o = CounterOrder::placeholder(id);
        o.placed = true;
        assert!(o.is_open());
        o.cancelled = true;
        assert_eq!(o.status(), CounterStatus::Cancelled);
        o.merge_take(take(5, 1));
        assert_eq!(o.status(), CounterStatus::Taken);
    }
}
