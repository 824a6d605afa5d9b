//! The simulated store: K terminals, a network, a clock and a fault schedule, all
//! driven from one seed. Owns the event loop, the fault injection and the
//! acknowledged-sale ledger; the checks after the run live in `invariants`.
//! It must never read the real clock or OS randomness.

mod disk_faults;
mod pricing;
mod printing;

use crate::cashier::{self, AckedReturn, Draw, Progress, Workload};
use crate::catalog;
use crate::cloud::{Cloud, UplinkSource, Uploader};
use crate::consensus::{CommittedLog, Member};
use crate::disk::CrashDisk;
use crate::fault_mask::{FaultKind, FaultMask};
use crate::plan::Case;
use crate::rng::SimRng;
use crate::terminal::{heads, JournalSource, SimSigner, SimTerminal, SimVerifier};
use keel_core::event::EventBody;
use keel_core::ids::TerminalId;
use keel_core::replication::{decode, encode, Outgoing};
use ring::digest;
use ring::signature::Ed25519KeyPair;
use std::collections::{BTreeMap, BTreeSet};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Terminals (3 to 15).
    pub terminals: u32,
    /// Sales each terminal completes before the run ends.
    pub sales_per_terminal: u32,
    /// Planted bug: the disk acknowledges syncs without making anything durable.
    pub plant_lying_fsync: bool,
    /// Planted bug: a sale is acknowledged (its receipt printed) even when its
    /// commit was refused by a full disk or cut by the power.
    pub plant_ack_unsaved: bool,
}

/// Faults injected, by type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Messages dropped.
    pub lost: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Messages held back so later ones overtake them.
    pub reordered: u64,
    /// Partitions started.
    pub partitions: u64,
    /// Partitions healed.
    pub heals: u64,
    /// Power cuts (unsynced writes lost, terminal restarted from disk).
    pub power_cuts: u64,
    /// Clock jumps (a terminal's clock moved by up to ±10 minutes).
    pub clock_jumps: u64,
    /// Cloud outages (1 minute to 3 hours).
    pub cloud_outages: u64,
    /// Uploader changes (the raft leader moved, possibly mid-upload).
    pub uploader_changes: u64,
    /// Periods a terminal's journal disk was full (2 to 10 s from its first refused write).
    pub disk_full_periods: u64,
    /// Cashier commits refused cleanly because the disk was full.
    pub disk_full_refusals: u64,
    /// Restarts refused (retried) because the disk was full.
    pub restarts_refused_disk_full: u64,
    /// Power cuts in the middle of a commit, keeping a torn part of the unsynced writes.
    pub torn_power_cuts: u64,
    /// Unsynced write ranges that survived torn power cuts (whole or a prefix).
    pub torn_writes_kept: u64,
    /// Cashier commits that failed because the power went mid-commit (not acknowledged).
    pub commits_cut_by_power: u64,
    /// Cashier lookups of an earlier receipt refused because the journal was
    /// closed after a failed reopen (shown on screen; the cashier tried again later).
    pub lookups_refused_unavailable: u64,
    /// Times a receipt printer ran out of paper (a new roll 10 s to 5 min later).
    pub paper_outs: u64,
    /// Print attempts that found the printer out of paper (the job waited).
    pub print_attempts_without_paper: u64,
}

/// A sale the customer got a receipt for: must survive everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedSale {
    /// Terminal that sold it.
    pub terminal: TerminalId,
    /// Its receipt number.
    pub receipt_no: u64,
    /// Its total, minor units.
    pub total_minor: i64,
    /// (sku, quantity) of its lines.
    pub lines: Vec<(String, i64)>,
}

/// Goods received (a positive stock adjustment) acknowledged to the manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedReceipt {
    /// SKU.
    pub sku: String,
    /// Units received.
    pub qty: i64,
}

