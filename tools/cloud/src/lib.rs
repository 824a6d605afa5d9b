//! The reference cloud service of Keel (the mothership): ingests every store's
//! journal records over QUIC with mutual TLS, keeps them in PostgreSQL (or an
//! embedded redb file when no database is given), publishes catalog, prices and
//! settings back to stores, and serves status, health and reports.
//!
//! Modules and what each owns:
//! - `cli`: the command line, parsed (pure);
//! - `init`: the cloud directory (certificates, admin token, settings);
//! - `server`: the QUIC endpoint and the uplink sessions of store leaders;
//! - `http`: the HTTP/1.1 endpoint (routes) and the small client the admin commands use;
//! - `http_request`: the request reader with its bounds (std only; fuzzed);
//! - `status`: health figures, alerts and the status view;
//! - `report`: the sales report (text and CSV), orders, flags and stock as text;
//! - `flagged`: the sales terminals flagged for risk review, as text and JSON;
//! - `admin`: the publish request format and the admin commands;
//! - `release`: OTA releases (publish, rollout, withdraw, offers, serving bytes);
//! - `release_offers`: which releases a store's terminals are offered;
//! - `release_cli`: the `release` commands and their upload client;
//! - `release_http`, `release_view`: release routes, listings and the status view's OTA part;
//! - `release_wire`: the uplink answers to OTA reports and chunk fetches;
//! - `customer`: customers' ids, the erasure request and the operator's view of a customer;
//! - `store`: storage (PostgreSQL or embedded), behind one trait.
//!
//! Ingest nodes are stateless: everything lasting is in the store, so many
//! `keel-cloud serve` processes may share one PostgreSQL.

#![warn(missing_docs)]

pub mod admin;
pub mod cli;
pub mod customer;
pub mod flagged;
pub mod http;
pub mod http_request;
pub mod init;
pub mod release;
pub mod release_cli;
pub mod release_http;
pub mod release_offers;
pub mod release_view;
pub mod release_wire;
pub mod report;
pub mod server;
pub mod status;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What the running service's endpoints share.
pub struct Service {
    /// The storage.
    pub store: Arc<dyn store::CloudStore>,
    /// The admin bearer token.
    pub admin_token: String,
    /// The cloud directory (its file system's free space is reported).
    pub dir: PathBuf,
    /// When the service started.
    pub started: Instant,
}

/// The wall clock, milliseconds since the epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
