"""Apply a ``Shock`` (``config.modes``) to a built ``MarketFrame`` in place; see ``Shock`` for the
rules. The run's summary records the shock so a shocked result is never mistaken for history."""

from __future__ import annotations

import math

import numpy as np

from basiskit.config.modes import Shock
from basiskit.data.market import MarketFrame
from basiskit.domain.time import to_ns
from basiskit.venues.sim.dex import pool_key
from basiskit.venues.sim.onchain_prices import ETH_USD_KEY

ETH_PRICE_KEYS = (ETH_USD_KEY, "eth.usdt", pool_key("WETHUSDT"))


def _is_eth_price(key: str) -> bool:
    return key in ETH_PRICE_KEYS or (key.startswith(("perp.", "spot.")) and key.endswith(".ETHUSDT"))


def apply_shock(frame: MarketFrame, shock: Shock) -> list[str]:
    """Returns the series keys changed (empty when the shock touches nothing in this run)."""
    grid = frame.grid
    t0 = to_ns(shock.at)
    k = int(np.searchsorted(grid, t0, side="left"))
    changed = []
    if shock.kind == "eth_price":
        f = 1.0 + shock.change
        for key, series in frame.series.items():
            if _is_eth_price(key):
                for j in range(k, len(series)):
                    series[j] *= f
                changed.append(key)
        for key, (times, rates, marks) in frame.funding.items():
            if key.endswith(".ETHUSDT"):
                for j, ft in enumerate(times):
                    if ft >= t0:
                        marks[j] *= f
                changed.append(key)
    else:
        key = f"aave.{shock.token}.variable_borrow_index"
        if key in frame.series:
            s = frame.series[key]
            t1 = t0 + int(shock.hours * 3600 * 10**9)
            out = s[:]  # a copy of the same type (list or array('d'))
            for j in range(k + 1, len(s)):
                step = math.log(s[j] / s[j - 1])
                if grid[j] <= t1:
                    step *= shock.multiplier
                out[j] = out[j - 1] * math.exp(step)
            s[:] = out
            changed.append(key)
    return changed
