//! The cloud's answers to a store leader's OTA messages: an `OtaReport` is
//! recorded and answered with the store's `Releases`; a `FetchRelease` with a
//! `ReleaseChunk` of the bundle's bytes. Failures are `ReleaseRefused` with the
//! reason and the session goes on (a refused OTA request never affects sales
//! uploads on the same session).
//!
//! Owns only the mapping of those messages to `release`; must not decide who
//! gets a release.

use crate::release::{self, ReleaseError};
use crate::store::CloudStore;
use keel_core::ids::StoreId;
use keel_uplink::release::TerminalOta;
use keel_uplink::wire::CloudMessage;

fn refused(id: u64, who: &StoreId, e: &ReleaseError) -> CloudMessage {
    log::warn!("uplink: {who}: OTA request for release {id} refused: {e}");
    CloudMessage::ReleaseRefused {
        id,
        reason: e.to_string(),
    }
}

/// Answers an OTA report of store `who`.
pub fn answer_report(
    store: &dyn CloudStore,
    who: &StoreId,
    terminals: &[TerminalOta],
    now_ms: u64,
) -> CloudMessage {
    match crate::release_offers::report(store, who, terminals, now_ms) {
        Ok(offers) => CloudMessage::Releases(offers),
        Err(e) => refused(0, who, &e),
    }
}

/// Answers a chunk request of store `who`.
pub fn answer_fetch(
    store: &dyn CloudStore,
    who: &StoreId,
    id: u64,
    offset: u64,
    len: u32,
) -> CloudMessage {
    match release::fetch(store, id, offset, len) {
        Ok(bytes) => {
            log::debug!(
                "uplink: {who}: release {id} bytes {offset}..{}",
                offset + bytes.len() as u64
            );
            CloudMessage::ReleaseChunk { id, offset, bytes }
        }
        Err(e) => refused(id, who, &e),
    }
}
