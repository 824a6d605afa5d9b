//! The projection writes of an ingest transaction in PostgreSQL: sales per
//! day (by tender and tax), stock with negative-stock flags, orders numbered
//! through `order_numbers`, the flag log, and each customer's newest sealed
//! record (ciphertext as received). Each is one multi-row upsert.
//!
//! Runs inside the ingest transaction only; rows are written in key order so
//! concurrent transactions lock shared rows in the same order (no deadlocks).
//! Must not decide anything: the rules are `keel_uplink::project` and `store::plan`.

use super::pool::Failure;
use crate::store::codec::{encode_sealed, int, ms, uint};
use crate::store::plan::{negative_stock_flags, order_counts, plan_orders};
use keel_core::ids::{Sku, StoreId};
use keel_uplink::ingest::IngestRecord;
use keel_uplink::project::{ProjectionDelta, ReviewFlag};
use postgres::Transaction;
use std::collections::BTreeMap;

/// Adds the delta's day totals, tenders and taxes.
pub(super) fn write_days(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    delta: &ProjectionDelta,
) -> Result<(), Failure> {
    if !delta.days.is_empty() {
        let mut cols: [Vec<i64>; 7] = Default::default();
        let mut days = Vec::new();
        let mut curs = Vec::new();
        for ((day, cur), t) in &delta.days {
            days.push(day.as_str());
            curs.push(cur.as_str());
            for (i, v) in [
                t.sales,
                t.gross_minor,
                t.tax_minor,
                t.voids,
                t.voided_minor,
                t.refunds,
                t.refunded_minor,
            ]
            .into_iter()
            .enumerate()
            {
                cols[i].push(v);
            }
        }
        tx.execute(
            "INSERT INTO sales_daily AS d (store, day, currency, sales, gross, tax, voids, voided, refunds, refunded) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], \
             $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[]) \
             ON CONFLICT (store, day, currency) DO UPDATE SET sales = d.sales + excluded.sales, \
             gross = d.gross + excluded.gross, tax = d.tax + excluded.tax, voids = d.voids + excluded.voids, \
             voided = d.voided + excluded.voided, refunds = d.refunds + excluded.refunds, \
             refunded = d.refunded + excluded.refunded",
            &[
                &store.0, &days, &curs, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5],
                &cols[6],
            ],
        )?;
    }
    if !delta.tenders.is_empty() {
        let (mut days, mut curs, mut kinds, mut amounts) = (vec![], vec![], vec![], vec![]);
        for ((day, cur, kind), amount) in &delta.tenders {
            days.push(day.as_str());
            curs.push(cur.as_str());
            kinds.push(kind.as_str());
            amounts.push(*amount);
        }
        tx.execute(
            "INSERT INTO sales_tender AS t (store, day, currency, tender, amount) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) \
             ON CONFLICT (store, day, currency, tender) DO UPDATE SET amount = t.amount + excluded.amount",
            &[&store.0, &days, &curs, &kinds, &amounts],
        )?;
    }
    if !delta.taxes.is_empty() {
        let (mut days, mut curs, mut classes, mut rates, mut nets, mut taxes) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for ((day, cur, class, rate), (net, tax)) in &delta.taxes {
            days.push(day.as_str());
            curs.push(cur.as_str());
            classes.push(class.as_str());
            rates.push(i32::try_from(*rate).unwrap_or(i32::MAX));
            nets.push(*net);
            taxes.push(*tax);
        }
        tx.execute(
            "INSERT INTO sales_tax AS x (store, day, currency, class, rate_bp, net, tax) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bigint[]) \
             ON CONFLICT (store, day, currency, class, rate_bp) DO UPDATE SET \
             net = x.net + excluded.net, tax = x.tax + excluded.tax",
            &[&store.0, &days, &curs, &classes, &rates, &nets, &taxes],
        )?;
    }
    Ok(())
}

/// Applies stock moves (SKU order) and flags items that newly went negative.
pub(super) fn write_stock(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    records: &[IngestRecord],
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, Failure> {
    if delta.stock.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<&str> = delta.stock.keys().map(|s| s.0.as_str()).collect();
    let moves: Vec<i64> = delta.stock.values().copied().collect();
    let rows = tx.query(
        "INSERT INTO stock AS s (store, sku, qty) SELECT $1, * FROM unnest($2::text[], $3::bigint[]) \
         ON CONFLICT (store, sku) DO UPDATE SET qty = s.qty + excluded.qty RETURNING sku, qty",
        &[&store.0, &skus, &moves],
    )?;
    let mut after: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        after.insert(r.get(0), r.get(1));
    }
    let changes: Vec<(Sku, i64, i64)> = delta
        .stock
        .iter()
        .map(|(sku, d)| {
            let now = after.get(&sku.0).copied().unwrap_or(*d);
            (sku.clone(), now - d, *d)
        })
        .collect();
    Ok(negative_stock_flags(records, &changes))
}

