//! The downlink on the store leader: publications from the cloud become store
//! events, journaled together with the new downlink mark (setting
//! `cloud.downlink`) in one commit, so a crash applies all of them or none and
//! replication carries both to every terminal. Any new leader reads the mark
//! back from its settings state and asks the cloud for what follows.
//!
//! This module owns that translation and its one commit; it must not talk to
//! the cloud and must not block selling beyond that one commit.

use crate::node::Node;
use keel_core::event::EventBody;
use keel_store::CommitError;
use keel_uplink::publication::events_for;
use keel_uplink::{Publication, PublishedItem};

/// Setting under which the newest applied publication is recorded.
pub const DOWNLINK_KEY: &str = "cloud.downlink";

/// The newest publication this terminal's state says the store applied.
pub fn mark_of(node: &Node) -> u64 {
    node.state
        .settings
        .get(DOWNLINK_KEY)
        .and_then(|(v, _)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What one [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The downlink mark after it.
    pub mark: u64,
    /// Publications turned into events.
    pub applied: u64,
    /// Publications passed over (for another store, not applicable, or nothing
    /// to journal), with why; the mark still moves past them.
    pub skipped: Vec<(u64, String)>,
}

/// Applies the publications above the store's mark (the larger of the
/// `cloud.downlink` setting and `floor`, the replicated marks' downlink), in
/// publication order, in ONE commit together with the new mark. Returns what
/// happened; on a commit error nothing was written.
pub fn apply(
    node: &mut Node,
    publications: &[Publication],
    floor: u64,
) -> Result<Applied, CommitError> {
    let start = mark_of(node).max(floor);
    let mut mark = start;
    let mut out = Applied::default();
    let mut sorted: Vec<&Publication> = publications.iter().filter(|p| p.seq > start).collect();
    sorted.sort_by_key(|p| p.seq);
    let store = node.profile.store.clone();
    let currency = node.profile.currency;
    // Later publications see earlier ones of the same round (an item, then its price).
    let mut catalog = node.state.catalog.clone();
    let mut events: Vec<EventBody> = Vec::new();
    let mut erasures = keel_core::pii::KeyRing::new();
    for p in sorted {
        if p.seq <= mark {
            continue; // the same publication twice in one answer
        }
        mark = p.seq;
        if !p.stores.is_empty() && !p.stores.contains(&store) {
            out.skipped.push((p.seq, "for other stores".into()));
            continue;
        }
        if let PublishedItem::EraseCustomer { customer } = &p.item {
            // Crypto-shredding: the key goes, the sealed records stay unreadable.
            erasures.erase(customer, p.published_ms);
            log::info!("downlink: publication {}: customer erasure applied", p.seq);
            out.applied += 1;
            continue;
        }
        match events_for(&p.item, &catalog, currency) {
            Ok(evs) => {
                for e in &evs {
                    if let EventBody::CatalogUpserted(item) = e {
                        catalog.upsert(item.clone());
                    }
                }
                log::info!(
                    "downlink: publication {} ({}) applied",
                    p.seq,
                    p.item.kind()
                );
                out.applied += 1;
                events.extend(evs);
            }
            Err(why) => {
                log::warn!(
                    "downlink: publication {} ({}) cannot apply, skipped: {why}",
                    p.seq,
                    p.item.kind()
                );
                out.skipped.push((p.seq, why));
            }
        }
    }
    out.mark = mark;
    // Erasures are durable before the mark moves past them.
    if !erasures.is_empty() {
        node.merge_keys(&erasures)?;
    }
    if mark > start {
        events.push(EventBody::SettingChanged {
            key: DOWNLINK_KEY.to_string(),
            value: mark.to_string(),
        });
        node.commit(events, None)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use keel_core::ids::{Sku, StoreId};

    fn node(dir: &std::path::Path) -> Node {
        Node::open(
            crate::demo::profile(1),
            dir,
            Box::new(SystemClock::new()),
            crate::demo::seed_events(),
        )
        .unwrap()
    }

    fn publication(seq: u64, stores: Vec<StoreId>, item: PublishedItem) -> Publication {
        Publication {
            seq,
            published_ms: 1,
            stores,
            item,
        }
    }

    #[test]
    fn publications_apply_once_in_one_commit_with_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = node(dir.path());
        let sku = n.state.catalog.items().next().unwrap().sku.clone();
        let store = n.profile.store.clone();
        let before = n.journal().last_seq();
        let pubs = vec![
            publication(
                2,
                vec![],
                PublishedItem::Price {
                    sku: sku.clone(),
                    price_minor: 4321,
                },
            ),
            publication(
                1,
                vec![StoreId("elsewhere".into())],
                PublishedItem::Price {
                    sku: sku.clone(),
                    price_minor: 1,
                },
            ),
            publication(
                3,
                vec![store.clone()],
                PublishedItem::Price {
                    sku: Sku("NO-SUCH".into()),
                    price_minor: 5,
                },
            ),
            publication(
                4,
                vec![],
                PublishedItem::EraseCustomer {
                    customer: "c1".into(),
                },
            ),
            publication(
                5,
                vec![store],
                PublishedItem::Setting {
                    key: "receipt.header".into(),
                    value: "hello".into(),
                },
            ),
        ];
        let mut keys = keel_core::pii::KeyRing::new();
        keys.add("c1", keel_core::pii::CustomerKey([7; 32]));
        n.merge_keys(&keys).unwrap();
        let a = apply(&mut n, &pubs, 0).unwrap();
        assert_eq!(a.mark, 5);
        assert_eq!(a.applied, 3);
        assert_eq!(
            a.skipped.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert!(n.key_ring().unwrap().is_erased("c1"), "the key is shredded");
        assert_eq!(n.state.catalog.get(&sku).unwrap().price.minor, 4321);
        assert_eq!(n.state.settings["receipt.header"].0, "hello");
        assert_eq!(mark_of(&n), 5);
        // price + setting + the mark, in one commit.
        assert_eq!(n.journal().last_seq(), before + 3);
        // The same publications again: nothing new is journaled.
        let again = apply(&mut n, &pubs, 0).unwrap();
        assert_eq!(
            again,
            Applied {
                mark: 5,
                ..Applied::default()
            }
        );
        assert_eq!(n.journal().last_seq(), before + 3);
        // A floor from the replicated marks skips what another leader applied.
        let later = vec![publication(
            6,
            vec![],
            PublishedItem::Price {
                sku: sku.clone(),
                price_minor: 1,
            },
        )];
        let a = apply(&mut n, &later, 6).unwrap();
        assert_eq!(a.applied, 0);
        assert_eq!(n.state.catalog.get(&sku).unwrap().price.minor, 4321);
        // The mark survives a restart (it is journaled).
        drop(n);
        let n = node(dir.path());
        assert_eq!(mark_of(&n), 5);
    }

    #[test]
    fn an_item_then_its_price_in_one_round() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = node(dir.path());
        let mut item = n.state.catalog.items().next().unwrap().clone();
        item.sku = Sku("NEW-1".into());
        item.name = "New thing".into();
        item.barcodes = Vec::new();
        let pubs = vec![
            publication(1, vec![], PublishedItem::Item(item)),
            publication(
                2,
                vec![],
                PublishedItem::Price {
                    sku: Sku("NEW-1".into()),
                    price_minor: 777,
                },
            ),
        ];
        let a = apply(&mut n, &pubs, 0).unwrap();
        assert_eq!((a.mark, a.applied), (2, 2));
        assert_eq!(
            n.state
                .catalog
                .get(&Sku("NEW-1".into()))
                .unwrap()
                .price
                .minor,
            777
        );
    }
}
