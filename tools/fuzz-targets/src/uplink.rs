//! Messages between the store and the cloud (`keel_uplink::wire`): what the
//! cloud decodes from a store (`StoreMessage::decode`) and what a store
//! decodes from the cloud (`CloudMessage::decode`).
//!
//! Property: what decodes re-encodes to bytes that decode to the same message.

use keel_uplink::wire::{CloudMessage, StoreMessage};

/// `data` as a message a store sent to the cloud.
pub fn store_message(data: &[u8]) {
    if let Ok(m) = StoreMessage::decode(data) {
        let again = StoreMessage::decode(&m.encode());
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "store message does not round-trip"
        );
    }
}

/// `data` as a message the cloud sent to a store.
pub fn cloud_message(data: &[u8]) {
    if let Ok(m) = CloudMessage::decode(data) {
        let again = CloudMessage::decode(&m.encode());
        assert_eq!(
            again.as_ref().ok(),
            Some(&m),
            "cloud message does not round-trip"
        );
    }
}
