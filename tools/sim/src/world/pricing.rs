//! A price change from the cloud, end to end: at a seeded time the cloud
//! publishes a new price for a seeded SKU; once the cloud is reachable, the
//! uploading raft leader turns the publication into store events with
//! keel-uplink's `publication::events_for`, journals them and replication
//! carries them to every terminal. Owns that downlink round and the price
//! checks after the run. It must not price a sale (keel-core's engine does,
//! from each terminal's catalog) nor decide what is flagged (keel-uplink's
//! projection does, in `Cloud::review_flags`).

use super::World;
use crate::catalog::ITEMS;
use crate::rng::SimRng;
use keel_core::event::EventBody;
use keel_core::ids::{Sku, TerminalId};
use keel_core::sale::Sale;
use keel_uplink::publication::events_for;
use std::collections::BTreeMap;

/// The seeded price change and what the terminals made of it.
#[derive(Debug, Default)]
pub(super) struct Pricing {
    /// (publish at, SKU, old price, new price), drawn at the first round.
    plan: Option<(u64, String, i64, i64)>,
    /// The plan's own random stream (from the seed; the world's stream is not
    /// drawn from, so adding the price change moved no other fault).
    rng: Option<SimRng>,
    /// When the cloud published it (cloud time, ms): its price book's time.
    published: Option<u64>,
    /// Per terminal: the first receipt all of whose lines were scanned after
    /// its catalog showed the new price.
    from_receipt: BTreeMap<TerminalId, u64>,
    /// Acknowledged sales: (terminal, receipt) → list prices of the changed SKU's lines.
    sold: BTreeMap<(TerminalId, u64), Vec<i64>>,
}

impl Pricing {
    /// No price change drawn yet; it will be drawn from `seed`.
    pub(super) fn new(seed: u64) -> Pricing {
        Pricing {
            rng: Some(SimRng::new(seed ^ 0x5052_4943_4543_4847)),
            ..Pricing::default()
        }
    }

    /// Notes the list prices of the changed SKU in an acknowledged sale.
    pub(super) fn sold(&mut self, t: TerminalId, sale: &Sale) {
        let Some((_, sku, _, _)) = &self.plan else {
            return;
        };
        let prices: Vec<i64> = sale
            .lines
            .iter()
            .filter(|l| l.sku.0 == *sku)
            .map(|l| l.list_price.minor)
            .collect();
        if !prices.is_empty() {
            self.sold.insert((t, sale.receipt_no.0), prices);
        }
    }
}

impl World {
    /// Once per simulated second: the cloud publishes when its time has come,
    /// and, when the cloud is up, the uploading leader journals what the store
    /// has not yet (as `uplink_runtime` applies a downlink answer). Also notes
    /// when each terminal's catalog first shows the new price.
    pub(super) fn downlink_round(&mut self) {
        if let (None, Some(rng)) = (&self.pricing.plan, self.pricing.rng.as_mut()) {
            let at = self.now + rng.range(60_000, 300_000);
            let (sku, _, old, _, _) = ITEMS[rng.range(0, ITEMS.len() as u64 - 1) as usize];
            let delta = rng.range(10, 100) as i64;
            let new = if rng.range(0, 1) == 0 || old - delta < 1 {
                old + delta
            } else {
                old - delta
            };
            self.pricing.plan = Some((at, sku.to_string(), old, new));
        }
        let Some((at, sku, _, new)) = self.pricing.plan.clone() else {
            return;
        };
        // Like a raft decision, no publication in the run's last 10 s: one
        // journaled in the last round would never be uploaded (the upload round
        // runs first) nor reach every terminal before the checks.
        if self.pricing.published.is_none() && self.now >= at && self.deciding {
            self.cloud.publish_price(self.now, Sku(sku.clone()), new);
            self.pricing.published = Some(self.now);
            self.trace.update(b"publish");
        }
        for (t, n) in &self.nodes {
            let Some(r) = &n.running else { continue };
            if self.pricing.from_receipt.contains_key(t) {
                continue;
            }
            if r.state
                .catalog
                .get(&Sku(sku.clone()))
                .map(|i| i.price.minor)
                == Some(new)
            {
                // A cart open now may hold lines scanned at the old price.
                let skip = u64::from(r.state.cart.is_some());
                self.pricing
                    .from_receipt
                    .insert(*t, r.state.counters.last_receipt + 1 + skip);
            }
        }
        if self.now < self.cloud_down_until {
            return;
        }
        let Some(leader) = self.uploader.as_ref().map(|u| u.terminal) else {
            return;
        };
        for (i, item) in self.cloud.undelivered() {
            let now = self.local_now(leader);
            let Some(node) = self.nodes.get_mut(&leader) else {
                return;
            };
            let Some(r) = node.running.as_mut() else {
                return;
            };
            let events = match events_for(&item, &r.state.catalog, r.profile.currency) {
                Ok(e) => e,
                Err(e) => {
                    self.violations
                        .push(format!("publication {i} does not apply to the store: {e}"));
                    self.cloud.delivered(i);
                    continue;
                }
            };
            match r.commit(events, now) {
                Ok(stored) => {
                    let records: Vec<(u64, Vec<u8>, keel_core::chain::ChainHash)> = stored
                        .iter()
                        .map(|e| {
                            (
                                e.event.dot.seq,
                                keel_core::chain::encode_record(&e.event),
                                e.hash,
                            )
                        })
                        .collect();
                    for e in &stored {
                        self.trace.update(&e.hash.0);
                    }
                    let out = r.replicator.local_committed(&records, &node.signer);
                    self.cloud.delivered(i);
                    self.workload.price_changes_applied += 1;
                    self.send(leader, out);
                }
                // A full or dying disk: the next round tries again.
                Err(e) => log::debug!("leader {} could not journal publication {i}: {e}", leader.0),
            }
        }
    }

