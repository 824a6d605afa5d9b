//! A pure in-memory terminal for tests: engine decisions folded into state with
//! synthetic journal envelopes (no store, no clock).

#![allow(dead_code)]

use keel_core::auth::{Role, User};
use keel_core::catalog::{CatalogItem, SoldBy};
use keel_core::chain::ChainHash;
use keel_core::derived::DerivedTable;
use keel_core::engine::Engine;
use keel_core::event::{Event, EventBody};
use keel_core::hlc::Hlc;
use keel_core::ids::{Dot, Sku, StoreId, TerminalId, UserId};
use keel_core::money::{Currency, Money};
use keel_core::profile::StoreProfile;
use keel_core::sale::{RefundRecord, Sale};
use keel_core::state::TerminalState;
use keel_core::tax::{CashRounding, RoundingMode, TaxConfig, TaxMode, TaxRate, TaxRoundingScope};
use keel_core::tender::CardLimits;
use std::collections::BTreeMap;

pub struct Harness {
    pub profile: StoreProfile,
    pub state: TerminalState,
    pub seq: u64,
    pub now: u64,
    pub sales: BTreeMap<u64, Sale>,
    pub refunds: BTreeMap<u64, Vec<RefundRecord>>,
    pub voided: Vec<u64>,
    pub cashier: User,
    pub manager: User,
    /// Every event applied, in order (the journal).
    pub journal: Vec<Event>,
    /// The derived tables as the store would hold them.
    pub derived: BTreeMap<(DerivedTable, String), Vec<u8>>,
}

pub fn profile(
    mode: TaxMode,
    scope: TaxRoundingScope,
    rounding: RoundingMode,
    cash_step: i64,
) -> StoreProfile {
    StoreProfile {
        store: StoreId("s".into()),
        terminal: TerminalId(1),
        store_name: "Test".into(),
        address: vec![],
        tax_id: None,
        currency: Currency::EUR,
        tax: TaxConfig {
            mode,
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
            rounding,
            scope,
        },
        cash_rounding: CashRounding {
            increment: cash_step,
            mode: RoundingMode::HalfUp,
        },
        card_limits: CardLimits {
            per_transaction: Money::new(250_00, Currency::EUR),
            total_offline: Money::new(1_000_00, Currency::EUR),
        },
        users: vec![
            User {
                id: UserId("c".into()),
                name: "C".into(),
                role: Role::Cashier,
                pin: "1111".into(),
            },
            User {
                id: UserId("m".into()),
                name: "M".into(),
                role: Role::Manager,
                pin: "9999".into(),
            },
        ],
        receipt_footer: None,
    }
}

pub fn item(sku: &str, price: i64, tax: &str, sold_by: SoldBy) -> CatalogItem {
    CatalogItem {
        sku: Sku(sku.into()),
        barcodes: vec![],
        name: sku.into(),
        category: "c".into(),
        price: Money::new(price, Currency::EUR),
        tax_class: tax.into(),
        sold_by,
        active: true,
        kitchen_station: None,
    }
}

impl Harness {
    pub fn new(profile: StoreProfile, items: Vec<CatalogItem>) -> Harness {
        let state = TerminalState::new(profile.store.clone(), profile.terminal, profile.currency);
        let cashier = profile.users[0].clone();
        let manager = profile.users[1].clone();
        let mut h = Harness {
            profile,
            state,
            seq: 0,
            now: 1_700_000_000_000,
            sales: BTreeMap::new(),
            refunds: BTreeMap::new(),
            voided: vec![],
            cashier,
            manager,
            journal: vec![],
            derived: BTreeMap::new(),
        };
        h.apply(items.into_iter().map(EventBody::CatalogUpserted).collect());
        h
    }

    pub fn engine(&self) -> Engine<'_> {
        Engine::new(&self.profile, &self.state)
    }

    pub fn apply(&mut self, events: Vec<EventBody>) {
        for body in events {
            self.seq += 1;
            self.now += 1;
            if let EventBody::SaleCompleted(s) = &body {
                self.sales.insert(s.receipt_no.0, s.clone());
            }
            if let EventBody::RefundIssued(r) = &body {
                self.refunds
                    .entry(r.original.0)
                    .or_default()
                    .push(r.clone());
            }
            if let EventBody::SaleVoided(v) = &body {
                self.voided.push(v.receipt_no.0);
            }
            let e = Event {
                dot: Dot {
                    terminal: self.profile.terminal,
                    seq: self.seq,
                },
                hlc: Hlc {
                    wall_ms: self.now,
                    counter: 0,
                    node: 1,
                },
                prev: ChainHash::default(),
                body,
            };
            for w in self.state.apply(&e) {
                match w.value {
                    Some(v) => {
                        self.derived.insert((w.table, w.key), v);
                    }
                    None => {
                        self.derived.remove(&(w.table, w.key));
                    }
                }
            }
            self.journal.push(e);
        }
    }

    /// The state rebuilt by replaying the whole journal into a fresh state.
    pub fn replayed(&self) -> TerminalState {
        let mut s = TerminalState::new(
            self.profile.store.clone(),
            self.profile.terminal,
            self.profile.currency,
        );
        for e in &self.journal {
            s.apply(e);
        }
        s
    }

    /// The state loaded back from the derived tables.
    pub fn loaded(&self) -> TerminalState {
        TerminalState::load(
            self.profile.store.clone(),
            self.profile.terminal,
            self.profile.currency,
            &mut |t| {
                self.derived
                    .iter()
                    .filter(|((tt, _), _)| *tt == t)
                    .map(|((_, k), v)| (k.clone(), v.clone()))
                    .collect()
            },
        )
        .expect("derived tables decode")
    }
}
