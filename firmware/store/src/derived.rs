//! Reading derived state: point lookups and scans of one [`DerivedTable`]. All
//! derived tables live in the single `state` table, each under its tag byte
//! (see `schema`); callers name the logical table and never see the tag.
//! Writes happen only in `commit` (with their events) and in
//! `rebuild_derived`; this module must not write.

use crate::error::{read_error, ReadError};
use crate::journal::Journal;
use crate::schema::{derived_key, derived_key_str, derived_tag, STATE};
use keel_core::derived::DerivedTable;
use redb::ReadableDatabase;

impl Journal {
    /// The value of `key` in a derived table.
    pub fn derived_get(
        &self,
        table: DerivedTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let t = txn.open_table(STATE).map_err(read_error)?;
        let value = t
            .get(derived_key(table, key).as_slice())
            .map_err(read_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Every (key, value) of a derived table, in key order.
    pub fn derived_scan(&self, table: DerivedTable) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        self.derived_scan_prefix(table, "")
    }

    /// Every (key, value) of a derived table whose key starts with `prefix`, in key order.
    pub fn derived_scan_prefix(
        &self,
        table: DerivedTable,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let t = txn.open_table(STATE).map_err(read_error)?;
        let start = derived_key(table, prefix);
        let mut out = Vec::new();
        for entry in t.range(start.as_slice()..).map_err(read_error)? {
            let (k, v) = entry.map_err(read_error)?;
            let key = k.value();
            if !key.starts_with(&start) {
                break;
            }
            debug_assert_eq!(key[0], derived_tag(table));
            let key = derived_key_str(table, key)
                .map_err(|reason| ReadError::Unreadable { seq: 0, reason })?;
            out.push((key, v.value().to_vec()));
        }
        Ok(out)
    }
}
