//! features::extract on hand-built journals, against hand-computed values,
//! and the rules score on the staged patterns (no TFLite needed).

mod support;

use keel_ai::features::extract;
use keel_ai::rules::rules_score;
use keel_ai::RiskLevel;
use support::journal::{shift, Journal, DAY0, HOUR};

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn sweethearting_shift_features_match_hand_computation() {
    let (j, now) = shift(true);
    let f = extract(&j.events, &j.cashier, now, 0).0;
    // First event in the window 1 min after its start: active hours 3 h 59 min.
    let active = (4.0 * 60.0 - 1.0) / 60.0;
    assert!(close(f[0], 60.0 / active / 10.0), "{f:?}");
    assert_eq!(f[1], 0.0);
    assert!(close(f[2], 20.0 / active / 4.0), "{f:?}");
    assert_eq!(f[3], 0.0);
    // 4.00 off each 12.00 basket.
    assert!(close(f[4], 400.0 / 1200.0), "{f:?}");
    // Usual basket: median of 20.00..29.50 = 24.75; every 8.00 basket is below half.
    assert_eq!(f[5], 1.0);
    // 18:00 UTC.
    assert!(close(f[6], -1.0) && close(f[7], 0.0), "{f:?}");
    assert_eq!(
        rules_score(&keel_ai::Features(f)).reasons,
        vec!["SWEETHEARTING".to_string()]
    );
}

#[test]
fn honest_shift_features_are_low() {
    let (j, now) = shift(false);
    let f = extract(&j.events, &j.cashier, now, 0).0;
    let active = (4.0 * 60.0 - 1.0) / 60.0;
    assert!(close(f[0], 4.0 / active / 10.0), "{f:?}");
    assert_eq!(f[5], 0.0);
    // 4 sales with 1.00 off of 24.00, 36 without.
    assert!(close(f[4], 400.0 / (40.0 * 2400.0)), "{f:?}");
    assert_eq!(rules_score(&keel_ai::Features(f)).level, RiskLevel::Low);
}

#[test]
fn refunds_without_receipt_no_sales_and_sale_voids() {
    let start = DAY0 + 20 * HOUR;
    let mut j = Journal::new("bob", start);
    let r = j.sale(start + 60_000, 1_000, 0);
    j.void_sale(start + 120_000, r); // whole-sale void of his sale: counts as a void
    j.refund(start + 180_000, r); // original found: not counted
    j.refund(start + 240_000, 999); // no such receipt: counted
    j.no_sale(start + 300_000);
    j.no_sale(start + 360_000);
    // Another cashier's events on another terminal do not count.
    let now = start + 2 * HOUR + 60_000;
    let f = extract(&j.events, &j.cashier, now, 90).0;
    let active = 2.0; // first event (the sale) 2 h before now
    assert!(close(f[0], 1.0 / active / 10.0), "{f:?}");
    assert!(close(f[1], 2.0 / active / 4.0), "{f:?}");
    assert!(close(f[3], 1.0 / active / 4.0), "{f:?}");
    // The voided sale is not one of the window's sales.
    assert_eq!(f[4], 0.0);
    // Local time 22:01 + 1:30 = 23:31.
    let h = 23.0 + 31.0 / 60.0;
    let a = 2.0 * std::f32::consts::PI * h / 24.0;
    assert!(close(f[6], a.sin()) && close(f[7], a.cos()), "{f:?}");
    // Someone else has no features at all; active hours floor at 0.25.
    let other = extract(&j.events, &keel_core::ids::UserId("carol".into()), now, 0).0;
    assert_eq!(&other[..6], &[0.0; 6]);
    // Events older than 4 h or after now are outside the window.
    let later = extract(&j.events, &j.cashier, start + 5 * HOUR, 0).0;
    assert_eq!(&later[..4], &[0.0; 4]);
}

#[test]
fn rates_are_clipped_at_four() {
    let start = DAY0 + 9 * HOUR;
    let mut j = Journal::new("eve", start);
    for i in 0..30 {
        j.no_sale(start + i * 1000);
    }
    // 30 opens within 29 s: active hours floor at 0.25 -> 120/h / 4 = 30 -> clipped to 4.
    let f = extract(&j.events, &j.cashier, start + 60_000, 0).0;
    assert_eq!(f[1], 4.0);
}
