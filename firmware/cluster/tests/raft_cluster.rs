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

mod common;

use common::raft_sim::Sim;
use keel_cluster::raft::{
    codec, CommittedKind, MembershipChange, ProposeError, Role, StepError, StoreCommand,
};

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
