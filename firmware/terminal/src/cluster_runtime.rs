//! The cluster runtime of one terminal: a thread running a smol executor that
//! owns the QUIC transport, drives the replication protocol (keel-core's
//! `Replicator`), and reports peers and origins for the console.
//!
//! Selling never waits for it: local commits reach it through a channel after
//! they are durable, and replicated records are applied under the node lock one
//! batch at a time. It must not make business decisions; those are the core's.
//!
//! It also carries the cloud uplink's high-water marks through raft
//! (`uplink_marks`): every committed `uplink.marks` entry is merged into a
//! shared value the uplink runtime, the console and the health endpoint read.
//! The raft log is compacted every `consensus_state::COMPACT_EVERY` applied
//! entries (and after a membership change), with those marks and the counter
//! order claims as the snapshot (`consensus_state`).

use crate::config::ClusterConfig;
use crate::node::{CommittedRecords, Node};
use keel_cluster::discovery::{Advertisement, Discovery, DiscoveryEvent};
use keel_cluster::identity::TerminalIdentity;
use keel_cluster::proof::{StoreVerifier, TerminalSigner};
pub use keel_cluster::raft::Role;
use keel_cluster::raft::{
    CommittedKind, MembershipChange, ProposalId, ProposeError, RaftNode, RaftNodeConfig,
    RaftStatus, RedbRaftStorage, StoreCommand,
};
use keel_cluster::transport::{Channel, Transport, TransportConfig, TransportEvent};
use keel_core::ids::{StoreId, TerminalId};
use keel_core::replication::{self, RecordSource, ReplicationMessage, Replicator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub mod consensus_state;
pub mod counter_claims;
pub mod key_sync;
pub mod ota;
#[cfg(test)]
mod single_voter;
pub mod uplink_marks;

use keel_uplink::UplinkMarks;

/// How often the runtime ticks (replication summaries are due every second).
pub const TICK: Duration = Duration::from_millis(100);

/// Errors starting the cluster runtime.
#[derive(Debug, Error)]
pub enum ClusterStartError {
    /// A certificate or key file cannot be read or does not match.
    #[error("cluster identity: {0}")]
    Identity(String),
    /// The transport cannot start (bad address, port in use, TLS setup).
    #[error("cluster transport: {0}")]
    Transport(String),
    /// The journal cannot be read.
    #[error("cluster: reading the journal: {0}")]
    Journal(String),
    /// The runtime thread cannot be spawned.
    #[error("cluster: cannot start the runtime thread: {0}")]
    Thread(std::io::Error),
}

/// One peer as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerView {
    /// Peer terminal.
    pub id: TerminalId,
    /// Its address, if known.
    pub addr: Option<SocketAddr>,
    /// Connection up.
    pub connected: bool,
    /// Milliseconds since last heard from.
    pub last_seen_ms: Option<u64>,
    /// This terminal's records the peer is known to lack.
    pub lag: Option<u64>,
}

/// What the runtime reports.
#[derive(Clone, Debug, Default)]
pub struct ClusterStatus {
    /// Peers (members other than this terminal, and any connected).
    pub peers: Vec<PeerView>,
    /// Newest record held per origin.
    pub origins: BTreeMap<TerminalId, u64>,
    /// Store members.
    pub members: Vec<TerminalId>,
    /// The QUIC address this terminal listens on.
    pub listen: Option<SocketAddr>,
    /// Recent refusals (peer, reason), newest last.
    pub refusals: Vec<String>,
    /// Whether mDNS discovery runs.
    pub mdns: bool,
    /// Peers seen through mDNS (terminal, address), with the firmware they advertise.
    pub discovered: BTreeMap<TerminalId, (SocketAddr, String)>,
    /// Raft's view: term, role, leader, commit, voters.
    pub raft: Option<RaftStatus>,
    /// The cloud uplink's marks as replicated through raft (merged from every
    /// committed `uplink.marks` entry).
    pub uplink_marks: UplinkMarks,
}

impl ClusterStatus {
    /// Whether raft says this terminal is the store leader.
    pub fn is_leader(&self) -> bool {
        self.raft
            .as_ref()
            .is_some_and(|r| r.role == Role::Leader && r.leader == Some(r.id))
    }

    /// Terminals of the store this one can reach, itself included.
    pub fn terminals_up(&self) -> u32 {
        1 + self.peers.iter().filter(|p| p.connected).count() as u32
    }
}

/// A decision only the store's majority may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consensus {
    /// A price change made in the store.
    Price {
        /// SKU.
        sku: String,
        /// New price, minor units of the store currency.
        price_minor: i64,
    },
    /// Close the business day.
    DayClose {
        /// The day (`YYYY-MM-DD`).
        day: String,
    },
    /// A store setting change.
    Setting {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// Add a terminal to the store's cluster.
    AddTerminal(u32),
    /// Remove a terminal from the store's cluster.
    RemoveTerminal(u32),
    /// Replicate the cloud uplink's high-water marks (proposed by the leader
    /// after the cloud acknowledged; every terminal merges them).
    UplinkMarks(UplinkMarks),
    /// Take a counter order into a sale on `terminal` (the first committed
    /// take of an order wins; see `counter_claims`).
    TakeCounterOrder {
        /// Order number (`K2-7`).
        order: String,
        /// Taking terminal.
        terminal: u32,
    },
}

