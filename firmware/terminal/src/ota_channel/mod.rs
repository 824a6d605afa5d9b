//! The store's OTA channel on one terminal: the releases the cloud offers the
//! store (learnt by the leader over the uplink, announced to the other
//! terminals over the mesh), this terminal's downloads into its bundle
//! directory, the OTA reports of the store's terminals (the leader forwards
//! them to the cloud), and handing a complete bundle to the terminal's
//! `OtaService` when this terminal is in the release's rollout.
//!
//! The leader downloads a release once from the cloud (for the whole store);
//! every other terminal fetches it from the leader. Both resume from their
//! `.part` and check the whole file's SHA-256 before anything is offered.
//!
//! This module owns that shared state (cheap to clone, one short lock per
//! call, never held across I/O on the network). It must not talk to the
//! network (the uplink and cluster runtimes do) nor install anything (the
//! `OtaService` decides when).

pub mod bundles;

use bundles::{BundleDir, BundleDirError};
use keel_core::ids::TerminalId;
use keel_uplink::release::{hex, ReleaseOffer, TerminalOta};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Board name reported when the terminal has no board description (matches
/// no release, so such a terminal is offered nothing).
pub const NO_BOARD: &str = "none";

/// How long a download of a release that is no longer offered is kept before
/// it is deleted (a new leader's first announcements may not list it yet).
const PRUNE_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the channel knows, shared by the runtimes.
#[derive(Default)]
struct State {
    board: String,
    offers: Vec<ReleaseOffer>,
    peers: BTreeMap<TerminalId, TerminalOta>,
    /// Release ids handed to the OTA service already.
    handed: BTreeSet<u64>,
    /// The release being downloaded, with bytes held.
    downloading: Option<(u64, u64, u64)>,
    mismatches: u64,
    last_error: Option<String>,
    /// The cloud refused an OTA report (it predates OTA): stop asking it.
    cloud_lacks_ota: bool,
}

/// The OTA channel of a terminal (cheap to clone).
#[derive(Clone)]
pub struct OtaChannel {
    me: TerminalId,
    bundles: BundleDir,
    state: Arc<Mutex<State>>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        // Plain data: keep using it after a panic elsewhere.
        Err(p) => p.into_inner(),
    }
}

/// Progress figures of the channel, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelFigures {
    /// Hash mismatches seen (each one restarted a download from zero).
    pub mismatches: u64,
    /// The last download error.
    pub last_error: Option<String>,
    /// Releases handed to the OTA service.
    pub handed: Vec<u64>,
}

impl OtaChannel {
    /// The channel of terminal `me` with its bundles under `data_dir`.
    pub fn new(me: TerminalId, data_dir: &Path) -> OtaChannel {
        OtaChannel {
            me,
            bundles: BundleDir::new(data_dir),
            state: Arc::new(Mutex::new(State {
                board: NO_BOARD.into(),
                ..State::default()
            })),
        }
    }

    /// Sets this terminal's board name (from its board description).
    pub fn set_board(&self, board: &str) {
        lock(&self.state).board = board.to_string();
    }

    /// The bundle directory.
    pub fn bundles(&self) -> &BundleDir {
        &self.bundles
    }

