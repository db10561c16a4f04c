"""Benchmarks on the run's own axes: what the same money would have made passively.

Each benchmark is a growth index ``G`` on the run's clock steps (``G_0 = 1`` at the first step) in
the run's share class. The benchmark equity receives the run's own deposits and withdrawals::

    B_i = G_i * (C + sum_{j<=i} f_j / G_j)        C = initial capital, f_j = net deposit at step j

USDT share class:

* ``AAVE v3 USDT supply``: ``liquidityIndex`` of the USDT reserve, geometric between the daily
  snapshots (``data.aave_index``): a supply earns exactly the index ratio (AAVE v3 docs, aTokens).
* ``Ethena sUSDe``: the daily APY of the DefiLlama export (``benchmarks/ethena_susde_apr_daily``),
  compounded over the hours of each day: ``G`` grows by ``(1 + apy_d) ** (1 / 8760)`` per hour of
  day ``d``. A missing day takes the previous day's APY; the report lists such days.
* ``Hold BTC`` / ``Hold ETH``: Binance BTC/USDT and Bybit ETH/USDT spot close.

ETH share class: ``Hold ETH`` (flat), ``AAVE v3 WETH supply`` (WETH liquidityIndex) and ``Hold BTC``
(BTC/USDT over ETH/USDT).

The holds (``HIDDEN_BY_DEFAULT``) are directional and dwarf a market-neutral curve: reports list them
in the legend and draw them on a click, in both share classes.

A benchmark whose data does not cover the run's first step is left out; one whose data ends before
the run ends stops there. Both are reported in ``notes`` -- nothing is extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from basiskit.data.errors import DataError
from basiskit.results.benchmark_growth import aave_growth as _aave_growth
from basiskit.results.benchmark_growth import close as _close
from basiskit.results.benchmark_growth import susde_growth as _susde_growth

HIDDEN_BY_DEFAULT = frozenset({"Hold BTC", "Hold ETH"})

@dataclass
class Benchmarks:
    curves: dict[str, pd.Series] = field(default_factory=dict)  # name -> equity in share-class units
    notes: list[str] = field(default_factory=list)


def with_flows(growth: np.ndarray, net_deposits: np.ndarray, capital: float) -> np.ndarray:
    """Benchmark equity from a growth index and the run's cumulative net deposits (module formula)."""
    out = np.diff(np.concatenate(([0.0], net_deposits)))  # the flows, then in place (one array, same floats):
    out /= growth
    np.cumsum(out, out=out)
    out += capital
    out *= growth  # growth * (capital + cumsum(flows / growth))
    return out


def _normalise(name: str, raw: np.ndarray, times: pd.DatetimeIndex, notes: list[str]) -> np.ndarray | None:
    if not np.isfinite(raw[0]) or raw[0] <= 0:
        notes.append(f"{name}: the data does not cover the run's start {times[0]:%Y-%m-%d %H:%M}; left out")
        return None
    ok = np.isfinite(raw)
    last = len(raw) - 1 - int(np.argmax(ok[::-1]))
    if last < len(raw) - 1:
        notes.append(f"{name}: the data ends before the run does; drawn up to {times[last]:%Y-%m-%d %H:%M}")
    gaps = int((~ok[:last]).sum())
    if gaps:
        notes.append(f"{name}: {gaps} clock step(s) without data inside the run are left blank")
    return raw / raw[0]


def benchmark_curves(catalog, times: pd.DatetimeIndex, net_deposits: np.ndarray, capital: float,
                     unit: str) -> Benchmarks:
    """Benchmarks for a run with clock ``times`` (UTC), ``net_deposits`` (cumulative, share-class
    units, shape like ``times``) and ``capital`` in share-class ``unit`` (``USDT`` or ``ETH``).
    A dataset that is not in the catalog is reported in ``notes`` and skipped."""
    at = pd.DatetimeIndex(times).as_unit("ns").asi8
    out = Benchmarks()
    dep = np.asarray(net_deposits, dtype=float)
    later: list[str] = []  # notes on the curves, listed after those on the data

    def add(name: str, fn) -> None:  # each curve made before the next one's data is read: one at a time in memory
        try:
            raw = fn()
        except DataError as exc:
            out.notes.append(f"{name}: not available ({exc})")
            return
        g = _normalise(name, raw, times, later)
        del raw
        if g is not None:
            ok = np.isfinite(g)
            if ok.all():
                eq = with_flows(g, dep, capital)
            else:
                eq = np.full(len(g), np.nan)
                eq[ok] = with_flows(g[ok], dep[ok], capital)
            out.curves[name] = pd.Series(eq, index=times, copy=False)

    if unit == "ETH":
        add("Hold ETH", lambda: np.ones(len(at)))
        add("AAVE v3 WETH supply", lambda: _aave_growth(catalog, "WETH", at))
        add("Hold BTC", lambda: _close(catalog, "spot.binance.BTCUSDT", at) / _close(catalog, "spot.bybit.ETHUSDT", at))
    else:
        add("AAVE v3 USDT supply", lambda: _aave_growth(catalog, "USDT", at))
        add("Ethena sUSDe", lambda: _susde_growth(catalog, at, out.notes))
        add("Hold BTC", lambda: _close(catalog, "spot.binance.BTCUSDT", at))
        add("Hold ETH", lambda: _close(catalog, "spot.bybit.ETHUSDT", at))
    out.notes.extend(later)
    return out
