//! `RaftNode` clusters of 3 and 5 in one process: a simulated network moves
//! each node's `RaftOutput` messages to the others' `step`, ticks are manual,
//! every node keeps its log in a real redb file. Faults: killed nodes (dropped
//! and reopened from their files), partitions, garbage input.
//!
//! Timing is in ticks (1 tick = 100 ms in production). Nodes tick one after
//! another within a tick interval and delivery is instantaneous, so tick
//! counts measure raft's timers, not latency.
//! The election jitter comes from raft-rs's thread RNG (not seedable), so
//! bounds are asserted, not exact tick counts.

#![allow(clippy::field_reassign_with_default)]

// Needs `slog` as a dependency of keel-cluster; see `keel_cluster::raft` docs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use keel_cluster::raft::{
    codec, CommittedKind, MembershipChange, ProposeError, RaftNode, RaftNodeConfig,
    RedbRaftStorage, Role, StepError, StoreCommand,
};

/// What a node's caller has applied: index → content, in the order handed out.
type Applied = Vec<(u64, CommittedKind)>;

struct Sim {
    dir: tempfile::TempDir,
    nodes: BTreeMap<u64, Option<RaftNode>>,
    applied: BTreeMap<u64, Applied>,
    queue: VecDeque<(u64, u64, Vec<u8>)>,
    /// Links that drop everything (both directions stored).
    cut: BTreeSet<(u64, u64)>,
    abandoned: Vec<keel_cluster::raft::ProposalId>,
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
    fn new(ids: &[u64]) -> Sim {
        if std::env::var_os("KEEL_SIM_TRACE").is_some() {
            let _ = log::set_logger(&TRACE);
            log::set_max_level(log::LevelFilter::Debug);
        }
        let mut sim = Sim {
            dir: tempfile::tempdir().unwrap(),
            nodes: BTreeMap::new(),
            applied: BTreeMap::new(),
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

    /// Opens (or reopens) node `id` from its file; its caller starts from applied 0.
    fn start(&mut self, id: u64, voters: &[u64]) {
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
        self.nodes.insert(id, Some(node));
        self.applied.insert(id, Vec::new());
    }

    /// Crash: drop the node (its file stays), lose in-flight messages to it.
    fn kill(&mut self, id: u64) {
        self.nodes.insert(id, None);
        self.queue.retain(|(_, to, _)| *to != id);
    }

    fn revive(&mut self, id: u64) {
        self.start(id, &[]);
    }

    fn alive(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    fn node(&mut self, id: u64) -> &mut RaftNode {
        self.nodes
            .get_mut(&id)
            .and_then(|n| n.as_mut())
            .expect("node alive")
    }

    fn partition(&mut self, a: &[u64], b: &[u64]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    /// Runs every node's Ready loop and delivers messages until quiet.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            for id in self.alive() {
                let out = self.node(id).advance().unwrap();
                for (to, bytes) in out.messages {
                    self.queue.push_back((id, to, bytes));
                }
                self.abandoned.extend(out.abandoned);
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
    fn tick(&mut self) {
        for id in self.alive() {
            self.node(id).tick();
            self.settle();
        }
    }

    fn leaders(&self, among: &[u64]) -> Vec<u64> {
        among
            .iter()
            .copied()
            .filter(|id| matches!(self.nodes.get(id), Some(Some(n)) if n.is_leader()))
            .collect()
    }

    /// Ticks until exactly one leader among `among` that all of `among` follow; returns (leader, ticks).
    fn await_leader(&mut self, among: &[u64], max_ticks: u32) -> (u64, u32) {
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

    fn statuses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(id, n)| match n {
                Some(n) => format!("{:?}", n.status()),
                None => format!("{id}: down"),
            })
            .collect()
    }

    fn setting(n: u64) -> StoreCommand {
        StoreCommand::SetSetting {
            key: format!("k{n}"),
            value: n.to_le_bytes().to_vec(),
        }
    }

    /// Proposes on `leader` and ticks until every node of `on` has applied it.
    fn commit(&mut self, leader: u64, cmd: StoreCommand, on: &[u64]) -> u64 {
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
    fn check_logs_agree(&self) {
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
            let upto = log.last().map(|(i, _)| *i).unwrap_or(0);
            let expected: Vec<u64> = merged.range(..=upto).map(|(i, _)| *i).collect();
            let got: Vec<u64> = log.iter().map(|(i, _)| *i).collect();
            assert_eq!(got, expected, "node {id} skipped committed entries");
        }
    }

    fn commands(&self, id: u64) -> Vec<StoreCommand> {
        self.applied[&id]
            .iter()
            .filter_map(|(_, k)| match k {
                CommittedKind::Command(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn three_nodes_elect_and_commit_in_the_same_order() {
    let started = std::time::Instant::now();
    let mut sim = Sim::new(&[1, 2, 3]);
    let (leader, ticks) = sim.await_leader(&[1, 2, 3], 30);
    // First timeout is 5..=9 ticks, plus a split vote at worst.
    assert!(ticks <= 20, "leader after {ticks} ticks");
    for n in 0..20 {
        sim.node(leader).propose(Sim::setting(n)).unwrap();
    }
    sim.settle();
    sim.tick();
    let expected: Vec<StoreCommand> = (0..20).map(Sim::setting).collect();
    for id in [1, 2, 3] {
        assert_eq!(sim.commands(id), expected, "node {id}");
    }
    sim.check_logs_agree();
    // Followers refuse and name the leader.
    let follower = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    match sim.node(follower).propose(Sim::setting(99)) {
        Err(ProposeError::NotLeader { leader: l }) => assert_eq!(l, Some(leader)),
        other => panic!("expected NotLeader, got {other:?}"),
    }
    let st = sim.node(leader).status();
    assert_eq!(st.role, Role::Leader);
    assert_eq!(st.voters, vec![1, 2, 3]);
    assert_eq!(st.commit, st.last_index);
    eprintln!(
        "3-node election in {ticks} ticks; test took {:?}",
        started.elapsed()
    );
}

#[test]
fn killing_the_leader_twenty_times_loses_nothing() {
    let started = std::time::Instant::now();
    let ids = [1, 2, 3, 4, 5];
    let mut sim = Sim::new(&ids);
    let (mut leader, _) = sim.await_leader(&ids, 30);
    let mut failover_ticks = Vec::new();
    let mut n = 0u64;
    for round in 0..20 {
        n += 1;
        sim.commit(leader, Sim::setting(n), &ids);
        // A proposal in flight when the leader dies: it may or may not survive.
        let _ = sim.node(leader).propose(Sim::setting(1000 + round));
        sim.kill(leader);
        let rest: Vec<u64> = ids.iter().copied().filter(|i| *i != leader).collect();
        let (new_leader, ticks) = sim.await_leader(&rest, 40);
        assert_ne!(new_leader, leader);
        assert!(ticks <= 20, "round {round}: new leader after {ticks} ticks");
        failover_ticks.push(ticks);
        n += 1;
        sim.commit(new_leader, Sim::setting(n), &rest);
        sim.revive(leader);
        leader = new_leader;
        sim.check_logs_agree();
    }
    // Everyone catches up, including the last revived node (replayed from its file).
    for _ in 0..10 {
        sim.tick();
    }
    n += 1;
    sim.commit(leader, Sim::setting(n), &ids);
    sim.check_logs_agree();
    let expected: Vec<StoreCommand> = (1..=n).map(Sim::setting).collect();
    for id in ids {
        let got: Vec<StoreCommand> = sim
            .commands(id)
            .into_iter()
            .filter(|c| !matches!(c, StoreCommand::SetSetting { key, .. } if key.len() > 4))
            .collect();
        assert_eq!(
            got, expected,
            "node {id} lost or reordered committed entries"
        );
    }
    failover_ticks.sort_unstable();
    eprintln!(
        "failover ticks: min {} median {} max {}; test took {:?}",
        failover_ticks[0],
        failover_ticks[failover_ticks.len() / 2],
        failover_ticks[failover_ticks.len() - 1],
        started.elapsed()
    );
}

#[test]
fn minority_partition_cannot_commit_and_logs_converge_after_heal() {
    let started = std::time::Instant::now();
    let ids = [1, 2, 3, 4, 5];
    let mut sim = Sim::new(&ids);
    let (leader, _) = sim.await_leader(&ids, 30);
    sim.commit(leader, Sim::setting(1), &ids);
    // Put the current leader in the minority: the hardest case.
    let others: Vec<u64> = ids.iter().copied().filter(|i| *i != leader).collect();
    let minority = vec![leader, others[0]];
    let majority: Vec<u64> = others[1..].to_vec();
    sim.partition(&minority, &majority);

    // The old leader still believes it leads for a moment: its proposal is
    // accepted locally but can never commit.
    let stranded = sim.node(leader).propose(Sim::setting(666)).unwrap();
    let (new_leader, ticks) = sim.await_leader(&majority, 40);
    assert!(majority.contains(&new_leader));
    for n in 2..=6 {
        sim.commit(new_leader, Sim::setting(n), &majority);
    }
    // check_quorum: within an election timeout or two the cut-off leader steps down,
    // and then nobody in the minority accepts consensus operations.
    for _ in 0..20 {
        sim.tick();
    }
    for &m in &minority {
        match sim.node(m).propose(Sim::setting(777)) {
            Err(ProposeError::NotLeader { leader: None }) => {}
            other => {
                panic!("minority node {m}: expected NotLeader without a leader, got {other:?}")
            }
        }
        assert!(!sim.commands(m).contains(&Sim::setting(666)));
        assert!(!sim.commands(m).contains(&Sim::setting(2)));
    }
    let msg = sim
        .node(minority[0])
        .propose(Sim::setting(777))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not the leader"), "{msg}");

    sim.heal();
    for _ in 0..20 {
        sim.tick();
    }
    // Pre-vote: the rejoining minority did not depose the majority's leader.
    let (after, _) = sim.await_leader(&ids, 40);
    assert_eq!(after, new_leader, "healing must not force a new election");
    sim.commit(after, Sim::setting(7), &ids);
    sim.check_logs_agree();
    let expected: Vec<StoreCommand> = (1..=7).map(Sim::setting).collect();
    let statuses: Vec<_> = ids.iter().map(|&i| sim.node(i).status()).collect();
    for (id, st) in ids.iter().zip(&statuses) {
        assert_eq!(sim.commands(*id), expected, "node {id}");
        assert_eq!(
            (st.commit, st.last_index),
            (statuses[0].commit, statuses[0].last_index)
        );
    }
    assert!(
        sim.abandoned.contains(&stranded),
        "the stranded proposal is reported abandoned"
    );
    eprintln!(
        "partition: majority leader after {ticks} ticks; test took {:?}",
        started.elapsed()
    );
}

#[test]
fn restart_from_files_keeps_log_hard_state_and_membership() {
    let ids = [1, 2, 3];
    let mut sim = Sim::new(&ids);
    let (leader, _) = sim.await_leader(&ids, 30);
    for n in 1..=5 {
        sim.commit(leader, Sim::setting(n), &ids);
    }
    let follower = ids.into_iter().find(|i| *i != leader).unwrap();
    let before = sim.node(follower).status();
    let hs_before = sim.node(follower).storage().hard_state().clone();
    let applied_before = sim.commands(follower);
    sim.kill(follower);
    sim.revive(follower);
    {
        let n = sim.node(follower);
        let st = n.status();
        assert_eq!(st.term, before.term);
        assert_eq!(st.last_index, before.last_index);
        assert_eq!(st.voters, vec![1, 2, 3]);
        assert_eq!(n.storage().hard_state(), &hs_before);
    }
    sim.settle();
    // Its caller started from applied 0, so everything committed is handed out again, in order.
    assert_eq!(sim.commands(follower), applied_before);
    sim.commit(leader, Sim::setting(6), &ids);

    // Whole-cluster restart.
    for id in ids {
        sim.kill(id);
    }
    for id in ids {
        sim.revive(id);
    }
    let (leader2, _) = sim.await_leader(&ids, 30);
    sim.commit(leader2, Sim::setting(7), &ids);
    sim.check_logs_agree();
    let expected: Vec<StoreCommand> = (1..=7).map(Sim::setting).collect();
    for id in ids {
        assert_eq!(sim.commands(id), expected, "node {id}");
    }
}

#[test]
fn membership_add_and_remove() {
    let mut sim = Sim::new(&[1, 2, 3]);
    let (leader, _) = sim.await_leader(&[1, 2, 3], 30);
    sim.commit(leader, Sim::setting(1), &[1, 2, 3]);

    // A new terminal starts with no membership and learns it from the log.
    sim.start(4, &[]);
    assert!(matches!(
        sim.node(leader)
            .propose_conf_change(MembershipChange::AddNode(2)),
        Err(ProposeError::AlreadyVoter(2))
    ));
    sim.node(leader)
        .propose_conf_change(MembershipChange::AddNode(4))
        .unwrap();
    assert!(matches!(
        sim.node(leader)
            .propose_conf_change(MembershipChange::RemoveNode(3)),
        Err(ProposeError::MembershipChangePending)
    ));
    for _ in 0..5 {
        sim.tick();
    }
    for id in [1, 2, 3, 4] {
        assert_eq!(sim.node(id).status().voters, vec![1, 2, 3, 4], "node {id}");
        assert!(sim.applied[&id].iter().any(|(_, k)| matches!(
            k,
            CommittedKind::Membership {
                change: MembershipChange::AddNode(4),
                ..
            }
        )));
    }
    assert_eq!(
        sim.commands(4),
        vec![Sim::setting(1)],
        "the new node received the earlier commits"
    );
    sim.commit(leader, Sim::setting(2), &[1, 2, 3, 4]);

    // Remove a follower other than the leader.
    let gone = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    sim.node(leader)
        .propose_conf_change(MembershipChange::RemoveNode(gone))
        .unwrap();
    for _ in 0..5 {
        sim.tick();
    }
    let remaining: Vec<u64> = [1, 2, 3, 4].into_iter().filter(|i| *i != gone).collect();
    for &id in &remaining {
        assert_eq!(sim.node(id).status().voters, remaining, "node {id}");
    }
    sim.kill(gone);
    sim.commit(leader, Sim::setting(3), &remaining);
    // Membership survives a restart.
    sim.kill(4);
    sim.revive(4);
    assert_eq!(sim.node(4).status().voters, remaining);
    sim.settle();
    sim.commit(leader, Sim::setting(4), &remaining);
    sim.check_logs_agree();
    assert!(matches!(
        sim.node(leader)
            .propose_conf_change(MembershipChange::RemoveNode(gone)),
        Err(ProposeError::NotVoter(_))
    ));
}

#[test]
fn garbage_into_step_is_an_error_never_a_panic() {
    let mut sim = Sim::new(&[1, 2, 3]);
    let (leader, _) = sim.await_leader(&[1, 2, 3], 30);
    let n = sim.node(leader);
    assert!(matches!(n.step(2, &[]), Err(StepError::Decode { .. })));
    assert!(matches!(
        n.step(2, &[0xde, 0xad, 0xbe, 0xef]),
        Err(StepError::Decode { .. })
    ));

    let mut m = raft::eraftpb::Message::default();
    m.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeatResponse);
    m.from = 3;
    m.to = leader;
    assert!(matches!(
        n.step(2, &codec::encode_message(&m)),
        Err(StepError::SenderMismatch {
            from: 2,
            claimed: 3
        })
    ));
    m.to = leader + 10;
    assert!(matches!(
        n.step(3, &codec::encode_message(&m)),
        Err(StepError::WrongRecipient { .. })
    ));
    m.to = leader;
    m.set_msg_type(raft::eraftpb::MessageType::MsgHup);
    assert!(matches!(
        n.step(3, &codec::encode_message(&m)),
        Err(StepError::LocalType { .. })
    ));

    // Pseudo-random bytes (fixed LCG): every one refused or harmless, no panic.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let valid = {
        let mut hb = raft::eraftpb::Message::default();
        hb.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeatResponse);
        hb.from = 2;
        hb.to = leader;
        codec::encode_message(&hb)
    };
    let mut accepted = 0;
    for i in 0..20_000u32 {
        let len = (i % 64) as usize;
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        if i % 2 == 0 && !b.is_empty() {
            // Mutate a valid message instead, to get past the version byte.
            let mut v = valid.clone();
            let at = (x as usize) % v.len();
            v[at] = b[0];
            b = v;
        }
        match sim.node(leader).step(2, &b) {
            Err(StepError::Failed(why)) => panic!("input {i} {b:?} stopped the node: {why}"),
            Ok(()) => accepted += 1,
            Err(_) => {}
        }
    }
    eprintln!("garbage: {accepted} of 20000 inputs were well-formed and plausible");
    sim.settle();
    // Still a working cluster (a mutated but well-formed message, e.g. with a
    // higher term, may legitimately have moved leadership).
    let (leader, _) = sim.await_leader(&[1, 2, 3], 40);
    sim.commit(leader, Sim::setting(1), &[1, 2, 3]);
}
