"""Synthetic cashier shift histories with injected fraud patterns, for loss-prevention training.

This module owns the generative story: honest behaviour (sales at a busy or quiet pace, a few
line voids an hour, occasional no-sale opens, overrides, discounts and refunds, some without a
receipt) and three injected patterns:

* sweethearting: many line voids, sales rung up far below the basket, deep discounts and
  price overrides (a random subset of at least two of those signs);
* refund fraud: refunds without a receipt, more often late at night or early in the morning;
* drawer skimming: no-sale drawer opens and whole-sale voids of cash sales.

A shift may carry none, one or two patterns, at full or borderline intensity. Labels are the
patterns injected into the shift. It must not compute features (lp_features.py does that).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lp_features import Event, Sale

#: Reason codes in model output order.
REASONS = ["SWEETHEARTING", "REFUND_FRAUD", "DRAWER_SKIMMING"]


@dataclass
class Shift:
    """One cashier's shift plus the sales of their earlier shifts (for the usual basket)."""

    start: int
    end: int
    sales: list[Sale] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    labels: list[int] = field(default_factory=lambda: [0, 0, 0])
    borderline: bool = False


def _poisson_times(rng: random.Random, start: float, end: float, per_hour: float) -> list[int]:
    """Event times of a Poisson process with ``per_hour`` rate on [start, end)."""
    times, t = [], start
    if per_hour <= 0:
        return times
    while True:
        t += rng.expovariate(per_hour / 3600.0)
        if t >= end:
            return times
        times.append(int(t))


def _basket(rng: random.Random, median: float) -> int:
    return max(50, int(rng.lognormvariate(0.0, 0.7) * median))


def _make_sale(rng: random.Random, t: int, median: float, discount_rate: float, depth: tuple[float, float]) -> Sale:
    gross = _basket(rng, median)
    discount = int(gross * rng.uniform(*depth)) if rng.random() < discount_rate else 0
    due = gross - discount
    return Sale(t=t, subtotal=due, discount=discount, amount_due=due, cash=rng.random() < 0.45)


def simulate_shift(rng: random.Random, kind: str) -> Shift:
    """Generate one shift; ``kind`` is 'honest', a reason code, 'mixed' or 'borderline'."""
    patterns: set[str] = set()
    borderline = False
    if kind in REASONS:
        patterns = {kind}
    elif kind == "mixed":
        patterns = set(rng.sample(REASONS, 2))
    elif kind == "borderline":
        patterns = {rng.choice(REASONS)}
        borderline = True
    intensity = rng.uniform(0.25, 0.55) if borderline else rng.uniform(0.7, 1.4)

    # When: day shifts mostly; refund fraud leans to late evening or early morning.
    if "REFUND_FRAUD" in patterns and rng.random() < 0.6:
        start_hour = rng.choice([rng.uniform(17.0, 21.0), rng.uniform(4.0, 6.5)])
    else:
        start_hour = rng.choice([rng.uniform(5.5, 15.0), rng.uniform(5.5, 15.0), rng.uniform(14.0, 21.0)])
    day = rng.randint(1, 300) * 86400
    start = day + int(start_hour * 3600)
    length_h = rng.uniform(2.0, 9.0)
    end = start + int(length_h * 3600)
    shift = Shift(start=start, end=end, borderline=borderline)

    median = rng.uniform(800, 3500)  # the store's usual basket, minor units
    sales_rate = rng.uniform(6, 45)
    busy = sales_rate / 25.0
    # Earlier shifts: the cashier's usual basket (sometimes a new cashier with almost none).
    previous = 0 if rng.random() < 0.1 else rng.randint(0, 400)
    for k in range(previous):
        t = start - rng.randint(3600 * 5, 3600 * 24 * 14)
        shift.sales.append(_make_sale(rng, t, median, 0.08, (0.05, 0.2)))

    honest_discount_rate = rng.uniform(0.0, 0.15)
    for t in _poisson_times(rng, start, end, sales_rate):
        shift.sales.append(_make_sale(rng, t, median, honest_discount_rate, (0.05, 0.25)))

    def add(kind_: str, rate: float, with_receipt: bool = True) -> None:
        for t in _poisson_times(rng, start, end, rate):
            shift.events.append(Event(t=t, kind=kind_, with_receipt=with_receipt))

    # Honest background: an honest busy cashier voids a few lines an hour.
    add("line_void", rng.uniform(0.2, 3.5) * busy)
    add("no_sale", rng.uniform(0.0, 0.6))
    add("override", rng.uniform(0.0, 0.8) * busy)
    refund_rate = rng.uniform(0.0, 0.8)
    add("refund", refund_rate * 0.75, with_receipt=True)
    add("refund", refund_rate * 0.25, with_receipt=False)
    honest_sale_void_rate = rng.uniform(0.0, 0.3)

    if "SWEETHEARTING" in patterns:
        signs = rng.sample(["voids", "under", "discount"], rng.choice([2, 2, 3]))
        if "voids" in signs:
            add("line_void", rng.uniform(4.0, 12.0) * intensity)
        if "under" in signs:
            share = min(0.9, rng.uniform(0.25, 0.6) * intensity)
            for s in shift.sales:
                if s.t >= start and rng.random() < share:
                    s.amount_due = max(20, int(s.amount_due * rng.uniform(0.05, 0.35)))
                    s.subtotal = s.amount_due
        if "discount" in signs:
            add("override", rng.uniform(1.5, 6.0) * intensity)
            share = min(0.9, rng.uniform(0.15, 0.5) * intensity)
            for s in shift.sales:
                if s.t >= start and rng.random() < share:
                    gross = s.subtotal + s.discount
                    s.discount = int(gross * rng.uniform(0.3, 0.8))
                    s.subtotal = gross - s.discount
                    s.amount_due = s.subtotal
    if "REFUND_FRAUD" in patterns:
        add("refund", rng.uniform(1.0, 5.0) * intensity, with_receipt=False)
    skim_void_rate = 0.0
    if "DRAWER_SKIMMING" in patterns:
        add("no_sale", rng.uniform(1.5, 6.0) * intensity)
        skim_void_rate = rng.uniform(0.8, 4.0) * intensity

    # Whole-sale voids: honest ones of any sale; skimming ones of cash sales.
    for s in shift.sales:
        if s.t < start:
            continue
        rate = honest_sale_void_rate + (skim_void_rate if s.cash else 0.0)
        if rate > 0 and rng.random() < rate / sales_rate:
            s.voided_at = min(end, s.t + rng.randint(5, 600))

    shift.labels = [int(r in patterns) for r in REASONS]
    return shift


#: How often each kind of shift is drawn.
SHIFT_MIX = [("honest", 0.46), ("SWEETHEARTING", 0.11), ("REFUND_FRAUD", 0.11), ("DRAWER_SKIMMING", 0.11), ("mixed", 0.09), ("borderline", 0.12)]


def draw_kind(rng: random.Random) -> str:
    """Pick a shift kind by SHIFT_MIX."""
    x = rng.random()
    for kind, p in SHIFT_MIX:
        if x < p:
            return kind
        x -= p
    return "honest"


def sample_nows(rng: random.Random, shift: Shift, count: int) -> list[int]:
    """Times in the shift at which to score the cashier (at least 20 minutes in)."""
    first = shift.start + 1200
    if first >= shift.end:
        return [shift.end]
    return sorted(rng.randint(first, shift.end) for _ in range(count))
