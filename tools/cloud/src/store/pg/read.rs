//! PostgreSQL queries behind the status view, reports, order and flag lists,
//! marks, publications and stored records. Sorting of text is by bytes (`COLLATE "C"`) so the
//! answers match the embedded store whatever the database's locale.
//!
//! Read-only: must not write.

use super::ingest::hash;
use super::pool::{Failure, Retry};
use super::PgStore;
use crate::store::codec::{check_day, decode_item, int, uint};
use crate::store::rows::ReportBuilder;
use crate::store::{ListedOrder, SalesReport, StoreError, StoreFlag, StoreStatus};
use keel_core::ids::{Sku, StoreId, TerminalId};
use keel_uplink::ingest::{marks_of, TerminalCursor};
use keel_uplink::project::{DayTotals, OrderRow, ReviewFlag};
use keel_uplink::wire::Publication;
use keel_uplink::UplinkMarks;
use postgres::Row;
use std::collections::BTreeMap;

pub(super) fn marks(pg: &PgStore, store: &StoreId) -> Result<UplinkMarks, StoreError> {
    pg.pool.run(Retry::Safe, |c| {
        let mut all = BTreeMap::new();
        for r in c.query(
            "SELECT terminal, bodies, chain, chain_hash FROM cursors WHERE store = $1",
            &[&store.0],
        )? {
            all.insert(
                TerminalId(r.get::<_, i32>(0) as u32),
                TerminalCursor {
                    bodies: uint(r.get(1)),
                    chain: uint(r.get(2)),
                    chain_hash: hash(r.get(3))?,
                },
            );
        }
        Ok(marks_of(&all))
    })
}

/// A `publications` row (`seq, published_ms, stores, item`).
pub(super) fn publication(r: &Row) -> Result<Publication, StoreError> {
    let stores: Vec<String> = r.get(2);
    Ok(Publication {
        seq: uint(r.get(0)),
        published_ms: uint(r.get(1)),
        stores: stores.into_iter().map(StoreId).collect(),
        item: decode_item(r.get(3))?,
    })
}

pub(super) fn publications_after(
    pg: &PgStore,
    store: &StoreId,
    after: u64,
    limit: usize,
) -> Result<Vec<Publication>, StoreError> {
    let after = int(after)?;
    let limit = int(limit as u64)?;
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT seq, published_ms, stores, item FROM publications \
             WHERE seq > $2 AND (cardinality(stores) = 0 OR $1 = ANY(stores)) ORDER BY seq LIMIT $3",
            &[&store.0, &after, &limit],
        )?;
        Ok(rows
            .iter()
            .map(publication)
            .collect::<Result<Vec<_>, _>>()?)
    })
}

pub(super) fn status(pg: &PgStore) -> Result<Vec<StoreStatus>, StoreError> {
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT store, leader, last_sync_ms, last_seen_ms, pending, reported_failed, \
             refused_since_sync, errors, last_error, disk_free_pct, events, \
             (SELECT count(*) FROM flagged_sales f WHERE f.store = sync_status.store) \
             FROM sync_status ORDER BY store COLLATE \"C\"",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoreStatus {
                store: StoreId(r.get(0)),
                leader: r.get::<_, Option<i32>>(1).map(|t| TerminalId(t as u32)),
                last_sync_ms: r.get::<_, Option<i64>>(2).map(uint),
                last_seen_ms: r.get::<_, Option<i64>>(3).map(uint),
                pending: uint(r.get(4)),
                failed_syncs: (r.get::<_, i32>(5).max(0) as u32)
                    .saturating_add(r.get::<_, i32>(6).max(0) as u32),
                errors: uint(r.get(7)),
                last_error: r.get(8),
                disk_free_pct: r
                    .get::<_, Option<i16>>(9)
                    .map(|d| u8::try_from(d).unwrap_or(0)),
                events: uint(r.get(10)),
                flagged: uint(r.get(11)),
            })
            .collect())
    })
}

