"""The eight loss-prevention features, computed from a cashier's journal events at ``now``.

This module owns the reference definition of the model's input (the Rust terminal computes
the same from its journal): a sliding window of the last 4 hours of the cashier's activity
ending at ``now``. It is a pure function of (events, now); it must not generate events or
know about fraud labels (see lp_simulation.py).

Features (float32, in this order):
  0 voids_per_hour / 10            line voids + whole-sale voids of the cashier's sales
  1 no_sale_opens_per_hour / 4     drawer opens with reason NoSale
  2 price_overrides_per_hour / 4   price-override lines on the cashier's carts
  3 refunds_without_receipt_per_hour / 4
  4 discount_depth                 sum(discount) / sum(subtotal + discount) of the window's sales
  5 under_basket_share             share of the window's sales whose amount due is below half the
                                   cashier's usual basket (median amount due of the sales before
                                   the window; 0 if fewer than 5 such sales)
  6 hour_sin, 7 hour_cos           of the local hour of ``now`` (a fraction, e.g. 21.5)
Per hour = count / active hours, active hours = clamp((now - first event in window) / 3600,
0.25, 4). Features 0..5 are clipped to [0, 4]. The window is (now - 4 h, now]. A sale counts in
the window's sales (features 4 and 5) and in the usual basket unless it was voided by ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Window length in seconds (4 hours).
WINDOW_S = 4 * 3600
#: Names of the features, in input order.
FEATURE_NAMES = [
    "voids_per_hour",
    "no_sale_opens_per_hour",
    "price_overrides_per_hour",
    "refunds_without_receipt_per_hour",
    "discount_depth",
    "under_basket_share",
    "hour_sin",
    "hour_cos",
]


@dataclass
class Sale:
    """A completed sale: time (s, local), amounts in minor units, tender, and when it was voided."""

    t: int
    subtotal: int  # after discounts
    discount: int
    amount_due: int
    cash: bool
    voided_at: int | None = None


@dataclass
class Event:
    """Any other journal event of the cashier: 'line_void', 'override', 'no_sale', 'refund'.

    ``with_receipt`` is only meaningful for refunds: whether the original receipt is a sale the
    journal holds.
    """

    t: int
    kind: str
    with_receipt: bool = True


def compute_features(sales: list[Sale], events: list[Event], now: int) -> np.ndarray:
    """The float32 [8] feature vector of the cashier at ``now`` (seconds, local time)."""
    start = now - WINDOW_S

    def in_window(t: int) -> bool:
        return start < t <= now

    times = [e.t for e in events if in_window(e.t)]
    times += [s.t for s in sales if in_window(s.t)]
    times += [s.voided_at for s in sales if s.voided_at is not None and in_window(s.voided_at)]
    first = min(times) if times else now
    active_h = min(max((now - first) / 3600.0, 0.25), 4.0)

    def count(kind: str) -> int:
        return sum(1 for e in events if e.kind == kind and in_window(e.t))

    sale_voids = sum(1 for s in sales if s.voided_at is not None and in_window(s.voided_at))
    voids = count("line_void") + sale_voids
    no_sale = count("no_sale")
    overrides = count("override")
    refunds_no_receipt = sum(1 for e in events if e.kind == "refund" and not e.with_receipt and in_window(e.t))

    def live(s: Sale) -> bool:
        return s.voided_at is None or s.voided_at > now

    window_sales = [s for s in sales if in_window(s.t) and live(s)]
    gross = sum(s.subtotal + s.discount for s in window_sales)
    depth = sum(s.discount for s in window_sales) / gross if gross > 0 else 0.0
    before = [s.amount_due for s in sales if s.t <= start and live(s)]
    if len(before) >= 5 and window_sales:
        usual = float(np.median(before))
        under = sum(1 for s in window_sales if s.amount_due < usual / 2) / len(window_sales)
    else:
        under = 0.0
    hour = (now % 86400) / 3600.0
    raw = [
        voids / active_h / 10.0,
        no_sale / active_h / 4.0,
        overrides / active_h / 4.0,
        refunds_no_receipt / active_h / 4.0,
        depth,
        under,
    ]
    clipped = [min(max(v, 0.0), 4.0) for v in raw]
    angle = 2.0 * math.pi * hour / 24.0
    return np.array(clipped + [math.sin(angle), math.cos(angle)], dtype=np.float32)
