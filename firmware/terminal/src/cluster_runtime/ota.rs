//! The OTA channel on the store mesh (the cluster transport's control
//! channel): the leader announces the releases the cloud offers the store
//! (`OtaOffers`, every [`ANNOUNCE_EVERY`] ticks); every other terminal reports
//! its OTA state to the leader (`OtaReport`, as often) and fetches the bundles
//! whose rollout includes it, [`MESH_CHUNK`] bytes per request (`OtaFetch` ->
//! `OtaChunk`), one request in flight, resuming from its `.part` (after a
//! restart, or after a failover). It asks the leader first; every terminal
//! serves what it holds, complete or not yet, and an empty answer (not held
//! that far) sends the next request to the next connected terminal in turn,
//! so a terminal that has the file serves it when the leader cannot.
//!
//! This module owns that exchange's pacing and the messages' meaning; it must
//! not decide rollouts (the cloud did) nor install (the `OtaService` does).

use super::{encode_control, lock, ControlMessage, Runtime};
use crate::ota_channel::OtaChannel;
use keel_cluster::transport::Channel;
use keel_core::ids::TerminalId;
use keel_uplink::release::ReleaseOffer;
use std::time::{Duration, Instant};

/// Ticks between announcements and reports (100 ms ticks: 1 s).
pub const ANNOUNCE_EVERY: u32 = 10;

/// Bytes per mesh chunk: well under the control channel's 64 KiB limit.
pub const MESH_CHUNK: u32 = 48 * 1024;

/// A request unanswered this long is sent again (maybe to a new leader).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// After an empty answer (the leader does not hold those bytes yet), wait this long.
const EMPTY_BACKOFF: Duration = Duration::from_millis(500);

/// The mesh side of the OTA channel on one terminal.
pub struct MeshOta {
    channel: OtaChannel,
    ticks: u32,
    /// The request in flight: release, offset, when sent.
    in_flight: Option<(u64, u64, Instant)>,
    /// Not before this instant (after an empty answer).
    quiet_until: Option<Instant>,
    /// The release whose fetch start was logged.
    logged: Option<u64>,
    /// The terminal asked last (the leader unless it had nothing to give).
    source: Option<TerminalId>,
}

impl MeshOta {
    /// The mesh side over `channel`.
    pub fn new(channel: OtaChannel) -> MeshOta {
        MeshOta {
            channel,
            ticks: 0,
            in_flight: None,
            quiet_until: None,
            logged: None,
            source: None,
        }
    }
}

fn find(channel: &OtaChannel, sha: &[u8; 32]) -> Option<ReleaseOffer> {
    channel.offers().into_iter().find(|o| &o.sha256 == sha)
}

impl Runtime {
    fn send_control(&self, to: TerminalId, m: &ControlMessage) {
        if let Err(e) = self.transport.send(to, Channel::Control, encode_control(m)) {
            log::debug!("ota channel: cannot send to {to}: {e}");
        }
    }

    /// Every tick: announce or report when due, and keep a fetch going.
    pub(super) fn ota_tick(&mut self) {
        self.ota.ticks += 1;
        let leader = self.raft.leader().map(|l| TerminalId(l as u32));
        let due = self.ota.ticks >= ANNOUNCE_EVERY;
        if due {
            self.ota.ticks = 0;
        }
        if self.raft.is_leader() {
            if due {
                let offers = self.ota.channel.offers();
                let m = ControlMessage::OtaOffers(offers);
                for p in self.transport.peers().iter().filter(|p| p.connected) {
                    self.send_control(p.id, &m);
                }
            }
            return;
        }
        let Some(leader) = leader.filter(|l| *l != self.me) else {
            return;
        };
        if due {
            let service = lock(&self.node).ota().cloned();
            let report = self
                .ota
                .channel
                .own_report(service.as_ref(), super::now_ms());
            self.send_control(leader, &ControlMessage::OtaReport(report));
        }
        let connected: Vec<TerminalId> = self
            .transport
            .peers()
            .iter()
            .filter(|p| p.connected)
            .map(|p| p.id)
            .collect();
        let source = self
            .ota
            .source
            .filter(|s| connected.contains(s))
            .unwrap_or(leader);
        self.ota_fetch_next(source, false);
    }