/// How long a consensus operation may take before it is refused.
pub const CONSENSUS_TIMEOUT: Duration = Duration::from_secs(3);

/// A leader not heard from for this long is not sent requests (raft heartbeats every 100 ms).
const LEADER_FRESH_MS: u64 = 1_000;

/// Clock difference between terminals tolerated when checking a forwarded request's deadline.
const CLOCK_SKEW_MS: u64 = 2_000;

type ConsensusReply = std::sync::mpsc::Sender<Result<u64, String>>;

enum Command {
    Committed(CommittedRecords),
    Consensus(Consensus, ConsensusReply),
    /// Propose the uplink marks if this terminal leads; nobody waits for it.
    ProposeMarks(UplinkMarks),
    /// Customer keys or erasures merged here: push them to every connected peer.
    Keys(keel_core::pii::KeyRing),
    Shutdown,
}

/// Messages on the control channel: consensus requests forwarded to the leader.
#[derive(Debug, Serialize, Deserialize)]
enum ControlMessage {
    /// Please propose this (sent to the leader).
    Forward {
        req: u64,
        origin: u32,
        request: Consensus,
        deadline_ms: u64,
    },
    /// The outcome of a forwarded request: the raft index, or why not.
    Done {
        req: u64,
        result: Result<u64, String>,
    },
    /// Customers' data keys and erasures (a push or an anti-entropy chunk).
    Keys(keel_core::pii::KeyRing),
    /// The releases the cloud offers the store (the leader announces them).
    OtaOffers(Vec<keel_uplink::release::ReleaseOffer>),
    /// A terminal's OTA state (to the leader, which forwards it to the cloud).
    OtaReport(keel_uplink::release::TerminalOta),
    /// Please send bytes of a bundle (by its SHA-256).
    OtaFetch {
        sha: [u8; 32],
        offset: u64,
        len: u32,
    },
    /// Bytes of a bundle (empty: not held that far yet).
    OtaChunk {
        sha: [u8; 32],
        offset: u64,
        bytes: Vec<u8>,
    },
}

const CONTROL_VERSION: u8 = 1;

fn encode_control(m: &ControlMessage) -> Vec<u8> {
    postcard::to_extend(m, vec![CONTROL_VERSION]).unwrap_or_default()
}

fn decode_control(b: &[u8]) -> Result<ControlMessage, String> {
    match b.split_first() {
        Some((&CONTROL_VERSION, rest)) if rest.len() <= 64 * 1024 => {
            postcard::from_bytes(rest).map_err(|e| e.to_string())
        }
        Some((v, _)) => Err(format!("control message version {v} or size not supported")),
        None => Err("empty control message".into()),
    }
}

/// Decodes a control-channel payload from a peer exactly as the runtime does and
/// re-encodes what it decoded: the fuzzing entry point for control messages.
#[doc(hidden)]
pub fn decode_control_reencoded(b: &[u8]) -> Result<Vec<u8>, String> {
    decode_control(b).map(|m| encode_control(&m))
}

fn no_quorum(members: usize) -> String {
    format!(
        "no quorum: this terminal cannot reach a majority of the store's {members} terminals, so consensus operations (price and settings changes, day close, adding or removing terminals, taking counter orders) are refused; selling continues"
    )
}

/// A running cluster runtime.
pub struct ClusterHandle {
    status: Arc<Mutex<ClusterStatus>>,
    commands: smol::channel::Sender<Command>,
    marks: Arc<Mutex<UplinkMarks>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What other runtimes (the cloud uplink, the health endpoint) may see and ask
/// of the cluster runtime: its status, the replicated uplink marks, and
/// proposing new marks. Cheap to clone; never blocks.
#[derive(Clone)]
pub struct ClusterLink {
    status: Arc<Mutex<ClusterStatus>>,
    commands: smol::channel::Sender<Command>,
    marks: Arc<Mutex<UplinkMarks>>,
}

impl ClusterLink {
    /// A snapshot of the runtime's status (refreshed every tick).
    pub fn status(&self) -> ClusterStatus {
        let mut s = match self.status.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        };
        s.uplink_marks = self.uplink_marks();
        s
    }

