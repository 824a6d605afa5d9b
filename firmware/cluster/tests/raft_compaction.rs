//! Raft log compaction with the caller's state machine as the snapshot: a
//! terminal that was down while the leader compacted gets the snapshot and
//! then the entries after it; a terminal restarted from a compacted log
//! starts from the snapshot in its file and replays only what follows; a
//! terminal added after compaction starts from the snapshot too. Every
//! caller's state machine ends equal, and nothing committed is lost.

mod common;

use common::raft_sim::Sim;
use keel_cluster::raft::MembershipChange;
use raft::Storage;

/// The settings every node must hold after `n` commits of `Sim::setting`.
fn expected_settings(n: u64) -> std::collections::BTreeMap<String, Vec<u8>> {
    (1..=n)
        .map(|i| (format!("k{i}"), i.to_le_bytes().to_vec()))
        .collect()
}

#[test]
fn a_node_behind_a_compacted_log_gets_the_snapshot_and_the_rest() {
    let ids = [1, 2, 3];
    let mut sim = Sim::new(&ids);
    let (leader, _) = sim.await_leader(&ids, 30);
    let behind = ids.into_iter().find(|i| *i != leader).unwrap();
    let up: Vec<u64> = ids.into_iter().filter(|i| *i != behind).collect();
    sim.commit(leader, Sim::setting(1), &ids);
    sim.kill(behind);
    for n in 2..=40 {
        sim.commit(leader, Sim::setting(n), &up);
    }
    for &id in &up {
        sim.compact(id);
        let first = sim.node(id).storage().first_index().unwrap();
        assert!(first > 40, "node {id}: log still starts at {first}");
    }
    // The node that was down needs entries the leader no longer has.
    sim.revive(behind);
    for _ in 0..10 {
        sim.tick();
    }
    assert_eq!(
        sim.installed.get(&behind).map(Vec::len),
        Some(1),
        "node {behind} installed no snapshot: {:?}",
        sim.statuses()
    );
    sim.commit(leader, Sim::setting(41), &ids);
    for id in ids {
        assert_eq!(sim.folded[&id].settings, expected_settings(41), "node {id}");
    }
    sim.check_logs_agree();

    // Restart every node from its files: each starts from its own snapshot and
    // replays only what follows it.
    for id in ids {
        sim.kill(id);
    }
    for id in ids {
        sim.revive(id);
    }
    let (leader, _) = sim.await_leader(&ids, 30);
    sim.commit(leader, Sim::setting(42), &ids);
    for id in ids {
        assert_eq!(sim.folded[&id].settings, expected_settings(42), "node {id}");
        assert!(
            sim.applied[&id].len() < 10,
            "node {id} replayed {} entries after compaction",
            sim.applied[&id].len()
        );
    }
    sim.check_logs_agree();
}

#[test]
fn a_node_added_after_compaction_starts_from_the_snapshot() {
    let ids = [1, 2, 3];
    let mut sim = Sim::new(&ids);
    // As the runtime does: compact every 8 applied entries, and after a
    // membership change once the log was compacted.
    sim.auto_compact = Some(8);
    let (leader, _) = sim.await_leader(&ids, 30);
    for n in 1..=20 {
        sim.commit(leader, Sim::setting(n), &ids);
    }
    let snapshot = sim
        .node(leader)
        .storage()
        .stored_snapshot()
        .get_metadata()
        .index;
    assert!(snapshot >= 8, "no compaction: snapshot at {snapshot}");
    sim.start(4, &[]);
    sim.node(leader)
        .propose_conf_change(MembershipChange::AddNode(4))
        .unwrap();
    for _ in 0..10 {
        sim.tick();
    }
    assert_eq!(
        sim.node(4).status().voters,
        vec![1, 2, 3, 4],
        "{:?}",
        sim.statuses()
    );
    assert!(sim.installed.contains_key(&4), "node 4 got no snapshot");
    // The snapshot it started from includes it as a voter.
    let conf = sim
        .node(leader)
        .storage()
        .stored_snapshot()
        .get_metadata()
        .get_conf_state()
        .voters
        .clone();
    assert!(conf.contains(&4), "leader's snapshot voters {conf:?}");
    sim.commit(leader, Sim::setting(21), &[1, 2, 3, 4]);
    for id in [1, 2, 3, 4] {
        assert_eq!(sim.folded[&id].settings, expected_settings(21), "node {id}");
    }
    // Membership is in the snapshot: node 4 restarted from its files still
    // knows every voter.
    sim.kill(4);
    sim.revive(4);
    assert_eq!(sim.node(4).status().voters, vec![1, 2, 3, 4]);
    sim.check_logs_agree();
}

#[test]
fn a_follower_refusing_a_stale_snapshot_gets_the_fresh_one() {
    // Compacted by hand (no automatic compaction after the membership
    // change): node 4 refuses the snapshot that predates it, the leader keeps
    // probing, and once the leader compacts again node 4 takes the new one.
    let ids = [1, 2, 3];
    let mut sim = Sim::new(&ids);
    let (leader, _) = sim.await_leader(&ids, 30);
    for n in 1..=10 {
        sim.commit(leader, Sim::setting(n), &ids);
    }
    for id in ids {
        sim.compact(id);
    }
    sim.start(4, &[]);
    sim.node(leader)
        .propose_conf_change(MembershipChange::AddNode(4))
        .unwrap();
    for _ in 0..5 {
        sim.tick();
    }
    assert!(
        !sim.installed.contains_key(&4),
        "a snapshot without node 4 was taken"
    );
    assert!(
        sim.node(leader).should_compact(1_000),
        "a membership change after the snapshot must ask for compaction"
    );
    sim.compact(leader);
    for _ in 0..10 {
        sim.tick();
    }
    assert!(
        sim.installed.contains_key(&4),
        "node 4 never got the fresh snapshot: {:?}",
        sim.statuses()
    );
    sim.commit(leader, Sim::setting(11), &[1, 2, 3, 4]);
    assert_eq!(sim.folded[&4].settings, expected_settings(11));
}

#[test]
fn compaction_of_a_node_is_idempotent_and_bounded_by_what_it_applied() {
    let ids = [1, 2, 3];
    let mut sim = Sim::new(&ids);
    let (leader, _) = sim.await_leader(&ids, 30);
    for n in 1..=5 {
        sim.commit(leader, Sim::setting(n), &ids);
    }
    sim.compact(leader);
    let first = sim.node(leader).storage().first_index().unwrap();
    // Nothing new applied: compacting again changes nothing.
    sim.compact(leader);
    assert_eq!(sim.node(leader).storage().first_index().unwrap(), first);
    let applied = sim.node(leader).status().applied;
    assert_eq!(first, applied + 1);
    assert_eq!(
        sim.node(leader)
            .storage()
            .stored_snapshot()
            .get_metadata()
            .index,
        applied
    );
}
