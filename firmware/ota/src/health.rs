//! The health check a newly booted system must pass before it marks its slot
//! good, and the rule that turns check results into a verdict.
//!
//! Owns [`HealthReport`] (what the terminal observed) and [`evaluate`] (pure:
//! report, time since start, deadline -> verdict). It must not run the checks
//! itself: the terminal opens storage, verifies the journal, waits for the UI
//! and the cluster, and fills the report in.

use std::time::Duration;

/// What the terminal observed since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthReport {
    /// The data partition's store opened.
    pub storage_opens: bool,
    /// The journal's hash chain verified.
    pub journal_verifies: bool,
    /// The UI showed its first frame.
    pub ui_up: bool,
    /// The terminal joined its store cluster, or it runs alone (no cluster
    /// configured, or no peer to join).
    pub cluster_joined_or_alone: bool,
}

impl HealthReport {
    /// The names of the checks that have not passed, in a fixed order.
    pub fn failing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (ok, name) in [
            (self.storage_opens, "storage does not open"),
            (self.journal_verifies, "journal does not verify"),
            (self.ui_up, "UI not up"),
            (self.cluster_joined_or_alone, "cluster not joined"),
        ] {
            if !ok {
                out.push(name);
            }
        }
        out
    }
}

/// The outcome of the health check at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthVerdict {
    /// Every check passed: the slot may be marked good.
    Passed,
    /// Some checks have not passed yet and there is time left.
    Pending,
    /// The deadline passed with checks still failing; the reason names them.
    Failed(String),
}

/// The rule: every check must pass within `deadline` of start-up. A check
/// that fails for good (storage, journal) fails at once rather than waiting.
pub fn evaluate(report: &HealthReport, since_start: Duration, deadline: Duration) -> HealthVerdict {
    let failing = report.failing();
    if failing.is_empty() {
        return HealthVerdict::Passed;
    }
    if since_start >= deadline {
        return HealthVerdict::Failed(format!(
            "health check failed after {} s: {}",
            since_start.as_secs(),
            failing.join(", ")
        ));
    }
    HealthVerdict::Pending
}

/// [`evaluate`] once the storage result is known: a store that did not open
/// or a journal that did not verify is final, so the verdict is `Failed` at
/// once.
pub fn evaluate_final_checks(
    report: &HealthReport,
    storage_done: bool,
    since_start: Duration,
    deadline: Duration,
) -> HealthVerdict {
    if storage_done && !(report.storage_opens && report.journal_verifies) {
        let mut failing = report.failing();
        failing.retain(|f| f.starts_with("storage") || f.starts_with("journal"));
        return HealthVerdict::Failed(format!("health check failed: {}", failing.join(", ")));
    }
    evaluate(report, since_start, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: HealthReport = HealthReport {
        storage_opens: true,
        journal_verifies: true,
        ui_up: true,
        cluster_joined_or_alone: true,
    };

    #[test]
    fn all_checks_pass() {
        let d = Duration::from_secs(120);
        assert_eq!(evaluate(&ALL, Duration::ZERO, d), HealthVerdict::Passed);
    }

    #[test]
    fn missing_ui_waits_then_fails_with_the_reason() {
        let r = HealthReport {
            ui_up: false,
            ..ALL
        };
        let d = Duration::from_secs(120);
        assert_eq!(
            evaluate(&r, Duration::from_secs(5), d),
            HealthVerdict::Pending
        );
        assert_eq!(
            evaluate(&r, Duration::from_secs(120), d),
            HealthVerdict::Failed("health check failed after 120 s: UI not up".into())
        );
    }

    #[test]
    fn a_journal_that_does_not_verify_fails_at_once() {
        let r = HealthReport {
            journal_verifies: false,
            ui_up: false,
            ..ALL
        };
        let v = evaluate_final_checks(&r, true, Duration::ZERO, Duration::from_secs(120));
        assert_eq!(
            v,
            HealthVerdict::Failed("health check failed: journal does not verify".into())
        );
        let v = evaluate_final_checks(&r, false, Duration::ZERO, Duration::from_secs(120));
        assert_eq!(v, HealthVerdict::Pending);
    }
}
