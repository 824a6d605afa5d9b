//! Customers' data keys on this terminal: the `customer_keys` table (customer id
//! -> version byte + postcard `KeyEntry`), outside the journal so an erasure can
//! delete them (crypto-shredding) while the journal keeps its chain.
//!
//! This module owns that table: reading the ring, merging keys or erasures
//! received from peers or the cloud, each in one durable transaction. It must
//! not seal or open personal data (keel-core's `pii` does) nor decide who may
//! erase. redb copies pages on write, so an erased key's old bytes stay in
//! freed pages until they are reused; the data partition's encryption is what
//! covers that window (see docs/uplink.md).

use crate::error::{commit_error, read_error, CommitError, ReadError};
use crate::journal::Journal;
use keel_core::pii::{KeyEntry, KeyRing, PII_VERSION};
use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition};

/// Customer id -> version byte + postcard [`KeyEntry`].
pub(crate) const CUSTOMER_KEYS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("customer_keys");

fn encode_entry(e: &KeyEntry) -> Vec<u8> {
    // Serializing owned plain data into a Vec cannot fail.
    postcard::to_extend(e, vec![PII_VERSION]).unwrap_or_default()
}

fn decode_entry(id: &str, bytes: &[u8]) -> Result<KeyEntry, String> {
    match bytes.split_first() {
        Some((&PII_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| format!("key entry of {id}: {e}"))
        }
        _ => Err(format!("key entry of {id}: unknown version")),
    }
}

impl Journal {
    /// Every customer key (and erasure) this terminal holds.
    pub fn key_ring(&self) -> Result<KeyRing, ReadError> {
        let txn = self.database()?.begin_read().map_err(read_error)?;
        let table = match txn.open_table(CUSTOMER_KEYS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(KeyRing::new()),
            Err(e) => return Err(read_error(e)),
        };
        let mut ring = KeyRing::new();
        for entry in table.iter().map_err(read_error)? {
            let (k, v) = entry.map_err(read_error)?;
            let id = k.value().to_string();
            let e = decode_entry(&id, v.value()).map_err(|reason| ReadError::Corrupt {
                what: "customer key table".into(),
                reason,
            })?;
            ring.merge_entry(&id, &e);
        }
        Ok(ring)
    }

    /// Merges `incoming` into the stored ring in one durable transaction (an
    /// erasure deletes the keys and keeps a tombstone); returns the ids changed.
    pub fn merge_keys(&mut self, incoming: &KeyRing) -> Result<Vec<String>, CommitError> {
        let db = self.database().map_err(|_| CommitError::Unavailable {
            reason: "database not open".into(),
        })?;
        let mut txn = db.begin_write().map_err(commit_error)?;
        txn.set_durability(Durability::Immediate)
            .map_err(commit_error)?;
        let mut changed = Vec::new();
        {
            let mut table = txn.open_table(CUSTOMER_KEYS).map_err(commit_error)?;
            for (id, entry) in incoming.entries() {
                let mut one = KeyRing::new();
                if let Some(v) = table.get(id.as_str()).map_err(commit_error)? {
                    let current = decode_entry(id, v.value())
                        .map_err(|reason| CommitError::Unreadable { seq: 0, reason })?;
                    one.merge_entry(id, &current);
                }
                if one.merge_entry(id, entry) {
                    if let Some(merged) = one.entry(id) {
                        table
                            .insert(id.as_str(), encode_entry(merged).as_slice())
                            .map_err(commit_error)?;
                        changed.push(id.clone());
                    }
                }
            }
        }
        if changed.is_empty() {
            txn.abort().map_err(commit_error)?;
        } else {
            txn.commit().map_err(commit_error)?;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use crate::journal::{Journal, JournalIdentity};
    use keel_core::customer::Customer;
    use keel_core::hlc::Hlc;
    use keel_core::ids::{StoreId, TerminalId};
    use keel_core::money::Currency;
    use keel_core::pii::{seal, CustomerKey, KeyRing, PiiError};

    #[test]
    fn keys_persist_merge_and_erasure_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.redb");
        let id = JournalIdentity {
            store: StoreId("s".into()),
            terminal: TerminalId(1),
            currency: Currency::from_code("IDR").unwrap(),
            firmware: "test".into(),
        };
        let mut j = Journal::open(&path, &id, Hlc::default()).unwrap();
        assert!(j.key_ring().unwrap().is_empty());
        let mut ring = KeyRing::new();
        ring.add("C-1", CustomerKey([9; 32]));
        ring.add("C-2", CustomerKey([8; 32]));
        assert_eq!(j.merge_keys(&ring).unwrap().len(), 2);
        assert!(j.merge_keys(&ring).unwrap().is_empty(), "idempotent");
        let sealed = seal(
            &Customer::new("C-1", "Ani", None).unwrap(),
            &CustomerKey([9; 32]),
            [0; 12],
        );
        assert!(j.key_ring().unwrap().open(&sealed).is_ok());
        let mut erase = KeyRing::new();
        erase.erase("C-1", 10);
        assert_eq!(j.merge_keys(&erase).unwrap(), vec!["C-1".to_string()]);
        drop(j);
        let j = Journal::open(&path, &id, Hlc::default()).unwrap();
        let ring = j.key_ring().unwrap();
        assert_eq!(ring.open(&sealed), Err(PiiError::Erased("C-1".into())));
        assert!(ring.current("C-2").is_some());
    }
}
