//! The eight loss-prevention features of one cashier at `now`, computed from
//! journal events over the sliding window (now - 4 h, now], exactly as
//! tools/models/lp_features.py defines them for training (see docs/ai.md).
//! Pure function of (events, cashier, now, UTC offset); it must not read the
//! store or run models.

use keel_core::cart::CartEdit;
use keel_core::event::{DrawerReason, Event, EventBody};
use keel_core::ids::UserId;
use std::collections::{HashMap, HashSet};

/// Window length in milliseconds (4 hours).
pub const WINDOW_MS: u64 = 4 * 3600 * 1000;

/// Feature names in input order.
pub const NAMES: [&str; 8] = [
    "voids_per_hour",
    "no_sale_opens_per_hour",
    "price_overrides_per_hour",
    "refunds_without_receipt_per_hour",
    "discount_depth",
    "under_basket_share",
    "hour_sin",
    "hour_cos",
];

/// The model input: `[voids/h / 10, no-sale opens/h / 4, overrides/h / 4,
/// refunds without receipt/h / 4, discount depth, under-basket share,
/// hour_sin, hour_cos]`, the first six clipped to [0, 4].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features(pub [f32; 8]);

/// A completed sale of the cashier, as the features need it.
struct SaleFacts {
    at: u64,
    subtotal: i64,
    discount: i64,
    due: i64,
    voided_at: Option<u64>,
}

/// Computes the cashier's features at `now_ms` (Unix ms) from `events` (any
/// order of terminals; each terminal's events in journal order), with local
/// time at `utc_offset_minutes` from UTC.
pub fn extract(
    events: &[Event],
    cashier: &UserId,
    now_ms: u64,
    utc_offset_minutes: i32,
) -> Features {
    let start = now_ms.saturating_sub(WINDOW_MS);
    let in_window = |t: u64| t > start && t <= now_ms;

    // Pass 1: every sale (for receipts and the cashier's baskets) and who opened each shift.
    let mut all_sales: HashSet<(u32, u64)> = HashSet::new();
    let mut mine: HashMap<(u32, u64), SaleFacts> = HashMap::new();
    let mut shift_owner: HashMap<(u32, u64), &UserId> = HashMap::new();
    for e in events {
        let term = e.dot.terminal.0;
        match &e.body {
            EventBody::SaleCompleted(s) => {
                all_sales.insert((term, s.receipt_no.0));
                if &s.cashier == cashier {
                    mine.insert(
                        (term, s.receipt_no.0),
                        SaleFacts {
                            at: e.hlc.wall_ms,
                            subtotal: s.subtotal.minor,
                            discount: s.discount_total.minor,
                            due: s.amount_due().minor,
                            voided_at: None,
                        },
                    );
                }
            }
            EventBody::ShiftOpened { shift_no, by, .. } => {
                shift_owner.insert((term, *shift_no), by);
            }
            _ => {}
        }
    }

    // Pass 2: voids, drawer opens, cart edits and refunds.
    let mut times: Vec<u64> = Vec::new();
    let (mut voids, mut no_sales, mut overrides, mut refunds_no_receipt) = (0u32, 0u32, 0u32, 0u32);
    let mut cart_owner: HashMap<u32, &UserId> = HashMap::new();
    for e in events {
        let term = e.dot.terminal.0;
        let t = e.hlc.wall_ms;
        match &e.body {
            EventBody::SaleVoided(v) => {
                if let Some(s) = mine.get_mut(&(term, v.receipt_no.0)) {
                    s.voided_at = Some(t);
                    if in_window(t) {
                        voids += 1;
                        times.push(t);
                    }
                }
            }
            EventBody::DrawerOpened {
                by,
                reason: DrawerReason::NoSale,
            } if by == cashier && in_window(t) => {
                no_sales += 1;
                times.push(t);
            }
            EventBody::CartEdited { by, edit } => match edit {
                CartEdit::Open => {
                    cart_owner.insert(term, by);
                }
                CartEdit::VoidLine { .. } if by == cashier && in_window(t) => {
                    voids += 1;
                    times.push(t);
                }
                CartEdit::Override { .. } => {
                    let owner = cart_owner.get(&term).copied().unwrap_or(by);
                    if owner == cashier && in_window(t) {
                        overrides += 1;
                        times.push(t);
                    }
                }
                _ => {}
            },
            EventBody::RefundIssued(r) => {
                let on_my_shift = match shift_owner.get(&(term, r.shift_no)) {
                    Some(owner) => *owner == cashier,
                    None => &r.by == cashier,
                };
                if on_my_shift && in_window(t) {
                    times.push(t);
                    if !all_sales.contains(&(term, r.original.0)) {
                        refunds_no_receipt += 1;
                    }
                }
            }
            _ => {}
        }
    }

    let live = |s: &SaleFacts| s.voided_at.is_none_or(|v| v > now_ms);
    let window_sales: Vec<&SaleFacts> = mine
        .values()
        .filter(|s| in_window(s.at) && live(s))
        .collect();
    times.extend(mine.values().filter(|s| in_window(s.at)).map(|s| s.at));
    let first = times.iter().copied().min().unwrap_or(now_ms);
    let active_h = ((now_ms - first) as f64 / 3_600_000.0).clamp(0.25, 4.0);

    let gross: i64 = window_sales.iter().map(|s| s.subtotal + s.discount).sum();
    let depth = if gross > 0 {
        window_sales.iter().map(|s| s.discount).sum::<i64>() as f64 / gross as f64
    } else {
        0.0
    };
    let mut before: Vec<i64> = mine
        .values()
        .filter(|s| s.at <= start && live(s))
        .map(|s| s.due)
        .collect();
    let under = if before.len() >= 5 && !window_sales.is_empty() {
        before.sort_unstable();
        let n = before.len();
        // due < median / 2, in integers: 2*due < median, median = (a + b) / 2 for even n.
        let (twice_median, scale) = if n % 2 == 1 {
            (i128::from(before[n / 2]) * 2, 4)
        } else {
            (i128::from(before[n / 2 - 1]) + i128::from(before[n / 2]), 4)
        };
        let below = window_sales
            .iter()
            .filter(|s| i128::from(s.due) * scale < twice_median)
            .count();
        below as f64 / window_sales.len() as f64
    } else {
        0.0
    };

    let local_ms = now_ms as i64 + i64::from(utc_offset_minutes) * 60_000;
    let hour = local_ms.rem_euclid(86_400_000) as f64 / 3_600_000.0;
    let angle = 2.0 * std::f64::consts::PI * hour / 24.0;
    let raw = [
        f64::from(voids) / active_h / 10.0,
        f64::from(no_sales) / active_h / 4.0,
        f64::from(overrides) / active_h / 4.0,
        f64::from(refunds_no_receipt) / active_h / 4.0,
        depth,
        under,
    ];
    let mut out = [0f32; 8];
    for (o, r) in out.iter_mut().zip(raw) {
        *o = r.clamp(0.0, 4.0) as f32;
    }
    out[6] = angle.sin() as f32;
    out[7] = angle.cos() as f32;
    Features(out)
}
