//! The on-disk layout: table definitions, the meta keys, the schema version and
//! the migrations from every older version to the current one.
//!
//! This module owns the names and encodings of everything in the redb file. It
//! must not append events or decide what derived state means; migrations only
//! reshape what is already stored, inside the open's single write transaction.
//!
//! Layout of schema version 2 (the current one):
//! - `meta` (`&str` -> bytes): `schema_version` (u32 little-endian) and
//!   `identity` (postcard [`JournalIdentity`]). Written at creation and by
//!   migrations only, never by a commit.
//! - `events` (`u64` seq -> record bytes, exactly as `keel_core::chain::encode_record` made them).
//! - `idempotency` (16-byte command id -> reply bytes).
//! - `state` (bytes -> bytes): the chain head and every derived table in ONE
//!   B-tree. A key is one tag byte followed by the rest: tag 0 alone is the head
//!   (postcard [`HeadRecord`]: last seq, its hash and its HLC); tags 1..=7 and 10 are the
//!   [`DerivedTable`]s (see [`derived_tag`]) followed by the derived key's UTF-8
//!   bytes. The singletons every commit rewrites (head, counters, cart, shift)
//!   get the lowest tags, so they sort next to each other and share one leaf
//!   page: a sale dirties far fewer pages than with a table per derived table
//!   and the head in `meta` (schema version 1).
//!   Tag 8 holds idempotent replies; tags 9 and 11 (then the origin's u32 BE) hold
//!   each replicated origin's head and certificate (see `replica`).
//! - `replica_events` ((origin, seq) -> record bytes) and `replica_proofs`
//!   ((origin, seq) -> the origin's signature over that record): see `replica`.
//!
//! Schema version 1 had the head in `meta` (key `head`) and one table
//! `derived_<name>` (`&str` key -> bytes) per derived table; `events` and
//! `idempotency` were as now.
//!
//! Schema version 0 (the prototype, before versioning) had `meta` with
//! `identity`, `head_seq` (u64 LE) and `head_hash` (32 bytes) and no
//! `schema_version` key, the same `events` table, and neither idempotency nor
//! derived tables.

use crate::journal::JournalIdentity;
use keel_core::chain::{decode_record, ChainHash};
use keel_core::derived::DerivedTable;
use keel_core::hlc::Hlc;
use keel_core::ids::CommandId;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

/// The schema version this firmware writes.
pub const SCHEMA_VERSION: u32 = 2;

/// Metadata table.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Journal records by sequence number.
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Idempotent replies by command id (schema version 1; in `state` since version 2).
const V1_IDEMPOTENCY: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("idempotency");

/// Meta key: schema version.
pub(crate) const KEY_SCHEMA: &str = "schema_version";
/// Meta key: identity.
pub(crate) const KEY_IDENTITY: &str = "identity";
/// The chain head and all derived state (schema version 2).
pub(crate) const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");

/// `state` key of the chain head.
pub(crate) const HEAD_KEY: &[u8] = &[0];

/// The tag byte of a derived table's keys in `state`. Stable: part of the file format.
pub(crate) fn derived_tag(table: DerivedTable) -> u8 {
    match table {
        DerivedTable::Counters => 1,
        DerivedTable::Cart => 2,
        DerivedTable::Shift => 3,
        DerivedTable::Stock => 4,
        DerivedTable::Catalog => 5,
        DerivedTable::Kitchen => 6,
        DerivedTable::Receipts => 7,
        DerivedTable::Settings => 10,
        DerivedTable::Customers => 12,
        DerivedTable::SealedCustomers => 13,
        DerivedTable::CounterOrders => 14,
    }
}

/// The tags of every derived table's keys in `state` (1..=7, 10 for settings, 12 and 13 for
/// customers, 14 for counter orders; 8 is idempotency, 9 the replicated origins' heads, 11 their certificates).
pub(crate) fn derived_tags() -> impl Iterator<Item = u8> {
    DerivedTable::ALL.into_iter().map(derived_tag)
}

/// The tag of idempotent replies in `state`: tag 8 followed by the 16-byte command id.
pub(crate) const IDEMPOTENCY_TAG: u8 = 8;

/// The `state` key of a command's idempotent reply.
pub(crate) fn idempotency_key(id: &CommandId) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = IDEMPOTENCY_TAG;
    key[1..].copy_from_slice(&id.0);
    key
}

