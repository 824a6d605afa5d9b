//! Messages between a store leader and the cloud, and their byte encoding.
//!
//! Every message is a version byte followed by postcard; on a stream each is
//! framed by a 4-byte big-endian length. The exchange is strictly
//! request/response on one bidirectional stream: the store sends a
//! [`StoreMessage`], the cloud answers with exactly one [`CloudMessage`]
//! (`Hello` -> `Welcome`, `Batch` -> `Ack` or `Refused`, `Health` ->
//! `Publications`, `Keys` -> `Keys`, `OtaReport` -> `Releases`, `FetchRelease`
//! -> `ReleaseChunk` or `ReleaseRefused`). Any message may be answered with `Refused` when the cloud
//! cannot take it.
//!
//! Compatibility rule: postcard tags enum variants by position, so new variants
//! go at the end; changing fields needs a new [`WIRE_VERSION`].

use crate::marks::UplinkMarks;
use crate::release::{ReleaseOffer, TerminalOta};
use keel_core::catalog::CatalogItem;
use keel_core::chain::ChainHash;
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_core::pii::KeyRing;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version byte written before every message.
pub const WIRE_VERSION: u8 = 1;

/// Largest message either side accepts (a batch is bounded well below this).
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// Default upper bound on the encoded records of one batch.
pub const DEFAULT_BATCH_BYTES: usize = 512 * 1024;

/// What the store leader sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreMessage {
    /// Opens a session: who is speaking and where the store believes it stands.
    Hello {
        /// The store (must match the client certificate).
        store: StoreId,
        /// The terminal speaking, the store's raft leader (must match the certificate).
        terminal: TerminalId,
        /// Firmware version of the leader.
        firmware: String,
        /// The high-water marks replicated in the store.
        marks: UplinkMarks,
        /// Health figures of the store.
        health: StoreHealth,
    },
    /// Journal records to ingest.
    Batch(Batch),
    /// A periodic health report; also asks for publications after `marks.downlink`.
    Health {
        /// Health figures of the store.
        health: StoreHealth,
        /// Newest publication the store has applied.
        downlink: u64,
    },
    /// Customers' data keys and erasures the store holds (a chunk of its key
    /// ring, at most [`MAX_KEYS_PER_MESSAGE`] customers); answered with `Keys`.
    Keys {
        /// The chunk.
        ring: KeyRing,
    },
    /// The OTA state of every terminal of the store the leader knows of;
    /// answered with `Releases` (the releases for this store's terminals).
    OtaReport {
        /// One entry per terminal (at most `release::MAX_REPORTED_TERMINALS`).
        terminals: Vec<TerminalOta>,
    },
    /// Asks for bytes `offset..offset + len` of a release's bundle file
    /// (`len` at most `release::MAX_CHUNK`); answered with `ReleaseChunk` or
    /// `ReleaseRefused`.
    FetchRelease {
        /// The release.
        id: u64,
        /// First byte.
        offset: u64,
        /// How many bytes (fewer come back at the end of the file).
        len: u32,
    },
}

/// Most customers in one `Keys` message (about 60 KiB).
pub const MAX_KEYS_PER_MESSAGE: usize = 1_000;

/// Health figures a store reports with each session and periodically.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// Records held in the store and not yet acknowledged by the cloud.
    pub pending: u64,
    /// Consecutive failed sync attempts before this session.
    pub failed_syncs: u32,
    /// The last sync error, if any.
    pub last_error: Option<String>,
    /// Free space on the leader's data partition, percent.
    pub disk_free_pct: u8,
    /// Terminals of the store the leader can reach (itself included).
    pub terminals_up: u32,
    /// Terminals in the store.
    pub terminals: u32,
    /// The leader's wall clock, milliseconds since the epoch.
    pub now_ms: u64,
}

/// A batch of journal records, possibly from several terminals of the store.
///
/// Per origin the entries are in ascending sequence order. Entries above the
/// cloud's chain mark must be contiguous from it; entries at or below it fill
/// in bodies sent earlier as stubs, or are duplicates (ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Leader-chosen id, echoed in the answer.
    pub id: u64,
    /// The records.
    pub entries: Vec<BatchEntry>,
}

