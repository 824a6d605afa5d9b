//! The PostgreSQL schema and its migrations.
//!
//! Migrations are numbered SQL scripts applied in order, each in its own
//! transaction, and recorded in `keel_schema`. Several ingest nodes may start at
//! once against one database: the whole migration runs under a session advisory
//! lock, so exactly one applies each script and the others then find it done.
//! Re-running is a no-op. Must not hold data logic: only table shapes.
//!
//! Tables (every `store` is the store id as named at provisioning):
//! - `events`: the append-only journal records, one row per (store, terminal, seq).
//! - `cursors`: per (store, terminal) how far bodies and the chain are held.
//! - `stubs`: records held as hash + predecessor hash until their body arrives.
//! - `sales_daily`, `sales_tender`, `sales_tax`: sales per store, day and currency.
//! - `stock`: per (store, sku).
//! - `order_numbers`: how many orders used each order number (for `-B` names).
//! - `orders`: every sale with its order number and unique display number.
//! - `flags`: review flags, in the order they were raised.
//! - `publications`: gapless numbered items published to stores.
//! - `sync_status`: per store, what the status view shows.
//! - `customer_ids` (migration 2): one row per customer id whose keys the cloud
//!   holds or erased; every key change of that id locks it first, and
//!   `erased_ms` is set once the customer is erased for every store.
//! - `customer_keys` (migration 2): per (customer, store) the key entry (version
//!   byte + postcard `KeyEntry`: keys, or an erasure tombstone). Apart from
//!   `events`, so erasing deletes keys while the journals stay whole.
//! - `customers` (migration 2): per (store, customer) the newest sealed record
//!   (version byte + postcard `SealedCustomer`: personal fields ciphertext).
//! - `flagged_sales` (migration 3): per (store, terminal, seq) a sale the
//!   terminal flagged for risk review: receipt, cashier, score, level, reason
//!   codes (comma-separated), source, approving manager, time.
//! - `releases`, `release_chunks`, `ota_terminals` (migration 4): OTA
//!   releases with their bundle bytes in 1 MiB chunks, and each terminal's
//!   last OTA report (see `release`).

use super::pool::Failure;
use postgres::Client;

/// Key of the advisory lock serializing migrations ("keel-mig").
const MIGRATION_LOCK: i64 = 0x6b65_656c_2d6d_6967;

/// The numbered migrations, in order. Never edit one that shipped: add another.
pub(super) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial schema", V1),
    (2, "customers' keys, erasures and sealed records", V2),
    (3, "sales flagged for risk review", V3),
    (
        4,
        "OTA releases, their bundle chunks and terminals' OTA reports",
        V4,
    ),
];

const V4: &str = r#"
CREATE SEQUENCE releases_id_seq;
CREATE TABLE releases (
    id bigint PRIMARY KEY,
    state text NOT NULL,
    meta bytea NOT NULL,
    fetched_chunks bigint NOT NULL,
    fetched_bytes bigint NOT NULL
);
CREATE TABLE release_chunks (
    release bigint NOT NULL REFERENCES releases (id),
    idx bigint NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (release, idx)
);
CREATE TABLE ota_terminals (
    store text NOT NULL,
    terminal integer NOT NULL,
    seen_ms bigint NOT NULL,
    at_ms bigint NOT NULL,
    report bytea NOT NULL,
    PRIMARY KEY (store, terminal)
);
"#;