/// The result of one run.
#[derive(Debug)]
pub struct Outcome {
    /// SHA-256 over everything that happened, in order.
    pub trace_hash: [u8; 32],
    /// Faults injected.
    pub faults: Faults,
    /// Sales acknowledged.
    pub acked: usize,
    /// Messages delivered.
    pub delivered: u64,
    /// Shifts closed with a Z report.
    pub z_reports: u64,
    /// Raft terms that had a leader.
    pub raft_terms: u64,
    /// Batches the cloud accepted.
    pub cloud_batches: u64,
    /// Raft entries committed (as seen by terminal 1).
    pub raft_committed: u64,
    /// Goods receipts (stock deliveries) committed.
    pub deliveries: usize,
    /// Simulated time at the end, ms.
    pub sim_ms: u64,
    /// What the cashiers did (cards, refunds, voids, kitchen tickets).
    pub workload: Workload,
    /// Invariant violations (empty = pass).
    pub violations: Vec<String>,
}

const START_MS: u64 = 1_790_000_000_000;
const STEP_MS: u64 = 10;

/// A message on the wire: (from, to, channel, bytes), keyed by (delivery time, sequence).
type InFlight = (TerminalId, TerminalId, Channel, Vec<u8>);

/// Which protocol a simulated message belongs to (a QUIC stream in production).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Replication,
    Raft,
}

struct Node {
    disk: CrashDisk,
    /// The raft log's disk (its own file in production), never lying.
    raft_disk: CrashDisk,
    running: Option<SimTerminal>,
    signer: SimSigner,
    skew_ms: i64,
    next_action_ms: u64,
    down_until_ms: u64,
    cashier: Progress,
    member: Option<Member>,
    committed: CommittedLog,
    boots: u64,
}

impl Node {
    /// The day is over for this terminal: its sales are done and its shift is closed.
    fn done(&self, target: u32) -> bool {
        self.cashier.sold >= target
            && self
                .running
                .as_ref()
                .is_some_and(|r| r.state.shift.is_none())
    }
}

struct World {
    rng: SimRng,
    now: u64,
    nodes: BTreeMap<TerminalId, Node>,
    members: BTreeSet<TerminalId>,
    verifier: SimVerifier,
    queue: BTreeMap<(u64, u64), InFlight>,
    cloud: Cloud,
    uploader: Option<Uploader>,
    cloud_down_until: u64,
    batch_ids: u64,
    leaders: BTreeMap<u64, u64>,
    decisions: u64,
    msg_no: u64,
    delay: BTreeMap<(TerminalId, TerminalId), u64>,
    cut: BTreeSet<(TerminalId, TerminalId)>,
    heal_at: Option<u64>,
    faults: Faults,
    disk_faults: disk_faults::DiskFaults,
    printing: printing::Printing,
    pricing: pricing::Pricing,
    trace: digest::Context,
    acked: Vec<AckedSale>,
    received: Vec<AckedReceipt>,
    returns: Vec<AckedReturn>,
    workload: Workload,
    z_reports: u64,
    delivered: u64,
    violations: Vec<String>,
    chaos: bool,
    /// The kinds of fault this run may inject.
    allowed: FaultMask,
    /// Whether the raft leader still proposes store decisions and the cloud
    /// still publishes (off for the last seconds of the run, so the last
    /// commit reaches every member and the cloud).
    deciding: bool,
}

/// Runs one seed and checks the invariants.
pub fn run(cfg: &SimConfig) -> Outcome {
    run_case(&Case::new(cfg.clone()))
}

