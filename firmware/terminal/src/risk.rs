//! Where the terminal gets a loss-prevention risk assessment of a cashier
//! before an offline card tender: the `RiskSource` trait the node holds (the
//! AI runtime's scorer implements it), and `FixedRisk`, a source that always
//! gives the same assessment (for a store that sets one by hand, demos and
//! tests). This module owns only the trait and the conversion of a score to
//! the core's `RiskAssessment`; the policy is keel-core's (`risk`), the
//! scoring the AI runtime's.

use keel_core::ids::UserId;
use keel_core::risk::{RiskAssessment, RiskLevel};
use std::sync::Mutex;

/// Gives the risk assessment of `cashier`'s recent activity at `now_ms`.
///
/// Called by the console session right before an offline card tender, with
/// the node locked: an implementation must not lock the node itself, and
/// must answer within a few milliseconds (a slow model falls back inside the
/// implementation). `None` means no assessment: the sale goes on unchanged.
pub trait RiskSource: Send + Sync {
    /// The assessment, or `None` when there is none to give.
    fn assess(&self, cashier: &UserId, now_ms: u64) -> Option<RiskAssessment>;
}

/// A risk source that gives one fixed assessment to every cashier (changeable
/// while running): a real source for a store that sets the level by hand.
#[derive(Default)]
pub struct FixedRisk {
    assessment: Mutex<Option<RiskAssessment>>,
}

impl FixedRisk {
    /// A source giving `assessment` (or nothing).
    pub fn new(assessment: Option<RiskAssessment>) -> FixedRisk {
        FixedRisk {
            assessment: Mutex::new(assessment),
        }
    }

    /// Gives `assessment` from now on.
    pub fn set(&self, assessment: Option<RiskAssessment>) {
        match self.assessment.lock() {
            Ok(mut a) => *a = assessment,
            Err(poisoned) => *poisoned.into_inner() = assessment,
        }
    }
}

impl RiskSource for FixedRisk {
    fn assess(&self, _cashier: &UserId, _now_ms: u64) -> Option<RiskAssessment> {
        match self.assessment.lock() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The core's assessment for a score in `0.0..=1.0` (clamped; NaN counts as
/// 0), its level, reason codes and source: reason codes that are not upper
/// case ASCII, digits and underscores are dropped, as are any beyond the
/// core's bounds, so the result always passes `RiskAssessment::validate`.
pub fn assessment(
    score: f32,
    level: RiskLevel,
    reasons: &[String],
    source: &str,
) -> RiskAssessment {
    let score = if score.is_nan() {
        0.0
    } else {
        score.clamp(0.0, 1.0)
    };
    let reasons = reasons
        .iter()
        .filter(|r| {
            !r.is_empty()
                && r.len() <= keel_core::risk::MAX_REASON_LEN
                && r.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .take(keel_core::risk::MAX_REASONS)
        .cloned()
        .collect();
    let mut source: String = source.chars().filter(|c| !c.is_control()).collect();
    while source.len() > keel_core::risk::MAX_SOURCE_LEN {
        source.pop();
    }
    RiskAssessment {
        score_permille: (score * 1000.0).round() as u16,
        level,
        reasons,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assessment_is_always_valid() {
        let a = assessment(
            1.7,
            RiskLevel::High,
            &["SWEETHEARTING".into(), "bad code".into(), String::new()],
            &"m\n".repeat(100),
        );
        assert_eq!(a.score_permille, 1000);
        assert_eq!(a.reasons, vec!["SWEETHEARTING".to_string()]);
        assert!(a.validate().is_ok());
        assert_eq!(
            assessment(f32::NAN, RiskLevel::Low, &[], "x").score_permille,
            0
        );
        assert_eq!(
            assessment(0.6234, RiskLevel::Review, &[], "x").score_permille,
            623
        );
    }

    #[test]
    fn fixed_source_gives_what_was_set() {
        let f = FixedRisk::new(None);
        let c = UserId("c".into());
        assert_eq!(f.assess(&c, 0), None);
        let a = assessment(0.9, RiskLevel::High, &["REFUND_FRAUD".into()], "fixed");
        f.set(Some(a.clone()));
        assert_eq!(f.assess(&c, 0), Some(a));
    }
}
