//! The Keel terminal: configuration, wiring of core + store, and the technician
//! console. The `keel` binary (`main.rs`) is a thin command-line front over this
//! library so tests can drive the same code in-process.

#![warn(missing_docs)]

pub mod ai;
pub mod app;
pub mod board;
pub mod cli;
pub mod clock;
pub mod cluster_runtime;
pub mod config;
pub mod console;
pub mod demo;
pub mod health;
pub mod node;
pub mod ota;
pub mod ota_channel;
pub mod peripherals;
pub mod provision;
pub mod replica_pause;
pub mod risk;
pub mod service_notify;
pub mod ui_bridge;
pub mod uplink_runtime;