pub(super) fn sales_report(
    pg: &PgStore,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<SalesReport, StoreError> {
    for d in [from, to].into_iter().flatten() {
        check_day(d)?;
    }
    let range = "($1::text IS NULL OR day >= $1) AND ($2::text IS NULL OR day <= $2)";
    pg.pool.run(Retry::Safe, |c| {
        let mut tx = c.build_transaction().read_only(true).start()?;
        let mut b = ReportBuilder::default();
        for r in tx.query(
            &format!(
                "SELECT store, day, currency, sales, gross, tax, voids, voided, refunds, refunded \
                 FROM sales_daily WHERE {range}"
            ),
            &[&from, &to],
        )? {
            b.totals(
                r.get(0),
                r.get(1),
                r.get(2),
                DayTotals {
                    sales: r.get(3),
                    gross_minor: r.get(4),
                    tax_minor: r.get(5),
                    voids: r.get(6),
                    voided_minor: r.get(7),
                    refunds: r.get(8),
                    refunded_minor: r.get(9),
                },
            );
        }
        for r in tx.query(
            &format!("SELECT store, day, currency, tender, amount FROM sales_tender WHERE {range}"),
            &[&from, &to],
        )? {
            b.tender(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        }
        for r in tx.query(
            &format!(
                "SELECT store, day, currency, class, rate_bp, net, tax FROM sales_tax WHERE {range}"
            ),
            &[&from, &to],
        )? {
            b.tax(
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get::<_, i32>(4).max(0) as u32,
                r.get(5),
                r.get(6),
            );
        }
        tx.commit()?;
        Ok(b.finish())
    })
}

pub(super) fn orders(
    pg: &PgStore,
    store: Option<&StoreId>,
    limit: usize,
) -> Result<Vec<ListedOrder>, StoreError> {
    let limit = int(limit as u64)?;
    let name = store.map(|s| s.0.as_str());
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT store, terminal, seq, order_no, display_no, total, currency, at_ms, price_override \
             FROM orders WHERE ($1::text IS NULL OR store = $1) \
             ORDER BY at_ms DESC, store COLLATE \"C\" DESC, terminal DESC, seq DESC LIMIT $2",
            &[&name, &limit],
        )?;
        Ok(rows
            .iter()
            .map(|r| ListedOrder {
                store: StoreId(r.get(0)),
                order: OrderRow {
                    terminal: TerminalId(r.get::<_, i32>(1) as u32),
                    seq: uint(r.get(2)),
                    order_no: r.get(3),
                    total_minor: r.get(5),
                    currency: r.get(6),
                    at_ms: uint(r.get(7)),
                    price_override: r.get(8),
                },
                display_no: r.get(4),
            })
            .collect())
    })
}

pub(super) fn flags(pg: &PgStore, store: Option<&StoreId>) -> Result<Vec<StoreFlag>, StoreError> {
    let name = store.map(|s| s.0.as_str());
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT store, kind, terminal, seq, sku, detail, at_ms FROM flags \
             WHERE ($1::text IS NULL OR store = $1) ORDER BY id",
            &[&name],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoreFlag {
                store: StoreId(r.get(0)),
                flag: ReviewFlag {
                    kind: r.get(1),
                    terminal: TerminalId(r.get::<_, i32>(2) as u32),
                    seq: uint(r.get(3)),
                    sku: r.get::<_, Option<String>>(4).map(Sku),
                    detail: r.get(5),
                    at_ms: uint(r.get(6)),
                },
            })
            .collect())
    })
}

pub(super) fn stock(pg: &PgStore, store: &StoreId) -> Result<Vec<(Sku, i64)>, StoreError> {
    pg.pool.run(Retry::Safe, |c| {
        let rows = c.query(
            "SELECT sku, qty FROM stock WHERE store = $1 ORDER BY sku COLLATE \"C\"",
            &[&store.0],
        )?;
        Ok(rows.iter().map(|r| (Sku(r.get(0)), r.get(1))).collect())
    })
}

pub(super) fn event_count(pg: &PgStore, store: Option<&StoreId>) -> Result<u64, StoreError> {
    let name = store.map(|s| s.0.as_str());
    pg.pool.run(Retry::Safe, |c| {
        let n: i64 = c
            .query_one(
                "SELECT coalesce(sum(events), 0)::bigint FROM sync_status \
                 WHERE ($1::text IS NULL OR store = $1)",
                &[&name],
            )?
            .get(0);
        Ok::<u64, Failure>(uint(n))
    })
}

pub(super) fn event_record(
    pg: &PgStore,
    store: &StoreId,
    terminal: TerminalId,
    seq: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    let (Ok(terminal), Ok(seq)) = (i32::try_from(terminal.0), i64::try_from(seq)) else {
        return Ok(None);
    };
    pg.pool.run(Retry::Safe, |c| {
        Ok::<_, Failure>(
            c.query_opt(
                "SELECT record FROM events WHERE store = $1 AND terminal = $2 AND seq = $3",
                &[&store.0, &terminal, &seq],
            )?
            .map(|r| r.get::<_, Vec<u8>>(0)),
        )
    })
}
