//! Settings that change how the store sells, as the cloud publishes them: tax
//! rates per class (`tax.rate.<class>` = basis points) and promotions
//! (`promotion.<id>` = `<sku> <discount bp> <from ms> <until ms>`). They
//! arrive as `SettingChanged` events, so they replicate and merge like every
//! setting (last writer by HLC wins); this module reads them back: the tax
//! table in force and the promotion that applies to an item at a time.
//!
//! Pure: the caller passes the settings and the time. It must not decide who
//! may publish (the cloud's admin does) nor journal anything.

use crate::hlc::Hlc;
use crate::ids::Sku;
use crate::tax::{TaxConfig, TaxRate};
use std::collections::BTreeMap;

/// Setting key prefix of a published tax rate: `tax.rate.<class>`.
pub const TAX_RATE_KEY: &str = "tax.rate.";

/// Setting key prefix of a published promotion: `promotion.<id>`.
pub const PROMOTION_KEY: &str = "promotion.";

/// A promotion: a percentage off one item between two times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promotion {
    /// Promotion id.
    pub id: String,
    /// The item.
    pub sku: Sku,
    /// Discount in basis points (1000 = 10 %), at most 10,000.
    pub discount_bp: u32,
    /// Start, ms since the epoch.
    pub from_ms: u64,
    /// End (exclusive), ms since the epoch.
    pub until_ms: u64,
}

impl Promotion {
    /// The setting (key, value) that carries it.
    pub fn setting(&self) -> (String, String) {
        (
            format!("{PROMOTION_KEY}{}", self.id),
            format!(
                "{} {} {} {}",
                self.sku.0, self.discount_bp, self.from_ms, self.until_ms
            ),
        )
    }

    /// Reads a promotion setting back; `None` for another key or a malformed
    /// value (a bad publication never stops a sale: it just does not apply).
    pub fn parse(key: &str, value: &str) -> Option<Promotion> {
        let id = key.strip_prefix(PROMOTION_KEY)?;
        let mut parts = value.split_whitespace();
        let sku = parts.next()?;
        let discount_bp: u32 = parts.next()?.parse().ok()?;
        let from_ms: u64 = parts.next()?.parse().ok()?;
        let until_ms: u64 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || discount_bp > 10_000 || id.is_empty() {
            return None;
        }
        Some(Promotion {
            id: id.to_string(),
            sku: Sku(sku.to_string()),
            discount_bp,
            from_ms,
            until_ms,
        })
    }

    /// Whether it applies to `sku` at `now_ms`.
    pub fn applies(&self, sku: &Sku, now_ms: u64) -> bool {
        &self.sku == sku && self.from_ms <= now_ms && now_ms < self.until_ms && self.discount_bp > 0
    }
}

/// The best promotion (largest discount, then smallest id) for `sku` at `now_ms`.
pub fn promotion_for(
    settings: &BTreeMap<String, (String, Hlc)>,
    sku: &Sku,
    now_ms: u64,
) -> Option<Promotion> {
    settings
        .range(PROMOTION_KEY.to_string()..)
        .take_while(|(k, _)| k.starts_with(PROMOTION_KEY))
        .filter_map(|(k, (v, _))| Promotion::parse(k, v))
        .filter(|p| p.applies(sku, now_ms))
        .max_by(|a, b| a.discount_bp.cmp(&b.discount_bp).then(b.id.cmp(&a.id)))
}

/// The tax table in force: the configured one with every published rate
/// applied (a class the configuration lacks is added, labelled with its name).
pub fn tax_in_force(base: &TaxConfig, settings: &BTreeMap<String, (String, Hlc)>) -> TaxConfig {
    let mut tax = base.clone();
    for (key, (value, _)) in settings
        .range(TAX_RATE_KEY.to_string()..)
        .take_while(|(k, _)| k.starts_with(TAX_RATE_KEY))
    {
        let Some(class) = key.strip_prefix(TAX_RATE_KEY) else {
            continue;
        };
        let Ok(bp) = value.trim().parse::<u32>() else {
            log::warn!("published tax rate {key}={value:?} is not basis points; ignored");
            continue;
        };
        if class.is_empty() || bp > 10_000 {
            continue;
        }
        match tax.rates.iter_mut().find(|r| r.class == class) {
            Some(r) => r.rate_bp = bp,
            None => tax.rates.push(TaxRate {
                class: class.to_string(),
                rate_bp: bp,
                label: class.to_string(),
            }),
        }
    }
    tax
}

/// Whether any published setting changes the tax table.
pub fn has_tax_rates(settings: &BTreeMap<String, (String, Hlc)>) -> bool {
    settings
        .range(TAX_RATE_KEY.to_string()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(TAX_RATE_KEY))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tax::{RoundingMode, TaxMode, TaxRoundingScope};

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, (String, Hlc)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (v.to_string(), Hlc::default())))
            .collect()
    }

    #[test]
    fn promotions_round_trip_and_apply_in_their_window() {
        let p = Promotion {
            id: "LEBARAN".into(),
            sku: Sku("COF".into()),
            discount_bp: 1000,
            from_ms: 100,
            until_ms: 200,
        };
        let (k, v) = p.setting();
        assert_eq!(Promotion::parse(&k, &v), Some(p.clone()));
        let s = settings(&[
            (&k, &v),
            ("promotion.SMALL", "COF 500 0 1000"),
            ("promotion.BAD", "COF lots 0 1000"),
            ("promotion.OTHER", "TEA 9000 0 1000"),
            ("receipt.footer", "x"),
        ]);
        let cof = Sku("COF".into());
        assert_eq!(
            promotion_for(&s, &cof, 150).map(|p| p.id),
            Some("LEBARAN".into())
        );
        assert_eq!(
            promotion_for(&s, &cof, 250).map(|p| p.id),
            Some("SMALL".into())
        );
        assert_eq!(promotion_for(&s, &cof, 2000), None);
        assert_eq!(Promotion::parse("promotion.X", "COF 20000 0 1"), None);
    }

    #[test]
    fn published_rates_override_and_extend_the_tax_table() {
        let base = TaxConfig {
            mode: TaxMode::Inclusive,
            rates: vec![TaxRate {
                class: "standard".into(),
                rate_bp: 1000,
                label: "A".into(),
            }],
            rounding: RoundingMode::HalfUp,
            scope: TaxRoundingScope::PerReceipt,
        };
        let s = settings(&[
            ("tax.rate.standard", "1100"),
            ("tax.rate.luxury", "2000"),
            ("tax.rate.bad", "x"),
        ]);
        assert!(has_tax_rates(&s));
        let t = tax_in_force(&base, &s);
        assert_eq!(t.rate("standard").unwrap().rate_bp, 1100);
        assert_eq!(t.rate("standard").unwrap().label, "A");
        assert_eq!(t.rate("luxury").unwrap().rate_bp, 2000);
        assert!(t.rate("bad").is_err());
        assert!(!has_tax_rates(&settings(&[("receipt.footer", "x")])));
    }
}
