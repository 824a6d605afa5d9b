//! Releases in the redb file: `releases` (id -> encoded [`Release`]),
//! `release_chunks` ((id, index) -> bytes), `ota_terminals` ((store, terminal)
//! -> (seen ms, encoded report)) and the `next_release` counter in `meta`.
//!
//! Owns those tables only; must not decide what a release is offered to.

use super::tables::{db, META};
use super::EmbeddedStore;
use crate::store::release::{
    decode_ota, decode_release, encode_ota, encode_release, OtaRow, Release, ReleaseState,
    ReleaseStore,
};
use crate::store::StoreError;
use keel_core::ids::StoreId;
use keel_uplink::release::TerminalOta;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

pub(super) const RELEASES: TableDefinition<u64, &[u8]> = TableDefinition::new("releases");
pub(super) const RELEASE_CHUNKS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("release_chunks");
pub(super) const OTA_TERMINALS: TableDefinition<(&str, u32), (u64, &[u8])> =
    TableDefinition::new("ota_terminals");
const KEY_NEXT_RELEASE: &str = "next_release";

/// Creates the release tables (a no-op when they exist).
pub(super) fn create(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(RELEASES).map_err(db)?;
    txn.open_table(RELEASE_CHUNKS).map_err(db)?;
    txn.open_table(OTA_TERMINALS).map_err(db)?;
    Ok(())
}

fn missing(id: u64) -> StoreError {
    StoreError::Invalid(format!("no release {id}"))
}

impl ReleaseStore for EmbeddedStore {
    fn release_insert(&self, release: &Release) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        let id = {
            let mut meta = txn.open_table(META).map_err(db)?;
            let id = meta
                .get(KEY_NEXT_RELEASE)
                .map_err(db)?
                .map(|v| v.value())
                .unwrap_or(1);
            meta.insert(KEY_NEXT_RELEASE, id + 1).map_err(db)?;
            let mut row = release.clone();
            row.id = id;
            row.state = ReleaseState::Uploading;
            row.fetched_chunks = 0;
            row.fetched_bytes = 0;
            let mut t = txn.open_table(RELEASES).map_err(db)?;
            t.insert(id, encode_release(&row).as_slice()).map_err(db)?;
            id
        };
        txn.commit().map_err(db)?;
        Ok(id)
    }

    fn release_put_chunk(&self, id: u64, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            if txn
                .open_table(RELEASES)
                .map_err(db)?
                .get(id)
                .map_err(db)?
                .is_none()
            {
                return Err(missing(id));
            }
            let mut t = txn.open_table(RELEASE_CHUNKS).map_err(db)?;
            t.insert((id, index), bytes).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn release_chunk(&self, id: u64, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(RELEASE_CHUNKS).map_err(db)?;
        Ok(t.get((id, index)).map_err(db)?.map(|v| v.value().to_vec()))
    }

    fn releases(&self) -> Result<Vec<Release>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(RELEASES).map_err(db)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db)? {
            let (_, v) = row.map_err(db)?;
            out.push(decode_release(v.value())?);
        }
        Ok(out)
    }

    fn release_save(&self, release: &Release) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(RELEASES).map_err(db)?;
            let mut row = match t.get(release.id).map_err(db)? {
                Some(v) => decode_release(v.value())?,
                None => return Err(missing(release.id)),
            };
            let (chunks, bytes) = (row.fetched_chunks, row.fetched_bytes);
            row = release.clone();
            row.fetched_chunks = chunks;
            row.fetched_bytes = bytes;
            t.insert(release.id, encode_release(&row).as_slice())
                .map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn release_count_fetch(&self, id: u64, bytes: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(RELEASES).map_err(db)?;
            let mut row = match t.get(id).map_err(db)? {
                Some(v) => decode_release(v.value())?,
                None => return Err(missing(id)),
            };
            row.fetched_chunks += 1;
            row.fetched_bytes += bytes;
            t.insert(id, encode_release(&row).as_slice()).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn record_ota(
        &self,
        store: &StoreId,
        reports: &[TerminalOta],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(OTA_TERMINALS).map_err(db)?;
            for r in reports {
                let newer = match t.get((store.0.as_str(), r.terminal.0)).map_err(db)? {
                    Some(v) => decode_ota(v.value().1)?.at_ms <= r.at_ms,
                    None => true,
                };
                if newer {
                    t.insert(
                        (store.0.as_str(), r.terminal.0),
                        (now_ms, encode_ota(r).as_slice()),
                    )
                    .map_err(db)?;
                }
            }
        }
        txn.commit().map_err(db)
    }

    fn ota_rows(&self, store: Option<&StoreId>) -> Result<Vec<OtaRow>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(OTA_TERMINALS).map_err(db)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db)? {
            let (k, v) = row.map_err(db)?;
            let (s, _) = k.value();
            if store.is_some_and(|want| want.0 != s) {
                continue;
            }
            let (seen_ms, bytes) = v.value();
            out.push(OtaRow {
                store: StoreId(s.to_string()),
                ota: decode_ota(bytes)?,
                seen_ms,
            });
        }
        Ok(out)
    }
}
