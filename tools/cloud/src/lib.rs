//! The reference cloud service of Keel (the mothership): ingests every store's
//! journal records over QUIC with mutual TLS, keeps them in PostgreSQL (or an
//! embedded redb file when no database is given), publishes catalog, prices and
//! settings back to stores, and serves status, health and reports.

pub mod store;