    /// The uplink marks replicated through raft, as merged so far.
    pub fn uplink_marks(&self) -> UplinkMarks {
        match self.marks.lock() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Proposes `marks` through raft if this terminal is the leader (otherwise
    /// nothing happens). Returns at once; the marks are merged everywhere once
    /// committed.
    pub fn propose_marks(&self, marks: UplinkMarks) {
        let _ = self.commands.try_send(Command::ProposeMarks(marks));
    }
}

impl ClusterHandle {
    /// A snapshot of the runtime's status.
    pub fn status(&self) -> ClusterStatus {
        self.link().status()
    }

    /// A link to this runtime for other runtimes.
    pub fn link(&self) -> ClusterLink {
        ClusterLink {
            status: self.status.clone(),
            commands: self.commands.clone(),
            marks: self.marks.clone(),
        }
    }

    /// Runs a consensus operation: proposed through raft (forwarded to the leader when
    /// this terminal is a follower) and answered with the raft index once committed,
    /// or refused with a clear message when there is no majority.
    pub fn consensus(&self, c: Consensus) -> Result<u64, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.commands
            .try_send(Command::Consensus(c, tx))
            .map_err(|_| "the cluster runtime has stopped".to_string())?;
        // The runtime answers every request itself (decided, refused, or expired after
        // its deadline); this wait is only a backstop should the runtime stall.
        match rx.recv_timeout(CONSENSUS_TIMEOUT + Duration::from_millis(CLOCK_SKEW_MS + 1_000)) {
            Ok(r) => r,
            Err(_) => Err(no_quorum(self.status().members.len())),
        }
    }

    /// Stops the runtime and waits for its thread.
    pub fn shutdown(mut self) {
        let _ = self.commands.try_send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Command::Shutdown);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lock(node: &Mutex<Node>) -> std::sync::MutexGuard<'_, Node> {
    match node.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Reads records from the node for the replicator.
/// Reads records from the node for the replicator, taking the node lock for each
/// read only: answering a peer's summary (signing included) never holds up a sale
/// for longer than one bounded read.
struct NodeSource<'a>(&'a Mutex<Node>);

impl RecordSource for NodeSource<'_> {
    fn records(&self, origin: TerminalId, from_seq: u64, max_bytes: usize) -> Vec<Vec<u8>> {
        lock(self.0)
            .records_of(origin, from_seq, max_bytes)
            .unwrap_or_else(|e| {
                log::warn!("replication: reading records of {origin} from {from_seq}: {e}");
                Vec::new()
            })
    }

    fn proof(&self, origin: TerminalId, seq: u64) -> Option<Vec<u8>> {
        lock(self.0).proof_of(origin, seq).unwrap_or_else(|e| {
            log::warn!("replication: reading the proof of {origin}:{seq}: {e}");
            None
        })
    }

    fn proven_at_or_below(&self, origin: TerminalId, max_seq: u64) -> Option<u64> {
        lock(self.0)
            .proven_at_or_below(origin, max_seq)
            .unwrap_or_else(|e| {
                log::warn!("replication: reading the proofs of {origin}: {e}");
                None
            })
    }

    fn certificate(&self, origin: TerminalId) -> Option<Vec<u8>> {
        lock(self.0).certificate_of(origin).unwrap_or_else(|e| {
            log::warn!("replication: reading the certificate of {origin}: {e}");
            None
        })
    }
}

/// Starts the cluster runtime for `node` with `cfg`.
pub fn start(
    node: Arc<Mutex<Node>>,
    cfg: &ClusterConfig,
) -> Result<ClusterHandle, ClusterStartError> {
    let (store, me) = {
        let n = lock(&node);
        (n.profile.store.clone(), n.profile.terminal)
    };
    let identity = TerminalIdentity::from_files(&cfg.cert, &cfg.key)
        .map_err(|e| ClusterStartError::Identity(e.to_string()))?;
    let fingerprint = identity
        .fingerprint()
        .map_err(|e| ClusterStartError::Identity(e.to_string()))?;
    let ca_pem = std::fs::read_to_string(&cfg.ca_cert)
        .map_err(|e| ClusterStartError::Identity(format!("{}: {e}", cfg.ca_cert.display())))?;
    let signer =
        TerminalSigner::new(&identity).map_err(|e| ClusterStartError::Identity(e.to_string()))?;
    let verifier = StoreVerifier::new(&ca_pem, &store);
    let heads = lock(&node)
        .replication_heads()
        .map_err(|e| ClusterStartError::Journal(e.to_string()))?;
    let members = cfg.members.iter().copied().collect();
    let replicator = Replicator::new(me, store.clone(), heads, members);
    let mut tcfg = TransportConfig::new(cfg.listen, store.clone(), me, ca_pem, identity);
    tcfg.seed = u64::from(me.0) ^ now_ms();
    let transport = smol::block_on(Transport::bind(tcfg))
        .map_err(|e| ClusterStartError::Transport(e.to_string()))?;
    for (peer, addr) in &cfg.peers {
        transport.set_peer_addr(*peer, *addr);
    }
    let discovery = if cfg.mdns {
        let adv = Advertisement {
            store: store.clone(),
            terminal: me,
            port: transport.local_addr().port(),
            fingerprint,
            firmware: crate::node::FIRMWARE_VERSION.to_string(),
        };
        match Discovery::start(adv) {
            Ok(d) => Some(d),
            Err(e) => {
                // Static peers still work; say why discovery is off.
                log::warn!("mDNS discovery unavailable, using static peers only: {e}");
                None
            }
        }
    } else {
        None
    };
    let (tx, rx) = smol::channel::unbounded();
    let listener_tx = tx.clone();
    lock(&node).add_commit_listener(Box::new(move |records| {
        let _ = listener_tx.try_send(Command::Committed(records));
    }));
    let keys_tx = tx.clone();
    lock(&node).set_keys_listener(Box::new(move |ring| {
        let _ = keys_tx.try_send(Command::Keys(ring));
    }));
    let status = Arc::new(Mutex::new(ClusterStatus {
        members: cfg.members.clone(),
        listen: Some(transport.local_addr()),
        mdns: discovery.is_some(),
        ..ClusterStatus::default()
    }));
    let raft_path = lock(&node).data_dir().join("raft.redb");
    let currency = lock(&node).profile.currency.code().to_string();
    // Founding terminals start the raft group with the configured members; a joining
    // terminal starts empty and is brought in by the leader (`cluster add`).
    let voters: Vec<u64> = if cfg.join {
        Vec::new()
    } else {
        cfg.members.iter().map(|m| u64::from(m.0)).collect()
    };
    let storage = RedbRaftStorage::open(&raft_path, &voters)
        .map_err(|e| ClusterStartError::Journal(format!("{}: {e}", raft_path.display())))?;
    let raft = RaftNode::new(
        RaftNodeConfig {
            id: u64::from(me.0),
            applied: 0,
            session: now_ms(),
        },
        storage,
    )
    .map_err(|e| ClusterStartError::Journal(format!("raft: {e}")))?;
    if let Ok(mut st) = status.lock() {
        st.raft = Some(raft.status());
    }
    // A compacted log starts from its snapshot; the entries after it come
    // with the first advance.
    let (restored_marks, restored_claims) = consensus_state::restore(&raft);
    let marks = Arc::new(Mutex::new(restored_marks));
    let ota_channel = lock(&node).ota_channel().clone();
    let runtime = Runtime {
        uplink_marks: marks.clone(),
        node,
        transport,
        replicator,
        signer,
        verifier,
        status: status.clone(),
        me,
        store,
        members: cfg.members.clone(),
        discovery,
        raft,
        currency,
        pending_local: HashMap::new(),
        pending_forward: HashMap::new(),
        next_req: 1,
        retries: Vec::new(),
        key_sync: key_sync::KeySync::default(),
        ota: ota::MeshOta::new(ota_channel),
        counter_claims: restored_claims,
    };
    let thread = std::thread::Builder::new()
        .name(format!("keel-cluster-{me}"))
        .spawn(move || smol::block_on(runtime.run(rx)))
        .map_err(ClusterStartError::Thread)?;
    Ok(ClusterHandle {
        status,
        commands: tx,
        marks,
        thread: Some(thread),
    })
}

