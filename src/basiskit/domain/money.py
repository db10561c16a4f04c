"""Comparing amounts of money with a stated tolerance.

Amounts are floats in token units. An amount a strategy computed from balances (e.g. "spend all the
USDT on this account") can exceed the balance by a few ulps after fees and slippage are applied in a
different order: a venue must not reject "need 65.57, have 65.57". The rule every venue applies:

* a request that exceeds what is available by at most ``AMOUNT_RTOL`` (relative to the available
  amount) plus ``AMOUNT_ATOL`` (token units) is *within tolerance*: it is filled for what is
  available (the difference is at most 1e-6 of the amount, below any venue's step size);
* anything larger is rejected, naming both amounts with enough digits to see the difference.
"""

from __future__ import annotations

AMOUNT_RTOL = 1e-6
"""Relative tolerance between a requested amount and an available balance (1 ppm: below the lot
size of every instrument traded here, e.g. 0.00001 BTC on 0.2 BTC orders is 50 ppm)."""

AMOUNT_ATOL = 1e-9
"""Absolute tolerance in token units (dust left by float rounding on a zero balance)."""


def within(need: float, have: float) -> bool:
    """Whether ``need`` does not exceed ``have`` by more than the stated tolerance."""
    return need <= have + abs(have) * AMOUNT_RTOL + AMOUNT_ATOL


def fmt_amounts(need: float, have: float) -> str:
    """``need X, have Y`` with enough significant digits that the two differ when they do."""
    return f"need {need:.10g}, have {have:.10g}"
