//! Adaptive offline risk in the engine: the cart's assessment lowers the
//! offline card limits at Review, asks for a manager at High, changes nothing
//! at Low; a sale completed at Review or above is flagged in the same commit;
//! replaying the journal (and loading the derived tables) gives the live state.
//! Amounts are written `units_cents` (`125_00` is 125.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

mod harness;

use harness::{item, profile, Harness};
use keel_core::auth::{Role, User};
use keel_core::catalog::SoldBy;
use keel_core::engine::{AddRequest, CardTender, SaleError};
use keel_core::event::EventBody;
use keel_core::ids::UserId;
use keel_core::risk::{
    RiskAssessment, RiskLevel, HIGH_NEEDS_MANAGER_KEY, REVIEW_LIMIT_PERCENT_KEY,
};
use keel_core::tax::{RoundingMode, TaxMode, TaxRoundingScope};
use proptest::prelude::*;

fn store() -> Harness {
    Harness::new(
        profile(
            TaxMode::Inclusive,
            TaxRoundingScope::PerReceipt,
            RoundingMode::HalfUp,
            1,
        ),
        vec![item("TV", 400_00, "standard", SoldBy::Unit)],
    )
}

/// Shift open, a sale of one 400.00 item (limits: 250.00 per card, 1000.00 offline).
fn open_sale(h: &mut Harness) {
    let c = h.cashier.clone();
    let ev = h.engine().open_shift(Some(&c), "50.00").unwrap();
    h.apply(ev);
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key: "TV",
                qty: None,
                now_ms: 0,
            },
        )
        .unwrap();
    h.apply(ev);
}

fn assessment(level: RiskLevel, reasons: &[&str]) -> RiskAssessment {
    RiskAssessment {
        score_permille: match level {
            RiskLevel::Low => 100,
            RiskLevel::Review => 600,
            RiskLevel::High => 900,
        },
        level,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        source: "fixed test assessment".into(),
    }
}

fn card(amount: &str) -> CardTender<'_> {
    CardTender {
        amount,
        token: "tok",
        last4: "4242",
        brand: None,
    }
}

fn tender(
    h: &mut Harness,
    amount: &str,
    a: Option<RiskAssessment>,
    approver: Option<&User>,
) -> Result<(), SaleError> {
    let c = h.cashier.clone();
    let ev = h
        .engine()
        .tender_card_assessed(Some(&c), &card(amount), a, approver)?;
    h.apply(ev);
    Ok(())
}

fn complete(h: &mut Harness) -> Vec<EventBody> {
    let c = h.cashier.clone();
    let (ev, _) = h.engine().complete(Some(&c)).unwrap();
    h.apply(ev.clone());
    ev
}

fn flags(events: &[EventBody]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, EventBody::SaleFlagged { .. }))
        .count()
}

#[test]
fn low_changes_nothing_and_is_not_flagged() {
    let mut h = store();
    open_sale(&mut h);
    let e = tender(
        &mut h,
        "250.01",
        Some(assessment(RiskLevel::Low, &[])),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("per-transaction card limit of 250.00"), "{e}");
    assert!(!e.contains("risk"), "{e}");
    tender(
        &mut h,
        "250.00",
        Some(assessment(RiskLevel::Low, &[])),
        None,
    )
    .unwrap();
    tender(&mut h, "150.00", None, None).unwrap();
    let ev = complete(&mut h);
    assert_eq!(flags(&ev), 0);
    assert_eq!(h.state.cart_risk, None);
}

