//! The store uplink protocol, pure and deterministic: what the store leader and
//! the cloud say to each other, how the leader builds batches, how the cloud
//! checks them and folds them into its projections.
//!
//! This crate owns the byte format of every store<->cloud message and the rules
//! around it. It must not do I/O: sockets, databases and clocks belong to the
//! terminal's uplink runtime and to the cloud service, which call in here with
//! the time and randomness they were given.

pub mod backoff;
pub mod builder;
pub mod ingest;
pub mod marks;
pub mod priority;
pub mod project;
pub mod publication;
pub mod release;
pub mod wire;

pub use marks::{OriginMark, UplinkMarks};
pub use wire::{
    Batch, BatchEntry, CloudMessage, EntryBody, Publication, PublishedItem, StoreHealth,
    StoreMessage,
};
