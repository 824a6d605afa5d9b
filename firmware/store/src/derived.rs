//! Reading derived state: point lookups and whole-table scans of the
//! `derived_<name>` tables. Writes happen only in `commit` (with their events)
//! and in `rebuild_derived`; this module must not write.

use crate::error::{read_error, ReadError};
use crate::journal::Journal;
use crate::schema::{derived_def, derived_name};
use keel_core::derived::DerivedTable;
use redb::{ReadableDatabase, ReadableTable};

impl Journal {
    /// The value of `key` in a derived table.
    pub fn derived_get(&self, table: DerivedTable, key: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let name = derived_name(table);
        let t = txn.open_table(derived_def(&name)).map_err(read_error)?;
        let value = t.get(key).map_err(read_error)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Every (key, value) of a derived table, in key order.
    pub fn derived_scan(&self, table: DerivedTable) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let name = derived_name(table);
        let t = txn.open_table(derived_def(&name)).map_err(read_error)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(read_error)? {
            let (k, v) = entry.map_err(read_error)?;
            out.push((k.value().to_string(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Every (key, value) of a derived table whose key starts with `prefix`, in key order.
    pub fn derived_scan_prefix(&self, table: DerivedTable, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let name = derived_name(table);
        let t = txn.open_table(derived_def(&name)).map_err(read_error)?;
        let mut out = Vec::new();
        for entry in t.range(prefix..).map_err(read_error)? {
            let (k, v) = entry.map_err(read_error)?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_string(), v.value().to_vec()));
        }
        Ok(out)
    }
}
