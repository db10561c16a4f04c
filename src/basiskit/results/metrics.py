"""Performance metrics from an equity series with external flows.

* Returns are time-weighted: the step return is ``(E_i - F_i) / E_{i-1} - 1`` where ``F_i`` is the
  net deposit made at step i, so deposits and withdrawals do not count as performance (GIPS TWR).
* ``total_return``: compounded TWR over the run. ``apr``: total_return x (year / duration), simple
  annualisation. ``apy``: (1 + total_return) ** (year / duration) - 1. Year = 365 days.
* ``sharpe`` / ``sortino``: from daily TWR returns (last point of each UTC day), annualised with
  sqrt(365), risk-free rate 0; sortino uses the downside deviation (returns below 0).
* ``max_drawdown``: largest peak-to-trough fall of the TWR index, as a negative fraction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from basiskit.engine.clock import SECONDS_PER_YEAR


def twr_index(equity: np.ndarray, net_deposits: np.ndarray, initial_equity: float) -> np.ndarray:
    """Cumulative TWR index (starts at 1 before step 0), shape like ``equity``."""
    prev = np.concatenate(([initial_equity], equity[:-1]))
    flows = np.diff(np.concatenate(([0.0], net_deposits)))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(prev > 0, (equity - flows) / prev - 1.0, 0.0)
    return np.cumprod(1.0 + r)


def compute_metrics(times_ns: np.ndarray, equity: np.ndarray, net_deposits: np.ndarray, initial_equity: float) -> dict:
    idx = twr_index(equity, net_deposits, initial_equity)
    total = float(idx[-1] - 1.0)
    duration_s = (int(times_ns[-1]) - int(times_ns[0])) / 1e9
    years = duration_s / SECONDS_PER_YEAR
    apr = total / years if years > 0 else float("nan")
    apy = (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 and total > -1 else float("nan")
    s = pd.Series(idx, index=pd.to_datetime(times_ns, utc=True))
    daily = s.resample("1D").last().dropna()
    daily = pd.concat([pd.Series([1.0], index=[daily.index[0] - pd.Timedelta(days=1)]), daily])
    dr = daily.pct_change().dropna().to_numpy()
    sharpe = sortino = float("nan")
    if len(dr) > 1:
        sd = dr.std(ddof=1)
        sharpe = float(dr.mean() / sd * math.sqrt(365)) if sd > 0 else float("nan")
        downside = np.sqrt(np.mean(np.minimum(dr, 0.0) ** 2))
        sortino = float(dr.mean() / downside * math.sqrt(365)) if downside > 0 else float("nan")
    peak = np.maximum.accumulate(np.concatenate(([1.0], idx)))[1:]
    mdd = float(np.min(idx / peak - 1.0))
    return {"total_return": total, "apr": apr, "apy": apy, "sharpe": sharpe, "sortino": sortino,
            "max_drawdown": mdd, "years": years}