    /// After the run: the price change reached every terminal and the cloud
    /// (as an event of the store's journals, and as the price in force), later
    /// sales used it, every sale the cloud holds at another price than the one
    /// in force at its time is flagged `price-override` (its paid price
    /// standing), and nothing else is flagged. Counts the flags.
    pub(super) fn check_prices(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let Some((_, sku, old, new)) = self.pricing.plan.clone() else {
            return out;
        };
        let Some(at) = self.pricing.published else {
            return out;
        };
        let sku_id = Sku(sku.clone());
        for (t, n) in &self.nodes {
            let Some(r) = &n.running else { continue };
            let price = r.state.catalog.get(&sku_id).map(|i| i.price.minor);
            if price != Some(new) {
                out.push(format!(
                    "terminal {}: {sku} costs {price:?} after the run, the cloud published {new} (was {old})",
                    t.0
                ));
            }
        }
        if !self.cloud.undelivered().is_empty() {
            out.push("cloud: a publication never reached the store".into());
        }
        let mut in_cloud = false;
        let mut old_price_sales: Vec<(TerminalId, u64)> = Vec::new();
        for ((origin, seq), bytes) in &self.cloud.events {
            let Ok(e) = keel_core::chain::decode_record(bytes) else {
                continue;
            };
            match &e.body {
                EventBody::CatalogUpserted(item)
                    if item.sku == sku_id && item.price.minor == new =>
                {
                    in_cloud = true;
                }
                EventBody::SaleCompleted(s)
                    if e.hlc.wall_ms >= at
                        && s.lines
                            .iter()
                            .any(|l| l.sku == sku_id && l.list_price.minor != new) =>
                {
                    old_price_sales.push((*origin, *seq));
                }
                _ => {}
            }
        }
        if !in_cloud {
            out.push(format!(
                "cloud: no journal holds the price change of {sku} to {new}"
            ));
        }
        let flags = self.cloud.review_flags();
        for f in &flags {
            if f.kind != "price-override" || f.sku.as_ref() != Some(&sku_id) {
                out.push(format!(
                    "cloud: unexpected review flag {} on {:?}: {}",
                    f.kind, f.sku, f.detail
                ));
            }
        }
        for (o, seq) in &old_price_sales {
            if !flags.iter().any(|f| f.terminal == *o && f.seq == *seq) {
                out.push(format!(
                    "cloud: sale {}:{seq} sold {sku} at the old price after the change, not flagged",
                    o.0
                ));
            }
        }
        self.workload.price_override_flags += flags.len() as u64;
        for ((t, receipt), prices) in &self.pricing.sold {
            let from = self
                .pricing
                .from_receipt
                .get(t)
                .copied()
                .unwrap_or(u64::MAX);
            if *receipt >= from && prices.iter().any(|p| *p != new) {
                out.push(format!(
                    "terminal {}: receipt {receipt} sold {sku} at {prices:?} after the new price {new} reached it",
                    t.0
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Uploader;
    use crate::world::SimConfig;

    fn world() -> World {
        World::new(&SimConfig {
            seed: 1,
            terminals: 3,
            sales_per_terminal: 1,
            plant_lying_fsync: false,
            plant_ack_unsaved: false,
        })
    }

    #[test]
    fn the_cloud_publishes_nothing_in_the_runs_last_seconds() {
        // Seeds 356, 661 and 795: published and journaled in the last round,
        // the change was never uploaded (the upload round runs first).
        let mut w = world();
        w.pricing.plan = Some((w.now, "BREAD".into(), 3_49, 3_99));
        w.deciding = false;
        w.downlink_round();
        assert_eq!(w.pricing.published, None);
        assert!(w.cloud.publications.is_empty());
        assert!(w.check_prices().is_empty());
        w.deciding = true;
        w.downlink_round();
        assert_eq!(w.pricing.published, Some(w.now));
        assert_eq!(w.cloud.publications.len(), 1);
    }

    #[test]
    fn a_price_change_that_reached_only_the_leader_or_a_later_sale_at_the_old_price_is_reported() {
        let mut w = world();
        w.pricing.plan = Some((w.now, "BREAD".into(), 3_49, 3_99));
        // Published but never journaled: nobody has it.
        w.downlink_round();
        w.cloud_down_until = u64::MAX;
        let v = w.check_prices();
        assert!(
            v.iter().any(|s| s.contains("never reached the store")),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|s| s.contains("terminal 1: BREAD costs Some(349)")),
            "{v:?}"
        );
        assert!(v.iter().any(|s| s.contains("no journal holds")), "{v:?}");
        // The leader journals it; replication has not run: terminals 2 and 3 lack it.
        w.cloud_down_until = 0;
        w.uploader = Some(Uploader::new(TerminalId(1), 1));
        w.downlink_round();
        w.downlink_round();
        let v = w.check_prices();
        assert!(!v.iter().any(|s| s.starts_with("terminal 1:")), "{v:?}");
        assert!(
            v.iter()
                .any(|s| s.contains("terminal 2: BREAD costs Some(349)")),
            "{v:?}"
        );
        assert!(!v.iter().any(|s| s.contains("never reached")), "{v:?}");
        // Terminal 1 then sells receipt 1 at the old price: a later sale not using it.
        assert_eq!(w.pricing.from_receipt.get(&TerminalId(1)), Some(&1));
        w.pricing.sold.insert((TerminalId(1), 1), vec![3_49]);
        let v = w.check_prices();
        assert!(
            v.iter()
                .any(|s| s.contains("receipt 1 sold BREAD at [349]")),
            "{v:?}"
        );
    }
}
