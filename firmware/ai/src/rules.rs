//! The documented rules-based loss-prevention score, used whenever the model
//! cannot be (missing, broken, slow, NaN). Each reason code gets a score in
//! 0..1 from ramps over the features (see docs/ai.md, "Rules score"):
//!
//! - `SWEETHEARTING` = 0.4 ramp(voids f0, 0.3, 1.0) + 0.3 ramp(under-basket
//!   share f5, 0.15, 0.5) + 0.3 ramp(max(discount depth f4, overrides f2 / 2), 0.1, 0.35)
//! - `REFUND_FRAUD` = ramp(refunds without receipt f3, 0.25, 0.75) x (0.7 + 0.3 if
//!   the local hour is in 22:00..06:00)
//! - `DRAWER_SKIMMING` = 0.6 ramp(no-sale opens f1, 0.2, 0.6) + 0.4 ramp(voids f0,
//!   0.2, 0.6) when f1 > 0
//!
//! where ramp(x, lo, hi) is 0 at or below lo, 1 at or above hi, linear between.
//! The score is the maximum; reasons are the codes at or above
//! [`REVIEW`]; the level is Review from [`REVIEW`] and High from [`HIGH`].
//! Pure: it must not read the journal or models.

use crate::features::Features;
use crate::risk::{RiskScore, ScoreSource};

/// Review threshold of the rules score.
pub const REVIEW: f32 = 0.5;
/// High threshold of the rules score.
pub const HIGH: f32 = 0.8;
/// Reason codes in the model's output order.
pub const REASONS: [&str; 3] = ["SWEETHEARTING", "REFUND_FRAUD", "DRAWER_SKIMMING"];

fn ramp(x: f32, lo: f32, hi: f32) -> f32 {
    if !x.is_finite() || x <= lo {
        0.0
    } else if x >= hi {
        1.0
    } else {
        (x - lo) / (hi - lo)
    }
}

/// Local hour (0..24) from the hour_sin/hour_cos features.
fn hour_of(features: &Features) -> f32 {
    let angle = features.0[6].atan2(features.0[7]);
    (angle * 24.0 / (2.0 * std::f32::consts::PI)).rem_euclid(24.0)
}

/// Per-reason rule scores, in [`REASONS`] order.
pub fn reason_scores(features: &Features) -> [f32; 3] {
    let f = &features.0;
    let sweet = 0.4 * ramp(f[0], 0.3, 1.0)
        + 0.3 * ramp(f[5], 0.15, 0.5)
        + 0.3 * ramp(f[4].max(f[2] / 2.0), 0.1, 0.35);
    let hour = hour_of(features);
    let night = if !(6.0..22.0).contains(&hour) {
        0.3
    } else {
        0.0
    };
    let refund = ramp(f[3], 0.25, 0.75) * (0.7 + night);
    let drawer = if f[1] > 0.0 {
        0.6 * ramp(f[1], 0.2, 0.6) + 0.4 * ramp(f[0], 0.2, 0.6)
    } else {
        0.0
    };
    [sweet.min(1.0), refund.min(1.0), drawer.min(1.0)]
}

/// The rules score, with `ScoreSource::Rules { why: "rules" }`.
pub fn rules_score(features: &Features) -> RiskScore {
    rules_score_because(features, "rules")
}

/// The rules score, recording `why` the model was not used.
pub fn rules_score_because(features: &Features, why: &str) -> RiskScore {
    let labels: Vec<String> = REASONS.iter().map(|s| s.to_string()).collect();
    RiskScore::from_probabilities(
        &labels,
        &reason_scores(features),
        REVIEW,
        HIGH,
        ScoreSource::Rules {
            why: why.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::RiskLevel;

    fn at_hour(mut f: [f32; 8], h: f32) -> Features {
        let a = 2.0 * std::f32::consts::PI * h / 24.0;
        f[6] = a.sin();
        f[7] = a.cos();
        Features(f)
    }

    #[test]
    fn an_honest_shift_is_low() {
        let s = rules_score(&at_hour([0.2, 0.0, 0.05, 0.0, 0.03, 0.05, 0.0, 0.0], 14.0));
        assert_eq!(s.level, RiskLevel::Low);
        assert!(s.reasons.is_empty());
        assert!(matches!(s.source, ScoreSource::Rules { .. }));
    }

    #[test]
    fn sweethearting_is_high() {
        let s = rules_score(&at_hour([1.2, 0.0, 0.5, 0.0, 0.4, 0.6, 0.0, 0.0], 15.0));
        assert_eq!(s.level, RiskLevel::High);
        assert_eq!(s.reasons, vec!["SWEETHEARTING".to_string()]);
    }

    #[test]
    fn refund_fraud_at_night_and_drawer_skimming() {
        let night = rules_score(&at_hour([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 23.5));
        assert_eq!(night.reasons, vec!["REFUND_FRAUD".to_string()]);
        assert_eq!(night.level, RiskLevel::High);
        let day = rules_score(&at_hour([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 12.0));
        assert_eq!(day.level, RiskLevel::Review);
        let drawer = rules_score(&at_hour([0.6, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 12.0));
        assert!(drawer.reasons.contains(&"DRAWER_SKIMMING".to_string()));
        assert_eq!(drawer.level, RiskLevel::High);
    }

    #[test]
    fn nan_features_do_not_raise_the_score() {
        let s = rules_score(&Features([f32::NAN; 8]));
        assert_eq!(s.level, RiskLevel::Low);
    }
}