struct Runtime {
    node: Arc<Mutex<Node>>,
    transport: Transport,
    replicator: Replicator,
    /// Signs this terminal's records sent to peers.
    signer: TerminalSigner,
    /// Checks the proofs of records received.
    verifier: StoreVerifier,
    status: Arc<Mutex<ClusterStatus>>,
    me: TerminalId,
    #[allow(dead_code)]
    store: StoreId,
    members: Vec<TerminalId>,
    discovery: Option<Discovery>,
    raft: RaftNode,
    /// Store currency code (for price commands).
    currency: String,
    /// Proposals made here, by who waits for them.
    pending_local: HashMap<ProposalId, Waiter>,
    /// Requests forwarded to the leader, by request number.
    pending_forward: HashMap<u64, (Waiter, u64)>,
    next_req: u64,
    /// Proposals refused for a transient reason, retried on the next tick.
    retries: Vec<(Consensus, TerminalId, Waiter, u64)>,
    /// The uplink marks merged from every committed `uplink.marks` entry.
    uplink_marks: Arc<Mutex<UplinkMarks>>,
    /// Paces the customer-key anti-entropy.
    key_sync: key_sync::KeySync,
    /// Which terminal won each counter order, folded from every committed take.
    counter_claims: counter_claims::Claims,
    /// The OTA channel on the mesh (announcements, reports, bundle chunks).
    ota: ota::MeshOta,
}

/// Who waits for a proposal's outcome.
enum Waiter {
    /// The console of this terminal.
    Console(ConsensusReply),
    /// A follower that forwarded the request.
    Forwarded { from: TerminalId, req: u64 },
    /// Nobody (uplink marks: the next acknowledgement proposes them again).
    Nobody,
}

enum Wake {
    Event(TransportEvent),
    Command(Option<Command>),
    Found(DiscoveryEvent),
    Tick,
}

impl Runtime {
    async fn run(mut self, commands: smol::channel::Receiver<Command>) {
        let events = self.transport.events();
        let found = self.discovery.as_ref().map(|d| d.events().clone());
        let mut ticker = smol::Timer::interval(TICK);
        loop {
            let wake =
                smol::future::or(
                    async {
                        Wake::Event(events.recv().await.unwrap_or(TransportEvent::PeerDown(
                            self.me,
                            "transport closed".into(),
                        )))
                    },
                    smol::future::or(
                        async { Wake::Command(commands.recv().await.ok()) },
                        smol::future::or(
                            async {
                                match &found {
                                    Some(f) => match f.recv().await {
                                        Ok(e) => Wake::Found(e),
                                        Err(_) => std::future::pending().await,
                                    },
                                    None => std::future::pending().await,
                                }
                            },
                            async {
                                use smol::stream::StreamExt;
                                ticker.next().await;
                                Wake::Tick
                            },
                        ),
                    ),
                )
                .await;
            match wake {
                Wake::Event(e) => self.on_event(e),
                Wake::Command(Some(Command::Committed(records))) => {
                    let out = self.replicator.local_committed(&records, &self.signer);
                    self.send_all(out);
                }
                Wake::Command(Some(Command::Consensus(c, reply))) => self.on_consensus(c, reply),
                Wake::Command(Some(Command::ProposeMarks(m))) => {
                    if self.raft.is_leader() {
                        self.propose(Consensus::UplinkMarks(m), self.me, Waiter::Nobody);
                    }
                }
                Wake::Command(Some(Command::Keys(ring))) => self.send_keys(&ring),
                Wake::Command(Some(Command::Shutdown)) | Wake::Command(None) => {
                    if let Some(d) = self.discovery.take() {
                        d.stop();
                    }
                    self.transport.close().await;
                    return;
                }
                Wake::Found(e) => self.on_discovery(e),
                Wake::Tick => {
                    self.retry_proposals();
                    self.expire_forwards();
                    self.raft.tick();
                    self.advance_raft();
                    self.sync_members();
                    let out = self.replicator.tick(now_ms());
                    self.send_all(out);
                    let node = self.node.clone();
                    let chunk = self.key_sync.tick(|| match lock(&node).key_ring() {
                        Ok(r) => Some(r),
                        Err(e) => {
                            log::warn!("customer keys: cannot read the key ring: {e}");
                            None
                        }
                    });
                    if let Some(chunk) = chunk {
                        self.send_keys(&chunk);
                    }
                    self.ota_tick();
                    self.publish_status();
                }
            }
        }
    }

