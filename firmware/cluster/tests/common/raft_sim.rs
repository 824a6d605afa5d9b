//! A simulated network of `RaftNode`s in one process, shared by the raft
//! tests: each node's `RaftOutput` messages go to the others' `step`, ticks are
//! manual, every node keeps its log in a real redb file. Faults: killed nodes
//! (dropped and reopened from their files), partitions. Each node's caller
//! folds the `SetSetting` commands it applies into a settings map, its state
//! machine: `compact` snapshots that map, and a snapshot installed from the
//! leader or found in the files at restart replaces it, as the terminal's
//! runtime does with its consensus state.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use keel_cluster::raft::{
    CommittedKind, RaftNode, RaftNodeConfig, RedbRaftStorage, StepError, StoreCommand,
};

/// What a node's caller has applied: index → content, in the order handed out.
pub type Applied = Vec<(u64, CommittedKind)>;

/// A node caller's state machine: the settings it applied, as of `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folded {
    /// Last log index folded in (or covered by the snapshot it came from).
    pub index: u64,
    /// Every `SetSetting` applied, by key.
    pub settings: BTreeMap<String, Vec<u8>>,
}

impl Folded {
    /// Snapshot bytes: `key=hex(value)` lines.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        for (k, v) in &self.settings {
            out.push_str(k);
            out.push('=');
            for b in v {
                out.push_str(&format!("{b:02x}"));
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The state a snapshot at `index` carries.
    pub fn decode(index: u64, data: &[u8]) -> Folded {
        let text = std::str::from_utf8(data).expect("snapshot data is text");
        let settings = text
            .lines()
            .map(|l| {
                let (k, hex) = l.split_once('=').expect("key=value");
                let v = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect();
                (k.to_string(), v)
            })
            .collect();
        Folded { index, settings }
    }
}

/// The simulated cluster.
pub struct Sim {
    dir: tempfile::TempDir,
    nodes: BTreeMap<u64, Option<RaftNode>>,
    /// Entries each node's caller applied since its last start.
    pub applied: BTreeMap<u64, Applied>,
    /// Each node caller's state machine.
    pub folded: BTreeMap<u64, Folded>,
    /// Snapshots installed from a leader, by node: their indexes.
    pub installed: BTreeMap<u64, Vec<u64>>,
    /// The index each node's applied entries continue from (a snapshot's).
    base: BTreeMap<u64, u64>,
    /// Compact as the terminal's runtime does: after every advance, when
    /// `RaftNode::should_compact(every)` says so.
    pub auto_compact: Option<u64>,
    queue: VecDeque<(u64, u64, Vec<u8>)>,
    /// Links that drop everything (both directions stored).
    cut: BTreeSet<(u64, u64)>,
    /// Local proposals that will never commit.
    pub abandoned: Vec<keel_cluster::raft::ProposalId>,
    session: u64,
}

/// With `KEEL_SIM_TRACE` set, raft-rs's records (through the driver's slog→log
/// drain) go to stderr.
struct TraceLog;

impl log::Log for TraceLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &log::Record<'_>) {
        eprintln!("{} {}: {}", r.level(), r.target(), r.args());
    }
    fn flush(&self) {}
}

static TRACE: TraceLog = TraceLog;

