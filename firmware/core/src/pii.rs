//! Customers' personal data at rest: each customer's name and phone are sealed
//! with an AEAD (ChaCha20-Poly1305, ring) under a key of that customer's own,
//! and the keys live outside the immutable journal in a [`KeyRing`]. Erasing a
//! customer deletes their keys everywhere (crypto-shredding): the journals keep
//! their hash chains, and the sealed records in them become unreadable.
//!
//! This module owns the sealed record format and the key ring's merge rule. It
//! must not store keys, draw randomness or talk to peers: callers pass fresh
//! keys and nonces in, and the store and replication layers persist and spread
//! the ring.

use crate::customer::Customer;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// Version byte of the sealed plaintext and of [`KeyRing`] encodings.
pub const PII_VERSION: u8 = 1;

/// A customer's data key (32 random bytes).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerKey(pub [u8; 32]);

impl fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomerKey({})", crate::hex::encode(&self.id()))
    }
}

/// Random material for one seal, drawn by the caller (the core draws no randomness).
#[derive(Clone, Debug)]
pub struct FreshSecrets {
    /// A new key, used when the customer has none yet.
    pub key: CustomerKey,
    /// A nonce never used before with the key.
    pub nonce: [u8; 12],
}

/// Names a key without revealing it: the first 8 bytes of a SHA-256 of it.
pub type KeyId = [u8; 8];

impl CustomerKey {
    /// The key's id.
    pub fn id(&self) -> KeyId {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"keel-customer-key-id-v1\0");
        ctx.update(&self.0);
        let d = ctx.finish();
        let mut out = [0u8; 8];
        out.copy_from_slice(&d.as_ref()[..8]);
        out
    }
}

/// A customer record as journaled: the id in clear (it is the lookup key and a
/// pseudonymous loyalty number), everything personal sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCustomer {
    /// Customer id.
    pub id: String,
    /// Which of the customer's keys sealed it.
    pub key_id: KeyId,
    /// AEAD nonce (unique per key: callers draw it at random).
    pub nonce: [u8; 12],
    /// Sealed name and phone, with the tag.
    pub ciphertext: Vec<u8>,
}

/// The personal fields, as sealed.
#[derive(Serialize, Deserialize)]
struct Personal {
    name: String,
    phone: Option<String>,
}

/// Errors sealing or opening personal data.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PiiError {
    /// The customer was erased: their keys are gone.
    #[error("customer {0} was erased")]
    Erased(String),
    /// This terminal does not hold the key (yet: keys replicate separately).
    #[error("the key for customer {0} is not here")]
    KeyMissing(String),
    /// Authentication failed: wrong key, or the record was altered.
    #[error("customer {0}: sealed data does not authenticate")]
    Tampered(String),
    /// The plaintext inside does not decode.
    #[error("customer {0}: sealed data is malformed")]
    Malformed(String),
}

fn aead(key: &CustomerKey) -> Option<LessSafeKey> {
    UnboundKey::new(&CHACHA20_POLY1305, &key.0)
        .ok()
        .map(LessSafeKey::new)
}

/// Seals `customer`'s personal fields under `key` with `nonce` (never reuse a
/// nonce with the same key). The id is bound in as associated data.
pub fn seal(customer: &Customer, key: &CustomerKey, nonce: [u8; 12]) -> SealedCustomer {
    let personal = Personal {
        name: customer.name.clone(),
        phone: customer.phone.clone(),
    };
    // Serializing two owned strings into a Vec cannot fail.
    let mut buf = postcard::to_extend(&personal, vec![PII_VERSION]).unwrap_or_default();
    // A 32-byte key is always valid for ChaCha20-Poly1305, and sealing in place
    // only fails for inputs beyond 256 GiB.
    if let Some(k) = aead(key) {
        let _ = k.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(customer.id.as_bytes()),
            &mut buf,
        );
    }
    SealedCustomer {
        id: customer.id.clone(),
        key_id: key.id(),
        nonce,
        ciphertext: buf,
    }
}

/// Opens a sealed record with `key`.
pub fn open(sealed: &SealedCustomer, key: &CustomerKey) -> Result<Customer, PiiError> {
    let tampered = || PiiError::Tampered(sealed.id.clone());
    if key.id() != sealed.key_id {
        return Err(tampered());
    }
    let k = aead(key).ok_or_else(tampered)?;
    let mut buf = sealed.ciphertext.clone();
    let plain = k
        .open_in_place(
            Nonce::assume_unique_for_key(sealed.nonce),
            Aad::from(sealed.id.as_bytes()),
            &mut buf,
        )
        .map_err(|_| tampered())?;
    let malformed = || PiiError::Malformed(sealed.id.clone());
    let (v, rest) = plain.split_first().ok_or_else(malformed)?;
    if *v != PII_VERSION {
        return Err(malformed());
    }
    let p: Personal = postcard::from_bytes(rest).map_err(|_| malformed())?;
    Ok(Customer {
        id: sealed.id.clone(),
        name: p.name,
        phone: p.phone,
    })
}