    /// Replaces the releases known to be offered to the store.
    pub fn set_offers(&self, offers: Vec<ReleaseOffer>) {
        let mut s = lock(&self.state);
        if s.offers != offers {
            log::info!(
                "ota channel: {} release(s) offered to the store: {}",
                offers.len(),
                offers
                    .iter()
                    .map(|o| format!(
                        "{} {} {} ({} terminals)",
                        o.id,
                        o.kind,
                        o.version,
                        o.terminals.len()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let changed = s.offers != offers;
        s.offers = offers;
        if changed {
            let keep: Vec<[u8; 32]> = s.offers.iter().map(|o| o.sha256).collect();
            drop(s);
            for name in self.bundles.prune(&keep, PRUNE_GRACE) {
                log::info!("ota channel: deleted {name}: its release is no longer offered");
            }
        }
    }

    /// The releases offered to the store.
    pub fn offers(&self) -> Vec<ReleaseOffer> {
        lock(&self.state).offers.clone()
    }

    /// The next release this terminal should hold and does not yet:
    /// `for_store` (the leader) wants every offered release, another
    /// terminal only those whose rollout includes it.
    pub fn wanted(&self, for_store: bool) -> Option<ReleaseOffer> {
        let offers = self.offers();
        offers.into_iter().find(|o| {
            (for_store || o.terminals.contains(&self.me))
                && self.bundles.complete(&o.sha256).is_none()
        })
    }

    /// Records that `held` bytes of `offer` are here (progress for reports).
    pub fn progress(&self, offer: &ReleaseOffer, held: u64) {
        lock(&self.state).downloading = Some((offer.id, held, offer.size));
    }

    /// Appends bytes of a download and, when complete, checks and keeps it
    /// (a hash mismatch deletes it, is counted and logged; the caller starts
    /// over). Returns the bytes held.
    pub fn receive(
        &self,
        offer: &ReleaseOffer,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64, BundleDirError> {
        let held = match self
            .bundles
            .append(&offer.sha256, offer.size, offset, bytes)
        {
            Ok(h) => h,
            Err(e) => {
                self.failed(&e);
                return Err(e);
            }
        };
        self.progress(offer, held);
        if held == offer.size {
            match self.bundles.finish(&offer.sha256) {
                Ok(path) => {
                    log::info!(
                        "ota channel: release {} ({} {}) complete: {} bytes, sha256 {} checked: {}",
                        offer.id,
                        offer.kind,
                        offer.version,
                        offer.size,
                        hex(&offer.sha256),
                        path.display()
                    );
                    let mut s = lock(&self.state);
                    s.downloading = None;
                    s.last_error = None;
                }
                Err(e) => {
                    lock(&self.state).mismatches += 1;
                    self.failed(&e);
                    return Err(e);
                }
            }
        }
        Ok(held)
    }

    /// Records a download error (for the report and logs).
    pub fn failed(&self, e: &dyn std::fmt::Display) {
        log::warn!("ota channel: {e}");
        lock(&self.state).last_error = Some(e.to_string());
    }

    /// Hands every complete release whose rollout includes this terminal to
    /// `service` (once per release).
    pub fn hand_over(&self, service: Option<&crate::ota::OtaService>) {
        if let Some(service) = service {
            self.hand_over_to(|r| service.offer(r));
        }
    }

    /// Hands every complete release whose rollout includes this terminal to
    /// `offer` (once per release).
    pub fn hand_over_to(&self, mut offer: impl FnMut(crate::ota::OfferedRelease)) {
        for o in self.offers() {
            if !o.terminals.contains(&self.me) || lock(&self.state).handed.contains(&o.id) {
                continue;
            }
            let Some(path) = self.bundles.complete(&o.sha256) else {
                continue;
            };
            offer(crate::ota::OfferedRelease {
                path,
                release_id: o.id.to_string(),
                version: o.version.clone(),
                kind: o.kind.clone(),
                sha256: hex(&o.sha256),
                channel: o.channel.to_string(),
            });
            lock(&self.state).handed.insert(o.id);
        }
    }

    /// This terminal's OTA report (its board, versions, the OTA service's
    /// state, the download in progress, the last error).
    pub fn own_report(&self, service: Option<&crate::ota::OtaService>, now_ms: u64) -> TerminalOta {
        let s = lock(&self.state);
        let status = service.map(|o| o.status());
        let mut r = TerminalOta {
            terminal: self.me,
            board: s.board.clone(),
            firmware: crate::node::FIRMWARE_VERSION.to_string(),
            model: None,
            state: "idle".into(),
            release: None,
            done: 0,
            total: 0,
            last_error: s.last_error.clone(),
            at_ms: now_ms,
        };
        if let Some(st) = &status {
            r.firmware = st.running_version.clone();
            r.state = st.state.clone();
            if let Some(p) = st.progress {
                r.done = p.written;
                r.total = p.total;
            }
            if let Some(last) = &st.last_result {
                if last.result == "failed" || last.result == "rolled_back" {
                    r.state = "failed".into();
                    r.last_error = last.reason.clone().or(r.last_error);
                }
            }
            if r.state == "idle" {
                if let Some(o) = st.offers.last() {
                    r.state = "offered".into();
                    r.release = o.release_id.parse().ok();
                }
            }
            r.model = st.models.iter().find_map(|m| match m.active.as_deref() {
                Some("a") => m.a_version.clone(),
                Some("b") => m.b_version.clone(),
                _ => None,
            });
        }
        if let Some((id, done, total)) = s.downloading {
            if r.state == "idle" || r.state == "offered" {
                r.state = "downloading".into();
                r.release = Some(id);
                r.done = done;
                r.total = total;
            }
        }
        r
    }

    /// Keeps another terminal's report (the leader forwards them).
    pub fn record_peer(&self, report: TerminalOta) {
        if report.terminal != self.me {
            lock(&self.state).peers.insert(report.terminal, report);
        }
    }

    /// Every terminal's report: this one's and the peers' last ones.
    pub fn store_reports(&self, own: TerminalOta) -> Vec<TerminalOta> {
        let s = lock(&self.state);
        let mut out = vec![own];
        out.extend(s.peers.values().cloned());
        out
    }

    /// Whether the cloud refused OTA reports (an older cloud service).
    pub fn cloud_lacks_ota(&self) -> bool {
        lock(&self.state).cloud_lacks_ota
    }

    /// Records that the cloud refused an OTA report.
    pub fn set_cloud_lacks_ota(&self) {
        log::warn!("ota channel: the cloud refused OTA reports; not asking it again");
        lock(&self.state).cloud_lacks_ota = true;
    }

    /// Figures for logs and tests.
    pub fn figures(&self) -> ChannelFigures {
        let s = lock(&self.state);
        ChannelFigures {
            mismatches: s.mismatches,
            last_error: s.last_error.clone(),
            handed: s.handed.iter().copied().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_uplink::release::Channel;

    fn offer(id: u64, bytes: &[u8], terminals: &[u32]) -> ReleaseOffer {
        let mut sha = [0u8; 32];
        sha.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
        ReleaseOffer {
            id,
            kind: "firmware".into(),
            version: "9.0.0".into(),
            boards: vec!["qemu-x86_64".into()],
            sha256: sha,
            size: bytes.len() as u64,
            channel: Channel::Stable,
            terminals: terminals.iter().map(|t| TerminalId(*t)).collect(),
        }
    }

    #[test]
    fn a_complete_checked_download_in_the_rollout_is_offered_once() {
        let tmp = tempfile::tempdir().unwrap();
        let ch = OtaChannel::new(TerminalId(2), tmp.path());
        ch.set_board("qemu-x86_64");
        let data = vec![9u8; 1000];
        let mine = offer(7, &data, &[1, 2]);
        let others = offer(8, b"other", &[1]);
        ch.set_offers(vec![others.clone(), mine.clone()]);
        // A follower wants only its own; the leader wants both.
        assert_eq!(ch.wanted(false).map(|o| o.id), Some(7));
        assert_eq!(ch.wanted(true).map(|o| o.id), Some(8));
        assert_eq!(ch.receive(&mine, 0, &data[..600]).unwrap(), 600);
        let r = ch.own_report(None, 5);
        assert_eq!(
            (r.state.as_str(), r.release, r.done, r.total),
            ("downloading", Some(7), 600, 1000)
        );
        assert_eq!(r.board, "qemu-x86_64");
        let mut offered = Vec::new();
        ch.hand_over_to(|r| offered.push(r));
        assert!(offered.is_empty(), "offered before complete");
        assert_eq!(ch.receive(&mine, 600, &data[600..]).unwrap(), 1000);
        assert!(ch.wanted(false).is_none());
        ch.hand_over_to(|r| offered.push(r));
        assert_eq!(offered.len(), 1);
        assert_eq!(offered[0].release_id, "7");
        assert_eq!(std::fs::read(&offered[0].path).unwrap(), data);
        ch.hand_over_to(|r| offered.push(r));
        assert_eq!(offered.len(), 1, "offered once");
        assert_eq!(ch.figures().handed, vec![7]);
        // Bytes that hash wrong: deleted, counted, never offered.
        let bad = offer(9, b"expected bytes", &[2]);
        ch.set_offers(vec![bad.clone()]);
        assert!(ch.receive(&bad, 0, b"tampered bytes").is_err());
        assert_eq!(ch.figures().mismatches, 1);
        assert_eq!(ch.bundles().held(&bad.sha256), 0);
        ch.hand_over_to(|r| offered.push(r));
        assert_eq!(offered.len(), 1);
    }
}
