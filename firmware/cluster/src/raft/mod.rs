//! Store consensus: tikv raft-rs (`RawNode` and its Ready loop) over a redb
//! log, for the few decisions that need a majority (who leads and uploads to
//! the cloud, store settings and price changes, day close, membership).
//!
//! This module owns the raft log file (`raft.redb`, separate from the sales
//! journal so a sale never waits for raft), the sans-IO driver around
//! `RawNode`, and the byte formats of raft messages and proposals. It must not
//! do network I/O, keep time or spawn threads (the caller ticks it every
//! [`TICK_INTERVAL`] and moves its bytes), and must not apply business
//! commands (the caller applies what [`RaftNode::advance`] reports committed).
//!
//! Submodules:
//! - `storage`: [`RedbRaftStorage`], raft-rs's `Storage` in redb, every write durable.
//! - `driver`: [`RaftNode`], tick/step/propose/advance, the Ready loop.
//! - `command`: [`StoreCommand`], [`MembershipChange`], [`ProposalId`] and their encoding.
//! - `codec`: postcard wire form of raft messages and stored records.
//!
//! Dependency note: raft-rs needs an `slog::Logger` (raft 0.7 re-exports neither
//! `slog` nor `protobuf`), so keel-cluster depends on `slog` directly; the driver
//! forwards raft's records to `log`. `protobuf` is not needed: messages are
//! postcard (see `codec`).

// raft-rs's protobuf types are built by Default and field assignment (as raft-rs does itself).
#![allow(clippy::field_reassign_with_default)]

pub mod codec;
pub mod command;
pub mod driver;
pub mod storage;

pub use command::{
    CommandEnvelope, DecodeCommandError, MembershipChange, ProposalId, StoreCommand,
};
pub use driver::*;
pub use storage::{OpenError, PersistBatch, RedbRaftStorage, WriteError, RAFT_SCHEMA_VERSION};