/// Writes the `state` key of `key` in `table` into `out` (cleared first).
pub(crate) fn derived_key_into(table: DerivedTable, key: &str, out: &mut Vec<u8>) {
    out.clear();
    out.push(derived_tag(table));
    out.extend_from_slice(key.as_bytes());
}

/// The `state` key of `key` in `table`.
pub(crate) fn derived_key(table: DerivedTable, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + key.len());
    derived_key_into(table, key, &mut out);
    out
}

/// The derived key of a `state` key of `table` (the bytes after the tag).
pub(crate) fn derived_key_str(table: DerivedTable, stored: &[u8]) -> Result<String, String> {
    std::str::from_utf8(&stored[1..])
        .map(str::to_string)
        .map_err(|_| format!("derived table {}: a key is not UTF-8", table.name()))
}

/// The redb table name of a derived table in schema version 1: `derived_<name>`.
fn v1_derived_name(table: DerivedTable) -> String {
    format!("derived_{}", table.name())
}

/// The chain head as stored in meta.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeadRecord {
    /// Last sequence number.
    pub seq: u64,
    /// Hash of the last record.
    pub hash: ChainHash,
    /// Timestamp of the last record.
    pub hlc: Hlc,
}

/// Encodes a head record.
pub(crate) fn encode_head(head: &HeadRecord) -> Vec<u8> {
    postcard::to_allocvec(head).unwrap_or_default()
}

/// Decodes a head record.
pub(crate) fn decode_head(bytes: &[u8]) -> Result<HeadRecord, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("head record does not decode: {e}"))
}

/// Encodes the identity.
pub(crate) fn encode_identity(identity: &JournalIdentity) -> Vec<u8> {
    postcard::to_allocvec(identity).unwrap_or_default()
}

/// Decodes the identity.
pub(crate) fn decode_identity(bytes: &[u8]) -> Result<JournalIdentity, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("identity does not decode: {e}"))
}

/// Decodes a stored schema version.
pub(crate) fn decode_version(bytes: &[u8]) -> Result<u32, String> {
    let arr: [u8; 4] = bytes
        .try_into()
        .map_err(|_| format!("schema version has {} bytes, not 4", bytes.len()))?;
    Ok(u32::from_le_bytes(arr))
}

/// Creates every table of the current layout that does not exist yet.
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(META)?;
    txn.open_table(EVENTS)?;
    txn.open_table(STATE)?;
    Ok(())
}

/// One step of the migration path.
pub(crate) struct Migration {
    /// Version migrated from.
    pub from: u32,
    /// Version migrated to (always `from + 1`).
    pub to: u32,
    /// What it does, for the log.
    pub what: &'static str,
    /// The step, run inside the open's write transaction.
    pub run: fn(&WriteTransaction) -> Result<(), String>,
}

/// Every migration, in order. Opening runs those whose `from` is at or above the file's version.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 0,
        to: 1,
        what: "combine head_seq/head_hash into one head record with the last HLC; add idempotency and derived tables",
        run: migrate_v0_to_v1,
    },
    Migration {
        from: 1,
        to: 2,
        what: "move the head out of meta, and the derived_<name> and idempotency tables, into the single state table",
        run: migrate_v1_to_v2,
    },
];

/// Meta key of the head in schema version 1.
const V1_KEY_HEAD: &str = "head";

fn migrate_v0_to_v1(txn: &WriteTransaction) -> Result<(), String> {
    let e = |e: redb::Error| e.to_string();
    let mut meta = txn.open_table(META).map_err(|x| e(x.into()))?;
    let seq = match meta.get("head_seq").map_err(|x| e(x.into()))? {
        Some(v) => {
            let arr: [u8; 8] = v
                .value()
                .try_into()
                .map_err(|_| "head_seq is not 8 bytes".to_string())?;
            u64::from_le_bytes(arr)
        }
        None => return Err("head_seq missing".into()),
    };
    let hash = match meta.get("head_hash").map_err(|x| e(x.into()))? {
        Some(v) => ChainHash(
            v.value()
                .try_into()
                .map_err(|_| "head_hash is not 32 bytes".to_string())?,
        ),
        None => return Err("head_hash missing".into()),
    };
    let events = txn.open_table(EVENTS).map_err(|x| e(x.into()))?;
    let hlc = match events.get(seq).map_err(|x| e(x.into()))? {
        Some(v) => {
            decode_record(v.value())
                .map_err(|x| format!("record {seq}: {x}"))?
                .hlc
        }
        None => return Err(format!("record {seq} named by the head is missing")),
    };
    drop(events);
    meta.insert(
        V1_KEY_HEAD,
        encode_head(&HeadRecord { seq, hash, hlc }).as_slice(),
    )
    .map_err(|x| e(x.into()))?;
    meta.remove("head_seq").map_err(|x| e(x.into()))?;
    meta.remove("head_hash").map_err(|x| e(x.into()))?;
    drop(meta);
    // The version 1 layout: idempotency and one table per derived table.
    txn.open_table(V1_IDEMPOTENCY).map_err(|x| e(x.into()))?;
    for table in DerivedTable::ALL {
        let name = v1_derived_name(table);
        txn.open_table(TableDefinition::<&str, &[u8]>::new(&name))
            .map_err(|x| e(x.into()))?;
    }
    Ok(())
}