/// Runs one case (a configuration and the kinds of fault allowed) and checks the invariants.
pub fn run_case(case: &Case) -> Outcome {
    let cfg = &case.cfg;
    let mut w = World::new(cfg);
    w.allowed = case.faults;
    // A day of 1,000 sales takes about 5 simulated hours (18 s a sale).
    let limit_ms = (6 * 3_600_000).max(u64::from(cfg.sales_per_terminal) * 30_000);
    while w.nodes.values().any(|n| !n.done(cfg.sales_per_terminal)) && w.violations.is_empty() {
        w.step(cfg);
        if w.now > START_MS + limit_ms {
            w.violations.push(format!(
                "workload did not finish in {} simulated hours",
                limit_ms / 3_600_000
            ));
        }
    }
    // Quiesce: heal, restart everything, let replication converge.
    w.chaos = false;
    w.calm_disks();
    w.calm_printers();
    w.cut.clear();
    w.cloud_down_until = 0;
    let ids: Vec<TerminalId> = w.nodes.keys().copied().collect();
    for t in &ids {
        if w.nodes[t].running.is_none() {
            w.restart(*t);
        }
    }
    w.connect_all();
    let end = w.now + 120_000;
    while w.now < end {
        // No new decision in the last 10 s: the leader's last commit then
        // reaches every member with the heartbeats (100 ms) before the check.
        w.deciding = w.now + 10_000 < end;
        w.step(cfg);
    }
    let mut violations = std::mem::take(&mut w.violations);
    violations.extend(w.check_printers());
    violations.extend(w.check_prices());
    violations.extend(crate::invariants::check(
        &w.terminals(),
        &w.acked,
        &w.received,
        &w.returns,
        cfg.terminals.clamp(3, 15),
    ));
    // The cloud holds every terminal's journal in full, chain checked, and every acknowledged sale.
    violations.extend(crate::invariants::check_cloud(
        &w.terminals(),
        &w.cloud,
        &w.acked,
    ));
    // Raft: a leader was elected, decisions committed, every member holds the same committed log.
    if w.leaders.is_empty() {
        violations.push("raft: no leader was ever elected".into());
    }
    let logs: Vec<(TerminalId, &crate::consensus::CommittedLog)> =
        w.nodes.iter().map(|(t, n)| (*t, &n.committed)).collect();
    if let Some((t0, l0)) = logs.first() {
        for (t, l) in &logs[1..] {
            if l != l0 {
                let first = l0
                    .iter()
                    .zip(l.iter())
                    .find(|(a, b)| a != b)
                    .map(|((i, a), (_, b))| format!("index {i}: {a:?} vs {b:?}"))
                    .unwrap_or_else(|| {
                        let (short, long) = if l0.len() < l.len() { (l0, l) } else { (l, l0) };
                        long.iter()
                            .nth(short.len())
                            .map_or(String::new(), |(i, e)| {
                                format!("index {i} only in the longer: {e:?}")
                            })
                    });
                violations.push(format!(
                    "raft: members {} and {} hold different committed logs ({} vs {} entries; {first})",
                    t0.0,
                    t.0,
                    l0.len(),
                    l.len()
                ));
            }
        }
        let decided = l0
            .values()
            .filter(|(_, c)| c.contains("sim.decision"))
            .count() as u64;
        if w.decisions > 0 && decided == 0 {
            violations.push(format!(
                "raft: {} decisions proposed, none committed",
                w.decisions
            ));
        }
        for (i, (term, c)) in l0.iter() {
            w.trace.update(&i.to_be_bytes());
            w.trace.update(&term.to_be_bytes());
            w.trace.update(c.as_bytes());
        }
    }
    for t in &ids {
        if let Some(r) = &w.nodes[t].running {
            let h = heads(&r.journal).unwrap_or_default();
            for (o, head) in h {
                w.trace.update(&o.0.to_be_bytes());
                w.trace.update(&head.seq.to_be_bytes());
                w.trace.update(&head.hash.0);
            }
        }
    }
    let mut trace_hash = [0u8; 32];
    trace_hash.copy_from_slice(w.trace.finish().as_ref());
    Outcome {
        trace_hash,
        faults: w.faults.clone(),
        acked: w.acked.len(),
        delivered: w.delivered,
        z_reports: w.z_reports,
        raft_terms: w.leaders.len() as u64,
        cloud_batches: w.cloud.accepted,
        raft_committed: w
            .nodes
            .values()
            .next()
            .map_or(0, |n| n.committed.len() as u64),
        deliveries: w.received.len(),
        sim_ms: w.now - START_MS,
        workload: Workload {
            cards_refused: w.nodes.values().map(|n| n.cashier.cards_refused).sum(),
            ..w.workload.clone()
        },
        violations,
    }
}

