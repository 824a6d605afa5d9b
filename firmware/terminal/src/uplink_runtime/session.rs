//! One uplink session of the store leader with the cloud: Hello -> Welcome
//! (apply publications), then batches in priority order until the cloud holds
//! everything, then a Health poll every second for new publications, until an
//! error, a stop, or the loss of leadership.
//!
//! This module owns the session's sequence and its bookkeeping (marks
//! proposed through raft, status figures). It must not hold the node lock
//! across a network wait: every journal read and the downlink commit take the
//! lock for that one operation only, so selling never waits for the cloud.

use super::{downlink, Ctx, SyncError};
use crate::node::Node;
use keel_cluster::cloud_session::CloudSession;
use keel_core::ids::TerminalId;
use keel_uplink::builder::{BatchBuilder, JournalSource};
use keel_uplink::{CloudMessage, Publication, StoreMessage, UplinkMarks};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connecting (handshake included) may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An answer (a batch's ack included) may take this long (a dead connection is
/// noticed sooner, by the idle timeout: see `transport`).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// With nothing to upload, the leader polls the cloud for publications this often.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// With nothing to upload, the leader looks for new records this often.
pub const IDLE_POLL: Duration = Duration::from_millis(200);

/// Acknowledged marks are proposed through raft at most this often while uploading
/// (and once more when the backlog has drained).
pub const PROPOSE_EVERY: Duration = Duration::from_secs(2);

/// How a session ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// This terminal is no longer the store leader.
    LostLeadership,
    /// The terminal is shutting down.
    Stopped,
}

/// The node's journals as the batch builder reads them: one lock per read.
struct NodeJournal<'a>(&'a Mutex<Node>);

impl JournalSource for NodeJournal<'_> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        super::lock(self.0)
            .records_of(origin, from_seq, max_bytes)
            .unwrap_or_else(|e| {
                log::warn!("uplink: reading records of {origin} from {from_seq}: {e}");
                Vec::new()
            })
    }
}

/// The newest record held per origin (one lock, one read).
fn heads(node: &Mutex<Node>) -> Result<BTreeMap<TerminalId, u64>, SyncError> {
    super::lock(node)
        .replication_heads()
        .map(|h| h.into_iter().map(|(t, head)| (t, head.seq)).collect())
        .map_err(|e| SyncError::Journal(e.to_string()))
}

