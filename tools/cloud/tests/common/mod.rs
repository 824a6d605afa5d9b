//! Shared support of the storage tests: real journals ([`journal`]) and one
//! conformance suite ([`suite`], and [`customers`] for customers' personal
//! data) that every `CloudStore` implementation must pass, instantiated per
//! implementation with [`conformance_suite!`].

#![allow(dead_code)]

pub mod customers;
pub mod journal;
pub mod suite;

use keel_cloud::store::CloudStore;
use std::any::Any;
use std::sync::Arc;

/// Fresh storage for one test: `handles` views of the same (empty) data, as
/// separate ingest nodes would have, plus whatever must live as long.
pub struct Setup {
    /// The handles.
    pub stores: Vec<Arc<dyn CloudStore>>,
    /// Kept alive for the test (temp dirs, databases).
    pub keep: Box<dyn Any>,
}

/// Makes a [`Setup`] with that many handles.
pub type Fresh = fn(usize) -> Setup;

/// Instantiates every test of [`suite`] for an implementation.
#[macro_export]
macro_rules! conformance_suite {
    ($fresh:expr) => {
        #[test]
        fn same_batch_twice_is_stored_once() {
            common::suite::same_batch_twice_is_stored_once($fresh);
        }
        #[test]
        fn stubs_then_fills_advance_bodies() {
            common::suite::stubs_then_fills_advance_bodies($fresh);
        }
        #[test]
        fn refused_batches_store_nothing_and_are_counted() {
            common::suite::refused_batches_store_nothing_and_are_counted($fresh);
        }
        #[test]
        fn sales_per_day_by_tender_and_tax_with_voids_and_refunds() {
            common::suite::sales_per_day_by_tender_and_tax_with_voids_and_refunds($fresh);
        }
        #[test]
        fn negative_stock_is_flagged_once() {
            common::suite::negative_stock_is_flagged_once($fresh);
        }
        #[test]
        fn sale_below_the_central_price_is_flagged() {
            common::suite::sale_below_the_central_price_is_flagged($fresh);
        }
        #[test]
        fn same_order_number_in_two_stores_is_renamed() {
            common::suite::same_order_number_in_two_stores_is_renamed($fresh);
        }
        #[test]
        fn publications_per_store() {
            common::suite::publications_per_store($fresh);
        }
        #[test]
        fn status_follows_health_ingest_and_refusals() {
            common::suite::status_follows_health_ingest_and_refusals($fresh);
        }
        #[test]
        fn overlapping_batches_from_two_nodes_are_stored_once() {
            common::suite::overlapping_batches_from_two_nodes_are_stored_once($fresh);
        }
        #[test]
        fn customer_keys_merge_per_store_idempotently_and_erasure_wins() {
            common::customers::customer_keys_merge_per_store_idempotently_and_erasure_wins($fresh);
        }
        #[test]
        fn customers_projection_keeps_the_newest() {
            common::customers::customers_projection_keeps_the_newest($fresh);
        }
        #[test]
        fn erased_customer_is_unreadable_and_the_journal_keeps_its_record() {
            common::customers::erased_customer_is_unreadable_and_the_journal_keeps_its_record(
                $fresh,
            );
        }
    };
}
