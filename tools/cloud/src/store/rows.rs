//! Assembling query answers the same way in both adapters: the sales report
//! from its three kinds of rows (day totals, tenders, taxes), in store, day and
//! currency order.
//!
//! Pure; must not read storage.

use super::{DayRow, SalesReport};
use keel_core::ids::StoreId;
use keel_uplink::project::DayTotals;
use std::collections::BTreeMap;

/// Key of a report row: store, day, currency.
type Key = (String, String, String);

/// A row's parts: totals, tenders, taxes.
type Parts = (DayTotals, Vec<(String, i64)>, Vec<(String, u32, i64, i64)>);

/// Collects report rows in any order.
#[derive(Debug, Default)]
pub(crate) struct ReportBuilder {
    rows: BTreeMap<Key, Parts>,
}

impl ReportBuilder {
    /// A day's totals.
    pub(crate) fn totals(&mut self, store: &str, day: &str, currency: &str, t: DayTotals) {
        self.entry(store, day, currency).0 = t;
    }

    /// A tender's amount on a day.
    pub(crate) fn tender(
        &mut self,
        store: &str,
        day: &str,
        currency: &str,
        tender: &str,
        amount: i64,
    ) {
        self.entry(store, day, currency)
            .1
            .push((tender.to_string(), amount));
    }

    /// A tax class and rate's net and tax on a day.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tax(
        &mut self,
        store: &str,
        day: &str,
        currency: &str,
        class: &str,
        rate_bp: u32,
        net: i64,
        tax: i64,
    ) {
        self.entry(store, day, currency)
            .2
            .push((class.to_string(), rate_bp, net, tax));
    }

    fn entry(&mut self, store: &str, day: &str, currency: &str) -> &mut Parts {
        self.rows
            .entry((store.to_string(), day.to_string(), currency.to_string()))
            .or_default()
    }

    /// The report, rows by store, day and currency; tenders and taxes sorted.
    pub(crate) fn finish(self) -> SalesReport {
        SalesReport {
            rows: self
                .rows
                .into_iter()
                .map(
                    |((store, day, currency), (totals, mut tenders, mut taxes))| {
                        tenders.sort();
                        taxes.sort();
                        DayRow {
                            store: StoreId(store),
                            day,
                            currency,
                            totals,
                            tenders,
                            taxes,
                        }
                    },
                )
                .collect(),
        }
    }
}
