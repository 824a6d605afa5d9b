//! The decisions both adapters take the same way about customers' personal
//! data once they have read the rows involved: merging a store's key entry
//! (keel-core's `KeyRing` rule, plus an erasure recorded for every store),
//! erasing one, which sealed record of a customer is the newest, and what the
//! operator may see of a customer.
//!
//! Pure: the adapters read under their locks and write in their transaction.
//! Must not touch storage, and must not log or return personal data anywhere
//! but in [`CustomerView::Readable`].

use super::{CustomerView, StoreError};
use keel_core::pii::{KeyEntry, KeyRing, PiiError, SealedCustomer};

/// A key entry after merging: the entry to keep and whether it differs from
/// the stored one (so it must be written).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Merged {
    /// The entry now.
    pub entry: KeyEntry,
    /// Whether it must be written.
    pub changed: bool,
}

/// Merges `incoming` into what a store holds for customer `id` (`stored`),
/// honouring an erasure of that customer for every store (`erased_everywhere`,
/// its time): keys grow, an erasure wins and keeps the earliest time.
pub(crate) fn merge(
    id: &str,
    stored: Option<KeyEntry>,
    erased_everywhere: Option<u64>,
    incoming: &KeyEntry,
) -> Merged {
    let mut ring = KeyRing::new();
    if let Some(e) = &stored {
        ring.merge_entry(id, e);
    }
    let mut changed = ring.merge_entry(id, incoming);
    if let Some(at_ms) = erased_everywhere {
        changed |= ring.merge_entry(id, &KeyEntry::Erased { at_ms });
    }
    let entry = match ring.entry(id) {
        Some(e) => e.clone(),
        // merge_entry always leaves an entry for `id`.
        None => incoming.clone(),
    };
    // Nothing stored yet: merge_entry reported the insertion as a change.
    Merged { changed, entry }
}

/// Whether a stored entry held keys (so erasing it deletes key material).
pub(crate) fn holds_keys(entry: Option<&KeyEntry>) -> bool {
    matches!(entry, Some(KeyEntry::Keys(_)))
}

/// Whether the sealed record `new` (its time and stored bytes) replaces `old`
/// in the projection: the newer wins; at the same time the greater bytes, so
/// the answer does not depend on arrival order.
pub(crate) fn newer(new: (u64, &[u8]), old: (u64, &[u8])) -> bool {
    new > old
}

/// What the operator may see of customer `id` of a store, from its newest
/// sealed record there, that store's key entry and an erasure for every store.
/// `None`: the cloud holds no record of that customer for the store and no
/// erasure. A record that does not authenticate under its own key is corrupt.
pub(crate) fn view(
    id: &str,
    sealed: Option<&SealedCustomer>,
    entry: Option<&KeyEntry>,
    erased_everywhere: Option<u64>,
) -> Result<Option<CustomerView>, StoreError> {
    let mut ring = KeyRing::new();
    if let Some(e) = entry {
        ring.merge_entry(id, e);
    }
    if let Some(at_ms) = erased_everywhere {
        ring.merge_entry(id, &KeyEntry::Erased { at_ms });
    }
    if let Some(KeyEntry::Erased { at_ms }) = ring.entry(id) {
        return Ok(Some(CustomerView::Erased { at_ms: *at_ms }));
    }
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    match ring.open(sealed) {
        Ok(c) => Ok(Some(CustomerView::Readable(c))),
        Err(PiiError::KeyMissing(_)) => Ok(Some(CustomerView::KeyMissing)),
        Err(PiiError::Erased(_)) => Ok(Some(CustomerView::Erased { at_ms: 0 })),
        Err(e @ (PiiError::Tampered(_) | PiiError::Malformed(_))) => {
            Err(StoreError::Corrupt(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::customer::Customer;
    use keel_core::pii::{seal, CustomerKey};
    use std::collections::BTreeMap;

    fn keys(k: &[u8]) -> KeyEntry {
        KeyEntry::Keys(
            k.iter()
                .map(|b| {
                    let key = CustomerKey([*b; 32]);
                    (key.id(), key)
                })
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn merging_grows_keys_and_erasure_wins() {
        let m = merge("C-1", None, None, &keys(&[1]));
        assert_eq!(
            m,
            Merged {
                entry: keys(&[1]),
                changed: true
            }
        );
        let m = merge("C-1", Some(keys(&[1])), None, &keys(&[1]));
        assert!(!m.changed, "the same key again changes nothing");
        let m = merge("C-1", Some(keys(&[1])), None, &keys(&[2]));
        assert_eq!(m.entry, keys(&[1, 2]));
        let m = merge("C-1", Some(keys(&[1])), Some(5), &keys(&[2]));
        assert_eq!((m.entry, m.changed), (KeyEntry::Erased { at_ms: 5 }, true));
        let m = merge(
            "C-1",
            Some(KeyEntry::Erased { at_ms: 3 }),
            Some(5),
            &keys(&[2]),
        );
        assert_eq!((m.entry, m.changed), (KeyEntry::Erased { at_ms: 3 }, false));
        assert!(holds_keys(Some(&keys(&[1]))));
        assert!(!holds_keys(Some(&KeyEntry::Erased { at_ms: 1 })));
    }

    #[test]
    fn views_follow_keys_and_erasures() {
        let c = Customer::new("C-1", "Ani Wijaya", Some("+62811")).unwrap();
        let key = CustomerKey([1; 32]);
        let s = seal(&c, &key, [0; 12]);
        let v = view("C-1", Some(&s), Some(&keys(&[1])), None).unwrap();
        assert_eq!(v, Some(CustomerView::Readable(c)));
        let v = view("C-1", Some(&s), Some(&keys(&[2])), None).unwrap();
        assert_eq!(v, Some(CustomerView::KeyMissing));
        assert_eq!(
            view("C-1", Some(&s), None, None).unwrap(),
            Some(CustomerView::KeyMissing)
        );
        let v = view("C-1", Some(&s), Some(&keys(&[1])), Some(9)).unwrap();
        assert_eq!(v, Some(CustomerView::Erased { at_ms: 9 }));
        assert_eq!(view("C-1", None, Some(&keys(&[1])), None).unwrap(), None);
        let mut bad = s.clone();
        bad.ciphertext[0] ^= 1;
        assert!(view("C-1", Some(&bad), Some(&keys(&[1])), None).is_err());
        assert!(newer((2, b"a"), (1, b"z")));
        assert!(newer((1, b"b"), (1, b"a")));
        assert!(!newer((1, b"a"), (1, b"a")));
    }
}