impl World {
    fn new(cfg: &SimConfig) -> World {
        let mut rng = SimRng::new(cfg.seed);
        let k = cfg.terminals.clamp(3, 15);
        let members: BTreeSet<TerminalId> = (1..=k).map(TerminalId).collect();
        let mut nodes = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for t in &members {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            // Invariant: any 32 bytes are a valid Ed25519 seed.
            let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("32-byte seed");
            keys.insert(
                *t,
                ring::signature::KeyPair::public_key(&pair)
                    .as_ref()
                    .to_vec(),
            );
            nodes.insert(
                *t,
                Node {
                    disk: CrashDisk::new(cfg.plant_lying_fsync),
                    raft_disk: CrashDisk::new(false),
                    running: None,
                    signer: SimSigner(pair),
                    skew_ms: rng.range(0, 4_000) as i64 - 2_000,
                    next_action_ms: START_MS + rng.range(0, 5_000),
                    down_until_ms: 0,
                    cashier: Progress::default(),
                    member: None,
                    committed: CommittedLog::new(),
                    boots: 0,
                },
            );
        }
        let mut delay = BTreeMap::new();
        for a in &members {
            for b in &members {
                delay.insert((*a, *b), rng.range(1, 30));
            }
        }
        let mut w = World {
            rng,
            now: START_MS,
            nodes,
            members: members.clone(),
            verifier: SimVerifier::new(keys),
            queue: BTreeMap::new(),
            leaders: BTreeMap::new(),
            decisions: 0,
            cloud: Cloud::default(),
            uploader: None,
            cloud_down_until: 0,
            batch_ids: 1,
            msg_no: 0,
            delay,
            cut: BTreeSet::new(),
            heal_at: None,
            faults: Faults::default(),
            disk_faults: disk_faults::DiskFaults::new(cfg.plant_ack_unsaved),
            printing: printing::Printing::default(),
            pricing: pricing::Pricing::new(cfg.seed),
            trace: digest::Context::new(&digest::SHA256),
            acked: Vec::new(),
            received: Vec::new(),
            returns: Vec::new(),
            workload: Workload::default(),
            z_reports: 0,
            delivered: 0,
            violations: Vec::new(),
            chaos: true,
            allowed: FaultMask::all(),
            deciding: true,
        };
        w.trace.update(&cfg.seed.to_be_bytes());
        for t in members {
            w.restart(t);
        }
        w.connect_all();
        w
    }

    fn terminals(&self) -> Vec<&SimTerminal> {
        self.nodes
            .values()
            .filter_map(|n| n.running.as_ref())
            .collect()
    }

    fn local_now(&self, t: TerminalId) -> u64 {
        (self.now as i64 + self.nodes[&t].skew_ms) as u64
    }

    fn linked(&self, a: TerminalId, b: TerminalId) -> bool {
        a != b
            && self.nodes[&a].running.is_some()
            && self.nodes[&b].running.is_some()
            && !self.cut.contains(&(a, b))
    }

    fn connect_all(&mut self) {
        let ids: Vec<TerminalId> = self.members.iter().copied().collect();
        for a in &ids {
            for b in &ids {
                if self.linked(*a, *b) {
                    let now = self.local_now(*a);
                    let out = match self.nodes.get_mut(a).and_then(|n| n.running.as_mut()) {
                        Some(r) => r.replicator.peer_up(*b, now),
                        None => Vec::new(),
                    };
                    self.send(*a, out);
                }
            }
        }
    }