    fn send_all(&self, out: Vec<replication::Outgoing>) {
        for o in out {
            if let Err(e) =
                self.transport
                    .send(o.to, Channel::Replication, replication::encode(&o.msg))
            {
                log::debug!("replication: cannot send to {}: {e}", o.to);
            }
        }
    }

    fn on_event(&mut self, event: TransportEvent) {
        match event {
            TransportEvent::PeerUp(peer, addr) => {
                log::info!("peer {peer} up at {addr}");
                if !self.replicator.members().contains(&peer) {
                    log::warn!("peer {peer} is not a member of this store's cluster; ignoring its records until `cluster add {}`", peer.0);
                }
                let out = self.replicator.peer_up(peer, now_ms());
                self.send_all(out);
            }
            TransportEvent::PeerDown(peer, reason) => {
                log::info!("peer {peer} down: {reason}");
                self.replicator.peer_down(peer);
            }
            TransportEvent::Refused(addr, reason) => {
                log::warn!("refused {addr}: {reason}");
                if let Ok(mut s) = self.status.lock() {
                    s.refusals.push(format!("{addr}: {reason}"));
                    let n = s.refusals.len();
                    if n > 20 {
                        s.refusals.drain(..n - 20);
                    }
                }
            }
            TransportEvent::Message(m) => match m.channel {
                Channel::Replication => self.on_replication(m.from, &m.payload),
                Channel::Raft => {
                    if let Err(e) = self.raft.step(u64::from(m.from.0), &m.payload) {
                        log::warn!("raft message from {} refused: {e}", m.from);
                    }
                    self.advance_raft();
                }
                Channel::Control => self.on_control(m.from, &m.payload),
            },
        }
    }

    fn reply(&self, waiter: Waiter, result: Result<u64, String>) {
        match waiter {
            Waiter::Console(tx) => {
                let _ = tx.send(result);
            }
            Waiter::Forwarded { from, req } => {
                let _ = self.transport.send(
                    from,
                    Channel::Control,
                    encode_control(&ControlMessage::Done { req, result }),
                );
            }
            Waiter::Nobody => {
                if let Err(e) = result {
                    log::debug!("uplink marks not replicated: {e}");
                }
            }
        }
    }

    fn on_consensus(&mut self, c: Consensus, reply: ConsensusReply) {
        if self.raft.is_leader() {
            self.propose(c, self.me, Waiter::Console(reply));
        } else if let Some(leader) = self.raft.leader() {
            self.forward(
                TerminalId(leader as u32),
                c,
                self.me,
                Waiter::Console(reply),
            );
        } else {
            let _ = reply.send(Err(no_quorum(self.replicator.members().len())));
        }
    }

    fn propose(&mut self, c: Consensus, origin: TerminalId, waiter: Waiter) {
        self.propose_until(c, origin, waiter, now_ms() + 2_500);
    }

