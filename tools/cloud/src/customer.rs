//! Customers' personal data on the operator's side: which customer ids the
//! service accepts, the erasure request (crypto-shredding in the cloud's
//! storage, then a publication so every store erases too, including stores
//! offline at the time), and the text of `GET /customer`.
//!
//! Personal data (name, phone) appears only in the answer to an authorized
//! `GET /customer`: this module must not log it, and must not open sealed data
//! itself (storage does, with keel-core's `KeyRing::open`). Customer ids are
//! pseudonymous loyalty numbers; logs carry counts, not ids.

use crate::status::time_text;
use crate::store::{CloudStore, CustomerView, StoreError};
use keel_core::ids::StoreId;
use keel_uplink::wire::PublishedItem;

/// Longest customer id (keel-core's `Customer::new` rule).
pub const MAX_ID_LEN: usize = 32;

/// Checks a customer id as terminals do: 1 to 32 ASCII letters, digits or '-'.
/// The error does not repeat the id.
pub fn check_id(id: &str) -> Result<(), String> {
    if (1..=MAX_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(format!(
            "a customer id is 1 to {MAX_ID_LEN} letters, digits or '-' (got {} bytes)",
            id.len()
        ))
    }
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    /// Stores whose keys for the customer the cloud deleted now.
    pub keys_deleted: u64,
    /// Number of the `erase-customer` publication that tells the stores.
    pub publication: u64,
}

/// Erases `customer` in `stores` (empty: every store): deletes the keys the
/// cloud holds (leaving a tombstone, so a key uploaded later is refused), then
/// publishes the request so the stores delete theirs. Both carry the same time.
/// Idempotent: running it again (after a failure in between) erases nothing
/// more and publishes once more, which stores apply as a no-op.
pub fn erase(
    store: &dyn CloudStore,
    stores: &[StoreId],
    customer: &str,
    now_ms: u64,
) -> Result<Erasure, StoreError> {
    check_id(customer).map_err(StoreError::Invalid)?;
    let keys_deleted = store.erase_customer(stores, customer, now_ms)?;
    let item = PublishedItem::EraseCustomer {
        customer: customer.to_string(),
    };
    let publication = store.publish(stores, &item, now_ms)?;
    log::info!(
        "customer erasure: keys deleted in {keys_deleted} store(s), publication #{publication}"
    );
    Ok(Erasure {
        keys_deleted,
        publication,
    })
}

/// The answer to `GET /customer` for customer `id` of `store`: a status code
/// (404 when the cloud knows nothing of it) and the text.
pub fn view_text(
    store: &StoreId,
    id: &str,
    view: Option<&CustomerView>,
    now_ms: u64,
) -> (u16, String) {
    match view {
        None => (404, format!("no customer {id} in store {store}\n")),
        Some(CustomerView::Readable(c)) => (
            200,
            format!(
                "customer {id} of store {store}: readable\nname: {}\nphone: {}\n",
                c.name,
                c.phone.as_deref().unwrap_or("-")
            ),
        ),
        Some(CustomerView::Erased { at_ms }) => (
            200,
            format!(
                "customer {id} of store {store}: erased{} (their keys are deleted; \
                 sealed records stay in the journals, unreadable)\n",
                if *at_ms > 0 {
                    format!(" {}", time_text(Some(*at_ms), now_ms))
                } else {
                    String::new()
                }
            ),
        ),
        Some(CustomerView::KeyMissing) => (
            200,
            format!(
                "customer {id} of store {store}: sealed; the key has not reached the cloud yet \
                 (the store's leader sends keys after its batches)\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::customer::Customer;

    #[test]
    fn ids_follow_the_terminals_rule() {
        for id in ["C-1001", "a", &"x".repeat(32)] {
            assert!(check_id(id).is_ok(), "{id}");
            assert!(Customer::new(id, "n", None).is_ok(), "{id}");
        }
        for id in ["", "a b", "c_1", "ü", &"x".repeat(33), "C-1\n"] {
            assert!(check_id(id).is_err(), "{id:?}");
            assert!(Customer::new(id, "n", None).is_err(), "{id:?}");
            let e = check_id(id).unwrap_err();
            assert!(id.is_empty() || !e.contains(id), "{e} repeats the id");
        }
    }

    #[test]
    fn texts_say_readable_erased_or_key_missing() {
        let s = StoreId("s1".into());
        let c = Customer::new("C-1", "Ani Wijaya", Some("+62811")).unwrap();
        let (code, t) = view_text(&s, "C-1", Some(&CustomerView::Readable(c)), 0);
        assert_eq!(code, 200);
        assert!(
            t.contains("name: Ani Wijaya") && t.contains("phone: +62811"),
            "{t}"
        );
        let (code, t) = view_text(&s, "C-1", Some(&CustomerView::Erased { at_ms: 0 }), 0);
        assert_eq!(code, 200);
        assert!(t.contains("erased"), "{t}");
        let (_, t) = view_text(&s, "C-1", Some(&CustomerView::KeyMissing), 0);
        assert!(t.contains("has not reached the cloud"), "{t}");
        assert_eq!(view_text(&s, "C-1", None, 0).0, 404);
    }
}
