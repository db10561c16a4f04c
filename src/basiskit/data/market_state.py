"""The market as the kernel sees it at its current time: latest values, nothing from the future.

A ``MarketState`` is what venues, the risk monitor and strategies read. The feed that drives the run
(historical replay or a live stream) writes into it in place, step by step; readers get:

* ``px[key]``: the latest value of a series at ``t`` -- a price (the open of the bar that opened at
  or before ``t``: the price the market traded at then), an exchange rate, an AAVE index, a gas
  price -- float, NaN where an optional series has no value;
* ``hi[key]`` / ``lo[key]``: the highest high / lowest low of the bars of that series that *closed*
  since the previous step (NaN when none did): what a venue checks intrabar without looking ahead;
* ``stale[key]``: the bar behind ``px[key]`` did not trade (a data gap valued from a reference venue;
  ``data.gap_reference``): an order there is not filled;
* ``t`` (ns since the epoch, UTC), ``t_prev`` (the previous clock time) and ``step`` (index of the
  clock time in the run);
* ``window(key, n)``: the last ``n`` values of a series up to now (history for strategies);
* ``funding_next(key)``: the next scheduled funding settlement time of a perp, if known.

Keys are the market series keys of the run (``perp.binance.BTCUSDT``, ``lst.weETH.eth``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable


class MarketState:
    __slots__ = ("px", "hi", "lo", "stale", "t", "t_prev", "step", "_window", "_funding_next", "_funding_past")

    def __init__(self) -> None:
        self.px: dict[str, float] = {}
        self.hi: dict[str, float] = {}
        self.lo: dict[str, float] = {}
        self.stale: dict[str, bool] = {}
        self.t = 0
        self.t_prev = 0
        self.step = -1
        self._window: Callable[[str, int], list[float]] | None = None
        self._funding_next: Callable[[str], int | None] | None = None
        self._funding_past: Callable[[str, int], list[tuple[int, float]]] | None = None

    def price(self, key: str) -> float:
        """Latest value of ``key`` (KeyError for a series the run does not have)."""
        return self.px[key]

    def has(self, key: str) -> bool:
        """Whether ``key`` has a value now (not NaN)."""
        v = self.px.get(key)
        return v is not None and not math.isnan(v)

    def window(self, key: str, n: int) -> list[float]:
        """The last ``n`` values of ``key`` up to and including now (fewer at the start of the run)."""
        if self._window is None:
            raise ValueError("this market state keeps no history")
        return self._window(key, n)

    def funding_past(self, key: str, n: int) -> list[tuple[int, float]]:
        """The last ``n`` settlements ``(time ns, rate per period)`` of the perp funding series ``key`` at or
        before now, oldest first ([] when the state keeps no funding history or none has settled)."""
        return self._funding_past(key, n) if self._funding_past is not None else []

    def funding_next(self, key: str) -> int | None:
        """The next funding settlement time (ns) of the perp funding series ``key``, None if unknown."""
        return self._funding_next(key) if self._funding_next is not None else None
