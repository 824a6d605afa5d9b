//! Real terminal journals for the storage tests: events decided by the
//! keel-core engine, stamped with dots and HLCs, encoded and chained exactly
//! as a terminal's store does (`encode_record`, SHA-256 links from the
//! genesis hash), and cut into uplink batches.

use keel_core::auth::{Role, User};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::chain::{encode_record, genesis_hash, ChainHash};
use keel_core::engine::{AddRequest, Engine, RefundRequest};
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::pii::{CustomerKey, FreshSecrets, KeyRing};
use keel_core::profile::StoreProfile;
use keel_core::sale::{RefundRecord, Sale};
use keel_core::state::TerminalState;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;
use keel_uplink::wire::{Batch, BatchEntry, EntryBody};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// 2023-11-14 22:13:20 UTC.
pub const T0: u64 = 1_700_000_000_000;
/// One day in ms.
pub const DAY: u64 = 86_400_000;

/// How a sale is paid.
#[derive(Clone, Copy, Debug)]
pub enum Pay {
    /// Cash, exactly the amount due.
    Cash,
    /// Cash, this much more than due (change given).
    CashOver(i64),
    /// An offline card record for the amount due.
    Card,
}

/// One terminal of a store, selling through the real engine.
pub struct TestTerminal {
    pub profile: StoreProfile,
    pub state: TerminalState,
    pub now: u64,
    seq: u64,
    prev: ChainHash,
    records: Vec<Vec<u8>>,
    pub sales: BTreeMap<u64, Sale>,
    refunds: BTreeMap<u64, Vec<RefundRecord>>,
    cashier: User,
    manager: User,
}

/// The key terminal `terminal` of `store` makes for customer `id` (derived, so
/// tests can name it; terminals draw theirs at random).
pub fn test_key(store: &str, terminal: u32, id: &str) -> CustomerKey {
    CustomerKey(ChainHash::of(format!("test-key/{store}/{terminal}/{id}").as_bytes()).0)
}

/// A catalog item at `price` minor units (EUR), sold by unit.
pub fn item(sku: &str, price: i64, tax_class: &str) -> CatalogItem {
    CatalogItem {
        sku: Sku(sku.into()),
        barcodes: vec![],
        name: sku.into(),
        category: "test".into(),
        price: Money::new(price, Currency::EUR),
        tax_class: tax_class.into(),
        sold_by: SoldBy::Unit,
        active: true,
        kitchen_station: None,
    }
}

fn profile(store: &str, terminal: u32) -> StoreProfile {
    StoreProfile {
        store: StoreId(store.into()),
        terminal: TerminalId(terminal),
        store_name: "Test".into(),
        address: vec![],
        tax_id: None,
        currency: Currency::EUR,
        tax: TaxConfig {
            mode: TaxMode::Inclusive,
            rates: vec![
                TaxRate {
                    class: "standard".into(),
                    rate_bp: 1900,
                    label: "A".into(),
                },
                TaxRate {
                    class: "reduced".into(),
                    rate_bp: 700,
                    label: "B".into(),
                },
            ],
            rounding: RoundingMode::HalfUp,
            scope: TaxRoundingScope::PerReceipt,
        },
        cash_rounding: CashRounding {
            increment: 1,
            mode: RoundingMode::HalfUp,
        },
        card_limits: CardLimits {
            per_transaction: Money::new(100_000, Currency::EUR),
            total_offline: Money::new(100_000_000, Currency::EUR),
        },
        users: vec![
            User {
                id: UserId("cashier".into()),
                name: "C".into(),
                role: Role::Cashier,
                pin: "1111".into(),
            },
            User {
                id: UserId("manager".into()),
                name: "M".into(),
                role: Role::Manager,
                pin: "9999".into(),
            },
        ],
        receipt_footer: None,
    }
}