    fn restart(&mut self, t: TerminalId) {
        let now = self.local_now(t);
        let node = &self.nodes[&t];
        match SimTerminal::open(
            catalog::profile(t.0),
            &node.disk,
            &self.members,
            now,
            catalog::seed_events(),
        ) {
            Ok(r) => {
                self.trace.update(b"open");
                self.trace.update(&t.0.to_be_bytes());
                self.trace.update(&r.journal.head().0);
                if let Some(n) = self.nodes.get_mut(&t) {
                    n.running = Some(r);
                    n.cashier.items_left = 0;
                }
                self.start_member(t);
            }
            Err(e) if self.restart_refused(t, &e) => {}
            Err(e) => self.violations.push(format!(
                "terminal {} did not restart from its disk: {e}",
                t.0
            )),
        }
    }

    fn start_member(&mut self, t: TerminalId) {
        let voters: Vec<u64> = self.members.iter().map(|m| u64::from(m.0)).collect();
        let boots = self.nodes[&t].boots + 1;
        let disk = self.nodes[&t].raft_disk.clone();
        match Member::open(&disk, u64::from(t.0), &voters, boots, &mut self.rng) {
            Ok(m) => {
                if let Some(n) = self.nodes.get_mut(&t) {
                    n.member = Some(m);
                    n.boots = boots;
                }
                self.raft_advance(t);
            }
            Err(e) => self.violations.push(format!("terminal {}: {e}", t.0)),
        }
    }

    fn raft_advance(&mut self, t: TerminalId) {
        let Some(n) = self.nodes.get_mut(&t) else {
            return;
        };
        let Some(m) = n.member.as_mut() else {
            return;
        };
        let out = m.advance(
            &mut self.rng,
            &mut n.committed,
            &mut self.leaders,
            &mut self.violations,
        );
        for (to, bytes) in out {
            let Ok(to32) = u32::try_from(to) else {
                continue;
            };
            self.post(t, TerminalId(to32), Channel::Raft, bytes);
        }
    }

    fn send(&mut self, from: TerminalId, out: Vec<Outgoing>) {
        for o in out {
            let bytes = encode(&o.msg);
            self.post(from, o.to, Channel::Replication, bytes);
        }
    }

    /// Puts one message on the simulated network, with the link's faults.
    fn post(&mut self, from: TerminalId, to: TerminalId, channel: Channel, bytes: Vec<u8>) {
        if !self.nodes.contains_key(&to) || !self.linked(from, to) {
            return;
        }
        if self.chaos && self.strikes(FaultKind::Loss, 10_000) {
            self.faults.lost += 1;
            return;
        }
        let mut at = self.now + self.delay[&(from, to)];
        if self.chaos && self.strikes(FaultKind::Reordering, 20_000) {
            self.faults.reordered += 1;
            at += self.rng.range(50, 2_000);
        }
        let copies = if self.chaos && self.strikes(FaultKind::Duplication, 5_000) {
            self.faults.duplicated += 1;
            2
        } else {
            1
        };
        for c in 0..copies {
            self.msg_no += 1;
            self.queue.insert(
                (at + c * 7, self.msg_no),
                (from, to, channel, bytes.clone()),
            );
        }
    }

