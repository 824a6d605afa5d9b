//! OTA releases on the uplink: what the cloud offers a store, what the store
//! reports of its terminals' updates, and the staged-rollout rule both sides
//! agree on.
//!
//! This module owns the rollout bucket (deterministic, so raising a release's
//! percentage only ever adds terminals), the channel names, and the bounds of
//! a chunk request. It must not do I/O: the cloud stores releases, the leader
//! downloads them, both call in here to decide who gets what.

use keel_core::ids::{StoreId, TerminalId};
use ring::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Largest chunk a store may ask for in one `FetchRelease` (1 MiB).
pub const MAX_CHUNK: u32 = 1 << 20;

/// The published setting that chooses a store's release channel.
pub const CHANNEL_SETTING: &str = "ota.channel";

/// Most terminals one OTA report may describe.
pub const MAX_REPORTED_TERMINALS: usize = 256;

/// A release channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// What every store gets unless told otherwise.
    Stable,
    /// Early releases for stores that opted in (`ota.channel = beta`).
    Beta,
}

impl Channel {
    /// The spelling in commands, settings and the status view.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::Beta => "beta",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name that is neither `stable` nor `beta`.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown release channel {0:?} (expected stable or beta)")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stable" => Ok(Channel::Stable),
            "beta" => Ok(Channel::Beta),
            other => Err(UnknownChannel(other.to_string())),
        }
    }
}

/// The rollout bucket of a terminal for a release, 0..=99: the first 8 bytes
/// of SHA-256(release id (u64 BE) || store id (UTF-8) || terminal (u32 BE)),
/// big-endian, modulo 100.
pub fn bucket(release: u64, store: &StoreId, terminal: TerminalId) -> u8 {
    let mut input = Vec::with_capacity(12 + store.0.len());
    input.extend_from_slice(&release.to_be_bytes());
    input.extend_from_slice(store.0.as_bytes());
    input.extend_from_slice(&terminal.0.to_be_bytes());
    let d = digest(&SHA256, &input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(first) % 100) as u8
}

/// Whether a terminal is in a release's rollout at `percent` (0 = nobody,
/// 100 = everybody).
pub fn in_rollout(release: u64, store: &StoreId, terminal: TerminalId, percent: u8) -> bool {
    bucket(release, store, terminal) < percent.min(100)
}

/// One release the cloud offers a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseOffer {
    /// The cloud's release id.
    pub id: u64,
    /// `firmware` or `model` (the bundle manifest's kind).
    pub kind: String,
    /// The version it installs (`MAJOR.MINOR.PATCH`).
    pub version: String,
    /// Boards it runs on.
    pub boards: Vec<String>,
    /// SHA-256 of the whole bundle file.
    pub sha256: [u8; 32],
    /// Size of the whole bundle file, bytes.
    pub size: u64,
    /// The channel it was published on.
    pub channel: Channel,
    /// Terminals of this store in its rollout (board matches, bucket below the
    /// percentage, not already on this version).
    pub terminals: Vec<TerminalId>,
}

/// What one terminal of the store reports about its updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalOta {
    /// The terminal.
    pub terminal: TerminalId,
    /// Its board (`qemu-x86_64`, `raspberrypi4-64`, `generic-x86_64`).
    pub board: String,
    /// The firmware version it runs.
    pub firmware: String,
    /// The model version it runs, if any.
    pub model: Option<String>,
    /// Its OTA state name (`idle`, `downloading`, `offered`, `installing`, `failed`...).
    pub state: String,
    /// The release the state is about, if any.
    pub release: Option<u64>,
    /// Bytes of that release held, of `total`.
    pub done: u64,
    /// Size of that release, bytes (0 when none).
    pub total: u64,
    /// The last OTA error, if any.
    pub last_error: Option<String>,
    /// When this was observed (the terminal's clock), ms since the epoch.
    pub at_ms: u64,
}

impl TerminalOta {
    /// Progress in percent (0 when nothing is in progress).
    pub fn percent(&self) -> u8 {
        (self.done.min(self.total) * 100)
            .checked_div(self.total)
            .map_or(0, |p| p as u8)
    }
}

/// Lowercase hex of a SHA-256.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_is_deterministic_and_spread() {
        let s = StoreId("store-1".into());
        assert_eq!(bucket(7, &s, TerminalId(3)), bucket(7, &s, TerminalId(3)));
        let mut hist = [0u32; 10];
        for t in 0..1000u32 {
            let b = bucket(7, &s, TerminalId(t));
            assert!(b < 100);
            hist[(b / 10) as usize] += 1;
        }
        // 1000 terminals over 10 deciles: each within a loose band around 100.
        for h in hist {
            assert!((50..=150).contains(&h), "{hist:?}");
        }
        // Another release reshuffles the buckets.
        let moved = (0..100u32)
            .filter(|t| bucket(7, &s, TerminalId(*t)) != bucket(8, &s, TerminalId(*t)))
            .count();
        assert!(moved > 80, "{moved}");
    }

    #[test]
    fn rollout_is_monotone_in_percent() {
        let s = StoreId("s".into());
        for t in 0..200u32 {
            let t = TerminalId(t);
            assert!(!in_rollout(1, &s, t, 0));
            assert!(in_rollout(1, &s, t, 100));
            let mut was_in = false;
            for p in 0..=100u8 {
                let now_in = in_rollout(1, &s, t, p);
                assert!(!was_in || now_in, "terminal {t} left the rollout at {p}%");
                was_in = now_in;
            }
        }
        let at = |p| {
            (0..1000u32)
                .filter(|t| in_rollout(9, &s, TerminalId(*t), p))
                .count()
        };
        assert!((150..=350).contains(&at(25)), "{}", at(25));
    }

    #[test]
    fn channels_parse() {
        assert_eq!("beta".parse::<Channel>(), Ok(Channel::Beta));
        assert_eq!(Channel::Stable.to_string(), "stable");
        assert!("nightly".parse::<Channel>().is_err());
    }
}
