//! Version vectors: for each origin terminal, the highest sequence number held
//! with no gap before it.

use crate::ids::TerminalId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Highest contiguous seq held per origin (absent = 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<TerminalId, u64>);

impl VersionVector {
    /// Seq held for `origin`.
    pub fn get(&self, origin: TerminalId) -> u64 {
        self.0.get(&origin).copied().unwrap_or(0)
    }

    /// Raises `origin` to at least `seq`.
    pub fn raise(&mut self, origin: TerminalId, seq: u64) {
        let e = self.0.entry(origin).or_insert(0);
        *e = (*e).max(seq);
    }

    /// Origins and seqs.
    pub fn iter(&self) -> impl Iterator<Item = (TerminalId, u64)> + '_ {
        self.0.iter().map(|(t, s)| (*t, *s))
    }

    /// True when `self` holds everything `other` holds.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.iter().all(|(t, s)| self.get(t) >= s)
    }

    /// Number of records `self` lacks compared with `other`.
    pub fn missing_from(&self, other: &VersionVector) -> u64 {
        other
            .iter()
            .map(|(t, s)| s.saturating_sub(self.get(t)))
            .sum()
    }
}

impl FromIterator<(TerminalId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (TerminalId, u64)>>(iter: I) -> Self {
        let mut v = VersionVector::default();
        for (t, s) in iter {
            v.raise(t, s);
        }
        v
    }
}