    fn step(&mut self, cfg: &SimConfig) {
        self.now += STEP_MS;
        if self.chaos {
            self.inject_faults();
        }
        // Deliver what is due.
        while let Some((&key, _)) = self.queue.iter().next() {
            if key.0 > self.now {
                break;
            }
            let Some((from, to, channel, bytes)) = self.queue.remove(&key) else {
                break;
            };
            if self.linked(from, to) {
                match channel {
                    Channel::Replication => self.deliver(from, to, &bytes),
                    Channel::Raft => self.deliver_raft(from, to, &bytes),
                }
            }
        }
        // Replication ticks (pull for repair) every 100 ms.
        if self.now % 100 == 0 {
            let ids: Vec<TerminalId> = self.members.iter().copied().collect();
            for t in ids {
                let now = self.local_now(t);
                let out = match self.nodes.get_mut(&t).and_then(|n| n.running.as_mut()) {
                    Some(r) => r.replicator.tick(now),
                    None => continue,
                };
                self.send(t, out);
                // Raft's tick (TICK_INTERVAL is 100 ms) and, every 10 s, a store
                // decision proposed by whoever leads.
                let decide = self.deciding && self.now % 10_000 == 0;
                let n_next = self.decisions + 1;
                if let Some(m) = self.nodes.get_mut(&t).and_then(|n| n.member.as_mut()) {
                    m.node.tick();
                    if decide && m.propose_setting(n_next) {
                        self.decisions += 1;
                    }
                }
                self.raft_advance(t);
            }
        }
        if self.now % 1_000 == 0 {
            self.upload_round();
            self.downlink_round();
        }
        self.run_printers();
        // Cashiers.
        let ids: Vec<TerminalId> = self.members.iter().copied().collect();
        for t in ids {
            // A disk that lost its power during this step (a replica or
            // downlink commit struck the armed loss): the terminal is off now,
            // its cashier cannot act on it.
            self.cut_if_power_lost(t);
            let n = &self.nodes[&t];
            if n.running.is_none() && self.chaos && self.now >= n.down_until_ms {
                self.restart(t);
                self.connect_all();
            }
            let n = &self.nodes[&t];
            if n.running.is_some()
                && !n.done(cfg.sales_per_terminal)
                && self.now >= n.next_action_ms
            {
                self.cashier_step(t, cfg.sales_per_terminal);
                let pause = self.rng.range(300, 4_000);
                if let Some(n) = self.nodes.get_mut(&t) {
                    n.next_action_ms = self.now + pause;
                }
            }
        }
    }

    fn inject_faults(&mut self) {
        self.inject_disk_faults();
        self.inject_paper_faults();
        let ids: Vec<TerminalId> = self.members.iter().copied().collect();
        // Partitions: one at a time, a random side cut from the rest, healed 1 to 60 s later.
        match self.heal_at {
            Some(at) if self.now >= at => {
                self.cut.clear();
                self.heal_at = None;
                self.faults.heals += 1;
                self.trace.update(b"heal");
                self.connect_all();
            }
            None if self.rng.chance(200) && self.allowed.allows(FaultKind::Partition) => {
                let side: BTreeSet<TerminalId> = ids
                    .iter()
                    .copied()
                    .filter(|_| self.rng.chance(400_000))
                    .collect();
                for a in &ids {
                    for b in &ids {
                        if side.contains(a) != side.contains(b) {
                            self.cut.insert((*a, *b));
                        }
                    }
                }
                for a in &ids {
                    for b in &ids {
                        if self.cut.contains(&(*a, *b)) {
                            if let Some(r) = self.nodes.get_mut(a).and_then(|n| n.running.as_mut())
                            {
                                r.replicator.peer_down(*b);
                            }
                        }
                    }
                }
                self.faults.partitions += 1;
                self.heal_at = Some(self.now + self.rng.range(1_000, 60_000));
                self.trace.update(b"partition");
            }
            _ => {}
        }
        // Power cuts: the terminal loses unsynced writes and is down 0.5 to 30 s.
        if self.strikes(FaultKind::PowerCut, 300) {
            let t = ids[self.rng.range(0, ids.len() as u64 - 1) as usize];
            if self.nodes[&t].running.is_some() {
                self.power_cut(t);
            }
        }
        // The cloud goes down for 1 minute to 3 hours.
        if self.now >= self.cloud_down_until && self.strikes(FaultKind::CloudOutage, 30) {
            self.cloud_down_until = self.now + self.rng.range(60_000, 3 * 3_600_000);
            self.faults.cloud_outages += 1;
            self.trace.update(b"cloud-down");
        }
        // Clock jumps.
        if self.strikes(FaultKind::ClockJump, 100) {
            let t = ids[self.rng.range(0, ids.len() as u64 - 1) as usize];
            let jump = self.rng.range(0, 1_200_000) as i64 - 600_000;
            if let Some(n) = self.nodes.get_mut(&t) {
                n.skew_ms += jump;
            }
            self.faults.clock_jumps += 1;
        }
    }