#[test]
fn review_halves_both_limits_and_flags_the_sale() {
    let mut h = store();
    open_sale(&mut h);
    let review = assessment(RiskLevel::Review, &["SWEETHEARTING"]);
    let e = tender(&mut h, "125.01", Some(review.clone()), None).unwrap_err();
    assert!(
        matches!(e, SaleError::OverRiskTransactionLimit { .. }),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("limit of 125.00") && e.contains("50%") && e.contains("SWEETHEARTING"),
        "{e}"
    );
    // The refused tender journaled nothing, not even the assessment.
    assert_eq!(h.state.cart_risk, None);
    tender(&mut h, "125.00", Some(review.clone()), None).unwrap();
    assert_eq!(
        h.state.cart_risk.as_ref().map(|r| &r.assessment),
        Some(&review)
    );
    // The same assessment again journals nothing new.
    let before = h.journal.len();
    tender(&mut h, "100.00", Some(review.clone()), None).unwrap();
    assert_eq!(h.journal.len(), before + 1);
    let c = h.cashier.clone();
    let ev = h.engine().tender_cash(Some(&c), "175.00").unwrap();
    h.apply(ev);
    let ev = complete(&mut h);
    assert_eq!(flags(&ev), 1);
    match ev
        .iter()
        .find(|e| matches!(e, EventBody::SaleFlagged { .. }))
    {
        Some(EventBody::SaleFlagged {
            receipt_no,
            cashier,
            assessment,
            approved_by,
        }) => {
            assert_eq!(receipt_no.0, 1);
            assert_eq!(cashier, &h.cashier.id);
            assert_eq!(assessment, &review);
            assert_eq!(approved_by, &None);
        }
        other => panic!("{other:?}"),
    }
    // The cart's assessment goes with the cart.
    assert_eq!(h.state.cart_risk, None);

    // The total offline limit is lowered too: 225.00 held, 500.00 allowed.
    let ev = h.engine().new_sale(Some(&c)).unwrap();
    h.apply(ev);
    let ev = h
        .engine()
        .add_item(
            Some(&c),
            AddRequest {
                key: "TV",
                qty: None,
                now_ms: 0,
            },
        )
        .unwrap();
    h.apply(ev);
    tender(&mut h, "125.00", Some(review.clone()), None).unwrap();
    tender(&mut h, "125.00", None, None).unwrap();
    let e = tender(&mut h, "50.01", None, None).unwrap_err();
    assert!(matches!(e, SaleError::OverRiskOfflineLimit { .. }), "{e}");
    assert!(e.to_string().contains("total offline card limit of 500.00"));
}

#[test]
fn high_needs_a_manager() {
    let mut h = store();
    open_sale(&mut h);
    let high = assessment(RiskLevel::High, &["REFUND_FRAUD", "DRAWER_SKIMMING"]);
    let journaled = h.journal.len();
    let e = tender(&mut h, "10.00", Some(high.clone()), None).unwrap_err();
    assert!(matches!(e, SaleError::ManagerApprovalNeeded { .. }), "{e}");
    assert!(
        e.to_string().contains("REFUND_FRAUD, DRAWER_SKIMMING"),
        "{e}"
    );
    let other_cashier = User {
        id: UserId("c2".into()),
        name: "C2".into(),
        role: Role::Cashier,
        pin: "2222".into(),
    };
    let e = tender(&mut h, "10.00", Some(high.clone()), Some(&other_cashier)).unwrap_err();
    assert!(matches!(e, SaleError::ApproverNotManager(_)), "{e}");
    assert_eq!(h.journal.len(), journaled);
    let m = h.manager.clone();
    // Approved: the lowered limits still apply.
    let e = tender(&mut h, "125.01", Some(high.clone()), Some(&m)).unwrap_err();
    assert!(
        matches!(e, SaleError::OverRiskTransactionLimit { .. }),
        "{e}"
    );
    tender(&mut h, "100.00", Some(high.clone()), Some(&m)).unwrap();
    let r = h.state.cart_risk.clone().unwrap();
    assert_eq!(r.approved_by, Some(m.id.clone()));
    // A fresh High assessment on the same cart keeps the approval.
    let mut again = high.clone();
    again.score_permille = 950;
    tender(&mut h, "100.00", Some(again), None).unwrap();
    let c = h.cashier.clone();
    let ev = h.engine().tender_cash(Some(&c), "200.00").unwrap();
    h.apply(ev);
    let ev = complete(&mut h);
    assert!(ev.iter().any(|e| matches!(
        e,
        EventBody::SaleFlagged { approved_by: Some(a), .. } if *a == m.id
    )));
}

#[test]
fn published_settings_change_the_policy() {
    let mut h = store();
    h.apply(vec![
        EventBody::SettingChanged {
            key: REVIEW_LIMIT_PERCENT_KEY.into(),
            value: "20".into(),
        },
        EventBody::SettingChanged {
            key: HIGH_NEEDS_MANAGER_KEY.into(),
            value: "false".into(),
        },
    ]);
    open_sale(&mut h);
    let high = assessment(RiskLevel::High, &["SWEETHEARTING"]);
    let e = tender(&mut h, "50.01", Some(high.clone()), None).unwrap_err();
    assert!(
        e.to_string().contains("limit of 50.00") && e.to_string().contains("20%"),
        "{e}"
    );
    tender(&mut h, "50.00", Some(high), None).unwrap();
}