    /// Proposes `c`; a transient refusal (raft busy applying a previous membership
    /// change, or dropping proposals during a leader transfer) is retried every
    /// 100 ms until `deadline_ms`.
    fn propose_until(
        &mut self,
        c: Consensus,
        origin: TerminalId,
        waiter: Waiter,
        deadline_ms: u64,
    ) {
        if c == Consensus::RemoveTerminal(self.me.0) && self.raft.is_leader() {
            // Leadership moves first; the request follows the new leader.
            let next = self
                .raft
                .status()
                .voters
                .into_iter()
                .find(|v| *v != u64::from(self.me.0));
            match next {
                Some(v) => {
                    log::info!(
                        "raft: {} hands leadership to T{v:02} before leaving the cluster",
                        self.me
                    );
                    self.raft.transfer_leader(v);
                    self.advance_raft();
                    self.retries.push((c, origin, waiter, deadline_ms));
                }
                None => self.reply(
                    waiter,
                    Err("this terminal is the last voter and cannot leave".into()),
                ),
            }
            return;
        }
        let currency = self.currency.clone();
        let retry_copy = c.clone();
        let result = match c {
            Consensus::Price { sku, price_minor } => self.raft.propose(StoreCommand::SetPrice {
                sku,
                price_minor,
                currency,
                origin: u64::from(origin.0),
                hlc: now_ms(),
            }),
            Consensus::DayClose { day } => self.raft.propose(StoreCommand::DayClose {
                day,
                by: u64::from(origin.0),
            }),
            Consensus::Setting { key, value } => self.raft.propose(StoreCommand::SetSetting {
                key,
                value: value.into_bytes(),
            }),
            Consensus::AddTerminal(t) => self
                .raft
                .propose_conf_change(MembershipChange::AddNode(u64::from(t))),
            Consensus::RemoveTerminal(t) => self
                .raft
                .propose_conf_change(MembershipChange::RemoveNode(u64::from(t))),
            Consensus::UplinkMarks(m) => self.raft.propose(uplink_marks::command(&m)),
            Consensus::TakeCounterOrder { order, terminal } => {
                self.raft.propose(counter_claims::command(&order, terminal))
            }
        };
        match result {
            Ok(id) => {
                self.pending_local.insert(id, waiter);
                self.advance_raft();
            }
            Err(e @ (ProposeError::Dropped | ProposeError::MembershipChangePending)) => {
                if now_ms() < deadline_ms {
                    self.retries.push((retry_copy, origin, waiter, deadline_ms));
                } else {
                    self.reply(waiter, Err(e.to_string()));
                }
            }
            Err(e) => self.reply(waiter, Err(e.to_string())),
        }
    }

    /// Proposals waiting to be retried (see [`Runtime::propose_until`]).
    fn retry_proposals(&mut self) {
        for (c, origin, waiter, deadline) in std::mem::take(&mut self.retries) {
            if self.raft.is_leader() {
                self.propose_until(c, origin, waiter, deadline);
            } else if let Some(leader) = self.raft.leader().filter(|l| *l != u64::from(self.me.0)) {
                // Leadership moved: the request follows it.
                self.forward(TerminalId(leader as u32), c, origin, waiter);
            } else if now_ms() < deadline {
                self.retries.push((c, origin, waiter, deadline));
            } else {
                self.reply(waiter, Err(no_quorum(self.replicator.members().len())));
            }
        }
    }

    /// Forwarded requests past their deadline are answered (and forgotten).
    fn expire_forwards(&mut self) {
        let now = now_ms();
        let expired: Vec<u64> = self
            .pending_forward
            .iter()
            .filter(|(_, (_, d))| now > d + CLOCK_SKEW_MS)
            .map(|(r, _)| *r)
            .collect();
        for r in expired {
            if let Some((w, _)) = self.pending_forward.remove(&r) {
                self.reply(w, Err(no_quorum(self.replicator.members().len())));
            }
        }
    }

    /// Sends a request to the leader; `waiter` gets the outcome.
    fn forward(&mut self, leader: TerminalId, c: Consensus, origin: TerminalId, waiter: Waiter) {
        let req = self.next_req;
        self.next_req += 1;
        // Only to a leader heard from recently: a request queued for an unreachable
        // leader could otherwise be decided long after this terminal answered "no quorum".
        let fresh = self.transport.peers().iter().any(|p| {
            p.id == leader && p.connected && p.last_seen_ms.is_some_and(|ms| ms < LEADER_FRESH_MS)
        });
        if !fresh {
            self.reply(waiter, Err(no_quorum(self.replicator.members().len())));
            return;
        }
        let deadline_ms = now_ms() + CONSENSUS_TIMEOUT.as_millis() as u64;
        let msg = ControlMessage::Forward {
            req,
            origin: origin.0,
            request: c,
            deadline_ms,
        };
        match self
            .transport
            .send(leader, Channel::Control, encode_control(&msg))
        {
            Ok(()) => {
                self.pending_forward.insert(req, (waiter, deadline_ms));
            }
            Err(e) => self.reply(
                waiter,
                Err(format!("cannot reach the leader {leader}: {e}")),
            ),
        }
    }

    /// Sends customer keys to every connected peer (the control channel).
    fn send_keys(&self, ring: &keel_core::pii::KeyRing) {
        if ring.is_empty() {
            return;
        }
        let bytes = encode_control(&ControlMessage::Keys(ring.clone()));
        for p in self.transport.peers().iter().filter(|p| p.connected) {
            if let Err(e) = self.transport.send(p.id, Channel::Control, bytes.clone()) {
                log::debug!("customer keys: cannot send to {}: {e}", p.id);
            }
        }
    }