impl TestTerminal {
    /// A terminal whose journal is opened (record 1), holds `items` in its
    /// catalog and has a shift open, starting at [`T0`].
    pub fn new(store: &str, terminal: u32, items: &[CatalogItem]) -> TestTerminal {
        let profile = profile(store, terminal);
        let state = TerminalState::new(profile.store.clone(), profile.terminal, profile.currency);
        let cashier = profile.users[0].clone();
        let manager = profile.users[1].clone();
        let prev = genesis_hash(&profile.store, profile.terminal);
        let mut t = TestTerminal {
            state,
            now: T0,
            seq: 0,
            prev,
            records: vec![],
            sales: BTreeMap::new(),
            refunds: BTreeMap::new(),
            cashier,
            manager,
            profile,
        };
        t.push(EventBody::JournalOpened {
            store: t.profile.store.clone(),
            terminal: t.profile.terminal,
            currency: Currency::EUR,
            firmware: "test".into(),
        });
        for i in items {
            t.push(EventBody::CatalogUpserted(i.clone()));
        }
        let c = t.cashier.clone();
        let ev = t
            .engine()
            .open_shift(Some(&c), "100.00")
            .expect("shift opens");
        t.apply(ev);
        t
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.profile, &self.state)
    }

    /// Journals one event (next dot, HLC one ms later, chained) and folds it in.
    pub fn push(&mut self, body: EventBody) -> u64 {
        self.seq += 1;
        self.now += 1;
        let e = Event {
            dot: Dot {
                terminal: self.profile.terminal,
                seq: self.seq,
            },
            hlc: Hlc {
                wall_ms: self.now,
                counter: 0,
                node: self.profile.terminal.0,
            },
            prev: self.prev,
            body,
        };
        let bytes = encode_record(&e);
        self.prev = ChainHash::of(&bytes);
        self.records.push(bytes);
        self.state.apply(&e);
        self.seq
    }

    fn apply(&mut self, bodies: Vec<EventBody>) {
        for b in bodies {
            if let EventBody::SaleCompleted(s) = &b {
                self.sales.insert(s.receipt_no.0, s.clone());
            }
            self.push(b);
        }
    }

    /// Sells `lines` (SKU, units) and pays; returns the sale.
    pub fn sell(&mut self, lines: &[(&str, i64)], pay: Pay) -> Sale {
        let c = self.cashier.clone();
        let ev = self.engine().new_sale(Some(&c)).expect("sale opens");
        self.apply(ev);
        for (sku, qty) in lines {
            let q = qty.to_string();
            let ev = self
                .engine()
                .add_item(
                    Some(&c),
                    AddRequest {
                        key: sku,
                        qty: Some(&q),
                        now_ms: 0,
                    },
                )
                .expect("item adds");
            self.apply(ev);
        }
        let due = self.engine().priced().expect("prices").remaining;
        let ev = match pay {
            Pay::Cash => self.engine().tender_cash(Some(&c), &due.amount_text()),
            Pay::CashOver(extra) => self.engine().tender_cash(
                Some(&c),
                &Money::new(due.minor + extra, due.currency).amount_text(),
            ),
            Pay::Card => {
                self.engine()
                    .tender_card(Some(&c), &due.amount_text(), "tok-test", "4242", None)
            }
        }
        .expect("tender");
        self.apply(ev);
        let (ev, sale) = self.engine().complete(Some(&c)).expect("sale completes");
        self.apply(ev);
        sale
    }

    /// Voids a sale of the open shift.
    pub fn void(&mut self, receipt: u64) {
        let m = self.manager.clone();
        let sale = self.sales[&receipt].clone();
        let ev = self
            .engine()
            .void_sale(Some(&m), &sale, false, &[])
            .expect("void");
        self.apply(ev);
    }

    /// Refunds `qty` units of one line of a sale; returns the refund.
    pub fn refund(&mut self, receipt: u64, line_no: u32, qty: &str) -> RefundRecord {
        let m = self.manager.clone();
        let sale = self.sales[&receipt].clone();
        let earlier = self.refunds.get(&receipt).cloned().unwrap_or_default();
        let (ev, record) = self
            .engine()
            .refund(
                Some(&m),
                &sale,
                false,
                &earlier,
                &[RefundRequest { line_no, qty }],
            )
            .expect("refund");
        self.refunds
            .entry(receipt)
            .or_default()
            .push(record.clone());
        self.apply(ev);
        record
    }

    /// Adjusts stock of a SKU.
    pub fn adjust(&mut self, sku: &str, delta: i64) -> u64 {
        self.push(EventBody::StockAdjusted {
            sku: Sku(sku.into()),
            delta,
            reason: "count".into(),
        })
    }

    /// Registers or updates loyalty customer `id` through the engine, their
    /// personal fields sealed under their key in `keys` (a new key of this
    /// terminal's own when they have none, added to `keys`, as a terminal's key
    /// table would); returns the record's seq.
    pub fn register_customer(
        &mut self,
        id: &str,
        name: &str,
        phone: Option<&str>,
        keys: &mut KeyRing,
    ) -> u64 {
        let c = self.cashier.clone();
        let fresh = FreshSecrets {
            key: test_key(&self.profile.store.0, self.profile.terminal.0, id),
            nonce: self.nonce(),
        };
        let (body, new_key) = self
            .engine()
            .customer_upsert_sealed(Some(&c), id, phone, name, keys, fresh)
            .expect("customer registers");
        if let Some(k) = new_key {
            keys.add(id, k);
        }
        self.push(body)
    }

    /// A nonce never used before on this terminal (its id and the next seq).
    fn nonce(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..4].copy_from_slice(&self.profile.terminal.0.to_be_bytes());
        n[4..].copy_from_slice(&(self.seq + 1).to_be_bytes());
        n
    }

    /// Changes an item's price in the terminal's catalog (as a downlink would).
    pub fn set_price(&mut self, sku: &str, price: i64) -> u64 {
        let mut it = self
            .state
            .catalog
            .get(&Sku(sku.into()))
            .expect("known sku")
            .clone();
        it.price = Money::new(price, Currency::EUR);
        self.push(EventBody::CatalogUpserted(it))
    }

    /// Newest sequence number.
    pub fn head(&self) -> u64 {
        self.seq
    }

    /// Record `seq`'s bytes.
    pub fn record(&self, seq: u64) -> Vec<u8> {
        self.records[(seq - 1) as usize].clone()
    }

    /// The terminal id.
    pub fn id(&self) -> TerminalId {
        self.profile.terminal
    }

    /// The entry of record `seq` in full.
    pub fn full(&self, seq: u64) -> BatchEntry {
        BatchEntry {
            origin: self.id(),
            seq,
            body: EntryBody::Full(self.record(seq)),
        }
    }

    /// The entry of record `seq` as a stub.
    pub fn stub(&self, seq: u64) -> BatchEntry {
        let bytes = self.record(seq);
        let prev = if seq == 1 {
            genesis_hash(&self.profile.store, self.id())
        } else {
            ChainHash::of(&self.record(seq - 1))
        };
        BatchEntry {
            origin: self.id(),
            seq,
            body: EntryBody::Stub {
                hash: ChainHash::of(&bytes),
                prev,
            },
        }
    }

    /// Records `seqs` in full.
    pub fn entries(&self, seqs: RangeInclusive<u64>) -> Vec<BatchEntry> {
        seqs.map(|s| self.full(s)).collect()
    }

    /// A batch of records `seqs` in full.
    pub fn batch(&self, id: u64, seqs: RangeInclusive<u64>) -> Batch {
        Batch {
            id,
            entries: self.entries(seqs),
        }
    }

    /// The whole journal as one batch.
    pub fn all(&self, id: u64) -> Batch {
        self.batch(id, 1..=self.head())
    }
}
