//! Byte and value conventions shared by both storage adapters: the versioned
//! encodings of published items, customers' key entries and sealed customer
//! records, day arguments, and the conversions between the protocol's unsigned
//! numbers and the signed integers SQL stores.
//!
//! Owns only these conversions; it must not decide what is stored.

use super::StoreError;
use keel_core::pii::{KeyEntry, SealedCustomer, PII_VERSION};
use keel_uplink::wire::PublishedItem;

/// Version byte written before every stored published item.
pub(crate) const ITEM_VERSION: u8 = 1;

/// Version byte + postcard of a published item, as stored.
pub(crate) fn encode_item(item: &PublishedItem) -> Vec<u8> {
    // Serializing owned plain data into a Vec cannot fail; an empty result
    // would be reported as unreadable when read back.
    postcard::to_extend(item, vec![ITEM_VERSION]).unwrap_or_default()
}

/// Reads [`encode_item`]'s output.
pub(crate) fn decode_item(bytes: &[u8]) -> Result<PublishedItem, StoreError> {
    match bytes.split_first() {
        Some((&ITEM_VERSION, rest)) => postcard::from_bytes(rest)
            .map_err(|e| StoreError::Corrupt(format!("published item: {e}"))),
        Some((v, _)) => Err(StoreError::Corrupt(format!(
            "published item of version {v} (this build reads {ITEM_VERSION})"
        ))),
        None => Err(StoreError::Corrupt("empty published item".into())),
    }
}

/// Checks a `YYYY-MM-DD` report bound.
pub(crate) fn check_day(day: &str) -> Result<(), StoreError> {
    let b = day.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "bad day {day:?}: expected YYYY-MM-DD"
        )))
    }
}

/// Whether `day` is within the optional inclusive bounds.
pub(crate) fn day_in(day: &str, from: Option<&str>, to: Option<&str>) -> bool {
    from.is_none_or(|f| day >= f) && to.is_none_or(|t| day <= t)
}

/// A wall time as SQL stores it (times beyond `i64::MAX` ms are clamped; both
/// adapters clamp the same way so they give the same answers).
pub(crate) fn ms(at_ms: u64) -> i64 {
    i64::try_from(at_ms).unwrap_or(i64::MAX)
}

/// A protocol number (sequence, count) as SQL stores it.
pub(crate) fn int(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("number {n} is too large to store")))
}

/// A stored non-negative integer back as the protocol's unsigned number.
pub(crate) fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A customer's key entry as stored: the version byte of keel-core's `pii`
/// encodings, then postcard (the terminal's key table uses the same bytes).
pub(crate) fn encode_key_entry(entry: &KeyEntry) -> Vec<u8> {
    // Serializing owned plain data into a Vec cannot fail.
    postcard::to_extend(entry, vec![PII_VERSION]).unwrap_or_default()
}

/// Reads [`encode_key_entry`]'s output (errors name the customer id only).
pub(crate) fn decode_key_entry(id: &str, bytes: &[u8]) -> Result<KeyEntry, StoreError> {
    match bytes.split_first() {
        Some((&PII_VERSION, rest)) => postcard::from_bytes(rest)
            .map_err(|e| StoreError::Corrupt(format!("key entry of customer {id}: {e}"))),
        _ => Err(StoreError::Corrupt(format!(
            "key entry of customer {id}: unknown version"
        ))),
    }
}

/// A sealed customer record as stored in the `customers` projection: the
/// version byte, then postcard (ciphertext stays ciphertext).
pub(crate) fn encode_sealed(sealed: &SealedCustomer) -> Vec<u8> {
    // Serializing owned plain data into a Vec cannot fail.
    postcard::to_extend(sealed, vec![PII_VERSION]).unwrap_or_default()
}

/// Reads [`encode_sealed`]'s output.
pub(crate) fn decode_sealed(id: &str, bytes: &[u8]) -> Result<SealedCustomer, StoreError> {
    match bytes.split_first() {
        Some((&PII_VERSION, rest)) => postcard::from_bytes(rest)
            .map_err(|e| StoreError::Corrupt(format!("sealed record of customer {id}: {e}"))),
        _ => Err(StoreError::Corrupt(format!(
            "sealed record of customer {id}: unknown version"
        ))),
    }
}
