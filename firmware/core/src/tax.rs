//! Tax and rounding rules: rates per tax class in basis points, tax-inclusive or
//! tax-exclusive pricing, the rounding rule (per line or per receipt, half-up or
//! half-even) and cash rounding. Integer arithmetic only.
//!
//! How tax is computed (documented contract, tested below):
//! - Exclusive stores: a line's tax is `net * rate / 10000`. Inclusive stores: a
//!   line's amount already contains tax, and the tax part is
//!   `gross * rate / (10000 + rate)`.
//! - `PerLine`: each line's tax is rounded to the minor unit, then summed per rate.
//!   `PerReceipt`: line bases are summed per rate first and each rate's tax is
//!   rounded once.
//! - `HalfUp` rounds halves away from zero; `HalfEven` rounds halves to the even
//!   neighbour (banker's rounding).
//! - Cash rounding applies only to what is paid in cash: the amount due is rounded
//!   to the nearest `increment` (e.g. 5 cents) with the same half rule, and the
//!   difference is shown as a rounding line.

use crate::money::{Money, MoneyError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How halves are rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoundingMode {
    /// Halves away from zero (2.5 -> 3, -2.5 -> -3).
    HalfUp,
    /// Halves to the even neighbour (2.5 -> 2, 3.5 -> 4).
    HalfEven,
}

/// Where tax is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxRoundingScope {
    /// Round each line's tax, then sum.
    PerLine,
    /// Sum each rate's base, then round once per rate.
    PerReceipt,
}

/// Whether shelf prices include tax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaxMode {
    /// Prices include tax (EU, Indonesia retail).
    Inclusive,
    /// Tax is added on top (US).
    Exclusive,
}

/// One tax class and its rate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaxRate {
    /// Class name referenced by catalog items (e.g. `standard`).
    pub class: String,
    /// Rate in basis points (1900 = 19 %).
    pub rate_bp: u32,
    /// Short label printed on receipts (e.g. `A`).
    pub label: String,
}

/// The store's tax configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxConfig {
    /// Inclusive or exclusive pricing.
    pub mode: TaxMode,
    /// Rates per class.
    pub rates: Vec<TaxRate>,
    /// Half rule for tax amounts.
    pub rounding: RoundingMode,
    /// Per line or per receipt.
    pub scope: TaxRoundingScope,
}

/// Cash rounding: the smallest cash step (in minor units, 1 = none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashRounding {
    /// Step in minor units (5 = 0.05 in a 2-decimal currency). 1 disables it.
    pub increment: i64,
    /// Half rule.
    pub mode: RoundingMode,
}

impl Default for CashRounding {
    fn default() -> Self {
        CashRounding {
            increment: 1,
            mode: RoundingMode::HalfUp,
        }
    }
}

/// Errors from tax computation.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TaxError {
    /// A line names a tax class the store has no rate for.
    #[error("no tax rate configured for tax class {0:?}")]
    UnknownClass(String),
    /// Money arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Tax for one rate on a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// Tax class.
    pub class: String,
    /// Receipt label.
    pub label: String,
    /// Rate in basis points.
    pub rate_bp: u32,
    /// Net amount (without tax) taxed at this rate.
    pub net: Money,
    /// Tax amount.
    pub tax: Money,
    /// Gross amount (net + tax).
    pub gross: Money,
}

/// Result of taxing a set of line amounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// One entry per rate used, in class order of the configuration.
    pub lines: Vec<TaxLine>,
    /// Sum of tax.
    pub total_tax: Money,
    /// Sum of net amounts.
    pub total_net: Money,
    /// What the customer owes before cash rounding (net + tax).
    pub total_gross: Money,
}

/// `numerator / denominator` rounded to an integer with `mode`. `denominator` must be positive.
pub fn div_round(numerator: i128, denominator: i128, mode: RoundingMode) -> i128 {
    debug_assert!(denominator > 0);
    let q = numerator.div_euclid(denominator);
    let r = numerator.rem_euclid(denominator);
    // q is floor; decide whether to go up by comparing 2r with the denominator.
    let twice = 2 * r;
    if twice > denominator {
        q + 1
    } else if twice < denominator {
        q
    } else {
        match mode {
            // Away from zero: for a positive exact half go up, for a negative one stay at floor.
            RoundingMode::HalfUp => {
                if numerator >= 0 {
                    q + 1
                } else {
                    q
                }
            }
            RoundingMode::HalfEven => {
                if q % 2 == 0 {
                    q
                } else {
                    q + 1
                }
            }
        }
    }
}

impl TaxConfig {
    /// The rate for `class`.
    pub fn rate(&self, class: &str) -> Result<&TaxRate, TaxError> {
        self.rates
            .iter()
            .find(|r| r.class == class)
            .ok_or_else(|| TaxError::UnknownClass(class.to_string()))
    }