const V1: &str = r#"
CREATE TABLE events (
    store text NOT NULL,
    terminal integer NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    prev bytea NOT NULL,
    kind text NOT NULL,
    at_ms bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (store, terminal, seq)
);
CREATE TABLE cursors (
    store text NOT NULL,
    terminal integer NOT NULL,
    bodies bigint NOT NULL,
    chain bigint NOT NULL,
    chain_hash bytea NOT NULL,
    PRIMARY KEY (store, terminal)
);
CREATE TABLE stubs (
    store text NOT NULL,
    terminal integer NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    prev bytea NOT NULL,
    PRIMARY KEY (store, terminal, seq)
);
CREATE TABLE sales_daily (
    store text NOT NULL,
    day text NOT NULL,
    currency text NOT NULL,
    sales bigint NOT NULL,
    gross bigint NOT NULL,
    tax bigint NOT NULL,
    voids bigint NOT NULL,
    voided bigint NOT NULL,
    refunds bigint NOT NULL,
    refunded bigint NOT NULL,
    PRIMARY KEY (store, day, currency)
);
CREATE TABLE sales_tender (
    store text NOT NULL,
    day text NOT NULL,
    currency text NOT NULL,
    tender text NOT NULL,
    amount bigint NOT NULL,
    PRIMARY KEY (store, day, currency, tender)
);
CREATE TABLE sales_tax (
    store text NOT NULL,
    day text NOT NULL,
    currency text NOT NULL,
    class text NOT NULL,
    rate_bp integer NOT NULL,
    net bigint NOT NULL,
    tax bigint NOT NULL,
    PRIMARY KEY (store, day, currency, class, rate_bp)
);
CREATE TABLE stock (
    store text NOT NULL,
    sku text NOT NULL,
    qty bigint NOT NULL,
    PRIMARY KEY (store, sku)
);
CREATE TABLE order_numbers (
    order_no text PRIMARY KEY,
    uses bigint NOT NULL
);
CREATE TABLE orders (
    store text NOT NULL,
    terminal integer NOT NULL,
    seq bigint NOT NULL,
    order_no text NOT NULL,
    display_no text NOT NULL UNIQUE,
    total bigint NOT NULL,
    currency text NOT NULL,
    at_ms bigint NOT NULL,
    price_override boolean NOT NULL,
    PRIMARY KEY (store, terminal, seq)
);
CREATE INDEX orders_newest ON orders (at_ms DESC, store DESC, terminal DESC, seq DESC);
CREATE INDEX orders_store_newest ON orders (store, at_ms DESC, terminal DESC, seq DESC);
CREATE TABLE flags (
    id bigserial PRIMARY KEY,
    store text NOT NULL,
    kind text NOT NULL,
    terminal integer NOT NULL,
    seq bigint NOT NULL,
    sku text,
    detail text NOT NULL,
    at_ms bigint NOT NULL
);
CREATE INDEX flags_store ON flags (store, id);
CREATE TABLE publications (
    seq bigint PRIMARY KEY,
    published_ms bigint NOT NULL,
    stores text[] NOT NULL,
    kind text NOT NULL,
    item bytea NOT NULL
);
CREATE TABLE sync_status (
    store text PRIMARY KEY,
    leader integer,
    last_sync_ms bigint,
    last_seen_ms bigint,
    pending bigint NOT NULL DEFAULT 0,
    reported_failed integer NOT NULL DEFAULT 0,
    refused_since_sync integer NOT NULL DEFAULT 0,
    errors bigint NOT NULL DEFAULT 0,
    last_error text,
    disk_free_pct smallint,
    events bigint NOT NULL DEFAULT 0
);
"#;

const V2: &str = r#"
CREATE TABLE customer_ids (
    customer text PRIMARY KEY,
    erased_ms bigint
);
CREATE TABLE customer_keys (
    customer text NOT NULL,
    store text NOT NULL,
    entry bytea NOT NULL,
    updated_ms bigint NOT NULL,
    PRIMARY KEY (customer, store)
);
CREATE TABLE customers (
    store text NOT NULL,
    customer text NOT NULL,
    sealed bytea NOT NULL,
    at_ms bigint NOT NULL,
    PRIMARY KEY (store, customer)
);
"#;

const V3: &str = r#"
CREATE TABLE flagged_sales (
    store text NOT NULL,
    terminal integer NOT NULL,
    seq bigint NOT NULL,
    receipt_no bigint NOT NULL,
    cashier text NOT NULL,
    score_permille integer NOT NULL,
    level text NOT NULL,
    reasons text NOT NULL,
    source text NOT NULL,
    approved_by text,
    at_ms bigint NOT NULL,
    PRIMARY KEY (store, terminal, seq)
);
CREATE INDEX flagged_sales_time ON flagged_sales (at_ms, store, terminal, seq);
"#;

/// Applies the migrations not applied yet; returns how many it applied.
pub(super) fn migrate(client: &mut Client) -> Result<usize, Failure> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = apply_missing(client);
    // Always release, even after a failure (the session may be reused).
    let unlock = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    let applied = result?;
    unlock?;
    Ok(applied)
}

fn apply_missing(client: &mut Client) -> Result<usize, Failure> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS keel_schema (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let done: Vec<i32> = client
        .query("SELECT version FROM keel_schema", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut applied = 0;
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO keel_schema (version, name) VALUES ($1, $2)",
            &[version, name],
        )?;
        tx.commit()?;
        log::info!("database schema: applied migration {version} ({name})");
        applied += 1;
    }
    if let Some(newest) = done.iter().max() {
        let known = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        if *newest > known {
            log::warn!(
                "database schema version {newest} is newer than this build knows ({known}); \
                 running anyway (migrations only add)"
            );
        }
    }
    Ok(applied)
}