/// Marks as the console and logs show them: `T01 120 (chain 130) T02 80`.
pub fn describe(marks: &UplinkMarks) -> String {
    if marks.origins.is_empty() {
        return "nothing".into();
    }
    marks
        .origins
        .iter()
        .map(|(t, m)| {
            if m.chain > m.bodies {
                format!("T{:02} {} (chain {})", t.0, m.bodies, m.chain)
            } else {
                format!("T{:02} {}", t.0, m.bodies)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Session state beyond the connection.
pub(super) struct Session<'c> {
    pub(super) ctx: &'c Ctx,
    conn: CloudSession,
    builder: BatchBuilder,
    /// Newest publication applied.
    downlink: u64,
    /// Acknowledged marks not yet proposed through raft.
    dirty: bool,
    /// When marks were last proposed (`None`: not yet in this session, so the
    /// first acknowledgement is proposed at once).
    last_proposed: Option<Instant>,
    /// The replicated marks the session started from.
    replicated: UplinkMarks,
    /// A success (ack or publications) has reset the failure count.
    succeeded: bool,
    /// Digest of the key ring the cloud last received in full (`None`: not yet).
    keys_digest: Option<[u8; 32]>,
    /// The OTA exchange's bookkeeping (see `ota`).
    pub(super) ota: super::ota::LeaderOta,
}

/// Runs one session until it ends (see [`SessionEnd`]) or fails.
pub(crate) async fn run(ctx: &Ctx, next_batch: &mut u64) -> Result<SessionEnd, SyncError> {
    ctx.set(|s| {
        s.state = super::UplinkState::Connecting;
        s.retry_at_ms = None;
    });
    let mut config = keel_cluster::cloud::cloud_client_config(&ctx.operator_ca, &ctx.identity)
        .map_err(|e| SyncError::Tls(e.to_string()))?;
    config.transport_config(super::transport::config());
    let conn = match guarded(ctx, async {
        CloudSession::connect(ctx.cfg.addr, &ctx.cfg.server_name, config, CONNECT_TIMEOUT)
            .await
            .map_err(SyncError::from)
    })
    .await
    {
        Ok(r) => r?,
        Err(end) => return Ok(end),
    };
    let replicated = ctx.cluster.uplink_marks();
    let downlink = {
        let n = super::lock(&ctx.node);
        downlink::mark_of(&n).max(replicated.downlink)
    };
    let mut hello_marks = replicated.clone();
    hello_marks.downlink = downlink;
    let hello = StoreMessage::Hello {
        store: ctx.store.clone(),
        terminal: ctx.me,
        firmware: crate::node::FIRMWARE_VERSION.to_string(),
        marks: hello_marks,
        health: ctx.health(&heads(&ctx.node)?, &replicated),
    };
    let mut session = Session {
        ctx,
        conn,
        builder: BatchBuilder::new(ctx.cfg.batch_bytes, *next_batch, UplinkMarks::default()),
        downlink,
        dirty: false,
        last_proposed: None,
        replicated: replicated.clone(),
        succeeded: false,
        keys_digest: None,
        ota: super::ota::LeaderOta::default(),
    };
    let end = session.serve(hello, replicated, next_batch).await;
    // Whatever the cloud acknowledged is kept, however the session ended (a new
    // leader, if any, ignores this: only the leader proposes).
    if session.dirty {
        session.propose();
    }
    let Session { conn, builder, .. } = session;
    *next_batch = (*next_batch).max(builder.in_flight().unwrap_or(0) + 1);
    // A clean close lets the cloud end the session at once; bounded so a dead
    // cloud cannot hold the leader here.
    smol::future::or(conn.close(), async {
        smol::Timer::after(Duration::from_secs(1)).await;
    })
    .await;
    end
}

/// Runs `f` unless the session must end first (stop, or leadership lost).
async fn guarded<T>(
    ctx: &Ctx,
    f: impl Future<Output = Result<T, SyncError>>,
) -> Result<Result<T, SyncError>, SessionEnd> {
    smol::future::or(async { Ok(f.await) }, async { Err(watch(ctx).await) }).await
}

/// Resolves when the session must end.
async fn watch(ctx: &Ctx) -> SessionEnd {
    loop {
        if let Some(end) = ctx.must_end() {
            return end;
        }
        smol::Timer::after(Duration::from_millis(100)).await;
    }
}

impl Session<'_> {
    /// Sends `msg` and waits for the answer, unless the session must end first.
    pub(super) async fn request(
        &mut self,
        msg: &StoreMessage,
    ) -> Result<Result<CloudMessage, SyncError>, SessionEnd> {
        let conn = &mut self.conn;
        guarded(self.ctx, async {
            conn.request(msg, ANSWER_TIMEOUT)
                .await
                .map_err(SyncError::from)
        })
        .await
    }

    async fn serve(
        &mut self,
        hello: StoreMessage,
        replicated: UplinkMarks,
        next_batch: &mut u64,
    ) -> Result<SessionEnd, SyncError> {
        let ctx = self.ctx;
        let (cloud_marks, publications) = match self.request(&hello).await {
            Err(end) => return Ok(end),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(CloudMessage::Refused { reason, .. })) => return Err(SyncError::Refused(reason)),
            Ok(Ok(CloudMessage::Welcome {
                marks,
                publications,
            })) => (marks, publications),
            Ok(Ok(other)) => return Err(unexpected(other, "a welcome")),
        };
        log::info!(
            "uplink: {} leads the store; resuming from the replicated marks ({}); the cloud holds {}",
            ctx.me,
            describe(&replicated),
            describe(&cloud_marks)
        );
        // The cloud's own marks say what it holds: batches extend from there
        // (the replicated marks are never ahead of them unless the cloud lost data).
        self.builder.learn(&cloud_marks);
        ctx.set(|s| {
            s.state = super::UplinkState::Connected;
            s.resumed_from = Some(replicated.clone());
            s.marks = cloud_marks.clone();
            s.last_sync_ms = Some(super::now_ms());
            s.downlink = self.downlink;
        });
        let mut poll_now = !publications.is_empty();
        self.apply_publications(&publications)?;
        if let Some(end) = self.sync_keys().await? {
            return Ok(end);
        }
        // Replicate at once what the cloud holds beyond the store's marks (a
        // leader that died before proposing its last acknowledgements).
        if ahead(&cloud_marks, &replicated) {
            self.dirty = true;
            self.propose();
        }
        let mut last_health = Instant::now();
        loop {
            if let Some(end) = ctx.must_end() {
                return Ok(end);
            }
            let heads = heads(&ctx.node)?;
            let batch = self.builder.next(&heads, &NodeJournal(&ctx.node));
            if let Some(batch) = batch {
                let id = batch.id;
                *next_batch = id + 1;
                let n = batch.entries.len();
                let answer = match self.request(&StoreMessage::Batch(batch)).await {
                    Err(end) => {
                        self.builder.failed();
                        return Ok(end);
                    }
                    Ok(Err(e)) => {
                        self.builder.failed();
                        return Err(e);
                    }
                    Ok(Ok(m)) => m,
                };
                match answer {
                    CloudMessage::Ack {
                        batch,
                        marks,
                        accepted,
                        duplicates,
                    } if batch == id => {
                        self.builder.acked(id, &marks);
                        self.dirty = true;
                        let pending = self.builder.pending(&heads);
                        log::debug!(
                            "uplink: batch {id} ({n} entries) acked: {accepted} new, {duplicates} duplicates, {pending} pending"
                        );
                        self.success(|s| {
                            s.batches_acked += 1;
                            s.records_acked += accepted;
                            s.duplicates += duplicates;
                            s.pending = pending;
                        });
                        let due = match self.last_proposed {
                            None => true,
                            Some(t) => t.elapsed() >= PROPOSE_EVERY,
                        };
                        if due {
                            self.propose();
                        }
                    }
                    CloudMessage::Refused { reason, .. } => {
                        self.builder.failed();
                        return Err(SyncError::Refused(reason));
                    }
                    other => {
                        self.builder.failed();
                        return Err(unexpected(other, "an ack of this batch"));
                    }
                }
                continue;
            }
            // Nothing to upload: the backlog has drained.
            let pending = self.builder.pending(&heads);
            ctx.set(|s| s.pending = pending);
            if self.dirty {
                self.propose();
            }
            if poll_now || last_health.elapsed() >= HEALTH_EVERY {
                last_health = Instant::now();
                let health = ctx.health(&heads, &self.builder.marks().clone());
                let msg = StoreMessage::Health {
                    health,
                    downlink: self.downlink,
                };
                match self.request(&msg).await {
                    Err(end) => return Ok(end),
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(CloudMessage::Publications(p))) => {
                        poll_now = !p.is_empty();
                        self.apply_publications(&p)?;
                        self.success(|_| {});
                        if let Some(end) = self.sync_keys().await? {
                            return Ok(end);
                        }
                    }
                    Ok(Ok(CloudMessage::Refused { reason, .. })) => {
                        return Err(SyncError::Refused(reason))
                    }
                    Ok(Ok(other)) => return Err(unexpected(other, "publications")),
                }
                continue;
            }
            // Idle: the OTA exchange gets its turn (one chunk at most).
            match self.ota_step().await? {
                super::ota::OtaStep::End(end) => return Ok(end),
                super::ota::OtaStep::Busy => continue,
                super::ota::OtaStep::Idle => {}
            }
            if let Err(end) = guarded(ctx, async {
                smol::Timer::after(IDLE_POLL).await;
                Ok(())
            })
            .await
            {
                return Ok(end);
            }
        }
    }

    /// Sends the store's customer keys and erasures to the cloud, in chunks,
    /// when the ring changed since the cloud last had all of it; merges what
    /// the cloud answers (its erasures). `Some` when the session must end.
    async fn sync_keys(&mut self) -> Result<Option<SessionEnd>, SyncError> {
        let read = |node: &Mutex<Node>| {
            super::lock(node)
                .key_ring()
                .map_err(|e| SyncError::Journal(e.to_string()))
        };
        let ring = read(&self.ctx.node)?;
        if self.keys_digest == Some(ring.digest()) {
            return Ok(None);
        }
        let mut after: Option<String> = None;
        loop {
            let chunk = ring.chunk(after.as_deref(), keel_uplink::wire::MAX_KEYS_PER_MESSAGE);
            if chunk.is_empty() {
                break;
            }
            after = chunk.last_id().map(str::to_string);
            let sent = chunk.len();
            let back = match self.request(&StoreMessage::Keys { ring: chunk }).await {
                Err(end) => return Ok(Some(end)),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(CloudMessage::Keys { ring })) => ring,
                Ok(Ok(CloudMessage::Refused { reason, .. })) => {
                    return Err(SyncError::Refused(reason))
                }
                Ok(Ok(other)) => return Err(unexpected(other, "customer keys")),
            };
            let changed = super::lock(&self.ctx.node)
                .merge_keys(&back)
                .map_err(|e| SyncError::Downlink(e.to_string()))?;
            log::debug!(
                "uplink: {sent} customer key entries sent, {} changed by the cloud's answer",
                changed.len()
            );
        }
        self.keys_digest = Some(read(&self.ctx.node)?.digest());
        Ok(None)
    }

    /// Records a successful exchange.
    fn success(&mut self, f: impl FnOnce(&mut super::UplinkStatus)) {
        let first = !self.succeeded;
        self.succeeded = true;
        let marks = self.builder.marks().clone();
        self.ctx.set(|s| {
            if first {
                s.failed_syncs = 0;
                s.last_error = None;
            }
            s.last_sync_ms = Some(super::now_ms());
            s.marks = marks;
            f(s)
        });
        if first {
            self.ctx.backoff_reset();
        }
    }

    /// Proposes the acknowledged marks (with the downlink mark) through raft.
    fn propose(&mut self) {
        let mut m = self.builder.marks().clone();
        m.merge(&self.replicated);
        m.downlink = m.downlink.max(self.downlink);
        m.acked_at_ms = super::now_ms();
        self.ctx.cluster.propose_marks(m);
        self.dirty = false;
        self.last_proposed = Some(Instant::now());
    }

    /// Applies publications (one commit, under the node lock for that commit only).
    fn apply_publications(&mut self, publications: &[Publication]) -> Result<(), SyncError> {
        if publications.is_empty() {
            return Ok(());
        }
        let floor = self.downlink;
        let applied = {
            let mut n = super::lock(&self.ctx.node);
            downlink::apply(&mut n, publications, floor)
        }
        .map_err(|e| SyncError::Downlink(e.to_string()))?;
        if applied.mark > self.downlink {
            log::info!(
                "uplink: downlink now at publication {} ({} applied, {} passed over)",
                applied.mark,
                applied.applied,
                applied.skipped.len()
            );
            self.downlink = applied.mark;
            self.dirty = true;
        }
        let mark = self.downlink;
        self.ctx.set(|s| {
            s.downlink = mark;
            s.publications_applied += applied.applied;
        });
        Ok(())
    }
}

/// Whether `a` holds more of some origin than `b`.
fn ahead(a: &UplinkMarks, b: &UplinkMarks) -> bool {
    a.origins.iter().any(|(o, m)| {
        let theirs = b.of(*o);
        m.bodies > theirs.bodies || m.chain > theirs.chain
    })
}

pub(super) fn unexpected(m: CloudMessage, wanted: &str) -> SyncError {
    let got = match m {
        CloudMessage::Welcome { .. } => "a welcome",
        CloudMessage::Ack { .. } => "an ack of another batch",
        CloudMessage::Refused { .. } => "a refusal",
        CloudMessage::Publications(_) => "publications",
        CloudMessage::Keys { .. } => "customer keys",
        CloudMessage::Releases(_) => "releases",
        CloudMessage::ReleaseChunk { .. } => "a release chunk",
        CloudMessage::ReleaseRefused { .. } => "a release refusal",
    };
    SyncError::Protocol(format!("the cloud answered with {got} instead of {wanted}"))
}
