//! Releases in PostgreSQL (migration 4): `releases` (one row per release: the
//! encoded [`Release`] plus state and fetch counters as columns, so several
//! ingest nodes count fetches without overwriting each other),
//! `release_chunks` (release, index, bytes) and `ota_terminals` (store,
//! terminal, seen_ms, report).
//!
//! Owns those tables only; must not decide what a release is offered to.

use super::pool::Retry;
use super::PgStore;
use crate::store::codec::{int, ms};
use crate::store::release::{
    decode_ota, decode_release, encode_ota, encode_release, OtaRow, Release, ReleaseState,
    ReleaseStore,
};
use crate::store::StoreError;
use keel_core::ids::StoreId;
use keel_uplink::release::TerminalOta;

fn missing(id: u64) -> StoreError {
    StoreError::Invalid(format!("no release {id}"))
}

fn row_release(r: &postgres::Row) -> Result<Release, StoreError> {
    let bytes: Vec<u8> = r.get("meta");
    let mut rel = decode_release(&bytes)?;
    let chunks: i64 = r.get("fetched_chunks");
    let fetched: i64 = r.get("fetched_bytes");
    rel.fetched_chunks = chunks.max(0) as u64;
    rel.fetched_bytes = fetched.max(0) as u64;
    Ok(rel)
}

impl ReleaseStore for PgStore {
    fn release_insert(&self, release: &Release) -> Result<u64, StoreError> {
        self.pool.run(Retry::RolledBack, |c| {
            let mut tx = c.transaction()?;
            let id: i64 = tx
                .query_one("SELECT nextval('releases_id_seq')", &[])?
                .get(0);
            let mut row = release.clone();
            row.id = id as u64;
            row.state = ReleaseState::Uploading;
            row.fetched_chunks = 0;
            row.fetched_bytes = 0;
            tx.execute(
                "INSERT INTO releases (id, state, meta, fetched_chunks, fetched_bytes) \
                 VALUES ($1, $2, $3, 0, 0)",
                &[&id, &row.state.as_str(), &encode_release(&row)],
            )?;
            tx.commit()?;
            Ok(id as u64)
        })
    }

    fn release_put_chunk(&self, id: u64, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let (id_i, index_i) = (int(id)?, int(index)?);
        self.pool.run(Retry::Safe, |c| {
            let n = c.execute(
                "INSERT INTO release_chunks (release, idx, bytes) \
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM releases WHERE id = $1) \
                 ON CONFLICT (release, idx) DO UPDATE SET bytes = $3",
                &[&id_i, &index_i, &bytes],
            )?;
            if n == 0 {
                return Err(missing(id).into());
            }
            Ok(())
        })
    }

    fn release_chunk(&self, id: u64, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let (id_i, index_i) = (int(id)?, int(index)?);
        self.pool.run(Retry::Safe, |c| {
            Ok(c.query_opt(
                "SELECT bytes FROM release_chunks WHERE release = $1 AND idx = $2",
                &[&id_i, &index_i],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.pool.run(Retry::Safe, |c| {
            let rows = c.query(
                "SELECT meta, fetched_chunks, fetched_bytes FROM releases ORDER BY id",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(row_release)
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn release_save(&self, release: &Release) -> Result<(), StoreError> {
        let id = int(release.id)?;
        self.pool.run(Retry::RolledBack, |c| {
            let mut tx = c.transaction()?;
            let Some(r) = tx.query_opt(
                "SELECT meta, fetched_chunks, fetched_bytes FROM releases WHERE id = $1 FOR UPDATE",
                &[&id],
            )?
            else {
                return Err(missing(release.id).into());
            };
            let mut row = row_release(&r)?;
            let (chunks, bytes) = (row.fetched_chunks, row.fetched_bytes);
            row = release.clone();
            row.fetched_chunks = chunks;
            row.fetched_bytes = bytes;
            tx.execute(
                "UPDATE releases SET state = $2, meta = $3 WHERE id = $1",
                &[&id, &row.state.as_str(), &encode_release(&row)],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn release_count_fetch(&self, id: u64, bytes: u64) -> Result<(), StoreError> {
        let (id_i, bytes_i) = (int(id)?, int(bytes)?);
        self.pool.run(Retry::RolledBack, |c| {
            let n = c.execute(
                "UPDATE releases SET fetched_chunks = fetched_chunks + 1, \
                 fetched_bytes = fetched_bytes + $2 WHERE id = $1",
                &[&id_i, &bytes_i],
            )?;
            if n == 0 {
                return Err(missing(id).into());
            }
            Ok(())
        })
    }

    fn record_ota(
        &self,
        store: &StoreId,
        reports: &[TerminalOta],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let now = ms(now_ms);
        self.pool.run(Retry::RolledBack, |c| {
            let mut tx = c.transaction()?;
            for r in reports {
                let at = ms(r.at_ms);
                tx.execute(
                    "INSERT INTO ota_terminals AS o (store, terminal, seen_ms, at_ms, report) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (store, terminal) DO UPDATE \
                     SET seen_ms = $3, at_ms = $4, report = $5 WHERE o.at_ms <= $4",
                    &[&store.0, &(r.terminal.0 as i32), &now, &at, &encode_ota(r)],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn ota_rows(&self, store: Option<&StoreId>) -> Result<Vec<OtaRow>, StoreError> {
        let want = store.map(|s| s.0.clone());
        self.pool.run(Retry::Safe, |c| {
            let rows = c.query(
                "SELECT store, seen_ms, report FROM ota_terminals \
                 WHERE $1::text IS NULL OR store = $1 ORDER BY store, terminal",
                &[&want],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let seen: i64 = r.get(1);
                let bytes: Vec<u8> = r.get(2);
                out.push(OtaRow {
                    store: StoreId(r.get(0)),
                    ota: decode_ota(&bytes)?,
                    seen_ms: seen.max(0) as u64,
                });
            }
            Ok(out)
        })
    }
}
