//! Keel's store cluster: how a store's terminals prove who they are (identity
//! and mutual TLS), talk (QUIC over smol), find each other (mDNS through Avahi),
//! agree on the few things that need consensus (raft-rs) and replicate every
//! journal (anti-entropy by version vector). Protocol decisions live in
//! keel-core; this crate is the I/O around them.
//!
//! Modules and what each owns:
//! - `identity`: operator CA, store CA and terminal certificates (rcgen), reading them from PEM.
//! - `tls`: rustls configurations for mutual TLS; accepts only peers whose
//!   certificate chains to the store CA and names this store.
//! - `cloud`: mutual TLS between a store and its operator's cloud (the uplink's QUIC
//!   configurations and the cloud's check of a store client).
//! - `transport`: QUIC (quinn on smol): one connection per peer pair, a stream per
//!   purpose, length-prefixed frames with a size bound, reconnect with backoff.
//! - `transport_frame`: the sans-IO decoder of those frames (fuzzed).
//! - `discovery`: `_keel._udp` registration and browsing through Avahi (zeroconf).
//! - `raft`: raft-rs `RawNode` driver and its redb storage.
//! - `proof`: signing this terminal's replicated records and verifying other
//!   origins' signatures and certificates (keel-core's `OriginSigner`/`OriginVerifier`).
//!
//! Nothing here decides business outcomes; it moves and checks bytes.

#![warn(missing_docs)]

pub mod cloud;
pub mod cloud_session;
pub mod discovery;
pub mod identity;
pub mod proof;
pub mod raft;
pub mod tls;
pub mod transport;
pub mod transport_frame;