impl Sim {
    /// A cluster of `ids`, all voters, all started.
    pub fn new(ids: &[u64]) -> Sim {
        if std::env::var_os("KEEL_SIM_TRACE").is_some() {
            let _ = log::set_logger(&TRACE);
            log::set_max_level(log::LevelFilter::Debug);
        }
        let mut sim = Sim {
            dir: tempfile::tempdir().unwrap(),
            nodes: BTreeMap::new(),
            applied: BTreeMap::new(),
            folded: BTreeMap::new(),
            installed: BTreeMap::new(),
            base: BTreeMap::new(),
            auto_compact: None,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            abandoned: Vec::new(),
            session: 0,
        };
        for &id in ids {
            sim.start(id, ids);
        }
        sim
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("raft-{id}.redb"))
    }

    /// Opens (or reopens) node `id` from its file; its caller starts from the
    /// snapshot in the file (if the log was compacted) and applied 0.
    pub fn start(&mut self, id: u64, voters: &[u64]) {
        self.session += 1;
        let storage = RedbRaftStorage::open(self.path(id), voters).unwrap();
        let node = RaftNode::new(
            RaftNodeConfig {
                id,
                applied: 0,
                session: self.session,
            },
            storage,
        )
        .unwrap();
        let snap = node.storage().stored_snapshot();
        let folded = Folded::decode(snap.get_metadata().index, &snap.data);
        self.base.insert(id, folded.index);
        self.folded.insert(id, folded);
        self.nodes.insert(id, Some(node));
        self.applied.insert(id, Vec::new());
    }

    /// Compacts node `id`'s log up to what its caller applied, the caller's
    /// state machine as the snapshot.
    pub fn compact(&mut self, id: u64) {
        let data = self.folded[&id].encode();
        let applied = self.node(id).status().applied;
        assert_eq!(
            self.folded[&id].index, applied,
            "node {id}: the fold is not at the applied index"
        );
        self.node(id).compact(data).unwrap();
    }

    /// Crash: drop the node (its file stays), lose in-flight messages to it.
    pub fn kill(&mut self, id: u64) {
        self.nodes.insert(id, None);
        self.queue.retain(|(_, to, _)| *to != id);
    }

    pub fn revive(&mut self, id: u64) {
        self.start(id, &[]);
    }

    pub fn alive(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn node(&mut self, id: u64) -> &mut RaftNode {
        self.nodes
            .get_mut(&id)
            .and_then(|n| n.as_mut())
            .expect("node alive")
    }

    pub fn partition(&mut self, a: &[u64], b: &[u64]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Runs every node's Ready loop and delivers messages until quiet.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            for id in self.alive() {
                let out = self.node(id).advance().unwrap();
                for (to, bytes) in out.messages {
                    self.queue.push_back((id, to, bytes));
                }
                self.abandoned.extend(out.abandoned);
                if let Some(snap) = out.snapshot {
                    // The caller replaces its state machine with the leader's.
                    self.folded
                        .insert(id, Folded::decode(snap.index, &snap.data));
                    self.installed.entry(id).or_default().push(snap.index);
                    self.base.insert(id, snap.index);
                }
                let folded = self.folded.get_mut(&id).unwrap();
                for c in &out.committed {
                    assert!(
                        c.index > folded.index,
                        "node {id}: entry {} applied again",
                        c.index
                    );
                    folded.index = c.index;
                    if let CommittedKind::Command(StoreCommand::SetSetting { key, value }) = &c.kind
                    {
                        folded.settings.insert(key.clone(), value.clone());
                    }
                }
                if let Some(every) = self.auto_compact {
                    if self.node(id).should_compact(every) {
                        self.compact(id);
                    }
                }
                let log = self.applied.get_mut(&id).unwrap();
                for c in out.committed {
                    if let Some((last, _)) = log.last() {
                        assert!(
                            c.index > *last,
                            "node {id}: committed {} after {}",
                            c.index,
                            last
                        );
                    }
                    log.push((c.index, c.kind));
                }
            }
            if self.queue.is_empty() {
                return;
            }
            while let Some((from, to, bytes)) = self.queue.pop_front() {
                if self.cut.contains(&(from, to)) {
                    continue;
                }
                if let Some(Some(n)) = self.nodes.get_mut(&to) {
                    match n.step(from, &bytes) {
                        Ok(()) | Err(StepError::UnknownPeer(_)) => {}
                        Err(e) => panic!("step {from}->{to}: {e}"),
                    }
                }
            }
        }
        panic!("network did not settle");
    }

    /// One tick interval. Terminals' 100 ms timers are not in phase, and a
    /// LAN round trip is far shorter than a tick, so each node ticks at its
    /// own point in the interval and the network settles in between. (Ticking
    /// all nodes at once instead makes every same-tick timeout a split vote,
    /// which real terminals rarely see.)
    pub fn tick(&mut self) {
        for id in self.alive() {
            self.node(id).tick();
            self.settle();
        }
    }

    pub fn leaders(&self, among: &[u64]) -> Vec<u64> {
        among
            .iter()
            .copied()
            .filter(|id| matches!(self.nodes.get(id), Some(Some(n)) if n.is_leader()))
            .collect()
    }

    /// Ticks until exactly one leader among `among` that all of `among` follow; returns (leader, ticks).
    pub fn await_leader(&mut self, among: &[u64], max_ticks: u32) -> (u64, u32) {
        for t in 0..=max_ticks {
            let ls = self.leaders(among);
            if ls.len() == 1 {
                let l = ls[0];
                let term = self.nodes[&l].as_ref().unwrap().status().term;
                if among.iter().all(|id| {
                    let s = self.nodes[id].as_ref().unwrap().status();
                    s.leader == Some(l) && s.term == term
                }) {
                    return (l, t);
                }
            }
            if t >= 12 && std::env::var_os("KEEL_SIM_TRACE").is_some() {
                eprintln!("tick {t}: {:?}", self.statuses());
            }
            self.tick();
        }
        panic!(
            "no single leader among {among:?} within {max_ticks} ticks: {:?}",
            self.statuses()
        );
    }

    pub fn statuses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(id, n)| match n {
                Some(n) => format!("{:?}", n.status()),
                None => format!("{id}: down"),
            })
            .collect()
    }

    pub fn setting(n: u64) -> StoreCommand {
        StoreCommand::SetSetting {
            key: format!("k{n}"),
            value: n.to_le_bytes().to_vec(),
        }
    }

    /// Proposes on `leader` and ticks until every node of `on` has applied it.
    pub fn commit(&mut self, leader: u64, cmd: StoreCommand, on: &[u64]) -> u64 {
        let id = self.node(leader).propose(cmd.clone()).unwrap();
        self.settle();
        for _ in 0..20 {
            let done = on.iter().all(|n| {
                self.applied[n]
                    .iter()
                    .any(|(_, k)| *k == CommittedKind::Command(cmd.clone()))
            });
            if done {
                let (index, _) = self.applied[&leader]
                    .iter()
                    .find(|(_, k)| *k == CommittedKind::Command(cmd.clone()))
                    .unwrap();
                return *index;
            }
            self.tick();
        }
        panic!(
            "proposal {id:?} not applied on {on:?}: {:?}",
            self.statuses()
        );
    }

    /// Every pair of nodes agrees on every index both have applied, and a node's
    /// applied sequence has no holes relative to the longest.
    pub fn check_logs_agree(&self) {
        let mut merged: BTreeMap<u64, CommittedKind> = BTreeMap::new();
        for (id, log) in &self.applied {
            for (i, k) in log {
                if let Some(prev) = merged.get(i) {
                    assert_eq!(prev, k, "node {id} applied a different entry at {i}");
                } else {
                    merged.insert(*i, k.clone());
                }
            }
        }
        for (id, log) in &self.applied {
            // Entries up to a node's snapshot came in the snapshot.
            let base = self.base.get(id).copied().unwrap_or(0);
            let upto = log.last().map(|(i, _)| *i).unwrap_or(0);
            let expected: Vec<u64> = merged
                .range(base + 1..)
                .map(|(i, _)| *i)
                .take_while(|i| *i <= upto)
                .collect();
            let got: Vec<u64> = log.iter().map(|(i, _)| *i).filter(|i| *i > base).collect();
            assert_eq!(got, expected, "node {id} skipped committed entries");
        }
    }

    pub fn commands(&self, id: u64) -> Vec<StoreCommand> {
        self.applied[&id]
            .iter()
            .filter_map(|(_, k)| match k {
                CommittedKind::Command(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
}