fn migrate_v1_to_v2(txn: &WriteTransaction) -> Result<(), String> {
    let e = |e: redb::Error| e.to_string();
    let mut state = txn.open_table(STATE).map_err(|x| e(x.into()))?;
    {
        let mut meta = txn.open_table(META).map_err(|x| e(x.into()))?;
        let head = match meta.remove(V1_KEY_HEAD).map_err(|x| e(x.into()))? {
            Some(v) => v.value().to_vec(),
            None => return Err("head missing from meta".into()),
        };
        decode_head(&head)?;
        state
            .insert(HEAD_KEY, head.as_slice())
            .map_err(|x| e(x.into()))?;
    }
    let mut key = Vec::new();
    for table in DerivedTable::ALL {
        let name = v1_derived_name(table);
        let def = TableDefinition::<&str, &[u8]>::new(&name);
        {
            let old = match txn.open_table(def) {
                Ok(t) => t,
                Err(x) => return Err(e(x.into())),
            };
            for entry in old.iter().map_err(|x| e(x.into()))? {
                let (k, v) = entry.map_err(|x| e(x.into()))?;
                derived_key_into(table, k.value(), &mut key);
                state
                    .insert(key.as_slice(), v.value())
                    .map_err(|x| e(x.into()))?;
            }
        }
        txn.delete_table(def).map_err(|x| e(x.into()))?;
    }
    {
        let old = txn.open_table(V1_IDEMPOTENCY).map_err(|x| e(x.into()))?;
        for entry in old.iter().map_err(|x| e(x.into()))? {
            let (k, v) = entry.map_err(|x| e(x.into()))?;
            state
                .insert(
                    idempotency_key(&CommandId(*k.value())).as_slice(),
                    v.value(),
                )
                .map_err(|x| e(x.into()))?;
        }
    }
    txn.delete_table(V1_IDEMPOTENCY).map_err(|x| e(x.into()))?;
    drop(state);
    create_tables(txn).map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_version_round_trip() {
        let head = HeadRecord {
            seq: 42,
            hash: ChainHash([7; 32]),
            hlc: Hlc {
                wall_ms: 5,
                counter: 1,
                node: 2,
            },
        };
        assert_eq!(decode_head(&encode_head(&head)), Ok(head));
        assert_eq!(
            decode_version(&SCHEMA_VERSION.to_le_bytes()),
            Ok(SCHEMA_VERSION)
        );
        assert!(decode_version(&[1, 2]).is_err());
        assert_eq!(v1_derived_name(DerivedTable::Stock), "derived_stock");
    }

    #[test]
    fn derived_keys_are_tagged_and_round_trip() {
        let mut tags: Vec<u8> = DerivedTable::ALL.iter().map(|t| derived_tag(*t)).collect();
        tags.sort();
        assert_eq!(
            tags,
            [1, 2, 3, 4, 5, 6, 7, 10, 12, 13, 14],
            "one distinct tag per table, none is the head's"
        );
        assert!(
            !derived_tags().any(|t| t == HEAD_KEY[0] || t == IDEMPOTENCY_TAG || t == 9 || t == 11)
        );
        for table in DerivedTable::ALL {
            let k = derived_key(table, "sale/000000000001");
            assert_eq!(k[0], derived_tag(table));
            assert_eq!(
                derived_key_str(table, &k),
                Ok("sale/000000000001".to_string())
            );
        }
        assert!(derived_key_str(DerivedTable::Stock, &[4, 0xff]).is_err());
    }

    #[test]
    fn migrations_form_a_path_to_the_current_version() {
        let mut v = 0;
        for m in MIGRATIONS {
            assert_eq!((m.from, m.to), (v, v + 1));
            v = m.to;
        }
        assert_eq!(v, SCHEMA_VERSION);
    }
}