    /// Taxes `lines` (tax class, line amount after discounts as priced on the shelf).
    /// In inclusive mode the amounts are gross; in exclusive mode they are net.
    pub fn compute(
        &self,
        lines: &[(&str, Money)],
        currency: crate::money::Currency,
    ) -> Result<TaxBreakdown, TaxError> {
        let mut out: Vec<TaxLine> = Vec::new();
        for rate in &self.rates {
            let mine: Vec<Money> = lines
                .iter()
                .filter(|(c, _)| *c == rate.class)
                .map(|(_, m)| *m)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let mut base_sum = Money::zero(currency);
            let mut tax_sum = Money::zero(currency);
            for amount in &mine {
                base_sum = base_sum.checked_add(*amount)?;
                if self.scope == TaxRoundingScope::PerLine {
                    tax_sum = tax_sum.checked_add(Money::new(
                        self.tax_of(amount.minor, rate.rate_bp)?,
                        currency,
                    ))?;
                }
            }
            if self.scope == TaxRoundingScope::PerReceipt {
                tax_sum = Money::new(self.tax_of(base_sum.minor, rate.rate_bp)?, currency);
            }
            let (net, gross) = match self.mode {
                TaxMode::Inclusive => (base_sum.checked_sub(tax_sum)?, base_sum),
                TaxMode::Exclusive => (base_sum, base_sum.checked_add(tax_sum)?),
            };
            out.push(TaxLine {
                class: rate.class.clone(),
                label: rate.label.clone(),
                rate_bp: rate.rate_bp,
                net,
                tax: tax_sum,
                gross,
            });
        }
        for (class, _) in lines {
            self.rate(class)?;
        }
        let mut total_tax = Money::zero(currency);
        let mut total_net = Money::zero(currency);
        let mut total_gross = Money::zero(currency);
        for l in &out {
            total_tax = total_tax.checked_add(l.tax)?;
            total_net = total_net.checked_add(l.net)?;
            total_gross = total_gross.checked_add(l.gross)?;
        }
        Ok(TaxBreakdown {
            lines: out,
            total_tax,
            total_net,
            total_gross,
        })
    }

    /// Tax contained in (inclusive) or added to (exclusive) `amount` minor units at `rate_bp`.
    fn tax_of(&self, amount: i64, rate_bp: u32) -> Result<i64, TaxError> {
        let rate = i128::from(rate_bp);
        let tax = match self.mode {
            TaxMode::Inclusive => {
                div_round(i128::from(amount) * rate, 10_000 + rate, self.rounding)
            }
            TaxMode::Exclusive => div_round(i128::from(amount) * rate, 10_000, self.rounding),
        };
        i64::try_from(tax).map_err(|_| TaxError::Money(MoneyError::Overflow))
    }
}

impl CashRounding {
    /// `amount` rounded to the cash step.
    pub fn round(&self, amount: Money) -> Money {
        if self.increment <= 1 {
            return amount;
        }
        let inc = i128::from(self.increment);
        let steps = div_round(i128::from(amount.minor), inc, self.mode);
        // Invariant: |steps * inc| <= |amount| + inc, far inside i64 for any real amount.
        Money::new(
            i64::try_from(steps * inc).unwrap_or(amount.minor),
            amount.currency,
        )
    }
}

