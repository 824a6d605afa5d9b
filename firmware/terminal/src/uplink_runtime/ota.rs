//! The leader's OTA exchange with the cloud, inside its uplink session: every
//! [`REPORT_EVERY`] it sends the OTA reports of every terminal of the store
//! (its own and those the mesh brought) and learns the releases offered to
//! the store; it downloads each offered release once for the whole store,
//! [`LEADER_CHUNK`] bytes per request, resuming from its `.part`.
//!
//! Pacing: the session calls [`Session::ota_step`] only when no batch is
//! waiting, and one step fetches at most one chunk, so sales and payments
//! always go first; a cloud outage ends the session like any other failure
//! (the uplink's backoff), and the download resumes from the `.part` on the
//! next session. Owns only that sequence; the files and the shared state are
//! the `ota_channel`'s.

use super::session::{unexpected, Session, SessionEnd};
use super::SyncError;
use keel_uplink::release::hex;
use keel_uplink::{CloudMessage, StoreMessage};
use std::time::{Duration, Instant};

/// How often the leader reports the store's OTA state and asks for releases.
pub const REPORT_EVERY: Duration = Duration::from_secs(2);

/// Bytes asked for per `FetchRelease`.
pub const LEADER_CHUNK: u32 = 256 * 1024;

/// The leader's OTA bookkeeping within one session.
#[derive(Debug, Default)]
pub struct LeaderOta {
    last_report: Option<Instant>,
    /// Release whose download start was logged in this session.
    logged: Option<u64>,
    /// No fetch before this (after a refusal or a hash mismatch).
    quiet_until: Option<Instant>,
}

/// Pause after a refused fetch or a hash mismatch before trying again.
pub const RETRY_AFTER: Duration = Duration::from_secs(3);

/// What one step did.
pub enum OtaStep {
    /// Nothing to do now.
    Idle,
    /// A chunk arrived: step again soon.
    Busy,
    /// The session must end.
    End(SessionEnd),
}

impl Session<'_> {
    /// One step of the OTA exchange (see the module docs).
    pub(super) async fn ota_step(&mut self) -> Result<OtaStep, SyncError> {
        let (channel, service) = {
            let n = super::lock(&self.ctx.node);
            (n.ota_channel().clone(), n.ota().cloned())
        };
        if channel.cloud_lacks_ota() {
            return Ok(OtaStep::Idle);
        }
        let due = self
            .ota
            .last_report
            .is_none_or(|t| t.elapsed() >= REPORT_EVERY);
        if due {
            self.ota.last_report = Some(Instant::now());
            let own = channel.own_report(service.as_ref(), super::now_ms());
            let terminals = channel.store_reports(own);
            match self.request(&StoreMessage::OtaReport { terminals }).await {
                Err(end) => return Ok(OtaStep::End(end)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(CloudMessage::Releases(offers))) => {
                    channel.set_offers(offers);
                    channel.hand_over(service.as_ref());
                }
                Ok(Ok(CloudMessage::ReleaseRefused { reason, .. })) => channel.failed(&reason),
                Ok(Ok(CloudMessage::Refused { reason, .. })) => {
                    // A cloud that predates OTA refuses the message and closes:
                    // stop asking it, so the uplink of sales keeps working.
                    channel.set_cloud_lacks_ota();
                    return Err(SyncError::Refused(format!(
                        "{reason} (OTA reports are off until this terminal restarts)"
                    )));
                }
                Ok(Ok(other)) => return Err(unexpected(other, "releases")),
            }
        }
        if self.ota.quiet_until.is_some_and(|q| Instant::now() < q) {
            return Ok(OtaStep::Idle);
        }
        let Some(offer) = channel.wanted(true) else {
            return Ok(OtaStep::Idle);
        };
        let held = channel.bundles().held(&offer.sha256);
        if self.ota.logged != Some(offer.id) {
            self.ota.logged = Some(offer.id);
            log::info!(
                "ota channel: downloading release {} ({} {}, sha256 {}) from the cloud from offset {held} of {}",
                offer.id,
                offer.kind,
                offer.version,
                hex(&offer.sha256),
                offer.size
            );
        }
        channel.progress(&offer, held);
        let len = LEADER_CHUNK.min((offer.size - held) as u32);
        let msg = StoreMessage::FetchRelease {
            id: offer.id,
            offset: held,
            len,
        };
        match self.request(&msg).await {
            Err(end) => Ok(OtaStep::End(end)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(CloudMessage::ReleaseChunk { id, offset, bytes }))
                if id == offer.id && offset == held && !bytes.is_empty() =>
            {
                match channel.receive(&offer, offset, &bytes) {
                    Ok(h) if h == offer.size => channel.hand_over(service.as_ref()),
                    Ok(_) => {}
                    Err(e) => {
                        log::warn!("ota channel: release {}: {e}", offer.id);
                        self.ota.quiet_until = Some(Instant::now() + RETRY_AFTER);
                    }
                }
                Ok(OtaStep::Busy)
            }
            Ok(Ok(CloudMessage::ReleaseChunk { id, offset, bytes })) => {
                channel.failed(&format!(
                    "release {id}: the cloud sent {} bytes at {offset}, asked {len} at {held}",
                    bytes.len()
                ));
                self.ota.quiet_until = Some(Instant::now() + RETRY_AFTER);
                Ok(OtaStep::Idle)
            }
            Ok(Ok(CloudMessage::ReleaseRefused { reason, .. })) => {
                channel.failed(&reason);
                self.ota.quiet_until = Some(Instant::now() + RETRY_AFTER);
                Ok(OtaStep::Idle)
            }
            Ok(Ok(CloudMessage::Refused { reason, .. })) => Err(SyncError::Refused(reason)),
            Ok(Ok(other)) => Err(unexpected(other, "a release chunk")),
        }
    }
}