/// Numbers the batch's orders (locking their order-number rows, in order) and inserts them.
pub(super) fn write_orders(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    delta: &ProjectionDelta,
) -> Result<Vec<ReviewFlag>, Failure> {
    if delta.orders.is_empty() {
        return Ok(Vec::new());
    }
    let counts = order_counts(&delta.orders);
    let numbers: Vec<&str> = counts.keys().map(String::as_str).collect();
    let uses = counts
        .values()
        .map(|n| int(*n))
        .collect::<Result<Vec<i64>, _>>()?;
    let rows = tx.query(
        "INSERT INTO order_numbers AS o (order_no, uses) \
         SELECT * FROM unnest($1::text[], $2::bigint[]) AS u(n, k) ORDER BY n \
         ON CONFLICT (order_no) DO UPDATE SET uses = o.uses + excluded.uses \
         RETURNING order_no, uses",
        &[&numbers, &uses],
    )?;
    let mut before: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        let no: String = r.get(0);
        let total = uint(r.get(1));
        let mine = counts.get(&no).copied().unwrap_or(0);
        before.insert(no, total.saturating_sub(mine));
    }
    let (planned, flags) = plan_orders(&delta.orders, &before);
    let mut terminals = Vec::new();
    let mut seqs = Vec::new();
    let mut nos = Vec::new();
    let mut displays = Vec::new();
    let mut totals = Vec::new();
    let mut curs = Vec::new();
    let mut ats = Vec::new();
    let mut overrides = Vec::new();
    for p in &planned {
        terminals.push(p.order.terminal.0 as i32);
        seqs.push(int(p.order.seq)?);
        nos.push(p.order.order_no.as_str());
        displays.push(p.display_no.as_str());
        totals.push(p.order.total_minor);
        curs.push(p.order.currency.as_str());
        ats.push(ms(p.order.at_ms));
        overrides.push(p.order.price_override);
    }
    tx.execute(
        "INSERT INTO orders (store, terminal, seq, order_no, display_no, total, currency, at_ms, price_override) \
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], \
         $7::text[], $8::bigint[], $9::bool[])",
        &[
            &store.0, &terminals, &seqs, &nos, &displays, &totals, &curs, &ats, &overrides,
        ],
    )?;
    Ok(flags)
}

/// Logs flags in their order (ids ascending).
pub(super) fn insert_flags(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    flags: &[ReviewFlag],
) -> Result<(), Failure> {
    if flags.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = flags.iter().map(|f| f.kind.as_str()).collect();
    let terminals: Vec<i32> = flags.iter().map(|f| f.terminal.0 as i32).collect();
    let seqs = flags
        .iter()
        .map(|f| int(f.seq))
        .collect::<Result<Vec<i64>, _>>()?;
    let skus: Vec<Option<&str>> = flags
        .iter()
        .map(|f| f.sku.as_ref().map(|s| s.0.as_str()))
        .collect();
    let details: Vec<&str> = flags.iter().map(|f| f.detail.as_str()).collect();
    let ats: Vec<i64> = flags.iter().map(|f| ms(f.at_ms)).collect();
    tx.execute(
        "INSERT INTO flags (store, kind, terminal, seq, sku, detail, at_ms) \
         SELECT $1, k, t, s, sku, d, a FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[], \
         $6::text[], $7::bigint[]) WITH ORDINALITY AS u(k, t, s, sku, d, a, n) ORDER BY n",
        &[&store.0, &kinds, &terminals, &seqs, &skus, &details, &ats],
    )?;
    Ok(())
}

/// Keeps each customer's newest sealed record: a newer time wins, and at the
/// same time the greater bytes (as `store::customers::newer` decides).
pub(super) fn write_customers(
    tx: &mut Transaction<'_>,
    store: &StoreId,
    delta: &ProjectionDelta,
) -> Result<(), Failure> {
    if delta.customers.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = delta.customers.keys().map(String::as_str).collect();
    let sealed: Vec<Vec<u8>> = delta
        .customers
        .values()
        .map(|(s, _)| encode_sealed(s))
        .collect();
    let ats: Vec<i64> = delta.customers.values().map(|(_, at)| ms(*at)).collect();
    tx.execute(
        "INSERT INTO customers AS c (store, customer, sealed, at_ms) \
         SELECT $1, * FROM unnest($2::text[], $3::bytea[], $4::bigint[]) \
         ON CONFLICT (store, customer) DO UPDATE SET sealed = excluded.sealed, at_ms = excluded.at_ms \
         WHERE (excluded.at_ms, excluded.sealed) > (c.at_ms, c.sealed)",
        &[&store.0, &ids, &sealed, &ats],
    )?;
    Ok(())
}
