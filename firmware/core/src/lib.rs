//! Keel's core: the domain and protocol logic of a point-of-sale terminal, as
//! pure functions of (state, input, now).
//!
//! This crate owns money, catalog, tax, carts, tenders, sales, shifts, kitchen
//! tickets, the event vocabulary, the journal's hash chain, and the engine that
//! turns a command into events. It must never do I/O, read a clock, spawn a
//! thread or draw randomness: callers pass time and identifiers in, so every run
//! replays exactly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod barcode;
pub mod cart;
pub mod catalog;
pub mod catalog_import;
pub mod chain;
pub mod counter_order;
pub mod customer;
pub mod derived;
pub mod engine;
pub mod event;
pub mod hex;
pub mod hlc;
pub mod ids;
pub mod kitchen;
pub mod money;
pub mod pii;
pub mod pricing;
pub mod profile;
pub mod published;
pub mod receipt;
pub mod replication;
pub mod risk;
pub mod sale;
pub mod shift;
pub mod state;
pub mod tax;
pub mod tender;