    /// A fault of `kind` strikes now, with probability `per_million` / 1,000,000,
    /// when the run allows that kind (the draw is made either way).
    fn strikes(&mut self, kind: FaultKind, per_million: u64) -> bool {
        self.rng.chance(per_million) && self.allowed.allows(kind)
    }

    fn power_cut(&mut self, t: TerminalId) {
        let down = self.rng.range(500, 30_000);
        if let Some(n) = self.nodes.get_mut(&t) {
            n.running = None;
            n.member = None;
            n.disk.power_cut();
            n.raft_disk.power_cut();
            n.down_until_ms = self.now + down;
        }
        for (id, n) in self.nodes.iter_mut() {
            if *id != t {
                if let Some(r) = n.running.as_mut() {
                    r.replicator.peer_down(t);
                }
            }
        }
        self.faults.power_cuts += 1;
        self.printing.restart(t);
        self.trace.update(b"power-cut");
        self.trace.update(&t.0.to_be_bytes());
    }

    /// The raft leader uploads to the cloud (when it is up), as `uplink_runtime` does.
    fn upload_round(&mut self) {
        let leader = self
            .nodes
            .iter()
            .find(|(_, n)| {
                n.running.is_some() && n.member.as_ref().is_some_and(|m| m.node.is_leader())
            })
            .map(|(t, _)| *t);
        let Some(leader) = leader else {
            return;
        };
        if self.uploader.as_ref().map(|u| u.terminal) != Some(leader) {
            if self.uploader.is_some() {
                self.faults.uploader_changes += 1;
            }
            self.batch_ids += 1_000_000;
            self.uploader = Some(Uploader::new(leader, self.batch_ids));
        }
        let Some(up) = self.uploader.as_mut() else {
            return;
        };
        if self.now < self.cloud_down_until {
            up.lost();
            return;
        }
        let Some(r) = self.nodes.get(&leader).and_then(|n| n.running.as_ref()) else {
            return;
        };
        let heads: BTreeMap<TerminalId, u64> = heads(&r.journal)
            .unwrap_or_default()
            .into_iter()
            .map(|(t, h)| (t, h.seq))
            .collect();
        let store = r.profile.store.clone();
        for _ in 0..8 {
            if !up.upload(&store, &mut self.cloud, &heads, &UplinkSource(&r.journal)) {
                break;
            }
        }
        self.trace.update(b"upload");
        self.trace.update(&self.cloud.accepted.to_be_bytes());
    }

    fn deliver_raft(&mut self, from: TerminalId, to: TerminalId, bytes: &[u8]) {
        self.delivered += 1;
        self.trace.update(b"raft");
        self.trace.update(&from.0.to_be_bytes());
        self.trace.update(&to.0.to_be_bytes());
        self.trace.update(bytes);
        if let Some(m) = self.nodes.get_mut(&to).and_then(|n| n.member.as_mut()) {
            if let Err(e) = m.node.step(u64::from(from.0), bytes) {
                log::debug!("raft {}: message from {} refused: {e}", to.0, from.0);
            }
        }
        self.raft_advance(to);
    }