    fn on_control(&mut self, from: TerminalId, payload: &[u8]) {
        match decode_control(payload) {
            Ok(ControlMessage::Keys(ring)) => {
                if !self.replicator.members().contains(&from) {
                    log::warn!("customer keys from {from}, not a member of this store, ignored");
                    return;
                }
                match lock(&self.node).merge_keys(&ring) {
                    Ok(changed) if !changed.is_empty() => {
                        log::info!(
                            "customer keys: {} entries from {from} merged",
                            changed.len()
                        );
                    }
                    Ok(_) => {}
                    Err(e) => log::warn!("customer keys from {from} not stored: {e}"),
                }
            }
            Ok(ControlMessage::Forward {
                req,
                origin,
                request,
                deadline_ms,
            }) => {
                if now_ms() > deadline_ms.saturating_add(CLOCK_SKEW_MS) {
                    // The asker has long given up (answered "no quorum"): deciding now would
                    // contradict what its console said.
                    log::warn!(
                        "consensus request {req} from {from} arrived after its deadline; refused"
                    );
                    self.reply(
                        Waiter::Forwarded { from, req },
                        Err("the request arrived after its deadline; nothing was decided".into()),
                    );
                } else if self.raft.is_leader() {
                    self.propose(request, TerminalId(origin), Waiter::Forwarded { from, req });
                } else {
                    let why = match self.raft.leader() {
                        Some(l) => format!(
                            "T{:02} is no longer the leader (the leader is T{l:02}); retry",
                            self.me.0
                        ),
                        None => no_quorum(self.replicator.members().len()),
                    };
                    self.reply(Waiter::Forwarded { from, req }, Err(why));
                }
            }
            Ok(ControlMessage::Done { req, result }) => {
                if let Some((w, _)) = self.pending_forward.remove(&req) {
                    self.reply(w, result);
                }
            }
            Ok(
                m @ (ControlMessage::OtaOffers(_)
                | ControlMessage::OtaReport(_)
                | ControlMessage::OtaFetch { .. }
                | ControlMessage::OtaChunk { .. }),
            ) => self.on_ota(from, m),
            Err(e) => log::warn!("control message from {from} refused: {e}"),
        }
    }

    /// Runs raft's Ready loop once: sends messages, applies committed entries, answers waiters.
    fn advance_raft(&mut self) {
        let out = match self.raft.advance() {
            Ok(o) => o,
            Err(e) => {
                log::error!("raft: {e}");
                return;
            }
        };
        for (to, bytes) in out.messages {
            if let Err(e) = self
                .transport
                .send(TerminalId(to as u32), Channel::Raft, bytes)
            {
                log::debug!("raft: cannot send to T{to:02}: {e}");
            }
        }
        if let Some(ss) = out.soft_state {
            log::info!(
                "raft: {} now {:?}, leader {:?}",
                self.me,
                ss.role,
                ss.leader.map(|l| format!("T{l:02}"))
            );
        }
        if let Some(snapshot) = &out.snapshot {
            // A leader's snapshot replaces the entries it covers.
            match consensus_state::decode(&snapshot.data) {
                Ok((marks, claims)) => {
                    match self.uplink_marks.lock() {
                        Ok(mut g) => g.merge(&marks),
                        Err(p) => p.into_inner().merge(&marks),
                    }
                    self.counter_claims = claims;
                }
                Err(e) => log::error!(
                    "raft: snapshot at index {} has unreadable consensus state: {e}",
                    snapshot.index
                ),
            }
        }
        for c in out.committed {
            // Every terminal merges every committed marks entry, its own or not.
            uplink_marks::apply(&self.uplink_marks, &c);
            // Likewise every counter order take, so any leader refuses a second one.
            let claim = counter_claims::apply(&mut self.counter_claims, &c);
            let result = match claim {
                Some(granted) => granted.map(|()| c.index),
                None if c.local => self.apply_committed(c.index, &c.kind),
                None => Ok(c.index),
            };
            if let Some(w) = c.proposal.and_then(|p| self.pending_local.remove(&p)) {
                self.reply(w, result);
            }
        }
        for p in out.abandoned {
            if let Some(w) = self.pending_local.remove(&p) {
                self.reply(
                    w,
                    Err("the proposal was dropped because leadership changed; retry".into()),
                );
            }
        }
        if !self.raft.should_compact(consensus_state::COMPACT_EVERY) {
            return;
        }
        let marks = match self.uplink_marks.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Err(e) = consensus_state::compact_if_due(
            &mut self.raft,
            consensus_state::COMPACT_EVERY,
            &marks,
            &self.counter_claims,
        ) {
            log::warn!("raft: compaction failed (the log keeps growing until it works): {e}");
        }
    }

    /// Applies an entry this terminal proposed (as leader): it journals the
    /// decided fact, which replication then spreads to every terminal.
    fn apply_committed(&mut self, index: u64, kind: &CommittedKind) -> Result<u64, String> {
        let mut node = lock(&self.node);
        let events = match kind {
            CommittedKind::Command(StoreCommand::SetPrice {
                sku, price_minor, ..
            }) => {
                let Some(item) = node
                    .state
                    .catalog
                    .get(&keel_core::ids::Sku(sku.clone()))
                    .cloned()
                else {
                    return Err(format!("unknown SKU {sku}"));
                };
                let price = keel_core::money::Money::new(*price_minor, node.profile.currency);
                vec![keel_core::event::EventBody::CatalogUpserted(
                    keel_core::catalog::CatalogItem { price, ..item },
                )]
            }
            CommittedKind::Command(StoreCommand::SetSetting { key, value }) => {
                vec![keel_core::event::EventBody::SettingChanged {
                    key: key.clone(),
                    value: String::from_utf8_lossy(value).into_owned(),
                }]
            }
            CommittedKind::Command(StoreCommand::DayClose { day, by }) => {
                vec![keel_core::event::EventBody::DayClosed {
                    day: day.clone(),
                    raft_index: index,
                    requested_on: TerminalId(*by as u32),
                }]
            }
            _ => Vec::new(),
        };
        if events.is_empty() {
            return Ok(index);
        }
        node.commit(events, None)
            .map(|_| index)
            .map_err(|e| e.to_string())
    }

