"""Lot sizes: the amount grid and the minimum order a venue accepts for one instrument.

A venue accepts an order of ``amount`` (base units) at price ``p`` (quote units per base unit) only
when ``amount`` is a whole number of ``step`` s, ``amount >= min_amount`` and ``amount x p >=
min_notional`` (quote units, USDT). These are the venues' published filters (Binance ``LOT_SIZE`` /
``MIN_NOTIONAL``, Bybit ``lotSizeFilter``; ccxt's ``precision.amount``, ``limits.amount.min``,
``limits.cost.min``); the numbers live in the venue configs (``configs/venues/<venue>.yaml``,
``lot_sizes``) with their sources, or come from ccxt's markets in a live session.

Rules (a desk's): an amount is rounded toward zero to the step (never more than asked: never
over-hedge, never more than the balance); an order whose rounded amount is below the minimum amount or
notional is not sent (``problem`` says why). Rounding is decimal (``decimal.Decimal`` of the float's
shortest repr), so the result is the float nearest a whole number of steps and ccxt's own truncation
(``amount_to_precision``, string based) leaves it unchanged. An amount within ``GRID_TOL`` of a step
of the next grid point counts as on it (float noise of a difference of two on-grid amounts is not a
lost lot).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

GRID_TOL = Decimal("1e-9")
"""Fraction of a step below a grid point that still counts as the grid point (float noise, e.g.
0.007 - 0.003 = 0.0039999999999999992)."""


def floor_to_step(amount: float, step: float) -> float:
    """``amount`` (>= 0, base units) rounded toward zero to a whole number of ``step`` s (> 0); an amount
    within ``GRID_TOL`` steps below a grid point rounds to it. Example: (0.8337, 0.001) -> 0.833;
    (0.0039999999999999992, 0.001) -> 0.004. Raises ValueError for a step <= 0 or a negative amount."""
    if not step > 0:
        raise ValueError(f"lot step must be > 0, got {step!r}")
    if amount < 0:
        raise ValueError(f"amount to round must be >= 0, got {amount!r}")
    s = Decimal(repr(float(step)))
    k = (Decimal(repr(float(amount))) / s + GRID_TOL).to_integral_value(ROUND_FLOOR)
    return float(k * s)


@dataclass(frozen=True, slots=True)
class LotSize:
    """One instrument's lot size. ``step``: the amount step (base units, > 0); ``min_amount``: the
    smallest amount accepted (base units); ``min_notional``: the smallest amount x price accepted
    (quote units)."""

    step: float
    min_amount: float = 0.0
    min_notional: float = 0.0

    def floor(self, amount: float) -> float:
        """``amount`` rounded toward zero to the step (``floor_to_step``)."""
        return floor_to_step(amount, self.step)

    def minimum(self, price: float) -> float:
        """The smallest amount (base units) the venue accepts at ``price``, on the grid: max(min_amount,
        min_notional / price) rounded *up* to the step."""
        need = max(self.min_amount, self.min_notional / price if price > 0 else 0.0)
        low = floor_to_step(need, self.step)
        return low if low >= need * (1 - 1e-12) else floor_to_step(need + self.step, self.step)

    def problem(self, amount: float, price: float) -> str | None:
        """Why the venue would refuse ``amount`` (already on the grid) at ``price``, or None."""
        if amount <= 0:
            return f"amount {amount:.10g} rounds to nothing at the lot step {self.step:.10g}"
        if amount < self.min_amount * (1 - 1e-12):
            return f"amount {amount:.10g} below the minimum amount {self.min_amount:.10g}"
        if price > 0 and amount * price < self.min_notional * (1 - 1e-12):
            return (f"notional {amount * price:.10g} (amount {amount:.10g} x price {price:.10g}) below the minimum "
                    f"notional {self.min_notional:.10g}")
        return None