/// One record of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// Origin terminal of the record.
    pub origin: TerminalId,
    /// Its sequence number on the origin.
    pub seq: u64,
    /// The record, or a stub standing for it.
    pub body: EntryBody,
}

/// A record in full or a stub holding its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryBody {
    /// The journal record's bytes exactly as stored (version byte + postcard event).
    Full(Vec<u8>),
    /// A lower-priority record sent later: its hash and its predecessor's hash, so
    /// the chain can be checked through it now and the body matched to it later.
    Stub {
        /// SHA-256 of the record.
        hash: ChainHash,
        /// The record's `prev` (its predecessor's hash).
        prev: ChainHash,
    },
}

impl EntryBody {
    /// Encoded size this entry adds to a batch (close enough for bounding).
    pub fn weight(&self) -> usize {
        match self {
            EntryBody::Full(b) => b.len() + 16,
            EntryBody::Stub { .. } => 80,
        }
    }
}

/// What the cloud answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudMessage {
    /// Answer to `Hello`: what the cloud holds of this store, and what to apply.
    Welcome {
        /// The cloud's marks for the store's terminals.
        marks: UplinkMarks,
        /// Publications after the store's downlink mark (bounded; more follow on `Health`).
        publications: Vec<Publication>,
    },
    /// A batch was stored (in one transaction) or was entirely known already.
    Ack {
        /// The batch answered.
        batch: u64,
        /// The cloud's marks after the batch.
        marks: UplinkMarks,
        /// Records newly stored.
        accepted: u64,
        /// Records the cloud already had.
        duplicates: u64,
    },
    /// The message was refused; nothing of it was stored.
    Refused {
        /// The batch refused (0 for other messages).
        batch: u64,
        /// Why, for the store's status and logs.
        reason: String,
    },
    /// Answer to `Health`: publications after the store's downlink mark.
    Publications(Vec<Publication>),
    /// Answer to `Keys`: the cloud's entries for the same customers after
    /// merging (an erasure the cloud knows comes back as one).
    Keys {
        /// The merged entries.
        ring: KeyRing,
    },
    /// Answer to `OtaReport`: the releases offered to this store now.
    Releases(Vec<ReleaseOffer>),
    /// Answer to `FetchRelease`: the bytes asked for.
    ReleaseChunk {
        /// The release.
        id: u64,
        /// Offset of the first byte.
        offset: u64,
        /// The bytes (empty at or past the end of the file).
        bytes: Vec<u8>,
    },
    /// A `FetchRelease` or `OtaReport` that cannot be answered (unknown or
    /// withdrawn release, bad range, storage failure); the session goes on.
    ReleaseRefused {
        /// The release asked for (0 for a report).
        id: u64,
        /// Why.
        reason: String,
    },
}

/// One thing the operator published in the cloud, numbered in publication order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// Gapless publication number, from 1, across all stores.
    pub seq: u64,
    /// When it was published (cloud wall clock, ms since the epoch).
    pub published_ms: u64,
    /// Stores it is for; empty means every store.
    pub stores: Vec<StoreId>,
    /// What was published.
    pub item: PublishedItem,
}

/// A published change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishedItem {
    /// A catalog item created or replaced (its price included).
    Item(CatalogItem),
    /// A new price for an existing item, in minor units of the store currency.
    Price {
        /// The item.
        sku: Sku,
        /// New price.
        price_minor: i64,
    },
    /// A store setting.
    Setting {
        /// Key.
        key: String,
        /// Value.
        value: String,
    },
    /// A tax rate, in basis points, for a tax class.
    TaxRate {
        /// Tax class (e.g. `standard`).
        class: String,
        /// Rate in basis points (1100 = 11 %).
        rate_bp: u32,
    },
    /// A promotion: a percentage off an item between two times.
    Promotion {
        /// Promotion id.
        id: String,
        /// The item.
        sku: Sku,
        /// Discount in basis points.
        discount_bp: u32,
        /// Start, ms since the epoch.
        from_ms: u64,
        /// End (exclusive), ms since the epoch.
        until_ms: u64,
    },
    /// A customer's erasure request: delete their data key everywhere.
    EraseCustomer {
        /// Customer id.
        customer: String,
    },
}

