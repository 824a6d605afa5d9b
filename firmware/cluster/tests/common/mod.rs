//! Helpers shared by the cluster tests.

pub mod raft_sim;