/// `amount * bp / 10000` rounded with `mode` (used for percent discounts).
pub fn apply_basis_points(amount: Money, bp: u32, mode: RoundingMode) -> Money {
    let v = div_round(i128::from(amount.minor) * i128::from(bp), 10_000, mode);
    Money::new(i64::try_from(v).unwrap_or(i64::MAX), amount.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn cfg(mode: TaxMode, scope: TaxRoundingScope, rounding: RoundingMode) -> TaxConfig {
        TaxConfig {
            mode,
            rounding,
            scope,
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
        }
    }

    #[test]
    fn half_rules() {
        assert_eq!(div_round(5, 2, RoundingMode::HalfUp), 3);
        assert_eq!(div_round(5, 2, RoundingMode::HalfEven), 2);
        assert_eq!(div_round(7, 2, RoundingMode::HalfEven), 4);
        assert_eq!(div_round(-5, 2, RoundingMode::HalfUp), -3);
        assert_eq!(div_round(-5, 2, RoundingMode::HalfEven), -2);
        assert_eq!(div_round(4, 3, RoundingMode::HalfUp), 1);
        assert_eq!(div_round(5, 3, RoundingMode::HalfUp), 2);
    }

    #[test]
    fn exclusive_per_line_vs_per_receipt() {
        let eur = |m| Money::new(m, Currency::EUR);
        // Three lines of 0.10 at 7 %: per line 0.007 -> 0.01 each = 0.03; per receipt 0.021 -> 0.02.
        let lines = [
            ("reduced", eur(10)),
            ("reduced", eur(10)),
            ("reduced", eur(10)),
        ];
        let per_line = cfg(
            TaxMode::Exclusive,
            TaxRoundingScope::PerLine,
            RoundingMode::HalfUp,
        )
        .compute(&lines, Currency::EUR)
        .unwrap();
        let per_receipt = cfg(
            TaxMode::Exclusive,
            TaxRoundingScope::PerReceipt,
            RoundingMode::HalfUp,
        )
        .compute(&lines, Currency::EUR)
        .unwrap();
        assert_eq!(per_line.total_tax.minor, 3);
        assert_eq!(per_receipt.total_tax.minor, 2);
        assert_eq!(per_line.total_gross.minor, 33);
    }

    #[test]
    fn inclusive_extracts_tax() {
        // 1.19 gross at 19 % contains exactly 0.19 tax.
        let c = cfg(
            TaxMode::Inclusive,
            TaxRoundingScope::PerReceipt,
            RoundingMode::HalfEven,
        );
        let b = c
            .compute(
                &[("standard", Money::new(119, Currency::EUR))],
                Currency::EUR,
            )
            .unwrap();
        assert_eq!(b.total_tax.minor, 19);
        assert_eq!(b.total_net.minor, 100);
        assert_eq!(b.total_gross.minor, 119);
    }

    #[test]
    fn unknown_class_is_an_error() {
        let c = cfg(
            TaxMode::Inclusive,
            TaxRoundingScope::PerLine,
            RoundingMode::HalfUp,
        );
        assert_eq!(
            c.compute(&[("luxury", Money::new(1, Currency::EUR))], Currency::EUR),
            Err(TaxError::UnknownClass("luxury".into()))
        );
    }

    #[test]
    fn cash_rounding_to_five_cents() {
        let r = CashRounding {
            increment: 5,
            mode: RoundingMode::HalfUp,
        };
        let eur = |m| Money::new(m, Currency::EUR);
        assert_eq!(r.round(eur(1001)).minor, 1000);
        assert_eq!(r.round(eur(1002)).minor, 1000);
        assert_eq!(r.round(eur(1003)).minor, 1005);
        let even = CashRounding {
            increment: 10,
            mode: RoundingMode::HalfEven,
        };
        assert_eq!(even.round(eur(1005)).minor, 1000);
        assert_eq!(even.round(eur(1015)).minor, 1020);
    }

    proptest! {
        #[test]
        fn totals_are_consistent(amounts in proptest::collection::vec((0usize..2, 0i64..1_000_000), 0..30),
                                 inclusive in any::<bool>(), per_line in any::<bool>(), even in any::<bool>()) {
            let c = cfg(
                if inclusive { TaxMode::Inclusive } else { TaxMode::Exclusive },
                if per_line { TaxRoundingScope::PerLine } else { TaxRoundingScope::PerReceipt },
                if even { RoundingMode::HalfEven } else { RoundingMode::HalfUp },
            );
            let classes = ["standard", "reduced"];
            let lines: Vec<(&str, Money)> = amounts.iter().map(|(c, m)| (classes[*c], Money::new(*m, Currency::EUR))).collect();
            let b = c.compute(&lines, Currency::EUR).unwrap();
            let sum: i64 = amounts.iter().map(|(_, m)| m).sum();
            prop_assert_eq!(b.total_net.minor + b.total_tax.minor, b.total_gross.minor);
            if inclusive { prop_assert_eq!(b.total_gross.minor, sum); } else { prop_assert_eq!(b.total_net.minor, sum); }
            for l in &b.lines {
                prop_assert!(l.tax.minor >= 0);
                // Rounded tax is within half a unit per rounding of the exact value.
                let base = if inclusive { l.gross.minor } else { l.net.minor } as i128;
                let denom = if inclusive { 10_000 + l.rate_bp as i128 } else { 10_000 };
                let exact_num = base * l.rate_bp as i128;
                let n = if per_line { amounts.len() as i128 } else { 1 };
                prop_assert!((l.tax.minor as i128 * denom - exact_num).abs() * 2 <= denom * n.max(1));
            }
        }

        #[test]
        fn cash_rounding_is_nearest_step(m in -1_000_000i64..1_000_000, inc in prop::sample::select(vec![1i64, 5, 10, 50, 100])) {
            let r = CashRounding { increment: inc, mode: RoundingMode::HalfUp }.round(Money::new(m, Currency::EUR));
            prop_assert_eq!(r.minor % inc, 0);
            prop_assert!((r.minor - m).abs() * 2 <= inc);
        }
    }
}