    /// Keeps replication's member set equal to raft's voters.
    fn sync_members(&mut self) {
        let voters: Vec<TerminalId> = self
            .raft
            .status()
            .voters
            .iter()
            .map(|v| TerminalId(*v as u32))
            .collect();
        if voters.is_empty() {
            return;
        }
        for v in &voters {
            if !self.replicator.members().contains(v) {
                log::info!("cluster: {v} joined the store");
                self.replicator.add_member(*v);
            }
        }
        let gone: Vec<TerminalId> = self
            .replicator
            .members()
            .iter()
            .filter(|m| !voters.contains(m))
            .copied()
            .collect();
        for g in gone {
            log::info!("cluster: {g} left the store");
            self.replicator.remove_member(g);
        }
        self.members = voters;
    }

    fn on_discovery(&mut self, event: DiscoveryEvent) {
        match event {
            DiscoveryEvent::Found {
                terminal,
                addr,
                fingerprint,
                firmware,
            } => {
                // The fingerprint is unauthenticated here; the TLS handshake checks the certificate.
                log::info!(
                    "mDNS: found {terminal} at {addr} (firmware {firmware}, certificate {}..)",
                    fingerprint.get(..12).unwrap_or("")
                );
                if self.replicator.members().contains(&terminal) {
                    self.transport.set_peer_addr(terminal, addr);
                } else {
                    log::info!("mDNS: {terminal} is not a member of this store's cluster; `cluster add {}` admits it", terminal.0);
                }
                if let Ok(mut s) = self.status.lock() {
                    s.discovered.insert(terminal, (addr, firmware));
                }
            }
            DiscoveryEvent::Lost { terminal } => {
                log::info!("mDNS: {terminal} vanished");
                if let Ok(mut s) = self.status.lock() {
                    s.discovered.remove(&terminal);
                }
            }
        }
    }

    fn on_replication(&mut self, from: TerminalId, payload: &[u8]) {
        let msg: ReplicationMessage = match replication::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                log::warn!("replication message from {from} refused: {e}");
                return;
            }
        };
        let node = self.node.clone();
        let step = {
            self.replicator.receive(
                from,
                msg,
                &NodeSource(&node),
                &self.signer,
                &self.verifier,
                now_ms(),
            )
        };
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                log::warn!("replication from {from} refused: {e}");
                return;
            }
        };
        for acc in &step.accepted {
            let mut guard = lock(&node);
            if let Err(e) = guard.apply_remote(acc) {
                log::warn!("replicated records of {} not applied: {e}", acc.origin);
                let held = guard
                    .replication_heads()
                    .ok()
                    .and_then(|h| h.get(&acc.origin).copied());
                drop(guard);
                self.replicator
                    .rollback(acc.origin, held.unwrap_or(self.replicator.head(acc.origin)));
            }
        }
        self.send_all(step.outgoing);
    }

    fn publish_status(&self) {
        let peers_now = self.transport.peers();
        let mut peers: Vec<PeerView> = Vec::new();
        for id in self.members.iter().filter(|m| **m != self.me) {
            let p = peers_now.iter().find(|p| p.id == *id);
            peers.push(PeerView {
                id: *id,
                addr: p.and_then(|p| p.addr),
                connected: p.is_some_and(|p| p.connected),
                last_seen_ms: p.and_then(|p| p.last_seen_ms),
                lag: self.replicator.lag(*id),
            });
        }
        let origins = self.replicator.version_vector().iter().collect();
        let raft = self.raft.status();
        if let Ok(mut s) = self.status.lock() {
            s.peers = peers;
            s.origins = origins;
            s.members = self.replicator.members().iter().copied().collect();
            s.raft = Some(raft);
            s.uplink_marks = match self.uplink_marks.lock() {
                Ok(m) => m.clone(),
                Err(p) => p.into_inner().clone(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_round_trip_and_garbage_is_refused() {
        let m = ControlMessage::Forward {
            req: 7,
            origin: 2,
            request: Consensus::Price {
                sku: "CHOC-100".into(),
                price_minor: 199,
            },
            deadline_ms: 42,
        };
        match decode_control(&encode_control(&m)) {
            Ok(ControlMessage::Forward {
                req: 7,
                origin: 2,
                request:
                    Consensus::Price {
                        price_minor: 199, ..
                    },
                deadline_ms: 42,
            }) => {}
            other => panic!("round trip: {}", other.is_ok()),
        }
        assert!(decode_control(&[]).unwrap_err().contains("empty"));
        assert!(decode_control(&[9, 0, 0]).unwrap_err().contains("version"));
        assert!(decode_control(&[CONTROL_VERSION, 0xff, 0xff, 0xff]).is_err());
        let mut big = vec![CONTROL_VERSION];
        big.resize(64 * 1024 + 2, 0);
        assert!(
            decode_control(&big).is_err(),
            "oversized control messages are refused"
        );
        for len in 0..64u8 {
            let mut b = vec![CONTROL_VERSION];
            b.extend((0..len).map(|i| i.wrapping_mul(53) ^ 0x3c));
            let _ = decode_control(&b);
        }
    }
}
