//! The product-recognition result and the decision rule from the model's
//! probabilities: top-1 at or above `accept` is accepted; otherwise the top
//! three to pick from; if even the best is below [`MANUAL_FLOOR`], manual
//! entry. This module must not run models or touch the cart.

/// Below this top-1 probability the candidates are noise: manual entry.
pub const MANUAL_FLOOR: f32 = 0.15;

/// What the cashier gets for a frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Recognition {
    /// Confident: add this SKU.
    Accepted {
        /// The SKU.
        sku: String,
        /// Its probability.
        confidence: f32,
    },
    /// Not confident: the top three, best first, to pick from.
    Choose {
        /// (SKU, probability), best first.
        candidates: Vec<(String, f32)>,
    },
    /// No usable answer (model fallback or nothing plausible): enter it by hand.
    Manual {
        /// Why.
        reason: String,
    },
}

/// Decides from `probabilities` in `labels` order.
pub fn decide(labels: &[String], probabilities: &[f32], accept: f32) -> Recognition {
    let mut pairs: Vec<(String, f32)> = labels
        .iter()
        .cloned()
        .zip(probabilities.iter().copied())
        .filter(|p| p.1.is_finite())
        .collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    match pairs.first() {
        None => Recognition::Manual {
            reason: "model gave no usable output".into(),
        },
        Some((sku, p)) if *p >= accept => Recognition::Accepted {
            sku: sku.clone(),
            confidence: *p,
        },
        Some((_, p)) if *p < MANUAL_FLOOR => Recognition::Manual {
            reason: format!("no product recognised (best {p:.2} below {MANUAL_FLOOR})"),
        },
        Some(_) => {
            pairs.truncate(3);
            Recognition::Choose { candidates: pairs }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["A", "B", "C", "D"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_chooses_or_goes_manual() {
        assert_eq!(
            decide(&labels(), &[0.1, 0.7, 0.1, 0.1], 0.6),
            Recognition::Accepted {
                sku: "B".into(),
                confidence: 0.7
            }
        );
        assert_eq!(
            decide(&labels(), &[0.3, 0.4, 0.2, 0.1], 0.6),
            Recognition::Choose {
                candidates: vec![("B".into(), 0.4), ("A".into(), 0.3), ("C".into(), 0.2)]
            }
        );
        assert!(matches!(
            decide(&labels(), &[0.1, 0.1, 0.1, 0.1], 0.6),
            Recognition::Manual { .. }
        ));
    }
}