impl PublishedItem {
    /// Short name for logs and the status view.
    pub fn kind(&self) -> &'static str {
        match self {
            PublishedItem::Item(_) => "item",
            PublishedItem::Price { .. } => "price",
            PublishedItem::Setting { .. } => "setting",
            PublishedItem::TaxRate { .. } => "tax-rate",
            PublishedItem::Promotion { .. } => "promotion",
            PublishedItem::EraseCustomer { .. } => "erase-customer",
        }
    }
}

/// Why bytes are not a message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// Nothing at all.
    #[error("empty message")]
    Empty,
    /// A version this build does not read.
    #[error(
        "uplink message version {0} is not supported (this build reads version {WIRE_VERSION})"
    )]
    Version(u8),
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("uplink message of {0} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not a valid encoding.
    #[error("malformed uplink message: {0}")]
    Malformed(String),
}

fn encode<T: Serialize>(m: &T) -> Vec<u8> {
    // Serializing plain owned data into a Vec cannot fail; an empty result would
    // be refused by the receiver as `Empty`.
    postcard::to_extend(m, vec![WIRE_VERSION]).unwrap_or_default()
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    match bytes.split_first() {
        None => Err(WireError::Empty),
        Some((&WIRE_VERSION, rest)) => {
            let (m, tail) = postcard::take_from_bytes::<T>(rest)
                .map_err(|e| WireError::Malformed(e.to_string()))?;
            if tail.is_empty() {
                Ok(m)
            } else {
                Err(WireError::Malformed(format!(
                    "{} trailing bytes",
                    tail.len()
                )))
            }
        }
        Some((&v, _)) => Err(WireError::Version(v)),
    }
}

impl StoreMessage {
    /// Version byte + postcard.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a message the store sent.
    pub fn decode(bytes: &[u8]) -> Result<StoreMessage, WireError> {
        decode(bytes)
    }
}

impl CloudMessage {
    /// Version byte + postcard.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a message the cloud sent.
    pub fn decode(bytes: &[u8]) -> Result<CloudMessage, WireError> {
        decode(bytes)
    }
}

/// Frames `payload` for a stream: 4-byte big-endian length, then the bytes.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads a frame's length prefix, refusing lengths above [`MAX_MESSAGE_BYTES`].
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, WireError> {
    let n = u32::from_be_bytes(prefix) as usize;
    if n > MAX_MESSAGE_BYTES {
        Err(WireError::TooLarge(n))
    } else if n == 0 {
        Err(WireError::Empty)
    } else {
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_an_error() {
        let m = StoreMessage::Batch(Batch {
            id: 9,
            entries: vec![BatchEntry {
                origin: TerminalId(2),
                seq: 5,
                body: EntryBody::Stub {
                    hash: ChainHash([1; 32]),
                    prev: ChainHash([2; 32]),
                },
            }],
        });
        assert_eq!(StoreMessage::decode(&m.encode()), Ok(m));
        let c = CloudMessage::Refused {
            batch: 3,
            reason: "x".into(),
        };
        assert_eq!(CloudMessage::decode(&c.encode()), Ok(c));
        assert_eq!(StoreMessage::decode(&[]), Err(WireError::Empty));
        assert_eq!(StoreMessage::decode(&[7, 0]), Err(WireError::Version(7)));
        assert!(matches!(
            StoreMessage::decode(&[WIRE_VERSION, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(WireError::Malformed(_))
        ));
        let mut trailing = CloudMessage::Publications(Vec::new()).encode();
        trailing.push(0);
        assert!(matches!(
            CloudMessage::decode(&trailing),
            Err(WireError::Malformed(_))
        ));
        assert_eq!(frame_len([0, 0, 0, 0]), Err(WireError::Empty));
        assert!(frame_len([0xff, 0, 0, 0]).is_err());
        assert_eq!(frame(&[1, 2])[..4], [0, 0, 0, 2]);
    }
}
