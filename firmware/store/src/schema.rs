//! The on-disk layout: table definitions, the meta keys, the schema version and
//! the migrations from every older version to the current one.
//!
//! This module owns the names and encodings of everything in the redb file. It
//! must not append events or decide what derived state means; migrations only
//! reshape what is already stored, inside the open's single write transaction.
//!
//! Layout of schema version 1:
//! - `meta` (`&str` -> bytes): `schema_version` (u32 little-endian), `identity`
//!   (postcard [`JournalIdentity`]), `head` (postcard [`HeadRecord`]: last seq,
//!   its hash and its HLC).
//! - `events` (`u64` seq -> record bytes, exactly as `keel_core::chain::encode_record` made them).
//! - `idempotency` (16-byte command id -> reply bytes).
//! - `derived_<name>` for every [`DerivedTable`] (`&str` key -> bytes).
//!
//! Schema version 0 (the prototype, before versioning) had `meta` with
//! `identity`, `head_seq` (u64 LE) and `head_hash` (32 bytes) and no
//! `schema_version` key, the same `events` table, and neither idempotency nor
//! derived tables.

use crate::journal::JournalIdentity;
use keel_core::chain::{decode_record, ChainHash};
use keel_core::derived::DerivedTable;
use keel_core::hlc::Hlc;
use redb::{ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

/// The schema version this firmware writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Metadata table.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Journal records by sequence number.
pub(crate) const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
/// Idempotent replies by command id.
pub(crate) const IDEMPOTENCY: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("idempotency");

/// Meta key: schema version.
pub(crate) const KEY_SCHEMA: &str = "schema_version";
/// Meta key: identity.
pub(crate) const KEY_IDENTITY: &str = "identity";
/// Meta key: chain head.
pub(crate) const KEY_HEAD: &str = "head";

/// The redb table name of a derived table: `derived_<name>`.
pub(crate) fn derived_name(table: DerivedTable) -> String {
    format!("derived_{}", table.name())
}

/// The redb table of a derived table, borrowing its name.
pub(crate) fn derived_def(name: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(name)
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
    let arr: [u8; 4] = bytes.try_into().map_err(|_| format!("schema version has {} bytes, not 4", bytes.len()))?;
    Ok(u32::from_le_bytes(arr))
}

/// Creates every table of the current layout that does not exist yet.
pub(crate) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(META)?;
    txn.open_table(EVENTS)?;
    txn.open_table(IDEMPOTENCY)?;
    for table in DerivedTable::ALL {
        let name = derived_name(table);
        txn.open_table(derived_def(&name))?;
    }
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
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    from: 0,
    to: 1,
    what: "combine head_seq/head_hash into one head record with the last HLC; add idempotency and derived tables",
    run: migrate_v0_to_v1,
}];

fn migrate_v0_to_v1(txn: &WriteTransaction) -> Result<(), String> {
    let e = |e: redb::Error| e.to_string();
    let mut meta = txn.open_table(META).map_err(|x| e(x.into()))?;
    let seq = match meta.get("head_seq").map_err(|x| e(x.into()))? {
        Some(v) => {
            let arr: [u8; 8] = v.value().try_into().map_err(|_| "head_seq is not 8 bytes".to_string())?;
            u64::from_le_bytes(arr)
        }
        None => return Err("head_seq missing".into()),
    };
    let hash = match meta.get("head_hash").map_err(|x| e(x.into()))? {
        Some(v) => ChainHash(v.value().try_into().map_err(|_| "head_hash is not 32 bytes".to_string())?),
        None => return Err("head_hash missing".into()),
    };
    let events = txn.open_table(EVENTS).map_err(|x| e(x.into()))?;
    let hlc = match events.get(seq).map_err(|x| e(x.into()))? {
        Some(v) => decode_record(v.value()).map_err(|x| format!("record {seq}: {x}"))?.hlc,
        None => return Err(format!("record {seq} named by the head is missing")),
    };
    drop(events);
    meta.insert(KEY_HEAD, encode_head(&HeadRecord { seq, hash, hlc }).as_slice()).map_err(|x| e(x.into()))?;
    meta.remove("head_seq").map_err(|x| e(x.into()))?;
    meta.remove("head_hash").map_err(|x| e(x.into()))?;
    drop(meta);
    create_tables(txn).map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_and_version_round_trip() {
        let head = HeadRecord { seq: 42, hash: ChainHash([7; 32]), hlc: Hlc { wall_ms: 5, counter: 1, node: 2 } };
        assert_eq!(decode_head(&encode_head(&head)), Ok(head));
        assert_eq!(decode_version(&SCHEMA_VERSION.to_le_bytes()), Ok(SCHEMA_VERSION));
        assert!(decode_version(&[1, 2]).is_err());
        assert_eq!(derived_name(DerivedTable::Stock), "derived_stock");
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
