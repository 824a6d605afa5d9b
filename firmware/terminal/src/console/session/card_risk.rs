//! The console's offline card tender under adaptive risk: asks the node's
//! risk source for the cashier's assessment, authenticates a manager's
//! approval (`--approve <pin>`, through the session's login guard and its
//! lockout, or a manager logged in at the till), and hands both to the engine,
//! which decides and journals the assessment with the tender. Without a risk
//! source nothing changes. This module holds no risk rules: keel-core does.

use super::Session;
use crate::console::render;
use crate::console::reply::Reply;
use keel_core::auth::{Role, User};
use keel_core::engine::{CardTender, Engine};
use keel_core::event::EventBody;
use keel_core::risk::{RiskAssessment, RiskLevel};

impl Session<'_> {
    /// `sale tender card <amount> <token> <last4> [brand] [--approve <pin>]`.
    pub(super) fn tender_card(
        &mut self,
        card: &CardTender<'_>,
        approve_pin: Option<&str>,
        now: u64,
    ) -> Result<Reply, Reply> {
        let approver: Option<User> = match approve_pin {
            Some(pin) => {
                let users = self.node.profile.users.clone();
                let m = self
                    .st
                    .guard
                    .login(&users, pin, now)
                    .map_err(|e| Reply::err(format!("manager PIN refused: {e}")))?
                    .clone();
                Some(m)
            }
            None => None,
        };
        let assessment = match (self.node.risk_source(), self.st.user()) {
            (Some(source), Some(u)) => source.assess(&u.id, now).map(valid),
            _ => None,
        };
        // A manager ringing up the sale approves by being logged in, as their
        // own price overrides need no second PIN.
        let level = assessment.as_ref().map(|a| a.level).or(self
            .node
            .state
            .cart_risk
            .as_ref()
            .map(|r| r.assessment.level));
        let approver = approver.or_else(|| {
            let u = self.st.user()?;
            (u.role == Role::Manager && level == Some(RiskLevel::High)).then(|| u.clone())
        });
        let events = Engine::new(&self.node.profile, &self.node.state)
            .tender_card_assessed(self.st.user(), card, assessment, approver.as_ref())
            .map_err(Reply::err)?;
        self.commit(events)?;
        let mut reply = render::cart_after_edit(self.node);
        if let (Ok(fields), Some(r)) = (&mut reply.result, &self.node.state.cart_risk) {
            let a = &r.assessment;
            fields.insert(
                "risk".into(),
                serde_json::json!({
                    "level": a.level.as_str(),
                    "score_permille": a.score_permille,
                    "reasons": a.reasons,
                    "source": a.source,
                    "approved_by": r.approved_by.as_ref().map(|m| m.0.clone()),
                }),
            );
            if a.level >= RiskLevel::Review {
                reply.text.push(format!(
                    "risk {} ({}): offline card limits lowered; this sale will be flagged for review{}",
                    a.level,
                    a.reasons_text(),
                    r.approved_by
                        .as_ref()
                        .map(|m| format!("; approved by {m}"))
                        .unwrap_or_default()
                ));
            }
        }
        Ok(reply)
    }
}

/// The assessment as given, or (when a risk source broke the core's bounds)
/// made valid: a faulty risk source never stops a sale.
fn valid(a: RiskAssessment) -> RiskAssessment {
    match a.validate() {
        Ok(()) => a,
        Err(e) => {
            log::warn!("risk source gave an invalid assessment ({e}); bounds applied");
            crate::risk::assessment(
                f32::from(a.score_permille.min(1000)) / 1000.0,
                a.level,
                &a.reasons,
                &a.source,
            )
        }
    }
}

/// The risk flag among a completion's events (level and reasons), if the sale is flagged.
pub(super) fn flag_of(events: &[EventBody]) -> Option<(RiskLevel, String)> {
    events.iter().find_map(|e| match e {
        EventBody::SaleFlagged { assessment, .. } => {
            Some((assessment.level, assessment.reasons_text()))
        }
        _ => None,
    })
}

/// Tells the cashier a completed sale was flagged for review (`flagged` in JSON).
pub(super) fn add_flag(reply: &mut Reply, flag: Option<(RiskLevel, String)>) {
    let Some((level, reasons)) = flag else {
        return;
    };
    if let Ok(fields) = &mut reply.result {
        fields.insert(
            "flagged".into(),
            serde_json::json!({ "level": level.as_str(), "reasons": reasons }),
        );
        reply.text.push(format!(
            "flagged for review in the cloud: risk {level} ({reasons})"
        ));
    }
}
