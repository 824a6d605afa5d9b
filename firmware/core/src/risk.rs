//! Adaptive offline risk: the loss-prevention assessment a terminal hands to
//! the open cart (`RiskAssessment`), and the store's `RiskPolicy` that turns its
//! level into offline card rules: at `Review` the offline card limits are
//! lowered to a percentage, at `High` an offline card tender also needs a
//! manager's approval. A sale completed at `Review` or above is flagged for
//! review in the cloud (`EventBody::SaleFlagged`).
//!
//! The policy is a store setting, published from the cloud like every setting
//! (`risk.review_card_limit_percent`, `risk.high_needs_manager`); a store that
//! never published one uses the defaults. This module is pure data and rules:
//! it must not score anything (the terminal's risk source does) nor journal.

use crate::hlc::Hlc;
use crate::ids::UserId;
use crate::money::Money;
use crate::tender::CardLimits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Most reason codes one assessment may carry.
pub const MAX_REASONS: usize = 8;
/// Longest reason code, in bytes.
pub const MAX_REASON_LEN: usize = 32;
/// Longest `source` text, in bytes.
pub const MAX_SOURCE_LEN: usize = 96;

/// Setting key of the percentage the offline card limits are lowered to at `Review`.
pub const REVIEW_LIMIT_PERCENT_KEY: &str = "risk.review_card_limit_percent";
/// Setting key of whether an offline card tender at `High` needs a manager (`true`/`false`).
pub const HIGH_NEEDS_MANAGER_KEY: &str = "risk.high_needs_manager";

/// How risky the cashier's recent activity looks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RiskLevel {
    /// Nothing unusual: no change.
    #[default]
    Low,
    /// Unusual: offline card limits lowered, the sale is flagged for review.
    Review,
    /// Very unusual: an offline card tender needs a manager; the sale is flagged.
    High,
}

impl RiskLevel {
    /// Lower-case name (`low`, `review`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Review => "review",
            RiskLevel::High => "high",
        }
    }
}

impl std::fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A risk assessment of a cashier at a moment, as the terminal's risk source
/// gave it (the loss-prevention model or its rules-based fallback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Score, 0 to 1000 (per mille).
    pub score_permille: u16,
    /// Level the score falls in.
    pub level: RiskLevel,
    /// Reason codes (e.g. `SWEETHEARTING`), upper-case ASCII and underscores.
    pub reasons: Vec<String>,
    /// What produced it (e.g. `model loss-prevention 1.0.0`, `rules: model missing`).
    pub source: String,
}

/// Why an assessment is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RiskError {
    /// The score is above 1000.
    #[error("risk score {0} is above 1000 per mille")]
    Score(u16),
    /// Too many reason codes.
    #[error("at most {MAX_REASONS} reason codes (got {0})")]
    TooManyReasons(usize),
    /// A reason code is empty, too long or not upper-case ASCII/underscore.
    #[error("bad reason code {0:?}: 1 to {MAX_REASON_LEN} of A-Z, 0-9 and _")]
    Reason(String),
    /// The source text is too long or holds control characters.
    #[error("bad risk source text (at most {MAX_SOURCE_LEN} printable bytes)")]
    Source,
}

impl RiskAssessment {
    /// Checks the bounds every journaled assessment keeps.
    pub fn validate(&self) -> Result<(), RiskError> {
        if self.score_permille > 1000 {
            return Err(RiskError::Score(self.score_permille));
        }
        if self.reasons.len() > MAX_REASONS {
            return Err(RiskError::TooManyReasons(self.reasons.len()));
        }
        for r in &self.reasons {
            let ok = !r.is_empty()
                && r.len() <= MAX_REASON_LEN
                && r.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(RiskError::Reason(r.clone()));
            }
        }
        if self.source.len() > MAX_SOURCE_LEN || self.source.chars().any(char::is_control) {
            return Err(RiskError::Source);
        }
        Ok(())
    }

    /// The reason codes joined for messages (`none` when there are none).
    pub fn reasons_text(&self) -> String {
        if self.reasons.is_empty() {
            "none".to_string()
        } else {
            self.reasons.join(", ")
        }
    }
}

/// The assessment the open cart carries, with the manager who approved an
/// offline card tender at `High`, if one did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartRisk {
    /// The latest assessment handed to the cart.
    pub assessment: RiskAssessment,
    /// Manager who approved card tenders under it.
    pub approved_by: Option<UserId>,
}

/// The store's rules for offline card tenders under risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskPolicy {
    /// At `Review` and above, both offline card limits are multiplied by this
    /// percentage (0 to 100).
    pub review_card_limit_percent: u8,
    /// At `High` an offline card tender needs a manager's approval.
    pub high_needs_manager: bool,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            review_card_limit_percent: 50,
            high_needs_manager: true,
        }
    }
}