    fn deliver(&mut self, from: TerminalId, to: TerminalId, bytes: &[u8]) {
        self.delivered += 1;
        self.trace.update(&from.0.to_be_bytes());
        self.trace.update(&to.0.to_be_bytes());
        self.trace.update(bytes);
        let msg = match decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.violations
                    .push(format!("message {}→{} did not decode: {e}", from.0, to.0));
                return;
            }
        };
        let now = self.local_now(to);
        let Some(node) = self.nodes.get_mut(&to) else {
            return;
        };
        let Some(r) = node.running.as_mut() else {
            return;
        };
        let step = r.replicator.receive(
            from,
            msg,
            &JournalSource(&r.journal),
            &node.signer,
            &self.verifier,
            now,
        );
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                log::debug!("terminal {} refused records from {}: {e}", to.0, from.0);
                return;
            }
        };
        for acc in &step.accepted {
            // As cluster_runtime's on_replication: Node::apply_remote, and on a
            // failed commit the replicator rolls back to what the journal holds.
            match r.apply_remote(acc) {
                Ok(()) => {}
                Err(e) => {
                    log::warn!(
                        "terminal {} could not commit records of {}: {e}",
                        to.0,
                        acc.origin.0
                    );
                    let h = heads(&r.journal).unwrap_or_default();
                    if let Some(head) = h.get(&acc.origin) {
                        r.replicator.rollback(acc.origin, *head);
                    }
                }
            }
        }
        self.send(to, step.outgoing);
    }

    /// One cashier action (decided by `cashier::decide`), committed durably.
    fn cashier_step(&mut self, t: TerminalId, target: u32) {
        let now = self.local_now(t);
        let draw = Draw::from_rng(&mut self.rng);
        let Some(node) = self.nodes.get_mut(&t) else {
            return;
        };
        let Some(r) = node.running.as_mut() else {
            return;
        };
        let action = match cashier::decide(
            &mut node.cashier,
            &r.profile,
            &r.state,
            &r.journal,
            &draw,
            target,
            now,
        ) {
            Ok(a) => a,
            // Only a full disk may keep the journal closed; with a healthy
            // disk an unreadable journal stays a violation.
            Err(e @ cashier::StepError::JournalUnavailable { .. }) if node.disk.is_full() => {
                log::debug!("terminal {}: step shown as an error: {e}", t.0);
                self.faults.lookups_refused_unavailable += 1;
                return;
            }
            Err(e) => {
                self.violations.push(format!(
                    "terminal {}: engine refused a valid cashier step: {e}",
                    t.0
                ));
                return;
            }
        };
        let (events, completing) = (action.events, action.completes_sale);
        let planted = (self.disk_faults.plant_ack_unsaved && completing).then(|| events.clone());
        match r.commit(events, now) {
            Ok(stored) => {
                let records = keel_store::ledger::committed_records(&stored);
                for e in &stored {
                    self.trace.update(&e.hash.0);
                    if let EventBody::SaleCompleted(s) = &e.event.body {
                        // The sale is acknowledged (durable); its receipt is queued
                        // to print, paper or not.
                        self.printing.enqueue(t, s.receipt_no.0);
                        self.pricing.sold(t, s);
                        self.acked.push(AckedSale {
                            terminal: t,
                            receipt_no: s.receipt_no.0,
                            total_minor: s.total.minor,
                            lines: s.lines.iter().map(|l| (l.sku.0.clone(), l.qty)).collect(),
                        });
                    }
                    if let EventBody::ShiftClosed(_) = &e.event.body {
                        self.z_reports += 1;
                    }
                    self.workload.count(&e.event.body);
                    if let Some(ret) = AckedReturn::of(t, &e.event.body) {
                        self.returns.push(ret);
                    }
                    if let EventBody::StockAdjusted { sku, delta, reason } = &e.event.body {
                        if reason == "delivery" {
                            self.received.push(AckedReceipt {
                                sku: sku.0.clone(),
                                qty: *delta,
                            });
                        }
                    }
                }
                if completing {
                    node.cashier.sold += 1;
                }
                let out = r.replicator.local_committed(&records, &node.signer);
                self.send(t, out);
            }
            Err(e) if self.commit_refused(t, &e) => {
                log::debug!("terminal {}: step refused: {e}", t.0);
                if let Some(events) = planted {
                    self.plant_ack(t, &events);
                }
            }
            Err(e) => self
                .violations
                .push(format!("terminal {}: commit failed: {e}", t.0)),
        }
    }
}