#[test]
fn the_plain_card_tender_follows_the_carts_assessment() {
    let mut h = store();
    open_sale(&mut h);
    let c = h.cashier.clone();
    let ev = h
        .engine()
        .assess_cart(
            Some(&c),
            assessment(RiskLevel::High, &["SWEETHEARTING"]),
            None,
        )
        .unwrap();
    h.apply(ev);
    let e = h
        .engine()
        .tender_card(Some(&c), "10.00", "tok", "4242", None)
        .unwrap_err();
    assert!(matches!(e, SaleError::ManagerApprovalNeeded { .. }), "{e}");
    // A bad assessment is refused before anything is journaled.
    let mut bad = assessment(RiskLevel::Review, &["lower case"]);
    assert!(matches!(
        h.engine().assess_cart(Some(&c), bad.clone(), None),
        Err(SaleError::Risk(_))
    ));
    bad.reasons.clear();
    bad.score_permille = 1001;
    assert!(h.engine().assess_cart(Some(&c), bad, None).is_err());
    // Cancelling the sale drops the assessment.
    let ev = h.engine().cancel_sale(Some(&c)).unwrap();
    h.apply(ev);
    assert_eq!(h.state.cart_risk, None);
    assert_eq!(h.replayed(), h.state);
    assert_eq!(h.loaded(), h.state);
}

fn level() -> impl Strategy<Value = Option<RiskLevel>> {
    prop::sample::select(vec![
        None,
        Some(RiskLevel::Low),
        Some(RiskLevel::Review),
        Some(RiskLevel::High),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any sequence of assessed card tenders: accepted exactly when the
    /// policy allows it, flagged exactly at Review or above, and the journal's
    /// replay (and the derived tables) equal the live state.
    #[test]
    fn decisions_follow_the_policy_and_replay_equals_live(
        steps in prop::collection::vec((level(), 1i64..=300_00, any::<bool>()), 1..8),
        sales in 1usize..3,
    ) {
        let mut h = store();
        let c = h.cashier.clone();
        let m = h.manager.clone();
        let ev = h.engine().open_shift(Some(&c), "50.00").unwrap();
        h.apply(ev);
        for _ in 0..sales {
            let ev = h.engine().new_sale(Some(&c)).unwrap();
            h.apply(ev);
            let ev = h.engine().add_item(Some(&c), AddRequest { key: "TV", qty: None, now_ms: 0 }).unwrap();
            h.apply(ev);
            for (lvl, minor, approve) in &steps {
                let before = h.state.clone();
                let a = lvl.map(|l| assessment(l, &["SWEETHEARTING"]));
                let effective = a.clone().map(|x| x.level).or(before.cart_risk.as_ref().map(|r| r.assessment.level));
                let approved = *approve || before.cart_risk.as_ref().is_some_and(|r| r.approved_by.is_some() && effective <= Some(r.assessment.level));
                let amount = format!("{}.{:02}", minor / 100, minor % 100);
                let priced = h.engine().priced().unwrap();
                let held = h.state.counters.card_offline_minor + priced.card_paid.minor;
                let pct = if effective.unwrap_or(RiskLevel::Low) >= RiskLevel::Review { 50 } else { 100 };
                let expect_ok = *minor <= priced.remaining.minor
                    && *minor <= 250_00 * pct / 100
                    && held + minor <= 1_000_00 * pct / 100
                    && (effective != Some(RiskLevel::High) || approved);
                let r = tender(&mut h, &amount, a, if *approve { Some(&m) } else { None });
                prop_assert_eq!(r.is_ok(), expect_ok, "{:?} {} -> {:?}", effective, amount, r);
                if r.is_err() {
                    prop_assert_eq!(&h.state, &before);
                }
            }
            let level_at_end = h.state.cart_risk.as_ref().map(|r| r.assessment.level);
            let remaining = h.engine().priced().unwrap().remaining;
            if remaining.minor > 0 {
                let ev = h.engine().tender_cash(Some(&c), &remaining.amount_text()).unwrap();
                h.apply(ev);
            }
            let ev = complete(&mut h);
            let expected = usize::from(level_at_end.is_some_and(|l| l >= RiskLevel::Review));
            prop_assert_eq!(flags(&ev), expected);
        }
        prop_assert_eq!(&h.replayed(), &h.state);
        prop_assert_eq!(&h.loaded(), &h.state);
    }
}