impl RiskPolicy {
    /// The policy in force: the defaults with every valid published setting
    /// applied (a malformed value is logged and ignored: it never stops a sale).
    pub fn in_force(settings: &BTreeMap<String, (String, Hlc)>) -> RiskPolicy {
        let mut p = RiskPolicy::default();
        if let Some((v, _)) = settings.get(REVIEW_LIMIT_PERCENT_KEY) {
            match v.trim().parse::<u8>() {
                Ok(pct) if pct <= 100 => p.review_card_limit_percent = pct,
                _ => log::warn!("setting {REVIEW_LIMIT_PERCENT_KEY}={v:?} is not 0..=100; ignored"),
            }
        }
        if let Some((v, _)) = settings.get(HIGH_NEEDS_MANAGER_KEY) {
            match v.trim() {
                "true" | "yes" | "1" => p.high_needs_manager = true,
                "false" | "no" | "0" => p.high_needs_manager = false,
                _ => {
                    log::warn!("setting {HIGH_NEEDS_MANAGER_KEY}={v:?} is not true/false; ignored")
                }
            }
        }
        p
    }

    /// The offline card limits at `level`: unchanged at `Low`, both lowered to
    /// `review_card_limit_percent` (rounded down to the minor unit) above.
    pub fn card_limits(&self, base: CardLimits, level: RiskLevel) -> CardLimits {
        if level == RiskLevel::Low {
            return base;
        }
        let scale = |m: Money| {
            let minor = i128::from(m.minor) * i128::from(self.review_card_limit_percent) / 100;
            // Invariant: a percentage of at most 100 of an i64 fits an i64.
            Money::new(i64::try_from(minor).unwrap_or(m.minor), m.currency)
        };
        CardLimits {
            per_transaction: scale(base.per_transaction),
            total_offline: scale(base.total_offline),
        }
    }

    /// Whether an offline card tender at `level` needs a manager's approval.
    pub fn needs_manager(&self, level: RiskLevel) -> bool {
        self.high_needs_manager && level == RiskLevel::High
    }
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)] // amounts as units_cents
mod tests {
    use super::*;
    use crate::money::Currency;

    fn a(score: u16, level: RiskLevel, reasons: &[&str]) -> RiskAssessment {
        RiskAssessment {
            score_permille: score,
            level,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            source: "test".into(),
        }
    }

    #[test]
    fn validation_bounds() {
        assert!(a(1000, RiskLevel::High, &["SWEETHEARTING"])
            .validate()
            .is_ok());
        assert_eq!(
            a(1001, RiskLevel::High, &[]).validate(),
            Err(RiskError::Score(1001))
        );
        assert!(matches!(
            a(5, RiskLevel::Low, &["lower"]).validate(),
            Err(RiskError::Reason(_))
        ));
        assert!(matches!(
            a(5, RiskLevel::Low, &[""]).validate(),
            Err(RiskError::Reason(_))
        ));
        let long = "X".repeat(MAX_REASON_LEN + 1);
        assert!(a(5, RiskLevel::Low, &[&long]).validate().is_err());
        let many = vec!["A"; MAX_REASONS + 1];
        assert_eq!(
            a(5, RiskLevel::Low, &many).validate(),
            Err(RiskError::TooManyReasons(MAX_REASONS + 1))
        );
        let mut s = a(5, RiskLevel::Low, &[]);
        s.source = "x\ny".into();
        assert_eq!(s.validate(), Err(RiskError::Source));
    }

    #[test]
    fn policy_defaults_settings_and_limits() {
        let mut settings = BTreeMap::new();
        let p = RiskPolicy::in_force(&settings);
        assert_eq!(p, RiskPolicy::default());
        let base = CardLimits {
            per_transaction: Money::new(250_01, Currency::EUR),
            total_offline: Money::new(1_000_00, Currency::EUR),
        };
        assert_eq!(p.card_limits(base, RiskLevel::Low), base);
        let r = p.card_limits(base, RiskLevel::Review);
        assert_eq!(r.per_transaction.minor, 125_00);
        assert_eq!(r.total_offline.minor, 500_00);
        assert!(p.needs_manager(RiskLevel::High));
        assert!(!p.needs_manager(RiskLevel::Review));
        settings.insert(
            REVIEW_LIMIT_PERCENT_KEY.to_string(),
            ("20".to_string(), Hlc::default()),
        );
        settings.insert(
            HIGH_NEEDS_MANAGER_KEY.to_string(),
            ("false".to_string(), Hlc::default()),
        );
        let p = RiskPolicy::in_force(&settings);
        assert_eq!(p.review_card_limit_percent, 20);
        assert!(!p.needs_manager(RiskLevel::High));
        settings.insert(
            REVIEW_LIMIT_PERCENT_KEY.to_string(),
            ("250".to_string(), Hlc::default()),
        );
        assert_eq!(
            RiskPolicy::in_force(&settings).review_card_limit_percent,
            50
        );
    }
}