/// What the ring holds for one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyEntry {
    /// Keys by id (two terminals registering the same customer offline each make
    /// one; both stay, so every sealed record stays readable).
    Keys(BTreeMap<KeyId, CustomerKey>),
    /// Erased at this time (ms since the epoch); final.
    Erased {
        /// When the erasure was requested.
        at_ms: u64,
    },
}

/// Every customer's keys, as a CRDT: keys are a grow-only set per customer and
/// an erasure dominates everything (it is never undone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    entries: BTreeMap<String, KeyEntry>,
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// What the ring holds for `id`.
    pub fn entry(&self, id: &str) -> Option<&KeyEntry> {
        self.entries.get(id)
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &KeyEntry)> {
        self.entries.iter()
    }

    /// Whether `id` was erased.
    pub fn is_erased(&self, id: &str) -> bool {
        matches!(self.entries.get(id), Some(KeyEntry::Erased { .. }))
    }

    /// A key to seal new data of `id` with: the smallest id among its keys.
    pub fn current(&self, id: &str) -> Option<&CustomerKey> {
        match self.entries.get(id)? {
            KeyEntry::Keys(k) => k.values().next(),
            KeyEntry::Erased { .. } => None,
        }
    }

    /// Merges one entry; returns whether anything changed.
    pub fn merge_entry(&mut self, id: &str, entry: &KeyEntry) -> bool {
        match (self.entries.get_mut(id), entry) {
            (None, e) => {
                self.entries.insert(id.to_string(), e.clone());
                true
            }
            (Some(KeyEntry::Erased { at_ms }), KeyEntry::Erased { at_ms: other }) => {
                // Keep the earliest request time: deterministic whatever the order.
                if other < at_ms {
                    *at_ms = *other;
                    true
                } else {
                    false
                }
            }
            (Some(KeyEntry::Erased { .. }), KeyEntry::Keys(_)) => false,
            (Some(slot @ KeyEntry::Keys(_)), KeyEntry::Erased { at_ms }) => {
                *slot = KeyEntry::Erased { at_ms: *at_ms };
                true
            }
            (Some(KeyEntry::Keys(mine)), KeyEntry::Keys(theirs)) => {
                let before = mine.len();
                for (k, v) in theirs {
                    mine.entry(*k).or_insert_with(|| v.clone());
                }
                mine.len() != before
            }
        }
    }

    /// Adds a key for `id`; false (and nothing added) when `id` was erased.
    pub fn add(&mut self, id: &str, key: CustomerKey) -> bool {
        if self.is_erased(id) {
            return false;
        }
        let entry = KeyEntry::Keys(BTreeMap::from([(key.id(), key)]));
        self.merge_entry(id, &entry);
        true
    }

    /// Erases `id`: its keys are dropped for good.
    pub fn erase(&mut self, id: &str, at_ms: u64) {
        self.merge_entry(id, &KeyEntry::Erased { at_ms });
    }

    /// Merges another ring; returns the ids that changed.
    pub fn merge(&mut self, other: &KeyRing) -> Vec<String> {
        let mut changed = Vec::new();
        for (id, e) in &other.entries {
            if self.merge_entry(id, e) {
                changed.push(id.clone());
            }
        }
        changed
    }

    /// Opens a sealed record with the ring's keys.
    pub fn open(&self, sealed: &SealedCustomer) -> Result<Customer, PiiError> {
        match self.entries.get(&sealed.id) {
            Some(KeyEntry::Erased { .. }) => Err(PiiError::Erased(sealed.id.clone())),
            Some(KeyEntry::Keys(keys)) => match keys.get(&sealed.key_id) {
                Some(k) => open(sealed, k),
                None => Err(PiiError::KeyMissing(sealed.id.clone())),
            },
            None => Err(PiiError::KeyMissing(sealed.id.clone())),
        }
    }

    /// At most `max` entries with ids after `after` (all when `None`), in id
    /// order: a chunk for a message; the last id tells where the next starts.
    pub fn chunk(&self, after: Option<&str>, max: usize) -> KeyRing {
        use std::ops::Bound;
        let lower = match after {
            Some(a) => Bound::Excluded(a.to_string()),
            None => Bound::Unbounded,
        };
        KeyRing {
            entries: self
                .entries
                .range((lower, Bound::Unbounded))
                .take(max)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The entries for `ids` that the ring holds.
    pub fn subset<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> KeyRing {
        KeyRing {
            entries: ids
                .into_iter()
                .filter_map(|id| self.entries.get(id).map(|e| (id.clone(), e.clone())))
                .collect(),
        }
    }

    /// The last id in the ring.
    pub fn last_id(&self) -> Option<&str> {
        self.entries.keys().next_back().map(String::as_str)
    }

    /// A digest of the whole ring (SHA-256 of its encoding), to tell whether it changed.
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        let d = digest::digest(&digest::SHA256, &bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    /// Number of customers in the ring (erased included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ring is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(b: u8) -> CustomerKey {
        CustomerKey([b; 32])
    }

    #[test]
    fn sealed_data_opens_only_with_its_key_and_unaltered() {
        let c = Customer::new("C-1", "Ani Wijaya", Some("+62811")).unwrap();
        let s = seal(&c, &key(1), [7; 12]);
        assert!(
            !s.ciphertext.windows(3).any(|w| w == b"Ani"),
            "no clear text"
        );
        assert_eq!(open(&s, &key(1)), Ok(c.clone()));
        assert_eq!(open(&s, &key(2)), Err(PiiError::Tampered("C-1".into())));
        let mut t = s.clone();
        t.ciphertext[0] ^= 1;
        assert_eq!(open(&t, &key(1)), Err(PiiError::Tampered("C-1".into())));
        let mut moved = s.clone();
        moved.id = "C-2".into();
        assert!(open(&moved, &key(1)).is_err(), "the id is bound in");
    }

    #[test]
    fn erasure_shreds_and_is_final() {
        let c = Customer::new("C-1", "Ani", None).unwrap();
        let mut ring = KeyRing::new();
        assert!(ring.add("C-1", key(1)));
        let s = seal(&c, ring.current("C-1").unwrap(), [1; 12]);
        assert_eq!(ring.open(&s), Ok(c));
        let mut other = ring.clone();
        other.erase("C-1", 500);
        assert_eq!(ring.merge(&other), vec!["C-1".to_string()]);
        assert_eq!(ring.open(&s), Err(PiiError::Erased("C-1".into())));
        assert!(!ring.add("C-1", key(3)), "an erased customer stays erased");
        let mut stale = KeyRing::new();
        stale.add("C-1", key(1));
        assert!(ring.merge(&stale).is_empty());
        assert!(ring.is_erased("C-1"));
    }

    #[test]
    fn chunks_cover_the_ring_in_order() {
        let mut ring = KeyRing::new();
        for i in 0..25 {
            ring.add(&format!("C-{i:02}"), key(i as u8));
        }
        ring.erase("C-03", 1);
        let mut after: Option<String> = None;
        let mut seen = KeyRing::new();
        loop {
            let c = ring.chunk(after.as_deref(), 10);
            if c.is_empty() {
                break;
            }
            assert!(c.len() <= 10);
            after = c.last_id().map(str::to_string);
            seen.merge(&c);
        }
        assert_eq!(seen, ring);
        assert_eq!(seen.digest(), ring.digest());
        let ids = vec!["C-03".to_string(), "nope".to_string()];
        let sub = ring.subset(&ids);
        assert_eq!(sub.len(), 1);
        assert!(sub.is_erased("C-03"));
    }

    fn arb_ring() -> impl Strategy<Value = KeyRing> {
        prop::collection::vec((0u8..4, 0u8..4, prop::bool::weighted(0.2), 0u64..100), 0..8)
            .prop_map(|ops| {
                let mut r = KeyRing::new();
                for (id, k, erase, at) in ops {
                    let id = format!("C-{id}");
                    if erase {
                        r.erase(&id, at);
                    } else {
                        r.add(&id, key(k));
                    }
                }
                r
            })
    }

    proptest! {
        #[test]
        fn ring_merge_is_a_crdt(a in arb_ring(), b in arb_ring(), c in arb_ring()) {
            let mut ab = a.clone(); ab.merge(&b);
            let mut ba = b.clone(); ba.merge(&a);
            prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone(); ab_c.merge(&c);
            let mut bc = b.clone(); bc.merge(&c);
            let mut a_bc = a.clone(); a_bc.merge(&bc);
            prop_assert_eq!(&ab_c, &a_bc);
            let mut aa = a.clone();
            prop_assert!(aa.merge(&a).is_empty());
            prop_assert_eq!(aa, a);
        }
    }
}
