//! Hybrid logical clock: wall-clock milliseconds plus a counter, so events from
//! different terminals order consistently even with skewed clocks. Pure: the
//! caller passes the wall time in.

use crate::ids::TerminalId;
use serde::{Deserialize, Serialize};

/// A hybrid logical timestamp. Ordered by (wall_ms, counter, node).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, never behind any timestamp seen before.
    pub wall_ms: u64,
    /// Tie-breaker within one millisecond.
    pub counter: u32,
    /// The terminal that issued the timestamp (final tie-breaker).
    pub node: u32,
}

impl Hlc {
    /// The next local timestamp after `self`, given the wall clock `now_ms`.
    pub fn tick(self, now_ms: u64, node: TerminalId) -> Hlc {
        if now_ms > self.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
                node: node.0,
            }
        } else {
            Hlc {
                wall_ms: self.wall_ms,
                counter: self.counter.saturating_add(1),
                node: node.0,
            }
        }
    }

    /// Merges a timestamp received from a peer: the result is after both.
    pub fn observe(self, remote: Hlc, now_ms: u64, node: TerminalId) -> Hlc {
        let wall = now_ms.max(self.wall_ms).max(remote.wall_ms);
        let counter = if wall == self.wall_ms && wall == remote.wall_ms {
            self.counter.max(remote.counter).saturating_add(1)
        } else if wall == self.wall_ms {
            self.counter.saturating_add(1)
        } else if wall == remote.wall_ms {
            remote.counter.saturating_add(1)
        } else {
            0
        };
        Hlc {
            wall_ms: wall,
            counter,
            node: node.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let n = TerminalId(1);
        let a = Hlc::default().tick(1000, n);
        let b = a.tick(900, n);
        assert!(b > a);
        let c = b.observe(
            Hlc {
                wall_ms: 5000,
                counter: 7,
                node: 2,
            },
            1000,
            n,
        );
        assert!(c > b && c.wall_ms == 5000 && c.counter == 8);
    }
}