    /// The connected terminal after `from` in id order (wrapping), for the
    /// next request after `from` had nothing to give.
    fn next_source(&self, from: TerminalId) -> Option<TerminalId> {
        let mut ids: Vec<TerminalId> = self
            .transport
            .peers()
            .iter()
            .filter(|p| p.connected && p.id != self.me)
            .map(|p| p.id)
            .collect();
        ids.sort();
        ids.iter()
            .find(|t| **t > from)
            .or_else(|| ids.first())
            .copied()
    }

    /// Asks `source` for the next bytes of the wanted release, unless a
    /// request is in flight (and not timed out) or `force`.
    fn ota_fetch_next(&mut self, source: TerminalId, force: bool) {
        let now = Instant::now();
        if !force {
            if let Some((_, _, at)) = self.ota.in_flight {
                if now.duration_since(at) < REQUEST_TIMEOUT {
                    return;
                }
            }
            if self.ota.quiet_until.is_some_and(|q| now < q) {
                return;
            }
        }
        let Some(offer) = self.ota.channel.wanted(false) else {
            self.ota.in_flight = None;
            return;
        };
        let held = self.ota.channel.bundles().held(&offer.sha256);
        if self.ota.logged != Some(offer.id) {
            self.ota.logged = Some(offer.id);
            log::info!(
                "ota channel: fetching release {} from {source} at offset {held} of {}",
                offer.id,
                offer.size
            );
        }
        self.ota.channel.progress(&offer, held);
        let len = MESH_CHUNK.min((offer.size - held) as u32);
        self.ota.in_flight = Some((offer.id, held, now));
        self.ota.source = Some(source);
        self.send_control(
            source,
            &ControlMessage::OtaFetch {
                sha: offer.sha256,
                offset: held,
                len,
            },
        );
    }

    /// A control message of the OTA channel from `from`.
    pub(super) fn on_ota(&mut self, from: TerminalId, m: ControlMessage) {
        if !self.replicator.members().contains(&from) {
            log::warn!("ota channel: message from {from}, not a member of this store, ignored");
            return;
        }
        match m {
            ControlMessage::OtaOffers(offers) => {
                if self.raft.is_leader() {
                    return;
                }
                self.ota.channel.set_offers(offers);
                let service = lock(&self.node).ota().cloned();
                self.ota.channel.hand_over(service.as_ref());
            }
            ControlMessage::OtaReport(report) => {
                if report.terminal == from {
                    self.ota.channel.record_peer(report);
                }
            }
            ControlMessage::OtaFetch { sha, offset, len } => {
                let bytes = match self.ota.channel.bundles().read(
                    &sha,
                    offset,
                    len.min(MESH_CHUNK) as usize,
                ) {
                    Ok(b) => b,
                    Err(e) => {
                        log::warn!("ota channel: serving {from}: {e}");
                        Vec::new()
                    }
                };
                self.send_control(from, &ControlMessage::OtaChunk { sha, offset, bytes });
            }
            ControlMessage::OtaChunk { sha, offset, bytes } => {
                self.on_ota_chunk(from, sha, offset, bytes)
            }
            _ => {}
        }
    }

    fn on_ota_chunk(&mut self, from: TerminalId, sha: [u8; 32], offset: u64, bytes: Vec<u8>) {
        let Some(offer) = find(&self.ota.channel, &sha) else {
            return;
        };
        match self.ota.in_flight {
            Some((id, at, _)) if id == offer.id && at == offset => {}
            // A late answer to a request already sent again: ignore.
            _ => return,
        }
        self.ota.in_flight = None;
        if bytes.is_empty() {
            // Not held that far by `from`: the next request goes to the next terminal.
            self.ota.source = self.next_source(from);
            self.ota.quiet_until = Some(Instant::now() + EMPTY_BACKOFF);
            return;
        }
        match self.ota.channel.receive(&offer, offset, &bytes) {
            Ok(held) if held == offer.size => {
                let service = lock(&self.node).ota().cloned();
                self.ota.channel.hand_over(service.as_ref());
            }
            Ok(_) => {}
            Err(e) => log::warn!("ota channel: release {} from {from}: {e}", offer.id),
        }
        self.ota_fetch_next(from, true);
    }
}
