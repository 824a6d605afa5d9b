//! The recent journal events the loss-prevention features are computed from,
//! kept in memory so a score never reads the journal while the node is locked
//! for a sale: loaded from the journal's tail at start, then extended by the
//! node's commit listener with every record this terminal commits. This
//! module owns that bounded window; it must not compute features (keel-ai's
//! `features` does) or hold any business rule.

use keel_core::event::Event;
use keel_store::Journal;
use std::collections::VecDeque;

/// Most events kept (days of a busy terminal: the features need 4 h, the
/// cashier's usual basket a few dozen earlier sales).
pub const MAX_EVENTS: usize = 20_000;
/// Oldest event kept, relative to the newest (ms): the features' window is 4 h,
/// the cashier's usual basket looks further back.
pub const RETAIN_MS: u64 = 14 * 24 * 3_600_000;

/// This terminal's recent events, oldest first.
#[derive(Debug, Default)]
pub struct EventWindow {
    events: VecDeque<Event>,
}

impl EventWindow {
    /// The last [`MAX_EVENTS`] records of `journal`. A read failure leaves the
    /// window empty (scores then see no history) and is logged.
    pub fn from_journal(journal: &Journal) -> EventWindow {
        let mut w = EventWindow::default();
        match journal.tail(MAX_EVENTS as u64) {
            Ok(stored) => w.extend(stored.into_iter().map(|s| s.event)),
            Err(e) => log::warn!("ai: cannot read the journal's recent events: {e}"),
        }
        w
    }

    /// Appends events (in commit order) and drops what is too old or too many.
    pub fn extend(&mut self, events: impl IntoIterator<Item = Event>) {
        self.events.extend(events);
        while self.events.len() > MAX_EVENTS {
            self.events.pop_front();
        }
        let newest = self.events.back().map(|e| e.hlc.wall_ms).unwrap_or(0);
        while self
            .events
            .front()
            .is_some_and(|e| e.hlc.wall_ms.saturating_add(RETAIN_MS) < newest)
        {
            self.events.pop_front();
        }
    }

    /// Appends the records of one commit (the commit listener's bytes); a
    /// record that does not decode is skipped and logged.
    pub fn extend_records(&mut self, records: &[(u64, Vec<u8>, keel_core::chain::ChainHash)]) {
        let mut decoded = Vec::with_capacity(records.len());
        for (seq, bytes, _) in records {
            match keel_core::chain::decode_record(bytes) {
                Ok(e) => decoded.push(e),
                Err(e) => log::warn!("ai: committed record {seq} does not decode: {e}"),
            }
        }
        self.extend(decoded);
    }

    /// The events, oldest first (one contiguous copy for the feature extractor).
    pub fn events(&mut self) -> &[Event] {
        self.events.make_contiguous()
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No events held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::chain::ChainHash;
    use keel_core::event::EventBody;
    use keel_core::hlc::Hlc;
    use keel_core::ids::{Dot, Sku, TerminalId};

    fn event(seq: u64, wall_ms: u64) -> Event {
        Event {
            dot: Dot {
                terminal: TerminalId(1),
                seq,
            },
            hlc: Hlc {
                wall_ms,
                counter: 0,
                node: 1,
            },
            prev: ChainHash::default(),
            body: EventBody::StockAdjusted {
                sku: Sku("CHOC-100".into()),
                delta: 1,
                reason: "count".into(),
            },
        }
    }

    #[test]
    fn keeps_recent_events_in_order_and_drops_old_ones() {
        let mut w = EventWindow::default();
        let day = 24 * 3_600_000;
        w.extend((1..=3).map(|s| event(s, s * day)));
        assert_eq!(w.len(), 3);
        // Fifteen days after the first: it falls out, the others stay.
        w.extend([event(4, 16 * day)]);
        let seqs: Vec<u64> = w.events().iter().map(|e| e.dot.seq).collect();
        assert_eq!(seqs, vec![2, 3, 4]);
    }

    #[test]
    fn committed_records_are_decoded_and_bad_ones_skipped() {
        let mut w = EventWindow::default();
        let e = event(7, 1_000);
        let good = (7, keel_core::chain::encode_record(&e), ChainHash::default());
        let bad = (8, vec![0xff, 0x00], ChainHash::default());
        w.extend_records(&[good, bad]);
        assert_eq!(w.events(), &[e][..]);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut w = EventWindow::default();
        w.extend((1..=(MAX_EVENTS as u64 + 10)).map(|s| event(s, 1_000 + s)));
        assert_eq!(w.len(), MAX_EVENTS);
        assert_eq!(w.events()[0].dot.seq, 11);
    }
}
