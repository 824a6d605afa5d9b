//! Adaptive offline risk in the engine: handing the open cart a risk
//! assessment (journaled, so a replay reproduces every decision it changed),
//! the offline card limits and manager approval the store's `RiskPolicy`
//! asks for at the cart's level, and the `SaleFlagged` event a sale completed
//! at `Review` or above carries to the cloud. It must not score anything: the
//! assessment comes from the terminal's risk source.

use super::{Engine, SaleError};
use crate::auth::{Role, User};
use crate::event::EventBody;
use crate::risk::{CartRisk, RiskAssessment, RiskLevel, RiskPolicy};
use crate::sale::Sale;
use crate::tender::CardLimits;

/// An offline card tender as typed or read: `sale tender card <amount> <token> <last4> [brand]`.
#[derive(Clone, Copy, Debug)]
pub struct CardTender<'r> {
    /// Amount text.
    pub amount: &'r str,
    /// Reader token.
    pub token: &'r str,
    /// Last four digits.
    pub last4: &'r str,
    /// Brand, if given.
    pub brand: Option<&'r str>,
}

impl<'a> Engine<'a> {
    /// The risk policy in force (the store's published `risk.*` settings over the defaults).
    pub fn risk_policy(&self) -> RiskPolicy {
        RiskPolicy::in_force(&self.state.settings)
    }

    /// `assess`: hands the open cart `assessment`, with `approver` (a manager,
    /// authenticated by the caller) approving offline card tenders under it.
    /// Nothing is journaled when the cart already carries exactly that.
    pub fn assess_cart(
        &self,
        user: Option<&'a User>,
        assessment: RiskAssessment,
        approver: Option<&'a User>,
    ) -> Result<Vec<EventBody>, SaleError> {
        let (events, _) = self.assessed(user, assessment, approver)?;
        Ok(events)
    }

    /// `sale tender card ...` with the assessment the terminal's risk source
    /// gave just now (and a manager's approval, if one was given): the
    /// assessment's event (when it changes the cart's) followed by the tender,
    /// decided under it. A refused tender journals nothing.
    pub fn tender_card_assessed(
        &self,
        user: Option<&'a User>,
        card: &CardTender<'_>,
        assessment: Option<RiskAssessment>,
        approver: Option<&'a User>,
    ) -> Result<Vec<EventBody>, SaleError> {
        let (mut events, risk) = match assessment {
            Some(a) => self.assessed(user, a, approver)?,
            None => match (approver, &self.state.cart_risk) {
                (Some(_), Some(current)) => {
                    self.assessed(user, current.assessment.clone(), approver)?
                }
                _ => (Vec::new(), self.state.cart_risk.clone()),
            },
        };
        events.extend(self.card_tender_under(user, card, risk.as_ref())?);
        Ok(events)
    }

    /// The events handing the cart `assessment` and the cart risk after them.
    fn assessed(
        &self,
        user: Option<&'a User>,
        assessment: RiskAssessment,
        approver: Option<&'a User>,
    ) -> Result<(Vec<EventBody>, Option<CartRisk>), SaleError> {
        let u = super::require(user, crate::auth::Permission::Sell)?;
        if self.state.cart.is_none() {
            return Err(SaleError::NoSale);
        }
        assessment.validate()?;
        let approved_by = match approver {
            Some(m) if m.role == Role::Manager => Some(m.id.clone()),
            Some(m) => return Err(SaleError::ApproverNotManager(m.name.clone())),
            // An approval holds for the rest of the cart unless the level rises above the approved one.
            None => self
                .state
                .cart_risk
                .as_ref()
                .filter(|c| c.assessment.level >= assessment.level)
                .and_then(|c| c.approved_by.clone()),
        };
        let risk = CartRisk {
            assessment,
            approved_by,
        };
        if self.state.cart_risk.as_ref() == Some(&risk) {
            return Ok((Vec::new(), Some(risk)));
        }
        log::info!(
            "risk {} ({} per mille, {}) handed to the cart of {}{}",
            risk.assessment.level,
            risk.assessment.score_permille,
            risk.assessment.reasons_text(),
            u.id,
            risk.approved_by
                .as_ref()
                .map(|m| format!(", approved by {m}"))
                .unwrap_or_default()
        );
        let event = EventBody::CartRiskAssessed {
            by: u.id.clone(),
            assessment: risk.assessment.clone(),
            approved_by: risk.approved_by.clone(),
        };
        Ok((vec![event], Some(risk)))
    }

    /// The offline card limits under `risk`, with the percentage and reason
    /// codes when the policy lowered them; refuses at `High` without a
    /// manager's approval when the policy asks for one.
    pub(super) fn risk_card_limits(
        &self,
        risk: Option<&CartRisk>,
    ) -> Result<(CardLimits, Option<(u8, String)>), SaleError> {
        let base = self.profile.card_limits;
        let Some(risk) = risk else {
            return Ok((base, None));
        };
        let policy = self.risk_policy();
        let level = risk.assessment.level;
        if policy.needs_manager(level) && risk.approved_by.is_none() {
            return Err(SaleError::ManagerApprovalNeeded {
                reasons: risk.assessment.reasons_text(),
            });
        }
        if level == RiskLevel::Low {
            return Ok((base, None));
        }
        Ok((
            policy.card_limits(base, level),
            Some((
                policy.review_card_limit_percent,
                risk.assessment.reasons_text(),
            )),
        ))
    }

    /// The flag a completed `sale` carries to the cloud, when the cart's
    /// assessment is at `Review` or above.
    pub(super) fn sale_flag(&self, sale: &Sale) -> Option<EventBody> {
        let risk = self.state.cart_risk.as_ref()?;
        if risk.assessment.level < RiskLevel::Review {
            return None;
        }
        Some(EventBody::SaleFlagged {
            receipt_no: sale.receipt_no,
            cashier: sale.cashier.clone(),
            assessment: risk.assessment.clone(),
            approved_by: risk.approved_by.clone(),
        })
    }
}
